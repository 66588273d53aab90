"""Opt-in self-healing end to end: moto for EC2, the real canary against the DNS lab.

The VPC is verified healthy on AmazonProvidedDNS, then someone associates an option set whose only
server never answers. With self-healing on, the checker puts the last good set back, asks the
canary again and says so in the one CRITICAL; the association's own CloudTrail event then closes
the incident without healing again.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import boto3
import pytest
from real_canary import CANARY, Invoke, LabVpc, change_event, handler_invoker, manual_check

from devtools.lambdakit import api_error

pytestmark = pytest.mark.integration

CHECKER_ROLE = "arn:aws:iam::123456789012:role/vpc-dns-watchdog-CheckerRole-AbC123"
OWN_SESSION = (
    "arn:aws:sts::123456789012:assumed-role/vpc-dns-watchdog-CheckerRole-AbC123/"
    "vpc-dns-watchdog-checker"
)


Started = Callable[[str, LabVpc], Invoke]


@pytest.fixture
def started(
    load_handler: Callable[[str], ModuleType],
    lambda_context: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> Started:
    """A checker with self-healing in `mode`, after a check that verified the VPC healthy."""

    def start(mode: str, vpc: LabVpc) -> Invoke:
        monkeypatch.setenv("SELF_HEALING", mode)
        monkeypatch.setenv("CHECKER_ROLE_ARN", CHECKER_ROLE)
        checker = handler_invoker(load_handler, lambda_context)
        assert checker(manual_check([vpc.vpc_id]))["vpcs"][0]["verdict"] == "OK"
        return checker

    return start


@pytest.fixture
def healing_vpc(lab_vpc: LabVpc) -> LabVpc:
    """The lab VPC, opted in to self-healing by its tag."""
    lab_vpc.world.ec2.create_tags(
        Resources=[lab_vpc.vpc_id], Tags=[{"Key": "dhcp-watchdog:self-heal", "Value": "true"}]
    )
    return lab_vpc


def _association(vpc: LabVpc) -> str:
    [described] = vpc.world.ec2.describe_vpcs(VpcIds=[vpc.vpc_id])["Vpcs"]
    return str(described["DhcpOptionsId"])


def _break(vpc: LabVpc) -> None:
    """Someone associates the dead-server set; the canary's next environment sees it."""
    vpc.associate(vpc.bad)
    vpc.platform.recycle(CANARY)


def _own_association_event(vpc: LabVpc, option_set: str) -> dict[str, Any]:
    event = change_event(vpc, option_set)
    identity = event["detail"]["userIdentity"]
    identity["type"] = "AssumedRole"
    identity["arn"] = OWN_SESSION
    identity.setdefault("sessionContext", {})["sessionIssuer"] = {
        "type": "Role",
        "arn": CHECKER_ROLE,
        "userName": CHECKER_ROLE.rsplit("/", 1)[-1],
    }
    return event


def test_a_failed_association_is_rolled_back_verified_and_never_loops(
    healing_vpc: LabVpc, started: Started
) -> None:
    vpc = healing_vpc
    # Given the VPC was verified healthy on its current set
    checker = started("on", vpc)

    # When someone associates the dead-server set and the change is checked
    _break(vpc)
    result = checker(change_event(vpc, vpc.bad))

    # Then the last good set is associated again, and one CRITICAL says so, verified OK
    assert result["vpcs"][0]["verdict"] == "FAILED"
    assert _association(vpc) == vpc.good
    [critical] = vpc.world.alerts()
    assert critical.severity == "CRITICAL"
    lines = critical.text.splitlines()
    assert lines[1].startswith(f"Rolled back automatically to {vpc.good} at ")
    assert lines[1].endswith("; verified OK.")
    healing = critical.document["self_healing"]
    assert healing["healed"] is True
    assert healing["option_set_id"] == vpc.good
    assert healing["verified_verdict"] == "OK"
    assert "Nothing to run." in critical.text  # no rollback command to copy

    # When the watchdog's own association arrives as a CloudTrail event
    checker(_own_association_event(vpc, vpc.good))

    # Then it is checked like any other change: the incident is over, nothing is healed again
    [recovered] = vpc.world.alerts()
    assert recovered.severity == "RECOVERED"
    assert recovered.document["self_healing"] is None
    assert _association(vpc) == vpc.good


