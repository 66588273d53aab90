"""NameBlockingRule in the template: off, the checker's role holds no Network Insights permission
and keeps its 120 s timeout; on, a separate policy grants exactly the tag-scoped calls of
docs/blocking-rule.md, the checker learns the setting, and its timeout grows by the budget.

The analysis runs with the caller's permissions and reads whatever a path crosses (EC2, Elastic
Load Balancing, Network Firewall, Direct Connect, Global Accelerator, tiros): a role that lacks one
of those reads gets "could not analyse" exactly where a path crosses that component. So the reads
come from the AWS managed policy AmazonVPCReachabilityAnalyzerFullAccessPolicy (a copy in
data/, evaluated with iam_policy.py), and its wider writes are held to the tagged paths and
analyses by explicit denies, in the checker's role and in the member role alike."""

from __future__ import annotations

from typing import Any

import pytest
from dns_watchdog.constants import (
    ANALYSIS_TAG_KEY,
    BLOCKING_ANALYSIS_BUDGET_S_ENV,
    NAME_BLOCKING_RULE_ENV,
)
from iac_template import MAIN_TEMPLATE, MEMBER_TEMPLATE, Resolver, load_template
from iam_policy import Request, aws_managed_policy, decide, role_statements
from stack_model import StackResolver, listed

pytestmark = pytest.mark.iac

TEMPLATE = load_template(MAIN_TEMPLATE)
SAMPLES = {
    "VpcId": "vpc-0a1b2c3d4e5f60718",
    "SubnetIds": ["subnet-0a1b2c3d4e5f60001"],
    "CheckerRole": "vpc-dns-watchdog-CheckerRole-AbC123",
    "CheckerRole.Arn": "arn:aws:iam::123456789012:role/vpc-dns-watchdog-CheckerRole-AbC123",
    "AlertTopic": "arn:aws:sns:us-east-1:123456789012:alerts",
    "StateTable": "state",
}
ARN = "arn:aws:ec2:us-east-1:123456789012"
WRITES = {
    "ec2:CreateNetworkInsightsPath",
    "ec2:StartNetworkInsightsAnalysis",
    "ec2:CreateTags",
    "ec2:DeleteNetworkInsightsPath",
    "ec2:DeleteNetworkInsightsAnalysis",
}


def _resolver(setting: str | None) -> Resolver:
    values: dict[str, Any] = dict(SAMPLES)
    if setting is not None:
        values["NameBlockingRule"] = setting
    return Resolver(TEMPLATE, values)


def _policies(resolver: Resolver) -> dict[str, dict[str, Any]]:
    """Role policies the stack would create, by logical id."""
    return {
        logical_id: resolver.resolve(resource["Properties"])
        for logical_id, resource in TEMPLATE["Resources"].items()
        if resource["Type"] == "AWS::IAM::RolePolicy"
        and ("Condition" not in resource or resolver.condition(resource["Condition"]))
    }


def _statements(resolver: Resolver) -> list[dict[str, Any]]:
    statements = []
    for policy in _policies(resolver).values():
        statements += policy["PolicyDocument"]["Statement"]
    # The role's inline policies: their actions are all this test reads.
    for policy in TEMPLATE["Resources"]["CheckerRole"]["Properties"]["Policies"]:
        statements += [{"Action": s["Action"]} for s in policy["PolicyDocument"]["Statement"]]
    return statements


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def _checker(resolver: Resolver) -> dict[str, Any]:
    properties = TEMPLATE["Resources"]["CheckerFunction"]["Properties"]
    return {key: resolver.resolve(properties[key]) for key in ("Timeout", "Environment")}


def test_off_by_default_no_network_insights_permission_and_the_usual_timeout() -> None:
    resolver = _resolver(None)
    granted = {a for s in _statements(resolver) for a in _actions(s)}
    assert not {a for a in granted if "NetworkInsights" in a or a.startswith("tiros:")}
    assert "ec2:CreateTags" not in granted
    role = StackResolver(TEMPLATE, SAMPLES).resources("AWS::IAM::Role")["CheckerRole"]
    assert "ManagedPolicyArns" not in role
    checker = _checker(resolver)
    assert checker["Timeout"] == 120
    assert checker["Environment"]["Variables"][NAME_BLOCKING_RULE_ENV] == "false"


