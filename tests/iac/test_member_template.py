"""The member template (organization mode): plain CloudFormation that StackSets accept, rules that
forward exactly what the single-account checker's rules match, and a member role that grants the
central checker what it needs in a member account and nothing more.

The member rules are held to template.yaml's rules: same names, same patterns, and on a moto bus
every sample event in events/ triggers the same rules on both sides. Finally the template is
deployed with moto's CloudFormation in a member account and a change put on its default bus is
followed to the central account's bus in another region.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from dns_watchdog import constants
from iac_template import (
    CHECKOV,
    EVENTS_DIR,
    MAIN_TEMPLATE,
    MEMBER_TEMPLATE,
    SAMPLE_CANARY_SG_ID,
    Bus,
    Resolver,
    cfn_lint_findings,
    checker_rule_patterns,
    checkov_problems,
    checkov_suppressions,
    eventbridge_rules,
    load_event,
    load_template,
)
from moto import mock_aws

from devtools import package_org

pytestmark = pytest.mark.iac

MEMBER = load_template(MEMBER_TEMPLATE)
MAIN = load_template(MAIN_TEMPLATE)

CENTRAL_ACCOUNT = "111111111111"
CENTRAL_REGION = "eu-central-1"
CENTRAL_BUS = "vpc-dns-watchdog-org"
CENTRAL_CHECKER_ROLE = "vpc-dns-watchdog-CheckerRole-ABCDEF123456"
ORGANIZATION = "o-a1b2c3d4e5"
MEMBER_ACCOUNT = "222222222222"
ROLE_REGION = "eu-west-1"

CENTRAL_BUS_ARN = f"arn:aws:events:{CENTRAL_REGION}:{CENTRAL_ACCOUNT}:event-bus/{CENTRAL_BUS}"
CENTRAL_CHECKER_ROLE_ARN = f"arn:aws:iam::{CENTRAL_ACCOUNT}:role/{CENTRAL_CHECKER_ROLE}"
OTHER_SG_ID = "sg-0fedcba987654321f"
ALARM_TOPIC = "aws-controltower-SecurityNotifications"

# Not meant for any rule: the canary's invocation payload and sam local's env file.
NOT_BUS_EVENTS = {"canary_probe.json", "env.json"}
# The only actions the member role may grant on Resource "*": their APIs have no resource-level
# permissions (the template says so next to each statement).
ACTIONS_WITHOUT_RESOURCE_LEVEL_PERMISSIONS = {
    "ec2:DescribeVpcs",
    "ec2:DescribeDhcpOptions",
    "ec2:DescribeVpcAttribute",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeNetworkAcls",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeRouteTables",
    "tag:GetResources",
    # The blast radius: which functions are attached to a VPC.
    "lambda:ListFunctions",
}
# The checker role's statements (template.yaml) the member role repeats for a member account.
CHECKER_STATEMENTS_IN_MEMBER_ACCOUNTS = (
    "ReadVpcDnsSettings",
    "FindCanaries",
    "NameWorkloads",
    "DriveCanaries",
    "RefreshCanaries",
)


def fake_arn(logical_id: str, resource: dict[str, Any], region: str, account: str) -> str:
    service = resource["Type"].split("::")[1].lower()
    return f"arn:aws:{service}:{region}:{account}:{logical_id}"


def member_resolver(
    region: str = "us-east-1",
    account: str = MEMBER_ACCOUNT,
    watched_security_groups: list[str] | None = None,
    alarm_topic_account: str | None = None,
) -> Resolver:
    """The member template as CloudFormation would see it in ``account`` and ``region``."""
    values: dict[str, Any] = {
        "CentralAccountId": CENTRAL_ACCOUNT,
        "CentralRegion": CENTRAL_REGION,
        "CentralEventBusName": CENTRAL_BUS,
        "CentralCheckerRoleName": CENTRAL_CHECKER_ROLE,
        "OrganizationId": ORGANIZATION,
        "RoleRegion": ROLE_REGION,
        "AlarmTopicName": ALARM_TOPIC,
        "AWS::Region": region,
        "AWS::AccountId": account,
    }
    if watched_security_groups is not None:
        values["WatchedSecurityGroupIds"] = watched_security_groups
    if alarm_topic_account is not None:
        values["AlarmTopicAccountId"] = alarm_topic_account
    for logical_id, resource in MEMBER["Resources"].items():
        arn = fake_arn(logical_id, resource, region, account)
        values[logical_id] = arn  # Ref (the queue's URL stands in as its ARN: only compared)
        values[f"{logical_id}.Arn"] = arn
        values[f"{logical_id}.QueueName"] = logical_id
    return Resolver(MEMBER, values)


def deployed(resolver: Resolver) -> dict[str, dict[str, Any]]:
    """The resources the stack creates under ``resolver``'s values, properties resolved."""
    return {
        logical_id: {"Type": resource["Type"], **resolver.resolve(resource.get("Properties", {}))}
        for logical_id, resource in MEMBER["Resources"].items()
        if "Condition" not in resource or resolver.condition(resource["Condition"])
    }


