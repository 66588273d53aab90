"""Outbound endpoint health as a page says it (pure): an endpoint AWS may not be asked about, one
that needs action, and a page with more endpoints than it lists (botocore's Stubber answers)."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
import pytest
from botocore.stub import Stubber
from dns_watchdog.aws.endpoint_health import read_endpoint_health
from dns_watchdog.domain.endpoint_health import EndpointHealth
from dns_watchdog.render.endpoint_health import MAX_LINES, endpoint_health_lines

pytestmark = pytest.mark.unit

NOW = datetime(2024, 5, 14, 9, 30, tzinfo=UTC)


def test_a_denied_endpoint_read_names_the_missing_permission(
    stub_session: boto3.session.Session,
) -> None:
    resolver = stub_session.client("route53resolver")
    cloudwatch = stub_session.client("cloudwatch")
    with Stubber(resolver) as stub:
        stub.add_client_error(
            "get_resolver_endpoint",
            service_error_code="AccessDeniedException",
            http_status_code=403,
        )
        (health,) = read_endpoint_health(resolver, cloudwatch, ["rslvr-out-1"], now=NOW)
    assert health.unread == ("the checker may not call GetResolverEndpoint (AccessDeniedException)")
    assert endpoint_health_lines((health,))[0] == (
        "Outbound endpoint rslvr-out-1: could not be read: the checker may not call "
        "GetResolverEndpoint (AccessDeniedException)"
    )


def test_an_endpoint_that_needs_action_is_down_with_aws_s_message() -> None:
    health = EndpointHealth(
        endpoint_id="rslvr-out-9",
        status="ACTION_NEEDED",
        status_message="The security group blocks\n port 53",
        interfaces=2,
        healthy_interfaces=2,
    )
    assert health.signal == "down"
    assert endpoint_health_lines((health,))[0] == (
        "Outbound endpoint rslvr-out-9: DOWN: forwarded queries cannot leave the VPC; "
        "status ACTION_NEEDED (The security group blocks port 53), "
        "2 of 2 network interfaces healthy"
    )


def test_a_page_lists_a_few_endpoints_and_counts_the_rest() -> None:
    healths = tuple(
        EndpointHealth(endpoint_id=f"rslvr-out-{index}", status="OPERATIONAL")
        for index in range(MAX_LINES + 3)
    )
    lines = endpoint_health_lines(healths)
    assert len(lines) == MAX_LINES + 2
    assert lines[MAX_LINES] == "... and 3 more outbound endpoints"
    assert endpoint_health_lines(()) == []
