"""Invoking canaries: throttling retries, error payloads, and refreshing stale canaries.

One canary's failure is that canary's evidence, never the run's crash, so every other VPC and
canary is still judged and alerted on:

- Lambda Invoke errors about the canary's VPC placement (ENI limit, no free address in the
  subnet, a deleted subnet or security group, EC2 throttling or errors while attaching the
  function) become a `placement_error` run: new execution environments of every Lambda with that
  placement fail the same way, which is news about the VPC path on-call must hear;
- every other Invoke error code (known today or added later), transport errors (no connection,
  connection closed, read timeout) and malformed, oversized or hostile answers become an `error`
  run naming the cause; throttling is retried first, with backoff;
- a refresh that cannot happen (the canary was deleted meanwhile, its variables cannot be
  decrypted, its configuration changed in between, any other AWS or transport error) returns
  the reason, and never rewrites variables it could not read.

What raises: only errors that say the checker's own credentials are unusable
(`calls.CHECKER_CREDENTIAL_ERRORS`: unknown or expired keys, bad signatures, clock skew) and
programming errors (botocore parameter validation, missing credentials). Those fail every call
alike, so the run would judge nothing; raising lets EventBridge retry the event and keeps it in
the dead-letter queue. `AccessDeniedException` on one function is that canary's error (the
checker's policy may rightly not cover a function that merely carries the tag); when every
canary of a run failed on the checker's side (denied, or Lambda unreachable),
`whole_run_blinded` says so, for the caller to raise.

Answers are read up to `MAX_ANSWER_BYTES` (1 MiB). The contract's largest answer (50 probes,
each asked of 4 configured servers and the Amazon resolver: 300 lookups with 8 answers each) is
about 160 KB, so 1 MiB leaves room for long TXT answers while keeping a hostile or broken
function from making the checker hold Lambda's full 6 MB per canary, times
MAX_CONCURRENT_INVOCATIONS canaries at once.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError, WaiterError
from pydantic import ValidationError

from dns_watchdog.aws.calls import (
    AWS_CALL_ERRORS,
    CHECKER_CREDENTIAL_ERRORS,
    AwsError,
    Retry,
    read_error,
)
from dns_watchdog.constants import OPTION_SET_ENV_VAR
from dns_watchdog.domain.models import CanaryFindings, CanaryRun, RunStatus
from dns_watchdog.domain.text import clip
from dns_watchdog.domain.vpc import CanaryPlacement

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_lambda.type_defs import FunctionConfigurationResponseTypeDef

# The Lambda operations this adapter calls (aws/vpcs.py says why); GetFunction is what the
# `function_updated_v2` waiter polls.
LAMBDA_OPERATIONS = frozenset(
    {"GetFunction", "GetFunctionConfiguration", "Invoke", "UpdateFunctionConfiguration"}
)
TIMEOUT_MARKER = "Task timed out after"
SANDBOX_TIMEOUT = "Sandbox.Timedout"
INVALID_PLAN_ERROR = "InvalidProbePlan"
MAX_ANSWER_BYTES = 1024 * 1024
_MAX_MESSAGE_CHARS = 200
# A canary's own error message (an invalid plan names the field and may quote a long regex).
_MAX_CANARY_MESSAGE_CHARS = 1000

# Invoke errors raised when Lambda cannot attach a function to its VPC, with what each means for
# every Lambda function placed in the same subnets and security groups.
PLACEMENT_ERRORS: dict[str, str] = {
    "ENILimitReachedException": (
        "the account's network interface quota in this region is used up, so no new "
        "execution environments of VPC-attached Lambdas can start"
    ),
    "SubnetIPAddressLimitReachedException": (
        "its subnets have no free IP addresses, so no new execution environments of Lambdas "
        "in those subnets can start"
    ),
    "InvalidSubnetIDException": (
        "one of its subnets no longer exists or is invalid, so new execution environments of "
        "Lambdas configured with it cannot start"
    ),
    "InvalidSecurityGroupIDException": (
        "one of its security groups no longer exists or is invalid, so new execution "
        "environments of Lambdas configured with it cannot start"
    ),
    "EC2ThrottledException": (
        "EC2 throttled Lambda's network interface calls, so new execution environments of "
        "VPC-attached Lambdas may fail to start until it eases"
    ),
    "EC2UnexpectedException": (
        "EC2 failed while Lambda set up the network interface, so new execution environments "
        "of VPC-attached Lambdas may fail to start"
    ),
    "EC2AccessDeniedException": (
        "Lambda may not manage network interfaces for it (execution role without EC2 "
        "network interface permissions), so new execution environments cannot start"
    ),
}

ACCESS_DENIED = "AccessDeniedException"
# Lambda throttled the Invoke: the function did not run, so asking again is safe. (After a 5xx
# answer or a transport error it may have run: those are that canary's error, not retried.)
THROTTLED = "TooManyRequestsException"
# An idle VPC function whose network interface Lambda reclaimed: Lambda restores it on this
# very Invoke (the function goes Pending, then Active), so it is asked again like throttling.
NOT_READY = "ResourceNotReadyException"
# Invoke errors that say the function did not run yet and may run if asked again shortly.
_ASK_AGAIN = frozenset({THROTTLED, NOT_READY})
_UNREACHABLE_CODES = frozenset(
    {"EndpointConnectionError", "ConnectTimeoutError", "ConnectionClosedError", "SSLError"}
)

# `refresh`'s reason when the canary was deleted after its stale answer: the caller should count
# the canary as gone, not as stale.
REFRESH_GONE = "the function no longer exists (deleted since its stale answer)"


def whole_run_blinded(runs: Iterable[CanaryRun]) -> str | None:
    """Why the run judged nothing, when every canary failed on the checker's side; else None.

    Denied Invoke calls and an unreachable Lambda endpoint say nothing about any VPC; when they
    are all a run has, the checker's role or network is broken and the run should raise.
    """
    codes = [run.error_code for run in runs]
    if codes and all(code == ACCESS_DENIED or code in _UNREACHABLE_CODES for code in codes):
        causes = ", ".join(sorted(set(codes)))
        return (
            f"every canary invocation failed on the checker's side ({causes}): "
            "check the checker's IAM policy and its network path to Lambda"
        )
    return None


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
        self._retry = Retry(
            max_attempts=max_attempts,
            base_delay_s=base_delay_s,
            max_delay_s=max_delay_s,
            sleep=sleep,
            jitter=jitter,
        )
        self._clock = clock

    def invoke(self, function_arn: str, payload: Mapping[str, Any]) -> CanaryRun:
        body = json.dumps(payload).encode()
        tried = self._retry.call(lambda: self._invoke_once(function_arn, body), retry_if=_ask_again)
        if tried.failure is not None:
            return _failed_invoke(function_arn, tried.failure, tried.attempts)
        function_error, raw = tried.result()
        if len(raw) > MAX_ANSWER_BYTES:
            return CanaryRun(
                function_arn,
                "error",
                detail=(
                    f"its answer is larger than {MAX_ANSWER_BYTES:,} bytes, far more than a "
                    "canary's findings can be; not read further"
                ),
                attempts=tried.attempts,
            )
        return _classify(function_arn, function_error, raw, tried.attempts)

    def _invoke_once(self, function_arn: str, body: bytes) -> tuple[str | None, bytes]:
        """One synchronous Invoke: its FunctionError and at most one byte over the cap."""
        response = self._lambda.invoke(
            FunctionName=function_arn, InvocationType="RequestResponse", Payload=body
        )
        stream = response["Payload"]
        try:
            return response.get("FunctionError"), stream.read(MAX_ANSWER_BYTES + 1)
        finally:
            stream.close()

    def refresh(self, function_arn: str, option_set_id: str, refresh_expiry: float) -> str | None:
        """Make the canary start fresh execution environments; return why not, or None.

        Setting WATCHDOG_OPTION_SET (merged into its current variables) is a configuration
        change, so later invocations run in new environments that read the current option set.
        The update carries the RevisionId that was read, so a change made in between is kept
        (the update fails instead), and variables the checker cannot decrypt are never
        rewritten. A canary deleted meanwhile gives REFRESH_GONE.
        """
        if self._clock() >= refresh_expiry:
            return "no refresh budget left to refresh it"
        try:
            return self._update_and_wait(function_arn, option_set_id, refresh_expiry)
        except AWS_CALL_ERRORS as exc:
            error = _read(exc)
            if error.code in CHECKER_CREDENTIAL_ERRORS:
                raise
            if error.transport:
                return f"Lambda could not be reached ({error.code}): {error.message}"
            return _refresh_failure(error.code, error.message)

    def placement(self, function_arn: str, vpc_id: str) -> CanaryPlacement | str:
        """Where the canary watching `vpc_id` sits (its VpcConfig's subnets and security groups),
        or why that cannot be read. Never raises for AWS or transport errors: it only feeds the
        optional blocking-rule analysis. The VPC is the one checked (the canary's tag): a canary
        attached elsewhere simply has no interface there, which the analysis then says."""
        try:
            config = self._lambda.get_function_configuration(FunctionName=function_arn)
        except AWS_CALL_ERRORS as exc:
            error = _read(exc)
            if error.transport:
                return f"Lambda could not be reached ({error.code})"
            return f"GetFunctionConfiguration of the canary failed ({error.code}: {error.message})"
        vpc = config.get("VpcConfig") or {}
        if not vpc.get("SubnetIds"):
            return "the canary is not attached to a VPC"
        return CanaryPlacement(
            vpc_id,
            tuple(vpc.get("SubnetIds", [])),
            tuple(vpc.get("SecurityGroupIds", [])),
        )

    def _update_and_wait(
        self, function_arn: str, option_set_id: str, refresh_expiry: float
    ) -> str | None:
        current = self._lambda.get_function_configuration(FunctionName=function_arn)
        reason, update = _merged_update(current, option_set_id)
        if reason is not None:
            return reason
        self._lambda.update_function_configuration(FunctionName=function_arn, **update)
        remaining = refresh_expiry - self._clock()
        delay = 1  # the waiter's smallest delay
        attempts = max(1, int(remaining // delay))
        try:
            self._lambda.get_waiter("function_updated_v2").wait(
                FunctionName=function_arn,
                WaiterConfig={"Delay": delay, "MaxAttempts": attempts},
            )
        except WaiterError as exc:
            # An error response (e.g. the function was deleted meanwhile) ends the wait too.
            error = _read(exc)
            if error.answered:
                return _refresh_failure(error.code, error.message)
            return f"its configuration update did not finish in time: {exc}"
        return None


def _read(exc: ClientError | BotoCoreError) -> AwsError:
    return read_error(exc, message_limit=_MAX_MESSAGE_CHARS)


def _ask_again(error: AwsError) -> bool:
    return error.code in _ASK_AGAIN


def _failed_invoke(function_arn: str, exc: ClientError | BotoCoreError, attempts: int) -> CanaryRun:
    """The canary's run after Invoke failed; raises when the checker's credentials are bad."""
    error = _read(exc)
    if error.code in CHECKER_CREDENTIAL_ERRORS:
        raise exc
    if error.transport:
        return _transport_failure(function_arn, error, attempts)
    return _invoke_failure(function_arn, error.code, error.message, attempts)


def _invoke_failure(function_arn: str, code: str, message: str, attempts: int) -> CanaryRun:
    said = f": {message}" if message else ""
    if code == "ResourceNotFoundException":
        return CanaryRun(
            function_arn, "gone", detail="function no longer exists", attempts=attempts
        )
    if code == THROTTLED:
        return CanaryRun(
            function_arn,
            "error",
            detail=f"throttled by Lambda (TooManyRequestsException) {attempts} times",
            attempts=attempts,
            error_code=code,
        )
    if code == NOT_READY:
        return CanaryRun(
            function_arn,
            "error",
            detail=(
                f"the canary was idle and Lambda reclaimed its network interface; Lambda is "
                f"restoring it ({code}, asked {attempts} times): this says nothing about DNS "
                f"yet, the next check will ask it again{said}"
            ),
            attempts=attempts,
            error_code=code,
        )
    if code in PLACEMENT_ERRORS:
        return CanaryRun(
            function_arn,
            "placement_error",
            detail=(
                f"Lambda cannot attach the canary to its VPC ({code}): {PLACEMENT_ERRORS[code]}"
                f"{said}"
            ),
            attempts=attempts,
            error_code=code,
        )
    hint = ""
    if code == ACCESS_DENIED:
        hint = " (the checker may not invoke this function: see its IAM policy)"
    return CanaryRun(
        function_arn,
        "error",
        detail=f"Invoke failed ({code}){said}{hint}",
        attempts=attempts,
        error_code=code,
    )


def _transport_failure(function_arn: str, error: AwsError, attempts: int) -> CanaryRun:
    if error.code == "ReadTimeoutError":
        detail = "no response to Invoke in time (ReadTimeoutError)"
    else:
        detail = f"Lambda could not be reached ({error.code}): {error.message}"
    return CanaryRun(function_arn, "error", detail=detail, attempts=attempts, error_code=error.code)


def _merged_update(
    current: FunctionConfigurationResponseTypeDef, option_set_id: str
) -> tuple[str | None, dict[str, Any]]:
    """The UpdateFunctionConfiguration arguments, or why the variables must not be touched."""
    environment = current.get("Environment", {})
    error = environment.get("Error")
    if error:
        code = error.get("ErrorCode") or "Unknown"
        message = clip(error.get("Message") or "", _MAX_MESSAGE_CHARS)
        return (
            f"its environment variables cannot be read ({code}: {message}); "
            "they were left untouched",
            {},
        )
    variables = dict(environment.get("Variables", {}))
    variables[OPTION_SET_ENV_VAR] = option_set_id
    update: dict[str, Any] = {"Environment": {"Variables": variables}}
    if current.get("RevisionId"):
        update["RevisionId"] = current["RevisionId"]
    return None, update


def _refresh_failure(code: str, message: str) -> str:
    if code == "ResourceNotFoundException":
        return REFRESH_GONE
    if code == "ResourceConflictException":
        return "another update of its configuration is in progress"
    if code == "PreconditionFailedException":
        return (
            "its configuration changed while the checker was updating it "
            "(PreconditionFailedException); that change was kept"
        )
    return f"Lambda refused to update it ({code}: {message})"


def _classify(
    function_arn: str, function_error: str | None, raw: bytes, attempts: int
) -> CanaryRun:
    text = raw.decode("utf-8", errors="replace")
    document, problem = _parse(text)
    if function_error:
        return _classify_error(function_arn, function_error, document, text, attempts)
    if problem:
        return CanaryRun(
            function_arn, "error", detail=f"malformed findings: {problem}", attempts=attempts
        )
    if not isinstance(document, dict):
        return CanaryRun(
            function_arn,
            "error",
            detail=f"malformed findings: not a JSON object: {clip(text, _MAX_MESSAGE_CHARS)!r}",
            attempts=attempts,
        )
    try:
        findings = CanaryFindings.model_validate(document)
    except ValidationError as exc:
        return CanaryRun(
            function_arn,
            "error",
            detail=f"malformed findings: {_validation_problem(exc)}",
            attempts=attempts,
        )
    status: RunStatus = "stale" if findings.stale else "findings"
    return CanaryRun(function_arn, status, findings=findings, attempts=attempts)


def _parse(text: str) -> tuple[object, str]:
    """The JSON document, or why there is none (never raises: the text is untrusted)."""
    if not text:
        return None, ""
    try:
        return json.loads(text), ""
    except RecursionError:
        return None, "not valid JSON (nested too deeply)"
    except ValueError:  # JSONDecodeError, or an integer too long to convert
        return None, f"not a JSON object: {clip(text, _MAX_MESSAGE_CHARS)!r}"


def _validation_problem(exc: ValidationError) -> str:
    first = exc.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(part) for part in first["loc"])
    context = first.get("ctx") or {}
    if first["type"] == "too_long" and "actual_length" in context:
        return (
            f"{where}: {context['actual_length']} entries, more than the "
            f"{context['max_length']} the canary contract allows"
        )
    return f"{where}: {first['msg']}"


def _classify_error(
    function_arn: str, function_error: str, document: object, text: str, attempts: int
) -> CanaryRun:
    """FunctionError: a timeout (itself evidence of hanging DNS), a rejected plan, or a crash."""
    error_type, message = _error_fields(document, text)
    function_error = clip(function_error, _MAX_MESSAGE_CHARS)
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
    """errorType and errorMessage, clipped; anything but strings there counts as absent."""
    if isinstance(document, dict):
        error_type = document.get("errorType")
        message = document.get("errorMessage")
        return (
            clip(error_type, _MAX_MESSAGE_CHARS) if isinstance(error_type, str) else "",
            clip(message, _MAX_CANARY_MESSAGE_CHARS) if isinstance(message, str) else "",
        )
    return "", clip(text, _MAX_MESSAGE_CHARS)