def forwarding_rules(resolver: Resolver) -> dict[str, dict[str, Any]]:
    return {
        logical_id: properties
        for logical_id, properties in deployed(resolver).items()
        if properties["Type"] == "AWS::Events::Rule"
    }


def home_rule_patterns(watched_security_groups: str = "") -> dict[str, dict[str, Any]]:
    """template.yaml's checker rules on the default bus (the events a member stack forwards), by
    name; rules on another bus (the organization bus) are not the member stack's to mirror."""
    on_default_bus = {
        name
        for name, properties in eventbridge_rules(MAIN).items()
        if properties.get("EventBusName", "default") == "default"
    }
    patterns = checker_rule_patterns(watched_security_groups)
    return {name: pattern for name, pattern in patterns.items() if name in on_default_bus}


def member_rule_patterns(
    region: str = "us-east-1", watched_security_groups: list[str] | None = None
) -> dict[str, dict[str, Any]]:
    resolver = member_resolver(region, watched_security_groups=watched_security_groups)
    rules = forwarding_rules(resolver)
    return {name: rule["EventPattern"] for name, rule in rules.items()}


def bus_samples() -> list[str]:
    names = {path.name for path in EVENTS_DIR.glob("*.json")}
    return sorted(names - NOT_BUS_EVENTS)