def test_on_a_separate_policy_on_the_checker_role_scoped_by_the_tag() -> None:
    resolver = _resolver("true")
    [policy] = [
        p for p in _policies(resolver).values() if p["PolicyName"] == "checker-name-blocking-rule"
    ]
    assert policy["RoleName"] == SAMPLES["CheckerRole"]
    statements = policy["PolicyDocument"]["Statement"]
    for statement in statements:
        if statement["Effect"] == "Deny":
            # (the denies that hold the managed policy's writes to the tag: tested below)
            assert set(_actions(statement)) <= WRITES | {"ec2:DeleteTags"}, statement["Sid"]
            continue
        if set(_actions(statement)) & WRITES:
            # Every write names this account's and region's resources, and is tag-conditioned.
            resources = statement["Resource"]
            resources = [resources] if isinstance(resources, str) else resources
            assert all(r.startswith(f"{ARN}:network-") for r in resources), statement["Sid"]
            condition = statement["Condition"]
            if "ec2:CreateTags" in _actions(statement):
                assert condition == {
                    "StringEquals": {
                        "ec2:CreateAction": [
                            "CreateNetworkInsightsPath",
                            "StartNetworkInsightsAnalysis",
                        ]
                    }
                }
            else:
                [(key, value)] = condition["Null"].items()
                assert key.endswith(f"Tag/{ANALYSIS_TAG_KEY}")
                assert value == "false"
        else:
            # Reads only where "*" is unavoidable.
            assert statement["Resource"] == "*"
            assert all(
                a.split(":", 1)[1].startswith(("Describe", "Get", "Search"))
                or a.startswith("tiros:")
                for a in _actions(statement)
            ), statement["Sid"]
    by_sid = {s["Sid"]: s for s in statements}
    deletes = by_sid["DeleteOnlyOwnPathsAndAnalyses"]
    assert set(_actions(deletes)) == {
        "ec2:DeleteNetworkInsightsPath",
        "ec2:DeleteNetworkInsightsAnalysis",
    }
    assert "aws:ResourceTag/" + ANALYSIS_TAG_KEY in deletes["Condition"]["Null"]
    assert (
        "aws:ResourceTag/" + ANALYSIS_TAG_KEY
        in (by_sid["StartTaggedAnalysesOfOwnPaths"]["Condition"]["Null"])
    )
    assert "aws:RequestTag/" + ANALYSIS_TAG_KEY in by_sid["CreateTaggedPaths"]["Condition"]["Null"]


def test_on_the_checker_learns_the_setting_and_its_timeout_holds_the_budget() -> None:
    resolver = _resolver("true")
    checker = _checker(resolver)
    variables = checker["Environment"]["Variables"]
    assert variables[NAME_BLOCKING_RULE_ENV] == "true"
    budget = float(variables[BLOCKING_ANALYSIS_BUDGET_S_ENV])
    off = _checker(_resolver("false"))["Timeout"]
    # The analyses' budget, plus room for the deletes that follow it, on top of the usual run.
    assert checker["Timeout"] >= off + budget + 5
    assert checker["Timeout"] <= 900


@pytest.mark.parametrize("setting", ["false", "true"])
def test_the_sweep_queue_hides_a_message_six_checker_timeouts_long(setting: str) -> None:
    # Lambda's advice for SQS event sources: visibility timeout at least 6 x the function's
    resolver = _resolver(setting)
    queue = resolver.resolve(TEMPLATE["Resources"]["SweepQueue"]["Properties"]["VisibilityTimeout"])
    assert queue >= 6 * _checker(resolver)["Timeout"]


MANAGED_POLICY = "AmazonVPCReachabilityAnalyzerFullAccessPolicy"
TAG = f"aws:ResourceTag/{ANALYSIS_TAG_KEY}"
REQUEST_TAG = f"aws:RequestTag/{ANALYSIS_TAG_KEY}"
PATH = "arn:aws:ec2:{region}:{account}:network-insights-path/nip-0123456789abcdef0"
ANALYSIS = "arn:aws:ec2:{region}:{account}:network-insights-analysis/nia-0123456789abcdef0"
ENI = "arn:aws:ec2:{region}:{account}:network-interface/eni-0123456789abcdef0"
MEMBER_VALUES = {
    "CentralAccountId": "111111111111",
    "CentralRegion": "eu-central-1",
    "CentralEventBusName": "vpc-dns-watchdog-org",
    "CentralCheckerRoleName": "vpc-dns-watchdog-CheckerRole-ABCDEF123456",
    "OrganizationId": "o-a1b2c3d4e5",
    "RoleRegion": "eu-west-1",
    "NameBlockingRule": "true",
}


