"""The templates' literals agree with the checker's constants (dns_watchdog/constants.py).

CloudFormation cannot import Python, so the templates repeat the names the checker shares with
them: environment variables, the canary tag key, the canary name prefix, metric names. A rename
on one side only fails here, not in production.
"""

from __future__ import annotations

from typing import Any

import pytest
from dns_watchdog import constants
from iac_template import CANARY_TEMPLATE, MAIN_TEMPLATE, Resolver, load_template

pytestmark = pytest.mark.iac

MAIN = load_template(MAIN_TEMPLATE)
CANARY = load_template(CANARY_TEMPLATE)
CHECKER_ENV: dict[str, Any] = MAIN["Resources"]["CheckerFunction"]["Properties"]["Environment"][
    "Variables"
]


def checker_statements() -> dict[str, dict[str, Any]]:
    """The checker role's policy statements, by Sid."""
    [policy] = MAIN["Resources"]["CheckerRole"]["Properties"]["Policies"]
    return {statement["Sid"]: statement for statement in policy["PolicyDocument"]["Statement"]}


def test_the_template_sets_every_checker_variable_the_constants_name() -> None:
    assert set(constants.CHECKER_TEMPLATE_ENV_VARS) <= set(CHECKER_ENV)


def test_the_template_sets_no_checker_variable_the_constants_do_not_name() -> None:
    local_only = {"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_LAMBDA", "POWERTOOLS_LOG_LEVEL"}
    assert set(CHECKER_ENV) - local_only == set(constants.CHECKER_TEMPLATE_ENV_VARS)


def test_the_tag_key_is_fixed_not_an_environment_setting() -> None:
    assert "CANARY_TAG_KEY" not in CHECKER_ENV
    assert constants.CANARY_TAG_KEY not in {str(value) for value in CHECKER_ENV.values()}


def test_the_checker_reports_metrics_under_the_default_service_and_namespace() -> None:
    assert CHECKER_ENV[constants.SERVICE_NAME_ENV] == constants.DEFAULT_SERVICE_NAME
    assert CHECKER_ENV[constants.METRICS_NAMESPACE_ENV] == constants.DEFAULT_METRICS_NAMESPACE


def test_the_canary_is_tagged_with_the_tag_key_and_its_vpc() -> None:
    tags = CANARY["Resources"]["CanaryFunction"]["Properties"]["Tags"]
    assert tags == {constants.CANARY_TAG_KEY: {"Ref": "VpcId"}}


def test_the_checker_drives_only_functions_tagged_with_the_tag_key() -> None:
    for sid in ("DriveCanaries", "RefreshCanaries"):
        condition = checker_statements()[sid]["Condition"]
        assert condition["StringLike"] == {f"aws:ResourceTag/{constants.CANARY_TAG_KEY}": "vpc-*"}


def test_a_refresh_cannot_add_layers_or_move_the_canary_to_another_vpc() -> None:
    condition = checker_statements()["RefreshCanaries"]["Condition"]
    assert condition["Null"] == {"lambda:Layer": "true"}
    assert condition["StringEqualsIfExists"] == {
        "lambda:VpcIds": f"${{aws:ResourceTag/{constants.CANARY_TAG_KEY}}}"
    }


def test_the_canary_function_name_starts_with_the_prefix_and_fits_lambda() -> None:
    name = CANARY["Resources"]["CanaryFunction"]["Properties"]["FunctionName"]
    resolved = Resolver(
        CANARY,
        {
            "VpcId": "vpc-0123456789abcdef0",  # the longest VPC id (17 hex digits)
            "AWS::StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/"
            "a-canary-stack/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b",
        },
    ).resolve(name)
    assert resolved == f"{constants.CANARY_FUNCTION_NAME_PREFIX}vpc-0123456789abcdef0-0f1e2d3c"
    assert len(resolved) <= constants.LAMBDA_FUNCTION_NAME_MAX_LENGTH
    # the VPC id's pattern bounds its length, so every name fits
    assert CANARY["Parameters"]["VpcId"]["AllowedPattern"] == "^vpc-[0-9a-f]{8,17}$"


@pytest.mark.parametrize(
    ("parameters", "regions"),
    [
        ({}, "us-east-1"),
        # Organization mode checks this account in other regions too (sweeps, member stacks)
        ({"MemberRoleName": "vpc-dns-watchdog-member", "OrganizationId": "o-a1b2c3d4e5"}, "*"),
    ],
)
def test_the_checker_may_drive_only_functions_with_the_canary_prefix(
    parameters: dict[str, str], regions: str
) -> None:
    statements = checker_statements()
    resolver = Resolver(MAIN, parameters)
    expected = (
        f"arn:aws:lambda:{regions}:123456789012:function:{constants.CANARY_FUNCTION_NAME_PREFIX}*"
    )
    assert resolver.resolve(statements["DriveCanaries"]["Resource"]) == expected
    assert resolver.resolve(statements["RefreshCanaries"]["Resource"]) == expected
    lambda_actions = {
        action
        for sid, statement in statements.items()
        for action in _as_list(statement["Action"])
        if action.startswith("lambda:") and sid != "NameWorkloads"
    }
    assert lambda_actions == {
        "lambda:InvokeFunction",
        "lambda:GetFunctionConfiguration",
        "lambda:GetFunction",
        "lambda:UpdateFunctionConfiguration",
    }
    # Besides the canaries, only the read a page's blast radius needs (it names no function
    # and acts on none: ListFunctions has no resource-level permissions).
    workloads = statements["NameWorkloads"]
    assert _as_list(workloads["Action"]) == ["lambda:ListFunctions"]
    assert workloads["Resource"] == "*"


def test_heartbeat_alarm_watches_the_metric_the_checker_emits() -> None:
    alarm = MAIN["Resources"]["HeartbeatAlarm"]["Properties"]
    assert alarm["MetricName"] == constants.METRIC_CHECKS_COMPLETED
    assert alarm["Namespace"] == CHECKER_ENV[constants.METRICS_NAMESPACE_ENV]
    assert alarm["Dimensions"] == [
        {"Name": constants.SERVICE_DIMENSION, "Value": CHECKER_ENV[constants.SERVICE_NAME_ENV]}
    ]


def test_every_custom_metric_an_alarm_watches_is_a_checker_metric() -> None:
    metric_names = {value for name, value in vars(constants).items() if name.startswith("METRIC_")}
    for logical_id, resource in MAIN["Resources"].items():
        if resource["Type"] != "AWS::CloudWatch::Alarm":
            continue
        properties = resource["Properties"]
        if not str(properties["Namespace"]).startswith("AWS/"):
            assert properties["MetricName"] in metric_names, logical_id


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