def statements(policy: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {statement["Sid"]: statement for statement in policy["Statement"]}


def listed(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


# ---------------------------------------------------------------- a template StackSets accept


def test_the_member_template_is_plain_cloudformation() -> None:
    # service-managed StackSets reject templates with macros, the SAM transform included
    assert "Transform" not in MEMBER
    assert not [r for r in MEMBER["Resources"].values() if r["Type"].startswith("AWS::Serverless")]


def test_cfn_lint_finds_nothing() -> None:
    assert cfn_lint_findings(MEMBER_TEMPLATE) == []


@pytest.mark.skipif(not CHECKOV.exists(), reason="checkov venv missing: run `make checkov`")
def test_checkov_finds_no_failed_check() -> None:
    assert checkov_problems(MEMBER_TEMPLATE) is None


def test_every_checkov_suppression_gives_a_reason() -> None:
    suppressions = checkov_suppressions(MEMBER_TEMPLATE)
    assert suppressions  # the queue's (SQS-managed encryption), explained
    for logical_id, skip in suppressions:
        assert skip["id"].startswith("CKV_"), (logical_id, skip)
        assert len(skip.get("comment", "")) > 30, (logical_id, skip)


# ---------------------------------------------------------------- the same rules as template.yaml


def test_a_member_rule_for_every_checker_rule_and_no_other() -> None:
    assert set(member_rule_patterns("us-east-1")) == set(home_rule_patterns())


def test_every_member_pattern_equals_the_checker_rule_pattern() -> None:
    # Given both templates watching the same security group (template.yaml: its canary's group)
    main = home_rule_patterns()
    member = member_rule_patterns("us-east-1", watched_security_groups=[SAMPLE_CANARY_SG_ID])
    # Then every pattern is the same, literally
    for name, pattern in main.items():
        assert member[name] == pattern, name


def test_without_watched_groups_the_egress_rule_forwards_every_group() -> None:
    # Given no WatchedSecurityGroupIds (the StackSet default: groups differ from account to account)
    member = member_rule_patterns("us-east-1")["SecurityGroupEgressChanged"]
    # Then the pattern is the checker's without the group filters
    expected = copy.deepcopy(home_rule_patterns()["SecurityGroupEgressChanged"])
    for branch in expected["detail"]["$or"]:
        del branch["requestParameters"]
    assert member == expected


def test_the_hosted_zone_rule_exists_in_us_east_1_only() -> None:
    assert "HostedZoneAssociationChanged" in member_rule_patterns("us-east-1")
    for region in ("eu-west-1", "ap-southeast-2", "us-west-2"):
        rules = member_rule_patterns(region)
        assert "HostedZoneAssociationChanged" not in rules, region
        assert set(rules) == set(home_rule_patterns()) - {"HostedZoneAssociationChanged"}


class PairedBuses:
    """template.yaml's rules and the member rules side by side on one moto bus."""

    def __init__(self, member_patterns: dict[str, dict[str, Any]]) -> None:
        main = {f"main-{name}": pattern for name, pattern in home_rule_patterns().items()}
        member = {f"member-{name}": pattern for name, pattern in member_patterns.items()}
        self.bus = Bus({**main, **member})

    def put(self, event: dict[str, Any]) -> tuple[set[str], set[str]]:
        """(checker rules, member rules) the event triggered, by rule name."""
        self.bus.put(event)
        hit = self.bus.triggered()
        return (
            {name.removeprefix("main-") for name in hit if name.startswith("main-")},
            {name.removeprefix("member-") for name in hit if name.startswith("member-")},
        )


@pytest.fixture
def paired() -> Iterator[PairedBuses]:
    with mock_aws():
        yield PairedBuses(
            member_rule_patterns("us-east-1", watched_security_groups=[SAMPLE_CANARY_SG_ID])
        )


@pytest.mark.parametrize("sample", bus_samples())
def test_a_sample_event_is_forwarded_exactly_when_the_checker_rules_match_it(
    paired: PairedBuses, sample: str
) -> None:
    # Given both templates' rules, When a sample event is put on the bus
    checker_hits, member_hits = paired.put(load_event(sample))
    # Then the member rules forward it exactly when (and by the rule that) the checker would see it
    assert member_hits == checker_hits


@pytest.mark.parametrize("sample", [name for name in bus_samples() if "detail" in load_event(name)])
def test_a_failed_call_is_forwarded_by_no_rule(paired: PairedBuses, sample: str) -> None:
    event = copy.deepcopy(load_event(sample))
    event["detail"]["errorCode"] = "Client.UnauthorizedOperation"
    event["detail"]["responseElements"] = None
    assert paired.put(event) == (set(), set())


def test_every_member_rule_forwards_some_sample(paired: PairedBuses) -> None:
    # the comparison above is not vacuous: each rule matches at least one sample event
    forwarded: set[str] = set()
    for sample in bus_samples():
        forwarded |= paired.put(load_event(sample))[1]
    assert forwarded == set(home_rule_patterns())


def test_without_watched_groups_an_egress_change_of_any_group_is_forwarded() -> None:
    with mock_aws():
        bus = Bus(member_rule_patterns("eu-west-1"))
        for sample, path in (
            ("revoke_security_group_egress.json", ("groupId",)),
            ("modify_security_group_rules.json", ("ModifySecurityGroupRulesRequest", "GroupId")),
        ):
            event = copy.deepcopy(load_event(sample))
            request = event["detail"]["requestParameters"]
            for key in path[:-1]:
                request = request[key]
            request[path[-1]] = OTHER_SG_ID
            bus.put(event)
            assert bus.triggered() == {"SecurityGroupEgressChanged"}, sample


def test_with_watched_groups_other_groups_are_not_forwarded() -> None:
    with mock_aws():
        bus = Bus(member_rule_patterns("eu-west-1", watched_security_groups=[SAMPLE_CANARY_SG_ID]))
        event = copy.deepcopy(load_event("revoke_security_group_egress.json"))
        event["detail"]["requestParameters"]["groupId"] = OTHER_SG_ID
        bus.put(event)
        assert bus.triggered() == set()


# ---------------------------------------------------------------- delivery to the central bus


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1"])
def test_every_rule_targets_the_central_bus_with_retries_a_role_and_the_dlq(region: str) -> None:
    resolver = member_resolver(region)
    main_rules = _checker_rules()
    for name, rule in forwarding_rules(resolver).items():
        [target] = rule["Targets"]
        assert target["Arn"] == CENTRAL_BUS_ARN, name
        assert target["RoleArn"] == resolver.value_of("ForwarderRole.Arn"), name
        assert target["RetryPolicy"] == main_rules[name]["RetryPolicy"], name
        assert target["DeadLetterConfig"] == {
            "Arn": resolver.value_of("ForwardingDeadLetterQueue.Arn")
        }, name
        assert rule["State"] == "ENABLED", name


def _checker_rules() -> dict[str, dict[str, Any]]:
    events = MAIN["Resources"]["CheckerFunction"]["Properties"]["Events"]
    return {name: event["Properties"] for name, event in events.items()}


def test_the_forwarder_role_may_only_put_events_on_the_central_bus() -> None:
    role = deployed(member_resolver("eu-west-1"))["ForwarderRole"]
    [trust] = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "events.amazonaws.com"}
    assert trust["Action"] == "sts:AssumeRole"
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": MEMBER_ACCOUNT}}
    [policy] = role["Policies"]
    [grant] = policy["PolicyDocument"]["Statement"]
    assert grant["Effect"] == "Allow"
    assert listed(grant["Action"]) == ["events:PutEvents"]
    assert grant["Resource"] == CENTRAL_BUS_ARN


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1"])
def test_the_dead_letter_queue_admits_the_forwarding_rules_only(region: str) -> None:
    resolver = member_resolver(region)
    resources = deployed(resolver)
    queue = resources["ForwardingDeadLetterQueue"]
    assert queue.get("SqsManagedSseEnabled") is True or queue.get("KmsMasterKeyId")
    assert queue["MessageRetentionPeriod"] == 1209600
    policy = resources["ForwardingDeadLetterQueuePolicy"]["PolicyDocument"]
    allows = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    [allow] = allows
    assert allow["Principal"] == {"Service": "events.amazonaws.com"}
    assert listed(allow["Action"]) == ["sqs:SendMessage"]
    assert allow["Resource"] == resolver.value_of("ForwardingDeadLetterQueue.Arn")
    rule_arns = {resolver.value_of(f"{name}.Arn") for name in forwarding_rules(resolver)}
    assert set(allow["Condition"]["ArnEquals"]["aws:SourceArn"]) == rule_arns


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1"])
def test_a_change_that_could_not_be_forwarded_raises_an_alarm_to_the_named_topic(
    region: str,
) -> None:
    # Given a member stack naming its alarm topic (a topic in each region it is deployed to)
    alarm = deployed(member_resolver(region))["ForwardingDeadLetterQueueAlarm"]
    # Then a single change waiting in the forwarding dead-letter queue raises the alarm
    assert alarm["Namespace"] == "AWS/SQS"
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": "ForwardingDeadLetterQueue"}]
    assert (alarm["Statistic"], alarm["Period"], alarm["EvaluationPeriods"]) == ("Maximum", 300, 1)
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)
    assert alarm["TreatMissingData"] == "notBreaching"
    # to that region's topic of this account, and says so again when the queue is empty
    topic = f"arn:aws:sns:{region}:{MEMBER_ACCOUNT}:{ALARM_TOPIC}"
    assert alarm["AlarmActions"] == [topic]
    assert alarm["OKActions"] == [topic]