def _roles() -> list[tuple[str, list[dict[str, Any]], str]]:
    """(name, statements, account) of every role that runs analyses, NameBlockingRule on."""
    checker = StackResolver(TEMPLATE, {**SAMPLES, "NameBlockingRule": "true"})
    member = StackResolver(
        load_template(MEMBER_TEMPLATE), MEMBER_VALUES, region="eu-west-1", account="222222222222"
    )
    return [
        ("checker role", role_statements(checker, "CheckerRole"), "123456789012"),
        ("member role", role_statements(member, "MemberRole"), "222222222222"),
    ]


def _managed_reads() -> list[str]:
    document = aws_managed_policy(MANAGED_POLICY)
    return sorted(
        action
        for statement in document["Statement"]
        for action in listed(statement["Action"])
        if action.split(":", 1)[1].startswith(("Describe", "List", "Get", "Search"))
        or action.startswith("tiros:")
    )


@pytest.mark.parametrize(
    ("role", "statements", "account"), _roles(), ids=["checker role", "member role"]
)
def test_every_read_the_analyzer_needs_is_granted(
    role: str, statements: list[dict[str, Any]], account: str
) -> None:
    # Given AWS's list of what an analysis reads (the managed policy), When the role asks
    reads = _managed_reads()
    assert {"tiros:ExtendQuery", "directconnect:DescribeVirtualInterfaces"} <= set(reads)
    assert any(a.startswith("elasticloadbalancing:") for a in reads)
    assert any(a.startswith("network-firewall:") for a in reads)
    assert any(a.startswith("globalaccelerator:") for a in reads)
    # Then every one of them is allowed
    refused = [a for a in reads if decide(statements, Request(a, "*")) != "Allow"]
    assert refused == [], role


def _write_cases(account: str) -> list[tuple[str, Request, str]]:
    where = {"region": "eu-west-1", "account": account}
    tagged = {TAG: "vpc-0a1b2c3d4e5f60718"}
    tag_request = {REQUEST_TAG: "vpc-0a1b2c3d4e5f60718"}
    path, analysis, eni = (arn.format(**where) for arn in (PATH, ANALYSIS, ENI))
    return [
        (
            "create a tagged path",
            Request("ec2:CreateNetworkInsightsPath", path, tag_request),
            "Allow",
        ),
        (
            "from the canary's interface",
            Request("ec2:CreateNetworkInsightsPath", eni, tag_request),
            "Allow",
        ),
        ("create an untagged path", Request("ec2:CreateNetworkInsightsPath", path), "refused"),
        (
            "start on an own path",
            Request("ec2:StartNetworkInsightsAnalysis", path, tagged),
            "Allow",
        ),
        ("start on another's path", Request("ec2:StartNetworkInsightsAnalysis", path), "refused"),
        (
            "a tagged analysis",
            Request("ec2:StartNetworkInsightsAnalysis", analysis, tag_request),
            "Allow",
        ),
        ("an untagged analysis", Request("ec2:StartNetworkInsightsAnalysis", analysis), "refused"),
        ("delete an own path", Request("ec2:DeleteNetworkInsightsPath", path, tagged), "Allow"),
        ("delete another's path", Request("ec2:DeleteNetworkInsightsPath", path), "refused"),
        (
            "delete another's analysis",
            Request("ec2:DeleteNetworkInsightsAnalysis", analysis),
            "refused",
        ),
        (
            "tag while creating",
            Request("ec2:CreateTags", path, {"ec2:CreateAction": "CreateNetworkInsightsPath"}),
            "Allow",
        ),
        ("tag an existing path", Request("ec2:CreateTags", path, tag_request), "refused"),
        ("untag a path", Request("ec2:DeleteTags", path, tagged), "refused"),
    ]


@pytest.mark.parametrize(
    ("role", "statements", "account"), _roles(), ids=["checker role", "member role"]
)
def test_the_managed_policys_writes_stay_with_the_tagged_paths_and_analyses(
    role: str, statements: list[dict[str, Any]], account: str
) -> None:
    for case, request, expected in _write_cases(account):
        verdict = "Allow" if decide(statements, request) == "Allow" else "refused"
        assert verdict == expected, f"{role}: {case}"
