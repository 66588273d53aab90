"""Lambda handler of the DNS canary: probe plan in, findings out (docs/canary-contract.md)."""

from __future__ import annotations

import functools
import time
from typing import TYPE_CHECKING, Any

from dns_canary.canary import run_canary, run_window
from dns_canary.observability import logger
from dns_canary.plan import InvalidProbePlan, parse_plan
from dns_canary.settings import CanarySettings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@functools.cache
def _settings() -> CanarySettings:
    """Read once per execution environment (a configuration change starts new ones)."""
    return CanarySettings.from_env()


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: Any, context: LambdaContext) -> dict[str, object]:
    started = time.monotonic()
    settings = _settings()
    try:
        plan = parse_plan(event, settings)
    except InvalidProbePlan as exc:
        logger.warning("invalid probe plan", extra={"error": str(exc)})
        raise
    # The one absolute expiry of this run, computed here and passed down to every helper.
    window = run_window(
        plan.deadline_ms,
        context.get_remaining_time_in_millis(),
        settings.deadline_margin_ms,
        started,
    )
    findings = run_canary(plan, settings, window)
    logger.info(
        "canary finished",
        extra={
            "ok": findings.ok,
            "diagnosis": findings.diagnosis.code,
            "option_set_at_fault": findings.diagnosis.option_set_at_fault,
            "failed_names": list(findings.diagnosis.failed_names),
            "configured_nameservers": list(findings.resolv_conf.configured_nameservers),
            "deadline_ms": findings.deadline_ms,
            "elapsed_ms": round(findings.elapsed_ms, 1),
        },
    )
    return findings.to_dict()