def test_the_alarm_topic_may_be_another_accounts_in_the_same_region() -> None:
    resolver = member_resolver("eu-west-1", alarm_topic_account=CENTRAL_ACCOUNT)
    alarm = deployed(resolver)["ForwardingDeadLetterQueueAlarm"]
    assert alarm["AlarmActions"] == [f"arn:aws:sns:eu-west-1:{CENTRAL_ACCOUNT}:{ALARM_TOPIC}"]


def test_the_alarm_topic_must_be_named_and_is_a_name() -> None:
    # a forwarding failure must reach someone: no default, and a name (one template, many regions)
    parameter = MEMBER["Parameters"]["AlarmTopicName"]
    assert "Default" not in parameter
    pattern = re.compile(parameter["AllowedPattern"])
    assert pattern.fullmatch(ALARM_TOPIC)
    assert not pattern.fullmatch(f"arn:aws:sns:us-east-1:{MEMBER_ACCOUNT}:{ALARM_TOPIC}")
    account = re.compile(MEMBER["Parameters"]["AlarmTopicAccountId"]["AllowedPattern"])
    assert account.fullmatch("")
    assert account.fullmatch(CENTRAL_ACCOUNT)
    assert not account.fullmatch("1234")


def test_the_central_accounts_home_region_forwards_nothing() -> None:
    # the central stack's own rules watch that default bus: forwarding would double every event
    resources = deployed(member_resolver(CENTRAL_REGION, account=CENTRAL_ACCOUNT))
    assert forwarding_rules(member_resolver(CENTRAL_REGION, account=CENTRAL_ACCOUNT)) == {}
    assert "ForwarderRole" not in resources
    assert "ForwardingDeadLetterQueueAlarm" not in resources  # nothing to fail
    assert resources  # a stack needs at least one resource: the (empty) queue stays
    # ...while its other regions forward as any member account's do
    elsewhere = forwarding_rules(member_resolver("us-east-1", account=CENTRAL_ACCOUNT))
    assert set(elsewhere) == set(home_rule_patterns())


