"""The roles in the templates grant every AWS call the checker really makes, where it makes it.

A policy read next to the code it serves drifts: a region fixed where organization mode crosses
regions, an action the code started calling, a resource the code names differently. Here the
calls come from the code itself: the real checker runs representative flows
(permission_flows.py: single account with every feature on; organization mode with a sweep fanned
out, a member account's change, and the central account outside its home region) with botocore's
``creating-client-class`` hook recording each call (devtools/awsworld.py, CallRecorder). Each
call becomes the IAM request(s) AWS would authorize (action, resource ARN in the region and
account it was made in, the request's and the resource's tags, the condition keys the templates
use), and the role that made it is asked, with the template's statements resolved for the flow's
parameters (iam_policy.py): the checker's role for the central account, the member role
(member-template.yaml) for a member account.

Why the iac tier runs the flows itself rather than reading calls the integration tier wrote to a
file: a file couples the two tiers' order and selection (``make iac`` alone, ``-k``, xdist workers
writing in parallel) and can go stale, so a template could pass against calls of an older run;
the integration tier also injects faults on purpose (denied, throttled, unknown canaries) whose
calls say nothing about what the role must grant. A few curated flows, run where they are checked,
keep the cause and the check together (about 30 s).

The same recordings are held to botocore's models (max length, pattern, enum of every parameter:
botocore itself only checks types and minimums before sending), and each SNS subject and EC2 tag
to the documented limits botocore does not model.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aws_limits import api_shape, shape_problems
from iac_template import MAIN_TEMPLATE, MEMBER_TEMPLATE, load_template
from iam_policy import Request, decide, role_statements
from permission_flows import HOME, ORGANIZATION, Call, Flow, organization, single_account
from stack_model import StackResolver

pytestmark = pytest.mark.iac

MAIN = load_template(MAIN_TEMPLATE)
MEMBER = load_template(MEMBER_TEMPLATE)
# The ids the flow's stack resolves with (they must name the flow's own VPC and subnets).
MAIN_SAMPLES = {"VpcId": "vpc-0a1b2c3d4e5f60718", "SubnetIds": ["subnet-0a1b2c3d4e5f60001"]}
# Calls no IAM permission governs.
UNGOVERNED = {("sts", "GetCallerIdentity")}
# botocore service name -> IAM service prefix, where they differ.
IAM_PREFIX = {"resourcegroupstaggingapi": "tag"}
# Operations authorized as another action.
IAM_ACTION = {
    ("lambda", "Invoke"): "lambda:InvokeFunction",
    ("sqs", "SendMessageBatch"): "sqs:SendMessage",
    ("sqs", "DeleteMessageBatch"): "sqs:DeleteMessage",
    ("sqs", "ChangeMessageVisibilityBatch"): "sqs:ChangeMessageVisibility",
}
# SNS API reference, Publish: "Subjects must be UTF-8 text with no line breaks or control
# characters, and must be less than 100 characters long" (not in botocore's model).
SNS_SUBJECT_MAX = 99
# EC2 User Guide, tag restrictions: keys up to 128 characters, values up to 256, no "aws:" prefix
# (not in botocore's EC2 model either).
EC2_TAG_KEY_MAX, EC2_TAG_VALUE_MAX = 128, 256

_FLOWS: dict[str, Flow] = {}


def flow(name: str) -> Flow:
    """Each flow runs once per test process."""
    if name not in _FLOWS:
        _FLOWS[name] = {"single account": single_account, "organization": organization}[name]()
    return _FLOWS[name]


# ---------------------------------------------------------------- calls as IAM requests


def _tags(flow: Flow, arn: str) -> dict[str, str]:
    return {f"aws:ResourceTag/{k}": v for k, v in flow.tags.get(arn, {}).items()}


def _request_tags(params: dict[str, Any]) -> dict[str, str]:
    return {
        f"aws:RequestTag/{tag['Key']}": tag["Value"]
        for spec in params.get("TagSpecifications", [])
        for tag in spec.get("Tags", [])
    }


def _lambda(call: Call, flow: Flow, action: str) -> list[Request]:
    if call.operation == "ListFunctions":
        # Service Authorization Reference: no resource types for lambda:ListFunctions.
        return [Request(action, "*")]
    name = call.params["FunctionName"]
    arn = (
        name
        if name.startswith("arn:")
        else (f"arn:aws:lambda:{call.region}:{call.account}:function:{name}")
    )
    context: dict[str, Any] = _tags(flow, arn)
    if call.operation == "UpdateFunctionConfiguration":
        if "Layers" in call.params:
            context["lambda:Layer"] = list(call.params["Layers"])
        if "VpcConfig" in call.params:
            context["lambda:VpcIds"] = ["vpc-of-the-request"]
    return [Request(action, arn, context)]


def _ec2(call: Call, flow: Flow, action: str) -> list[Request]:
    arn = f"arn:aws:ec2:{call.region}:{call.account}"
    params = call.params
    operation = call.operation
    if operation.startswith(("Describe", "Get", "Search")):
        return [Request(action, "*")]
    if operation == "AssociateDhcpOptions":
        vpc = f"{arn}:vpc/{params['VpcId']}"
        return [
            Request(action, vpc, _tags(flow, vpc)),
            Request(action, f"{arn}:dhcp-options/{params['DhcpOptionsId']}"),
        ]
    requested = _request_tags(params)
    tag_while = {"ec2:CreateAction": operation, **requested}
    if operation == "CreateNetworkInsightsPath":
        path = f"{arn}:network-insights-path/nip-new"
        return [
            Request(action, path, requested),
            Request(action, f"{arn}:network-interface/{params['Source']}", requested),
            Request("ec2:CreateTags", path, tag_while),
        ]
    if operation == "StartNetworkInsightsAnalysis":
        path_id = params["NetworkInsightsPathId"]
        analysis = f"{arn}:network-insights-analysis/nia-new"
        return [
            Request(action, f"{arn}:network-insights-path/{path_id}", _owned(flow, path_id)),
            Request(action, analysis, requested),
            Request("ec2:CreateTags", analysis, tag_while),
        ]
    if operation in ("DeleteNetworkInsightsPath", "DeleteNetworkInsightsAnalysis"):
        kind, key = (
            ("network-insights-path", "NetworkInsightsPathId")
            if operation.endswith("Path")
            else ("network-insights-analysis", "NetworkInsightsAnalysisId")
        )
        resource_id = params[key]
        return [Request(action, f"{arn}:{kind}/{resource_id}", _owned(flow, resource_id))]
    raise AssertionError(f"no IAM model for ec2:{operation}: add one here")


def _owned(flow: Flow, resource_id: str) -> dict[str, str]:
    return {f"aws:ResourceTag/{k}": v for k, v in flow.tags.get(resource_id, {}).items()}


def _arn_of_queue(url: str) -> str:
    *_, account, name = url.rstrip("/").split("/")
    region = url.split("sqs.", 1)[1].split(".", 1)[0] if "sqs." in url else "us-east-1"
    return f"arn:aws:sqs:{region}:{account}:{name}"


def _resource(call: Call) -> str:
    params = call.params
    if call.service == "sns":
        return str(params["TopicArn"])
    if call.service == "dynamodb":
        return f"arn:aws:dynamodb:{call.region}:{call.account}:table/{params['TableName']}"
    if call.service == "sqs":
        return _arn_of_queue(params["QueueUrl"])
    if call.service == "sts" and call.operation == "AssumeRole":
        return str(params["RoleArn"])
    return "*"


def _logs(call: Call, flow: Flow, action: str) -> list[Request]:
    """StartQuery is authorized on each log group it reads (the log-group resource type, the
    ARN with ":*" as IAM policies name it); the others support no resource-level permissions."""
    if call.operation != "StartQuery":
        return [Request(action, "*")]
    arn = f"arn:aws:logs:{call.region}:{call.account}:log-group"
    return [Request(action, f"{arn}:{group}:*") for group in call.params["logGroupNames"]]


def iam_requests(call: Call, flow: Flow) -> list[Request]:
    """What IAM authorizes for one recorded call."""
    prefix = IAM_PREFIX.get(call.service, call.service)
    action = IAM_ACTION.get((call.service, call.operation), f"{prefix}:{call.operation}")
    builders: dict[str, Callable[[Call, Flow, str], list[Request]]] = {
        "lambda": _lambda,
        "ec2": _ec2,
        "logs": _logs,
    }
    if call.service in builders:
        return builders[call.service](call, flow, action)
    context = {"aws:ResourceOrgID": ORGANIZATION} if call.operation == "AssumeRole" else {}
    return [Request(action, _resource(call), context)]


# ---------------------------------------------------------------- the roles of the templates


def roles(flow: Flow) -> dict[str, list[dict[str, Any]]]:
    """Account -> the statements of the role that acts there."""
    main = StackResolver(MAIN, {**MAIN_SAMPLES, **flow.main_values})
    acting = {HOME: role_statements(main, "CheckerRole")}
    if flow.member_values is not None:
        for account in {c.account for c in flow.calls} - {HOME}:
            member = StackResolver(
                MEMBER, flow.member_values, region=flow.member_values["RoleRegion"], account=account
            )
            acting[account] = role_statements(member, "MemberRole")
    return acting


FLOWS = ["single account", "organization"]


@pytest.mark.parametrize("name", FLOWS)
def test_every_recorded_call_is_granted_to_the_role_that_made_it(name: str) -> None:
    recorded = flow(name)
    statements = roles(recorded)
    refused = []
    for call in recorded.calls:
        if (call.service, call.operation) in UNGOVERNED:
            continue
        for request in iam_requests(call, recorded):
            verdict = decide(statements[call.account], request)
            if verdict != "Allow":
                refused.append(
                    f"{call.account} {call.region} {request.action} on {request.resource}: "
                    f"{verdict}"
                )
    assert sorted(set(refused)) == []


@pytest.mark.parametrize("name", FLOWS)
def test_the_flows_cover_what_the_roles_are_for(name: str) -> None:
    # (a flow that stopped making a call would let its permission go unchecked)
    recorded = flow(name)
    made = {(c.service, c.operation) for c in recorded.calls}
    expected = {
        ("lambda", "Invoke"),
        ("lambda", "UpdateFunctionConfiguration"),
        ("lambda", "GetFunction"),
        # The blast radius of a page: the VPC's interfaces and the functions attached to it.
        ("lambda", "ListFunctions"),
        ("ec2", "DescribeNetworkInterfaces"),
        ("ec2", "AssociateDhcpOptions"),
        ("ec2", "CreateNetworkInsightsPath"),
        ("ec2", "StartNetworkInsightsAnalysis"),
        ("ec2", "DeleteNetworkInsightsPath"),
        ("resourcegroupstaggingapi", "GetResources"),
        ("sns", "Publish"),
        ("dynamodb", "PutItem"),
        ("lambda", "ListFunctions"),
        ("logs", "DescribeLogGroups"),
        ("logs", "StartQuery"),
        ("logs", "GetQueryResults"),
        # discovery of the VPC's own DNS (PrivateDnsDiscovery, on by default)
        ("route53", "ListHostedZonesByVPC"),
        ("route53", "ListResourceRecordSets"),
        ("route53resolver", "ListResolverRuleAssociations"),
        ("route53resolver", "GetResolverRule"),
        ("route53resolver", "ListFirewallRuleGroupAssociations"),
        ("route53resolver", "ListFirewallRules"),
        ("route53resolver", "ListFirewallDomains"),
        ("route53profiles", "ListProfileAssociations"),
        ("route53profiles", "ListProfileResourceAssociations"),
        ("ec2", "DescribeVpcEndpoints"),
        # a FAILED page about a VPC with forward rules: their outbound endpoints' health
        ("route53resolver", "GetResolverEndpoint"),
        ("cloudwatch", "GetMetricData"),
    }
    assert expected <= made
    if name == "organization":
        places = {(c.account, c.region) for c in recorded.calls if c.service == "lambda"}
        assert {(HOME, "us-east-1"), (HOME, "eu-west-1")} <= places
        assert any(account != HOME for account, _ in places)
        assert ("sts", "AssumeRole") in made
        # a member account's page reads its workloads through the member role
        listed = {c.account for c in recorded.calls if c.operation == "ListFunctions"}
        assert listed - {HOME}


@pytest.mark.parametrize("name", FLOWS)
def test_every_recorded_parameter_fits_the_apis_model(name: str) -> None:
    problems = []
    for call in flow(name).calls:
        shape = api_shape(call.service, call.operation)
        problems += shape_problems(call.params, shape, f"{call.service}.{call.operation}")
        subject = call.params.get("Subject") if call.operation == "Publish" else None
        if subject is not None and (len(subject) > SNS_SUBJECT_MAX or not subject.isprintable()):
            problems.append(f"sns.Publish.Subject: {subject!r} breaks SNS's subject limit")
        problems += _ec2_tag_problems(call)
    assert sorted(set(problems)) == []


def _ec2_tag_problems(call: Call) -> list[str]:
    tags = [
        tag for spec in call.params.get("TagSpecifications", []) for tag in spec.get("Tags", [])
    ]
    return [
        f"{call.operation}: tag {tag['Key']!r}={tag['Value']!r} breaks EC2's tag limits"
        for tag in tags
        if len(tag["Key"]) > EC2_TAG_KEY_MAX
        or len(tag["Value"]) > EC2_TAG_VALUE_MAX
        or tag["Key"].lower().startswith("aws:")
    ]
