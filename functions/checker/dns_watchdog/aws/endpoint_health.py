"""Route 53 Resolver and CloudWatch adapter: read how a VPC's outbound endpoints are doing.

For each outbound endpoint a failing forward rule sends its queries through:

- `GetResolverEndpoint`: the endpoint's status (`OPERATIONAL`, `AUTO_RECOVERING`,
  `ACTION_NEEDED`, ...), its status message and how many addresses it has.
- One `GetMetricData` call for every endpoint at once, over the last `window_s` seconds in
  five-minute periods (Resolver publishes its endpoint metrics every five minutes, free of
  charge): the minimum of `EndpointHealthyENICount` and the maximum of
  `ResolverEndpointCapacityStatus`, namespace `AWS/Route53Resolver`, dimension `EndpointId`.

The per-target-server metrics an endpoint publishes when its detailed metrics are turned on
are not read: their names are not pinned down by a contract this project can test against.

This only adds lines to a page that is sent anyway, so nothing here raises into the check: an
AWS or transport error becomes an endpoint `unread` with the reason (a missing metric is simply
no value).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from dns_watchdog.aws.calls import failure_reason, read_error
from dns_watchdog.domain.endpoint_health import EndpointHealth
from dns_watchdog.domain.text import clip

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_cloudwatch.type_defs import MetricDataQueryTypeDef
    from mypy_boto3_route53resolver import Route53ResolverClient

RESOLVER_OPERATIONS = frozenset({"GetResolverEndpoint"})
CLOUDWATCH_OPERATIONS = frozenset({"GetMetricData"})

NAMESPACE = "AWS/Route53Resolver"
HEALTHY_INTERFACES = "EndpointHealthyENICount"
CAPACITY_STATUS = "ResolverEndpointCapacityStatus"
# Resolver's endpoint metrics arrive every five minutes: the smallest useful period.
PERIOD_S = 300
DEFAULT_WINDOW_S = 900
# GetMetricData takes at most 500 queries; two per endpoint.
MAX_ENDPOINTS = 20


def read_endpoint_health(
    resolver: Route53ResolverClient,
    cloudwatch: CloudWatchClient,
    endpoint_ids: Sequence[str],
    *,
    now: datetime,
    window_s: int = DEFAULT_WINDOW_S,
) -> tuple[EndpointHealth, ...]:
    """The health of each endpoint (at most MAX_ENDPOINTS, in the order given, no repeats)."""
    ids = tuple(dict.fromkeys(endpoint_ids))[:MAX_ENDPOINTS]
    if not ids:
        return ()
    described = {endpoint_id: _describe(resolver, endpoint_id) for endpoint_id in ids}
    readable = [endpoint_id for endpoint_id in ids if not described[endpoint_id].unread]
    metrics, problem = _metrics(cloudwatch, readable, now=now, window_s=window_s)
    healths = []
    for endpoint_id in ids:
        health = described[endpoint_id]
        if not health.unread:
            healthy, capacity = metrics.get(endpoint_id, (None, None))
            health = EndpointHealth(
                endpoint_id=endpoint_id,
                status=health.status,
                status_message=health.status_message,
                interfaces=health.interfaces,
                healthy_interfaces=healthy,
                capacity_status=capacity,
                unread="" if health.status or not problem else problem,
            )
        healths.append(health)
    return tuple(healths)


def _describe(resolver: Route53ResolverClient, endpoint_id: str) -> EndpointHealth:
    try:
        endpoint = resolver.get_resolver_endpoint(ResolverEndpointId=endpoint_id)[
            "ResolverEndpoint"
        ]
    except (ClientError, BotoCoreError) as exc:
        return EndpointHealth(endpoint_id=endpoint_id, unread=_reason(exc, "Route 53 Resolver"))
    count = endpoint.get("IpAddressCount")
    return EndpointHealth(
        endpoint_id=endpoint_id,
        status=str(endpoint.get("Status") or ""),
        status_message=clip(" ".join(str(endpoint.get("StatusMessage") or "").split()), 200),
        interfaces=count if isinstance(count, int) else None,
    )


def _metrics(
    cloudwatch: CloudWatchClient, endpoint_ids: Sequence[str], *, now: datetime, window_s: int
) -> tuple[dict[str, tuple[int | None, int | None]], str]:
    """Per endpoint: (fewest healthy interfaces, worst capacity status); or why none was read."""
    if not endpoint_ids:
        return {}, ""
    queries: list[MetricDataQueryTypeDef] = []
    for index, endpoint_id in enumerate(endpoint_ids):
        queries.append(_query(f"healthy{index}", HEALTHY_INTERFACES, "Minimum", endpoint_id))
        queries.append(_query(f"capacity{index}", CAPACITY_STATUS, "Maximum", endpoint_id))
    try:
        results = _all_results(cloudwatch, queries, now=now, window_s=window_s)
    except (ClientError, BotoCoreError) as exc:
        return {}, _reason(exc, "CloudWatch")
    found: dict[str, tuple[int | None, int | None]] = {}
    for index, endpoint_id in enumerate(endpoint_ids):
        found[endpoint_id] = (
            _extreme(results.get(f"healthy{index}", ()), min),
            _extreme(results.get(f"capacity{index}", ()), max),
        )
    return found, ""


def _all_results(
    cloudwatch: CloudWatchClient,
    queries: list[MetricDataQueryTypeDef],
    *,
    now: datetime,
    window_s: int,
) -> dict[str, tuple[float, ...]]:
    paginator = cloudwatch.get_paginator("get_metric_data")
    values: dict[str, tuple[float, ...]] = {}
    for page in paginator.paginate(
        MetricDataQueries=queries,
        StartTime=now - timedelta(seconds=window_s),
        EndTime=now,
        ScanBy="TimestampDescending",
    ):
        for result in page.get("MetricDataResults", ()):
            key = str(result.get("Id", ""))
            values[key] = values.get(key, ()) + tuple(result.get("Values", ()))
    return values


def _query(query_id: str, metric: str, stat: str, endpoint_id: str) -> MetricDataQueryTypeDef:
    return {
        "Id": query_id,
        "MetricStat": {
            "Metric": {
                "Namespace": NAMESPACE,
                "MetricName": metric,
                "Dimensions": [{"Name": "EndpointId", "Value": endpoint_id}],
            },
            "Period": PERIOD_S,
            "Stat": stat,
        },
        "ReturnData": True,
    }


def _extreme(values: Any, pick: Any) -> int | None:
    numbers = [value for value in values if isinstance(value, int | float)]
    return int(pick(numbers)) if numbers else None


def _reason(exc: ClientError | BotoCoreError, service: str) -> str:
    if read_error(exc).code == "ResourceNotFoundException":
        return "the endpoint no longer exists"
    return failure_reason(exc, service)