# ---------------------------------------------------------------- the member role


def test_the_member_role_exists_in_the_role_region_only() -> None:
    assert "MemberRole" in deployed(member_resolver(ROLE_REGION))
    for region in ("us-east-1", "ap-southeast-2"):
        assert "MemberRole" not in deployed(member_resolver(region)), region


def member_role() -> dict[str, Any]:
    return deployed(member_resolver(ROLE_REGION))["MemberRole"]


def test_the_member_role_has_the_name_the_central_checker_assumes() -> None:
    assert member_role()["RoleName"] == MEMBER["Parameters"]["MemberRoleName"]["Default"]
    assert MEMBER["Parameters"]["MemberRoleName"]["Default"] == "vpc-dns-watchdog-member"


def test_the_member_role_trusts_only_the_central_checker_within_the_organization() -> None:
    [trust] = member_role()["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Effect"] == "Allow"
    assert trust["Principal"] == {"AWS": CENTRAL_CHECKER_ROLE_ARN}
    assert listed(trust["Action"]) == ["sts:AssumeRole"]
    assert trust["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": ORGANIZATION}}


def test_the_member_role_grants_what_the_checker_role_grants_at_home_and_no_more() -> None:
    [checker_policy] = MAIN["Resources"]["CheckerRole"]["Properties"]["Policies"]
    checker = statements(checker_policy["PolicyDocument"])
    [member_policy] = member_role()["Policies"]
    member = statements(member_policy["PolicyDocument"])
    assert set(member) == set(CHECKER_STATEMENTS_IN_MEMBER_ACCOUNTS)
    for sid in CHECKER_STATEMENTS_IN_MEMBER_ACCOUNTS:
        assert member[sid]["Effect"] == "Allow", sid
        assert sorted(listed(member[sid]["Action"])) == sorted(listed(checker[sid]["Action"])), sid
        assert member[sid].get("Condition") == checker[sid].get("Condition"), sid


def test_the_member_role_grants_no_wildcard_action_and_no_pass_role() -> None:
    [policy] = member_role()["Policies"]
    for statement in policy["PolicyDocument"]["Statement"]:
        for action in listed(statement["Action"]):
            assert "*" not in action, action
            assert not action.startswith(("iam:", "sts:")), action


