"""Invoking canaries: throttling retries, error payloads, and refreshing stale canaries."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError, ReadTimeoutError, WaiterError
from pydantic import ValidationError

from dns_watchdog.constants import OPTION_SET_ENV_VAR
from dns_watchdog.models import CanaryFindings, CanaryRun, RunStatus

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient

TIMEOUT_MARKER = "Task timed out after"
SANDBOX_TIMEOUT = "Sandbox.Timedout"
INVALID_PLAN_ERROR = "InvalidProbePlan"


class CanaryInvoker:
    """Invokes one canary synchronously and classifies what came back.

    Throttling (TooManyRequestsException: the function did not run) is retried here, with
    exponential backoff and full jitter, so the Lambda client is built with retries off.
    """

    def __init__(
        self,
        client: LambdaClient,
        *,
        max_attempts: int = 4,
        base_delay_s: float = 0.2,
        max_delay_s: float = 5.0,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[float, float], float] = random.uniform,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lambda = client
        self._max_attempts = max_attempts
        self._base_delay_s = base_delay_s
        self._max_delay_s = max_delay_s
        self._sleep = sleep
        self._jitter = jitter
        self._clock = clock

    def invoke(self, function_arn: str, payload: Mapping[str, Any]) -> CanaryRun:
        body = json.dumps(payload).encode()
        for attempt in range(1, self._max_attempts + 1):
            try:
                response = self._lambda.invoke(
                    FunctionName=function_arn, InvocationType="RequestResponse", Payload=body
                )
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                if code == "ResourceNotFoundException":
                    return CanaryRun(function_arn, "gone", detail="function no longer exists")
                if code == "TooManyRequestsException":
                    if attempt < self._max_attempts:
                        self._sleep(self._backoff(attempt))
                        continue
                    return CanaryRun(
                        function_arn,
                        "error",
                        detail=f"throttled by Lambda (TooManyRequestsException) {attempt} times",
                        attempts=attempt,
                    )
                raise
            except ReadTimeoutError:
                return CanaryRun(
                    function_arn, "error", detail="no response to Invoke in time", attempts=attempt
                )
            raw = response["Payload"].read()
            return _classify(function_arn, response.get("FunctionError"), raw, attempt)
        raise AssertionError("unreachable: the loop returns on its last attempt")

    def refresh(self, function_arn: str, option_set_id: str, refresh_expiry: float) -> str | None:
        """Make the canary start fresh execution environments; return why not, or None.

        Setting WATCHDOG_OPTION_SET (merged into the existing variables) is a configuration
        change, so later invocations run in new environments that read the current option set.
        """
        if self._clock() >= refresh_expiry:
            return "no refresh budget left to refresh it"
        current = self._lambda.get_function_configuration(FunctionName=function_arn)
        variables = dict(current.get("Environment", {}).get("Variables", {}))
        variables[OPTION_SET_ENV_VAR] = option_set_id
        try:
            self._lambda.update_function_configuration(
                FunctionName=function_arn, Environment={"Variables": variables}
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ResourceConflictException":
                return "another update of its configuration is in progress"
            raise
        remaining = refresh_expiry - self._clock()
        delay = 1  # the waiter's smallest delay
        attempts = max(1, int(remaining // delay))
        try:
            self._lambda.get_waiter("function_updated_v2").wait(
                FunctionName=function_arn,
                WaiterConfig={"Delay": delay, "MaxAttempts": attempts},
            )
        except WaiterError as exc:
            return f"its configuration update did not finish in time: {exc}"
        return None

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self._max_delay_s, self._base_delay_s * 2 ** (attempt - 1))
        return self._jitter(0.0, ceiling)


def _classify(
    function_arn: str, function_error: str | None, raw: bytes, attempts: int
) -> CanaryRun:
    text = raw.decode("utf-8", errors="replace")
    try:
        document: object = json.loads(text) if text else None
    except json.JSONDecodeError:
        document = None
    if function_error:
        return _classify_error(function_arn, function_error, document, text, attempts)
    if not isinstance(document, dict):
        return CanaryRun(
            function_arn,
            "error",
            detail=f"malformed findings: not a JSON object: {_clip(text)!r}",
            attempts=attempts,
        )
    try:
        findings = CanaryFindings.model_validate(document)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        return CanaryRun(
            function_arn,
            "error",
            detail=f"malformed findings: {where}: {first['msg']}",
            attempts=attempts,
        )
    status: RunStatus = "stale" if findings.stale else "findings"
    return CanaryRun(function_arn, status, findings=findings, attempts=attempts)


def _classify_error(
    function_arn: str, function_error: str, document: object, text: str, attempts: int
) -> CanaryRun:
    """FunctionError: a timeout (itself evidence of hanging DNS), a rejected plan, or a crash."""
    error_type, message = _error_fields(document, text)
    if error_type == SANDBOX_TIMEOUT or TIMEOUT_MARKER in message:
        detail = message or error_type
        return CanaryRun(function_arn, "timed_out", detail=detail, attempts=attempts)
    if error_type == INVALID_PLAN_ERROR:
        return CanaryRun(function_arn, "invalid_plan", detail=message, attempts=attempts)
    return CanaryRun(
        function_arn,
        "error",
        detail=f"it crashed ({function_error}): {error_type or 'unknown error'}: {message}",
        attempts=attempts,
    )


def _error_fields(document: object, text: str) -> tuple[str, str]:
    if isinstance(document, dict):
        return str(document.get("errorType") or ""), str(document.get("errorMessage") or "")
    return "", _clip(text)


def _clip(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
