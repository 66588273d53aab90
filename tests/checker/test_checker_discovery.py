"""Discovery through the checker's handler (moto, canary doubles): the plan each canary gets, the
discovery kept with the VPC's state, reused within its TTL, read again on the changes that alter
it, and a zone disassociated from the VPC recorded as such."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from checker_doubles import FakeCanary, World

from devtools.lambdakit import cloudtrail_event, load_event

pytestmark = pytest.mark.integration

Invoke = Callable[[Any], dict[str, Any]]
CANARY = "vpc-dns-canary-a"


@pytest.fixture
def vpc(world: World) -> str:
    vpc_id = world.create_vpc("10.0.0.0/16")
    world.create_subnet(vpc_id, "10.0.1.0/24")
    world.associate(vpc_id, world.option_set("AmazonProvidedDNS"))
    world.add_canary(vpc_id, CANARY, FakeCanary())
    return vpc_id


@pytest.fixture
def route53_calls() -> list[str]:
    """The Route 53 operations the checker's clients call (default session)."""
    calls: list[str] = []
    assert boto3.DEFAULT_SESSION is not None

    def record(model: Any, **_: Any) -> None:
        calls.append(model.name)

    boto3.DEFAULT_SESSION.events.register("before-call.route53", record)
    return calls


def manual(vpc_id: str) -> dict[str, Any]:
    event = load_event("manual_check")
    event["vpc_ids"] = [vpc_id]
    return event


def stored(world: World, vpc_id: str) -> dict[str, Any]:
    item = world.dynamodb.get_item(TableName=world.table_name, Key={"pk": {"S": f"vpc#{vpc_id}"}})[
        "Item"
    ]
    return dict(json.loads(item["discovery"]["S"]))


def test_the_plan_names_the_configured_probes_first_then_the_vpcs_zone_and_rule(
    world: World, vpc: str, checker_app: Invoke
) -> None:
    # Given a VPC with a private zone and a forward rule, no PROBE_PLAN, the stack's ProbeNames
    zone = world.private_zone(vpc, "corp.internal", {"app.corp.internal": "10.9.0.5"})
    rule = world.forward_rule(vpc, "onprem.example", ["10.9.0.10"])
    # When it is checked
    checker_app(manual(vpc))
    # Then its canary's plan holds ProbeNames first, then one name of the zone and the rule
    [plan] = world.router.invocations(CANARY)
    assert plan["probes"] == [
        {"name": "sts.{region}.amazonaws.com", "type": "A"},
        {"name": "lambda.{region}.amazonaws.com", "type": "A"},
        {
            "name": "app.corp.internal",
            "type": "A",
            "expect": {"rcode": "NOERROR"},
            "source": {"kind": "private_zone", "id": zone, "domain": "corp.internal"},
        },
        {
            "name": "onprem.example",
            "type": "SOA",
            "expect": {"rcode": "NOERROR"},
            "source": {"kind": "forward_rule", "id": rule, "domain": "onprem.example"},
            "targets": ["10.9.0.10"],
        },
    ]
    # and the VPC's state keeps what was discovered
    assert [z[0] for z in stored(world, vpc)["zones"]] == [zone]


def test_without_discovery_or_with_nothing_found_the_plan_is_as_before(
    world: World, vpc: str, checker_app: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    checker_app(manual(vpc))
    [plan] = world.router.invocations(CANARY)
    assert "probes" not in plan  # the canary probes its own ProbeNames
    monkeypatch.setenv("PRIVATE_DNS_DISCOVERY", "false")
    world.private_zone(vpc, "corp.internal", {"app.corp.internal": "10.9.0.5"})
    checker_app(manual(vpc))
    assert "probes" not in world.router.invocations(CANARY)[-1]


def test_discovery_is_reused_within_its_ttl_and_read_again_on_a_zone_change(
    world: World, vpc: str, checker_app: Invoke, route53_calls: list[str]
) -> None:
    # Given a checked VPC with one zone
    zone = world.private_zone(vpc, "corp.internal", {"app.corp.internal": "10.9.0.5"})
    checker_app(manual(vpc))
    assert route53_calls.count("ListHostedZonesByVPC") == 1
    # When it is checked again within the TTL: nothing is read
    checker_app(manual(vpc))
    assert route53_calls.count("ListHostedZonesByVPC") == 1
    # When the zone is disassociated (the event arrives from us-east-1, Route 53 being global)
    _delete_zone(world, zone)
    event = cloudtrail_event(
        "disassociate_vpc_from_hosted_zone",
        hostedZoneId=zone,
        vPC={"vPCRegion": world.region, "vPCId": vpc},
    )
    checker_app(event)
    # Then discovery was read again at once, and the zone is recorded as disassociated
    assert route53_calls.count("ListHostedZonesByVPC") == 2
    kept = stored(world, vpc)
    assert kept["zones"] == []
    assert kept["lost_zones"] == [[zone, "corp.internal", vpc]]
    # and the plan no longer carries the zone's name
    assert "probes" not in world.router.invocations(CANARY)[-1]


def _delete_zone(world: World, zone: str) -> None:
    """moto refuses to disassociate a zone's last VPC (as Route 53 does): delete the zone."""
    route53 = world.client("route53")
    for record in route53.list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]:
        if record["Type"] not in ("SOA", "NS"):
            route53.change_resource_record_sets(
                HostedZoneId=zone,
                ChangeBatch={"Changes": [{"Action": "DELETE", "ResourceRecordSet": record}]},
            )
    route53.delete_hosted_zone(Id=zone)


def test_a_ttl_of_zero_reads_discovery_on_every_check(
    world: World,
    vpc: str,
    checker_app: Invoke,
    route53_calls: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DISCOVERY_TTL_S", "0")
    checker_app(manual(vpc))
    checker_app(manual(vpc))
    assert route53_calls.count("ListHostedZonesByVPC") == 2


def test_a_denied_discovery_never_stops_the_check(
    world: World, vpc: str, checker_app: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given Route 53 refuses the zone list (a missing permission)
    assert boto3.DEFAULT_SESSION is not None

    def deny(model: Any, **_: Any) -> Any:
        from botocore.awsrequest import AWSResponse

        if model.name != "ListHostedZonesByVPC":
            return None
        error = {"Error": {"Code": "AccessDenied", "Message": "not authorized"}}
        return AWSResponse("local://route53", 403, {}, None), {
            **error,
            "ResponseMetadata": {"HTTPStatusCode": 403},
        }

    boto3.DEFAULT_SESSION.events.register("before-call.route53", deny)
    world.private_zone(vpc, "corp.internal", {"app.corp.internal": "10.9.0.5"})
    # When the VPC is checked
    result = checker_app(manual(vpc))
    # Then the check still judges it, and the state records what could not be read
    assert result["vpcs"][0]["verdict"] == "OK"
    [[part, _, reason]] = stored(world, vpc)["undetermined"]
    assert part == "zones"
    assert reason.startswith("ListHostedZonesByVPC: AccessDenied")