def test_the_member_role_uses_resource_star_only_where_the_api_requires_it() -> None:
    [policy] = member_role()["Policies"]
    for statement in policy["PolicyDocument"]["Statement"]:
        if statement["Resource"] == "*":
            assert set(listed(statement["Action"])) <= ACTIONS_WITHOUT_RESOURCE_LEVEL_PERMISSIONS


def test_the_member_role_drives_only_canaries_of_its_own_account() -> None:
    # Given the canary identity the checker holds (name prefix and tag)
    member = statements(member_role()["Policies"][0]["PolicyDocument"])
    canaries = (
        f"arn:aws:lambda:*:{MEMBER_ACCOUNT}:function:{constants.CANARY_FUNCTION_NAME_PREFIX}*"
    )
    for sid in ("DriveCanaries", "RefreshCanaries"):
        # Then every Lambda action is on canary names of this account, in any watched region
        assert member[sid]["Resource"] == canaries, sid
        assert all(action.startswith("lambda:") for action in listed(member[sid]["Action"]))
        # And only on functions that carry the canary tag
        condition = member[sid]["Condition"]["StringLike"]
        assert condition == {f"aws:ResourceTag/{constants.CANARY_TAG_KEY}": "vpc-*"}, sid


def test_the_member_role_name_default_matches_the_central_template() -> None:
    central = MAIN.get("Parameters", {}).get("MemberRoleName")
    if central is None:
        pytest.skip("template.yaml has no MemberRoleName parameter (organization mode) yet")
    # the central default may be empty (single-account mode); a non-empty one must match
    default = central.get("Default", "")
    assert default in ("", MEMBER["Parameters"]["MemberRoleName"]["Default"])


# ---------------------------------------------------------------- deployed (moto CloudFormation)


def session_in(account: str, region: str) -> boto3.Session:
    """A session in ``account`` (moto: credentials of a role assumed there)."""
    credentials = boto3.client("sts", region_name=region).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/deployer", RoleSessionName="vpc-dns-watchdog-tests"
    )["Credentials"]
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=region,
    )


def deploy_member_stack(session: boto3.Session) -> None:
    parameters = {
        "CentralAccountId": CENTRAL_ACCOUNT,
        "CentralRegion": CENTRAL_REGION,
        "CentralEventBusName": CENTRAL_BUS,
        "CentralCheckerRoleName": CENTRAL_CHECKER_ROLE,
        "OrganizationId": ORGANIZATION,
        "RoleRegion": ROLE_REGION,
        "AlarmTopicName": ALARM_TOPIC,
    }
    cloudformation = session.client("cloudformation")
    cloudformation.create_stack(
        StackName="vpc-dns-watchdog-member",
        TemplateBody=MEMBER_TEMPLATE.read_text(),
        Capabilities=["CAPABILITY_NAMED_IAM"],
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
    )
    [stack] = cloudformation.describe_stacks(StackName="vpc-dns-watchdog-member")["Stacks"]
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack


class CentralBus:
    """The central account's organization bus, with one rule that keeps whatever arrives."""

    def __init__(self) -> None:
        session = session_in(CENTRAL_ACCOUNT, CENTRAL_REGION)
        events, self.sqs = session.client("events"), session.client("sqs")
        events.create_event_bus(Name=CENTRAL_BUS)
        self.url = self.sqs.create_queue(QueueName="arrived")["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])
        events.put_rule(
            Name="everything",
            EventBusName=CENTRAL_BUS,
            EventPattern=json.dumps({"detail-type": ["AWS API Call via CloudTrail"]}),
        )
        events.put_targets(
            Rule="everything",
            EventBusName=CENTRAL_BUS,
            Targets=[{"Id": "kept", "Arn": arn["Attributes"]["QueueArn"]}],
        )

    def arrived(self) -> list[str]:
        """The eventName of every CloudTrail record that reached the bus since the last call."""
        messages = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10)
        bodies = [json.loads(m["Body"]) for m in messages.get("Messages", [])]
        for message in messages.get("Messages", []):
            self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
        return [body["detail"]["eventName"] for body in bodies]