def test_at_most_once_per_incident(healing_vpc: LabVpc, started: Started) -> None:
    vpc = healing_vpc
    checker = started("on", vpc)
    # Given the last good set's server dies too, so rolling back does not help
    vpc.amazon.behaviour = "blackhole"

    # When the dead-server set is associated
    _break(vpc)
    checker(change_event(vpc, vpc.bad))

    # Then self-healing rolled back once, and the CRITICAL says the rollback did not fix it
    assert _association(vpc) == vpc.good
    [critical] = vpc.world.alerts()
    assert critical.text.splitlines()[1].startswith(f"Rolled back automatically to {vpc.good}")
    assert "; verified FAILED (" in critical.text.splitlines()[1]

    # When someone associates the dead set again within the same open incident
    _break(vpc)
    checker(change_event(vpc, vpc.bad))

    # Then the change is announced, and self-healing holds back: once per incident
    [announced] = vpc.world.alerts()
    assert announced.severity == "CRITICAL"
    assert announced.text.splitlines()[1] == (
        "Self-healing did not act: it already acted once in this incident."
    )
    assert _association(vpc) == vpc.bad


def test_dry_run_only_says_what_it_would_have_done(healing_vpc: LabVpc, started: Started) -> None:
    vpc = healing_vpc
    checker = started("dry-run", vpc)

    _break(vpc)
    checker(change_event(vpc, vpc.bad))

    assert _association(vpc) == vpc.bad
    [critical] = vpc.world.alerts()
    assert critical.text.splitlines()[1].startswith(
        f"Self-healing (dry run): would have associated {vpc.good}"
    )
    # the rollback command is still there for a human to run
    assert f"--dhcp-options-id {vpc.good}" in critical.text
    assert critical.document["self_healing"]["mode"] == "dry-run"


def test_a_vpc_without_the_tag_is_not_touched(lab_vpc: LabVpc, started: Started) -> None:
    checker = started("on", lab_vpc)

    _break(lab_vpc)
    checker(change_event(lab_vpc, lab_vpc.bad))

    assert _association(lab_vpc) == lab_vpc.bad
    [critical] = lab_vpc.world.alerts()
    assert critical.text.splitlines()[1] == (
        f"Self-healing did not act: {lab_vpc.vpc_id} is not tagged dhcp-watchdog:self-heal=true."
    )


def test_an_association_the_checker_may_not_make_is_reported_and_still_pages(
    healing_vpc: LabVpc, started: Started
) -> None:
    vpc = healing_vpc
    # Given EC2 will refuse the checker's association (the IAM condition on the tag, an SCP...),
    # a botocore hook registered before the checker builds its clients
    refusing = False

    def refuse(**_: Any) -> Any:
        return api_error("UnauthorizedOperation", 403) if refusing else None

    assert boto3.DEFAULT_SESSION is not None
    boto3.DEFAULT_SESSION.events.register("before-call.ec2.AssociateDhcpOptions", refuse)
    checker = started("on", vpc)
    _break(vpc)
    refusing = True

    # When the broken association is checked
    checker(change_event(vpc, vpc.bad))

    # Then the page goes out, says why the rollback did not happen, and keeps the command
    assert _association(vpc) == vpc.bad
    [critical] = vpc.world.alerts()
    assert critical.text.splitlines()[1] == (
        f"Self-healing could not roll back to {vpc.good}: AssociateDhcpOptions {vpc.good} -> "
        f"{vpc.vpc_id} failed: UnauthorizedOperation."
    )
    assert f"--dhcp-options-id {vpc.good}" in critical.text


