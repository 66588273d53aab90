"""Outbound endpoint health in words, one line per endpoint, the most troubled first (pure).

The lines are plain text; chat escapes them like every other line it did not write itself
(status messages come from AWS, endpoint ids from the VPC's rules).
"""

from __future__ import annotations

from dns_watchdog.domain.endpoint_health import (
    CAPACITY_CRITICAL,
    CAPACITY_WARNING,
    EndpointHealth,
    worst_first,
)

# Lines a page shows at most; the rest are counted.
MAX_LINES = 4
_SOURCE = "Route 53 Resolver and CloudWatch, last 15 min"


def endpoint_health_lines(healths: tuple[EndpointHealth, ...]) -> list[str]:
    """One line per endpoint (the most troubled first, at most MAX_LINES, the rest counted)."""
    ordered = worst_first(healths)
    lines = [f"Outbound endpoint {health.endpoint_id}: {_state(health)}" for health in ordered]
    if len(lines) > MAX_LINES:
        lines = [*lines[:MAX_LINES], f"... and {len(lines) - MAX_LINES} more outbound endpoints"]
    if lines:
        lines.append(f"(passive signal: {_SOURCE})")
    return lines


def _state(health: EndpointHealth) -> str:
    if health.unread:
        return f"could not be read: {health.unread}"
    parts = []
    if health.status:
        status = health.status
        if health.status_message and health.signal == "down":
            status += f" ({' '.join(health.status_message.split())})"
        parts.append(f"status {status}")
    if health.healthy_interfaces is not None:
        of = f" of {health.interfaces}" if health.interfaces is not None else ""
        parts.append(f"{health.healthy_interfaces}{of} network interfaces healthy")
    if health.capacity_status is not None:
        parts.append(_capacity(health.capacity_status))
    if not parts:
        return "no status and no metrics in the window"
    verdict = {
        "down": "DOWN: forwarded queries cannot leave the VPC",
        "degraded": "degraded",
        "busy": "near its query capacity",
    }.get(health.signal, "")
    text = ", ".join(parts)
    return f"{verdict}; {text}" if verdict else text


def _capacity(status: int) -> str:
    if status >= CAPACITY_CRITICAL:
        return "capacity critical (an interface above 75 %)"
    if status >= CAPACITY_WARNING:
        return "capacity warning (an interface above 50 %)"
    return "capacity OK"