def put_on_default_bus(session: boto3.Session, event: dict[str, Any]) -> None:
    entry = {
        "Source": event["source"],
        "DetailType": event["detail-type"],
        "Detail": json.dumps(event["detail"]),
    }
    response = session.client("events").put_events(Entries=[entry])  # type: ignore[list-item]
    assert response["FailedEntryCount"] == 0, response


# moto's CloudFormation cannot create AWS::SQS::QueuePolicy or AWS::CloudWatch::Alarm (the queue
# policy and the alarm are checked above).
DEPLOYED = pytest.mark.filterwarnings(
    "ignore:Tried to parse AWS..(SQS..QueuePolicy|CloudWatch..Alarm):UserWarning"
)


@DEPLOYED
@pytest.mark.parametrize(
    ("region", "hosted_zone_rule", "member_role"),
    [("us-east-1", True, False), (ROLE_REGION, False, True), ("ap-southeast-2", False, False)],
)
def test_the_deployed_stack_has_its_regions_rules_and_the_role_once(
    region: str, hosted_zone_rule: bool, member_role: bool
) -> None:
    with mock_aws():
        member = session_in(MEMBER_ACCOUNT, region)
        deploy_member_stack(member)
        rules = {
            rule["Name"].split("-")[-2] for rule in member.client("events").list_rules()["Rules"]
        }
        expected = set(home_rule_patterns())
        if not hosted_zone_rule:
            expected -= {"HostedZoneAssociationChanged"}
        assert rules == expected
        roles = {role["RoleName"] for role in member.client("iam").list_roles()["Roles"]}
        assert ("vpc-dns-watchdog-member" in roles) is member_role


@DEPLOYED
def test_a_change_in_a_member_account_reaches_the_central_bus_once() -> None:
    with mock_aws():
        # Given the central bus and a member stack in another account and region
        central = CentralBus()
        member = session_in(MEMBER_ACCOUNT, "us-east-1")
        deploy_member_stack(member)
        # When the member account's CloudTrail reports an option set change, a hosted zone
        # association and a call that failed
        put_on_default_bus(member, load_event("associate_dhcp_options.json"))
        put_on_default_bus(member, load_event("associate_vpc_with_hosted_zone.json"))
        put_on_default_bus(member, load_event("associate_dhcp_options_failed.json"))
        # Then the two changes arrive on the central bus, once each, and the failed call does not
        assert sorted(central.arrived()) == ["AssociateDhcpOptions", "AssociateVPCWithHostedZone"]


# ---------------------------------------------------------------- docs/deploy.md agrees

DEPLOY_DOC = MEMBER_TEMPLATE.parent / "docs" / "deploy.md"
MEMBER_STACK_SET = "vpc-dns-watchdog-member"


def documented_command(starts_with: str, stack_set: str) -> str:
    """The shell block of docs/deploy.md whose command starts so and names ``stack_set``."""
    blocks = re.findall(r"```sh\n(.*?)```", DEPLOY_DOC.read_text(), flags=re.DOTALL)
    commands = [
        command
        for block in blocks
        for command in re.split(r"\n\n", block)
        if command.startswith(starts_with) and f"--stack-set-name {stack_set}" in command
    ]
    assert len(commands) == 1, (starts_with, stack_set, commands)
    return commands[0]


def test_the_documented_member_stackset_sets_every_required_parameter() -> None:
    command = documented_command("aws cloudformation create-stack-set", MEMBER_STACK_SET)
    documented = set(re.findall(r"ParameterKey=(\w+)", command))
    parameters = MEMBER["Parameters"]
    required = {name for name, parameter in parameters.items() if "Default" not in parameter}
    assert required <= documented <= set(parameters)
    assert "--permission-model SERVICE_MANAGED" in command
    assert "--auto-deployment Enabled=true,RetainStacksOnAccountRemoval=false" in command
    assert "--capabilities CAPABILITY_NAMED_IAM" in command  # the member role has a fixed name


