"""Checker Lambda: an event in, verdicts and alerts out (docs/checker-contract.md)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit
from dns_watchdog.config import CheckerConfig, load_config
from dns_watchdog.events import InvalidEvent, parse_event
from dns_watchdog.observability import logger, metrics, tracer
from dns_watchdog.runtime import Runtime, build_runtime

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

_config: CheckerConfig | None = None
_runtime: Runtime | None = None


def _get_config() -> CheckerConfig:
    """Read once per execution environment; a missing setting fails every invocation loudly."""
    global _config  # noqa: PLW0603 - the one configuration of this execution environment
    if _config is None:
        _config = load_config(os.environ)
    return _config


def _get_runtime(config: CheckerConfig) -> Runtime:
    """Clients are built on first use, so rejected or ignored events never pay for them."""
    global _runtime  # noqa: PLW0603 - the one set of clients of this execution environment
    if _runtime is None:
        _runtime = build_runtime(config)
    return _runtime


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    config = _get_config()
    try:
        parsed = parse_event(event)
    except InvalidEvent as exc:
        # Garbage is rejected, not raised: retrying it would only repeat the rejection.
        logger.warning("Rejected event", extra={"error": str(exc)})
        metrics.add_metric(name="EventsRejected", unit=MetricUnit.Count, value=1)
        return {"status": "rejected", "error": str(exc)}
    runtime = _get_runtime(config)
    runtime.register_context(context)
    return runtime.dispatch(parsed, event)