def test_no_rollback_without_time_left_to_verify_it(
    healing_vpc: LabVpc,
    load_handler: Callable[[str], ModuleType],
    lambda_context_factory: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    vpc = healing_vpc
    monkeypatch.setenv("SELF_HEALING", "on")
    monkeypatch.setenv("CHECKER_ROLE_ARN", CHECKER_ROLE)
    monkeypatch.setenv("CANARY_INVOKE_TIMEOUT_S", "10")
    app = load_handler("checker")
    app.lambda_handler(manual_check([vpc.vpc_id]), lambda_context_factory(timeout_ms=600_000))

    # When the broken association is checked by an invocation with 25 s left: 10 s are kept to
    # page and store, and verifying a rollback could take two 10 s canary runs
    _break(vpc)
    app.lambda_handler(change_event(vpc, vpc.bad), lambda_context_factory(timeout_ms=25_000))

    # Then nothing is associated blind, and the page says why
    assert _association(vpc) == vpc.bad
    [critical] = vpc.world.alerts()
    assert critical.text.splitlines()[1] == (
        "Self-healing did not act: not enough time left in this run to verify a rollback."
    )


def test_an_operators_association_during_the_check_is_not_overwritten(
    healing_vpc: LabVpc, started: Started
) -> None:
    vpc = healing_vpc
    # Given an operator who associates a fix of their own while the checker's canaries answer
    # (a botocore hook after the canary's Invoke, registered before the checker builds clients)
    fix = vpc.world.option_set("AmazonProvidedDNS", domain_name="fix.internal")
    operator_acts = False

    def operator_fixes_it(**_: Any) -> None:
        nonlocal operator_acts
        if operator_acts:
            operator_acts = False
            vpc.associate(fix)

    assert boto3.DEFAULT_SESSION is not None
    boto3.DEFAULT_SESSION.events.register("after-call.lambda.Invoke", operator_fixes_it)
    checker = started("on", vpc)
    _break(vpc)
    operator_acts = True

    # When the broken association is checked
    result = checker(change_event(vpc, vpc.bad))

    # Then the operator's fix stands: the checker found the VPC moved right before associating
    assert result["vpcs"][0]["verdict"] == "FAILED"
    assert not operator_acts  # the operator did act during the check
    assert _association(vpc) == fix
    [critical] = vpc.world.alerts()
    assert critical.text.splitlines()[1] == (
        f"Self-healing did not act: {vpc.vpc_id} moved to {fix} while it was checked (it was "
        f"judged on {vpc.bad}): that change stands, nothing was associated."
    )
    assert critical.document["self_healing"]["acted"] is False


def test_a_hand_made_event_for_a_vpc_whose_set_never_changed_does_not_heal(
    lab_vpc: LabVpc, started: Started
) -> None:
    vpc = lab_vpc
    # Given the VPC broke while not opted in: the CRITICAL went out, nothing was healed
    checker = started("on", vpc)
    _break(vpc)
    checker(change_event(vpc, vpc.bad))
    assert [alert.severity for alert in vpc.world.alerts()] == ["CRITICAL"]
    # and it was opted in afterwards, still on the dead set
    vpc.world.ec2.create_tags(
        Resources=[vpc.vpc_id], Tags=[{"Key": "dhcp-watchdog:self-heal", "Value": "true"}]
    )

    # When someone invokes the checker with a hand-made AssociateDhcpOptions event (a made-up
    # event id) that names another option set for the VPC
    result = checker(change_event(vpc, vpc.good))

    # Then nothing is associated: the VPC's set never changed, and it is not the one named
    assert result["vpcs"][0]["verdict"] == "FAILED"
    assert _association(vpc) == vpc.bad
    for alert in vpc.world.alerts():
        assert "Rolled back automatically" not in alert.text
        healing = alert.document["self_healing"]
        assert healing is None or healing["acted"] is False
