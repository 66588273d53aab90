"""The outbound endpoints behind a VPC's forward rules, read as a passive second signal: their
status from Route 53 Resolver, healthy interfaces and capacity from CloudWatch (moto holds the
endpoints and the metrics; AWS errors are pinned with botocore's Stubber)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from dns_watchdog.aws.endpoint_health import (
    CAPACITY_STATUS,
    HEALTHY_INTERFACES,
    NAMESPACE,
    read_endpoint_health,
)
from dns_watchdog.render.endpoint_health import endpoint_health_lines

from devtools.lambdakit import REGION

pytestmark = pytest.mark.integration  # moto holds the endpoints and the metrics

NOW = datetime.now(UTC).replace(microsecond=0)


def _outbound_endpoint(ec2: Any, resolver: Any, name: str) -> str:
    vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.40.{index}.0/24")["Subnet"]["SubnetId"]
        for index in (1, 2)
    ]
    group = ec2.create_security_group(GroupName=name, Description="resolver", VpcId=vpc)
    endpoint = resolver.create_resolver_endpoint(
        CreatorRequestId=name,
        Name=name,
        SecurityGroupIds=[group["GroupId"]],
        Direction="OUTBOUND",
        IpAddresses=[{"SubnetId": subnet} for subnet in subnets],
    )["ResolverEndpoint"]
    return str(endpoint["Id"])


def _publish(cloudwatch: Any, endpoint_id: str, metric: str, values: list[float]) -> None:
    cloudwatch.put_metric_data(
        Namespace=NAMESPACE,
        MetricData=[
            {
                "MetricName": metric,
                "Dimensions": [{"Name": "EndpointId", "Value": endpoint_id}],
                "Timestamp": NOW - timedelta(minutes=5 * (len(values) - index)),
                "Value": value,
            }
            for index, value in enumerate(values)
        ],
    )


@pytest.fixture
def clients(moto_world: Any) -> tuple[Any, Any, Any]:
    return (
        boto3.client("ec2", region_name=REGION),
        boto3.client("route53resolver", region_name=REGION),
        boto3.client("cloudwatch", region_name=REGION),
    )


def test_an_endpoint_that_lost_every_interface_is_down_and_said_so_first(
    clients: tuple[Any, Any, Any],
) -> None:
    # Given two outbound endpoints: one healthy, one whose interfaces all went unhealthy
    ec2, resolver, cloudwatch = clients
    good = _outbound_endpoint(ec2, resolver, "good")
    dead = _outbound_endpoint(ec2, resolver, "dead")
    _publish(cloudwatch, good, HEALTHY_INTERFACES, [2, 2])
    _publish(cloudwatch, good, CAPACITY_STATUS, [0, 0])
    _publish(cloudwatch, dead, HEALTHY_INTERFACES, [2, 0])

    # When the checker reads them
    healths = read_endpoint_health(resolver, cloudwatch, [good, dead], now=NOW)

    # Then the dead one is down (the fewest healthy interfaces in the window is what counts)
    by_id = {health.endpoint_id: health for health in healths}
    assert by_id[dead].healthy_interfaces == 0
    assert by_id[dead].interfaces == 2
    assert by_id[dead].signal == "down"
    assert by_id[good].signal == "ok"
    lines = endpoint_health_lines(healths)
    assert lines[0].startswith(f"Outbound endpoint {dead}: DOWN")
    assert "0 of 2 network interfaces healthy" in lines[0]
    assert lines[1] == (
        f"Outbound endpoint {good}: status OPERATIONAL, 2 of 2 network interfaces healthy, "
        "capacity OK"
    )
    assert lines[-1].startswith("(passive signal:")


def test_one_interface_down_is_degraded_and_a_busy_endpoint_is_named_busy(
    clients: tuple[Any, Any, Any],
) -> None:
    ec2, resolver, cloudwatch = clients
    half = _outbound_endpoint(ec2, resolver, "half")
    busy = _outbound_endpoint(ec2, resolver, "busy")
    _publish(cloudwatch, half, HEALTHY_INTERFACES, [1])
    _publish(cloudwatch, busy, HEALTHY_INTERFACES, [2])
    _publish(cloudwatch, busy, CAPACITY_STATUS, [0, 2, 1])

    healths = read_endpoint_health(resolver, cloudwatch, [busy, half], now=NOW)

    signals = {health.endpoint_id: health.signal for health in healths}
    assert signals == {half: "degraded", busy: "busy"}
    text = "\n".join(endpoint_health_lines(healths))
    assert f"{half}: degraded; status OPERATIONAL, 1 of 2 network interfaces healthy" in text
    assert "capacity critical (an interface above 75 %)" in text


def test_an_endpoint_without_metrics_reads_its_status_only(clients: tuple[Any, Any, Any]) -> None:
    ec2, resolver, cloudwatch = clients
    quiet = _outbound_endpoint(ec2, resolver, "quiet")

    (health,) = read_endpoint_health(resolver, cloudwatch, [quiet, quiet], now=NOW)

    assert health.healthy_interfaces is None
    assert health.capacity_status is None
    assert health.signal == "ok"
    assert endpoint_health_lines((health,))[0] == f"Outbound endpoint {quiet}: status OPERATIONAL"


def test_an_endpoint_that_is_gone_or_denied_is_unread_and_the_others_still_read(
    clients: tuple[Any, Any, Any], stub_session: boto3.session.Session
) -> None:
    ec2, resolver, cloudwatch = clients
    alive = _outbound_endpoint(ec2, resolver, "alive")
    _publish(cloudwatch, alive, HEALTHY_INTERFACES, [2])

    healths = read_endpoint_health(
        resolver, cloudwatch, ["rslvr-out-0000000000000000", alive], now=NOW
    )

    gone, read = healths
    assert gone.signal == "unread"
    assert gone.unread == "the endpoint no longer exists"
    assert read.signal == "ok"
    assert read.healthy_interfaces == 2

    # CloudWatch denied: the statuses still count, the metrics are simply missing
    denied = stub_session.client("cloudwatch")
    with Stubber(denied) as stub:
        stub.add_client_error(
            "get_metric_data", service_error_code="AccessDenied", http_status_code=403
        )
        (only,) = read_endpoint_health(resolver, denied, [alive], now=NOW)
    assert only.status == "OPERATIONAL"
    assert only.healthy_interfaces is None
    assert only.signal == "ok"