def test_the_documented_stack_instances_include_us_east_1_and_the_role_region() -> None:
    set_command = documented_command("aws cloudformation create-stack-set", MEMBER_STACK_SET)
    [role_region] = re.findall(r"ParameterKey=RoleRegion,ParameterValue=([a-z0-9-]+)", set_command)
    command = documented_command("aws cloudformation create-stack-instances", MEMBER_STACK_SET)
    [regions] = re.findall(r"--regions ([a-z0-9 -]+?) *\\\n", command)
    assert {"us-east-1", role_region} <= set(regions.split())
    assert "--deployment-targets OrganizationalUnitIds=" in command


def test_the_documented_bucket_policy_lets_the_organization_read_the_code_only() -> None:
    [block] = re.findall(r"```json\n(.*?)```", DEPLOY_DOC.read_text(), flags=re.DOTALL)
    policy = json.loads(block)
    [allow] = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    assert listed(allow["Action"]) == ["s3:GetObject"]
    assert allow["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": ORGANIZATION}}
    assert allow["Resource"].endswith(f"/{package_org.S3_PREFIX}/*")


def test_the_member_role_may_self_heal_only_when_asked_and_only_tagged_vpcs() -> None:
    off = deployed(member_resolver(region=ROLE_REGION))
    assert "MemberSelfHealingPolicy" not in off
    resolver = member_resolver(region=ROLE_REGION)
    resolver.values["SelfHealing"] = "on"
    policy = deployed(resolver)["MemberSelfHealingPolicy"]
    statements = {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}
    assert {s["Action"] for s in statements.values()} == {"ec2:AssociateDhcpOptions"}
    on_vpcs = statements["AssociateOnTaggedVpcs"]
    assert on_vpcs["Resource"] == f"arn:aws:ec2:*:{MEMBER_ACCOUNT}:vpc/*"
    assert on_vpcs["Condition"] == {
        "StringEquals": {"aws:ResourceTag/dhcp-watchdog:self-heal": "true"}
    }
    # and only in the role's region, where the role exists
    elsewhere = member_resolver(region="ap-southeast-2")
    elsewhere.values["SelfHealing"] = "on"
    assert "MemberSelfHealingPolicy" not in deployed(elsewhere)


def test_the_member_role_may_name_the_blocking_rule_as_the_checker_may_at_home() -> None:
    resolver = member_resolver(region=ROLE_REGION)
    assert "MemberBlockingRulePolicy" not in deployed(resolver)
    resolver.values["NameBlockingRule"] = "true"
    member = deployed(resolver)["MemberBlockingRulePolicy"]["PolicyDocument"]["Statement"]
    checker = MAIN["Resources"]["CheckerBlockingRulePolicy"]["Properties"]["PolicyDocument"]
    # The same statements (actions, conditions, resource types), in every region of the account
    assert [s["Sid"] for s in member] == [s["Sid"] for s in checker["Statement"]]
    for ours, theirs in zip(member, checker["Statement"], strict=True):
        assert sorted(listed(ours["Action"])) == sorted(listed(theirs["Action"])), ours["Sid"]
        assert ours.get("Condition") == theirs.get("Condition"), ours["Sid"]
        if ours["Effect"] == "Deny":
            continue  # (a deny may reach wider: it only takes away)
        for resource in listed(ours["Resource"]):
            assert resource == "*" or resource.startswith(f"arn:aws:ec2:*:{MEMBER_ACCOUNT}:")
    # and the reads of the same AWS managed policy
    managed = "arn:{}:iam::aws:policy/AmazonVPCReachabilityAnalyzerFullAccessPolicy"
    role = deployed(resolver)["MemberRole"]
    assert role["ManagedPolicyArns"] == [managed.format("aws")]
    home = MAIN["Resources"]["CheckerRole"]["Properties"]["ManagedPolicyArns"]
    assert home["Fn::If"][0] == "NameBlockingRuleOn"
    assert home["Fn::If"][1] == [{"Fn::Sub": managed.format("${AWS::Partition}")}]
