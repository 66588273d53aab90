"""Every dead-letter queue admits every rule that sends to it.

EventBridge puts an event it could not deliver into the target's dead-letter queue only if the
queue's policy lets ``events.amazonaws.com`` call ``sqs:SendMessage`` for that rule
(``aws:SourceArn``); otherwise the event is dropped after its retries, silently. SAM writes no
queue policy for an ``EventBridgeRule`` event's ``DeadLetterConfig.Arn`` (only for a queue it
creates itself), so each template's queue policy must name every rule by hand, and a rule added
without its line loses its events in a real account while everything here still passes.

Checked for every template, in each shape the parameters give the stack (organization mode, the
sweep off, the preflight rule disabled, every region of a member stack), over the rules the stack
really creates: plain ``AWS::Events::Rule`` resources and the ones SAM generates from the
checker's ``Events``.
"""

from __future__ import annotations

from typing import Any

import pytest
from iac_template import MAIN_TEMPLATE, MEMBER_TEMPLATE, load_template
from stack_model import StackResolver, listed

pytestmark = pytest.mark.iac

MAIN = load_template(MAIN_TEMPLATE)
MEMBER = load_template(MEMBER_TEMPLATE)

MAIN_SHAPES: dict[str, dict[str, Any]] = {
    "defaults": {},
    "organization mode": {
        "MemberRoleName": "vpc-dns-watchdog-member",
        "OrganizationId": "o-a1b2c3d4e5",
    },
    "no sweep": {"SweepIntervalMinutes": 0},
    "no preflight on create": {"PreflightOnCreate": "false"},
    "watched groups": {"WatchedSecurityGroupIds": ["sg-0123456789abcdef0"]},
}
MEMBER_BASE = {
    "CentralAccountId": "111111111111",
    "CentralRegion": "eu-central-1",
    "CentralEventBusName": "vpc-dns-watchdog-org",
    "CentralCheckerRoleName": "vpc-dns-watchdog-CheckerRole-ABCDEF123456",
    "OrganizationId": "o-a1b2c3d4e5",
    "RoleRegion": "us-east-1",
}
MEMBER_SHAPES: dict[str, dict[str, Any]] = {
    "us-east-1 (Route 53 rule)": {"AWS::Region": "us-east-1"},
    "eu-west-1": {"AWS::Region": "eu-west-1"},
    "no preflight on create": {"PreflightOnCreate": "false"},
    "watched groups": {"WatchedSecurityGroupIds": ["sg-0123456789abcdef0"]},
}
SAMPLES = {
    "VpcId": "vpc-0a1b2c3d4e5f60718",
    "SubnetIds": ["subnet-0a1b2c3d4e5f60001"],
    "CanaryStack.Outputs.CanarySecurityGroupIds": "sg-0a1b2c3d4e5f60053",
}


def stacks() -> list[tuple[str, StackResolver]]:
    shapes = [
        (f"template.yaml, {name}", StackResolver(MAIN, {**SAMPLES, **values}))
        for name, values in MAIN_SHAPES.items()
    ]
    shapes += [
        (
            f"member-template.yaml, {name}",
            StackResolver(
                MEMBER,
                {**MEMBER_BASE, **values},
                region=values.get("AWS::Region", "eu-west-1"),
                account="222222222222",
            ),
        )
        for name, values in MEMBER_SHAPES.items()
    ]
    return shapes


def admitted_rules(stack: StackResolver, queue_id: str) -> set[str]:
    """The rule ARNs the policies of queue ``queue_id`` let EventBridge send messages for."""
    queue_url = stack.value_of(queue_id)
    admitted: set[str] = set()
    for policy in stack.resources("AWS::SQS::QueuePolicy").values():
        if queue_url not in policy["Queues"]:
            continue
        for statement in policy["PolicyDocument"]["Statement"]:
            principal = statement.get("Principal", {})
            if (
                statement["Effect"] != "Allow"
                or not isinstance(principal, dict)
                or "events.amazonaws.com" not in listed(principal.get("Service", []))
                or not {"sqs:SendMessage", "sqs:*"} & set(listed(statement["Action"]))
            ):
                continue
            condition = statement.get("Condition", {})
            for operator in ("ArnEquals", "ArnLike", "StringEquals"):
                admitted.update(listed(condition.get(operator, {}).get("aws:SourceArn", [])))
    return admitted


def queue_of(stack: StackResolver, arn: str) -> str:
    """The logical id of the stack's queue whose ARN is ``arn``."""
    for logical_id in stack.resources("AWS::SQS::Queue"):
        if stack.value_of(f"{logical_id}.Arn") == arn:
            return logical_id
    raise AssertionError(f"{arn} is not a queue of this stack")


@pytest.mark.parametrize(("shape", "stack"), stacks(), ids=[name for name, _ in stacks()])
def test_every_dead_letter_queue_admits_every_rule_that_sends_to_it(
    shape: str, stack: StackResolver
) -> None:
    # Given the rules the stack creates, and the dead-letter queue each target names
    senders: dict[str, set[str]] = {}
    for rule in stack.rules():
        for target in rule.targets:
            dead_letter = target.get("DeadLetterConfig", {}).get("Arn")
            if dead_letter is not None:
                queue = queue_of(stack, dead_letter)
                senders.setdefault(queue, set()).add(rule.logical_id)
    assert senders, f"{shape}: no rule has a dead-letter queue"
    # Then each queue's policy lets EventBridge deliver there for every one of those rules
    for queue, rules in senders.items():
        admitted = admitted_rules(stack, queue)
        missing = sorted(r for r in rules if stack.value_of(f"{r}.Arn") not in admitted)
        assert not missing, f"{shape}: {queue}'s policy does not admit {missing}"


def test_the_rules_are_found_sam_generated_ones_included() -> None:
    # (the test above can only fail if it sees the rules: every checker event is one)
    stack = StackResolver(MAIN, SAMPLES)
    found = {rule.logical_id for rule in stack.rules()}
    events = MAIN["Resources"]["CheckerFunction"]["Properties"]["Events"]
    assert {f"CheckerFunction{name}" for name in events} <= found
    assert "SweepRule" in found
