"""What every adapter needs around an AWS call: one way to read an error, one way to retry.

`read_error` turns a botocore error into an `AwsError`: the error code (a transport error's
class name when no answer came back), the service's message clipped with the one clip rule,
the request id AWS support asks for, the HTTP status, and whether trying again may help
(throttling, a 5xx answer, a transport error). The codes are botocore's own standard retry
lists (`botocore/retries/standard.py`), so "retryable" here means what it means to the SDK.

`Retry` runs a call until it succeeds, fails with an error its caller does not retry, or runs
out of attempts, sleeping with exponential backoff and full jitter in between (a uniform draw
between zero and `base_delay_s * 2 ** (attempt - 1)`, at most `max_delay_s`). Adapters that
retry here build their clients with botocore's retries off, so a call is never retried twice
over. Which errors to retry is the caller's decision: Lambda throttling means the canary did
not run, while a 5xx answer to Invoke may come after it did.

Only AWS answers and transport failures are caught (`AWS_CALL_ERRORS`); programming errors
(parameter validation, missing credentials) pass through unchanged.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    HTTPClientError,
    IncompleteReadError,
    WaiterError,
)
from botocore.exceptions import ConnectionError as BotocoreConnectionError

from dns_watchdog.domain.text import clip

T = TypeVar("T")

# How much of a service's message an AwsError keeps (callers may ask for less or more).
MAX_MESSAGE_CHARS = 300

# Errors that say the checker's own credentials are unusable: every call fails alike, so an
# adapter raises them as they are, for the run to fail and its event to be retried.
CHECKER_CREDENTIAL_ERRORS = frozenset(
    {
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "IncompleteSignature",
        "MissingAuthenticationToken",
        "MissingAuthenticationTokenException",
        "ExpiredToken",
        "ExpiredTokenException",
        "RequestExpired",
        "InvalidAccessKeyId",
    }
)

# botocore's standard retry mode: codes AWS services use for throttling...
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
    }
)
# ... and for a request that timed out on the service's side.
TRANSIENT_CODES = frozenset(
    {"RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete"}
)

# Transport failures: no (complete) answer came back, so the call's effect is unknown.
TRANSPORT_ERRORS: tuple[type[BotoCoreError], ...] = (
    HTTPClientError,
    BotocoreConnectionError,
    IncompleteReadError,
)
# What `Retry` catches: an answer from AWS, or no answer at all.
AWS_CALL_ERRORS: tuple[type[ClientError] | type[BotoCoreError], ...] = (
    ClientError,
    *TRANSPORT_ERRORS,
)


@dataclass(frozen=True)
class AwsError:
    """One failed AWS call, as an adapter reasons about it and shows it."""

    code: str
    message: str
    request_id: str = ""
    http_status: int | None = None
    operation: str = ""
    # AWS answered with this error: the code and message are the service's own.
    answered: bool = False
    # No answer came back (connection refused or closed, timed out, cut short).
    transport: bool = False

    @property
    def throttled(self) -> bool:
        return self.code in THROTTLING_CODES

    @property
    def retryable(self) -> bool:
        """Trying again may succeed: throttling, a transient code, a 5xx answer, no answer."""
        return (
            self.transport
            or self.throttled
            or self.code in TRANSIENT_CODES
            or (self.http_status is not None and self.http_status >= 500)
        )

    def __str__(self) -> str:
        return f"{self.code}: {self.message}" if self.message else self.code


def read_error(
    exc: ClientError | BotoCoreError, *, message_limit: int = MAX_MESSAGE_CHARS
) -> AwsError:
    """The error behind a failed call: a service's answer (ClientError, or the error response a
    waiter stopped on) or a transport failure (code: the exception's class name)."""
    if isinstance(exc, ClientError):
        return _answered(exc.response, message_limit, operation=exc.operation_name or "")
    if isinstance(exc, WaiterError) and _error_code_in(exc.last_response):
        return _answered(exc.last_response, message_limit)
    return AwsError(
        code=type(exc).__name__,
        message=clip(str(exc), message_limit),
        transport=isinstance(exc, TRANSPORT_ERRORS),
    )


def _error_code_in(response: object) -> bool:
    return isinstance(response, Mapping) and bool((response.get("Error") or {}).get("Code"))


def _answered(response: Mapping[str, Any], message_limit: int, *, operation: str = "") -> AwsError:
    error = response.get("Error") or {}
    metadata = response.get("ResponseMetadata") or {}
    status = metadata.get("HTTPStatusCode")
    return AwsError(
        code=str(error.get("Code") or "Unknown"),
        message=clip(str(error.get("Message") or ""), message_limit),
        request_id=str(metadata.get("RequestId") or ""),
        http_status=status if isinstance(status, int) else None,
        operation=operation,
        answered=True,
    )


# Codes AWS answers when the caller's policy does not allow the call.
ACCESS_DENIED_CODES = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"})
# How much of a service's message a failure reason quotes.
REASON_MESSAGE_CHARS = 200


def failure_reason(exc: ClientError | BotoCoreError, service: str, *, iam_prefix: str = "") -> str:
    """One short, specific reason for a call an optional part of a page could not make (it is
    shown in the page, never raised): `service` names the service in words ("EC2"); a denial
    names the call as IAM does when `iam_prefix` is given ("logs:" + operation)."""
    error = read_error(exc, message_limit=REASON_MESSAGE_CHARS)
    if not error.answered:
        return f"{service} could not be reached: {error.code}"
    if error.code in ACCESS_DENIED_CODES:
        return f"the checker may not call {iam_prefix}{error.operation} ({error.code})"
    if error.throttled:
        return f"{service} throttled {error.operation} ({error.code})"
    message = " ".join(error.message.split())
    return f"{error.operation} failed: {error.code}" + (f": {message}" if message else "")


def is_retryable(error: AwsError) -> bool:
    return error.retryable


def is_throttled(error: AwsError) -> bool:
    return error.throttled


@dataclass(frozen=True)
class Tried(Generic[T]):
    """What a retried call came to: its value, or the AWS error that ended it."""

    attempts: int
    value: T | None = None
    # The last AWS error (one of AWS_CALL_ERRORS), when the call never succeeded.
    failure: ClientError | BotoCoreError | None = None

    def result(self) -> T:
        """The call's value; raises its last error as it was raised."""
        if self.failure is not None:
            raise self.failure
        return cast(T, self.value)

    @property
    def error(self) -> AwsError | None:
        """The last error, read; None when the call succeeded."""
        if self.failure is None:
            return None
        return read_error(self.failure)


@dataclass(frozen=True)
class Retry:
    """Exponential backoff with full jitter; `sleep` and `jitter` injectable for tests."""

    max_attempts: int = 4
    base_delay_s: float = 0.2
    max_delay_s: float = 5.0
    sleep: Callable[[float], None] = time.sleep
    # A draw between its two bounds (`random.uniform`).
    jitter: Callable[[float, float], float] = random.uniform

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts is at least 1, not {self.max_attempts}")

    def delay(self, attempt: int) -> float:
        """How long to wait after failed attempt `attempt` (1-based)."""
        ceiling = min(self.max_delay_s, self.base_delay_s * 2 ** (attempt - 1))
        return self.jitter(0.0, ceiling)

    def call(
        self, call: Callable[[], T], *, retry_if: Callable[[AwsError], bool] = is_retryable
    ) -> Tried[T]:
        """Run `call` until it succeeds, fails with an error `retry_if` refuses, or the attempts
        are used up. AWS errors are returned in the result; any other exception propagates."""
        for attempt in range(1, self.max_attempts + 1):
            try:
                return Tried(attempt, value=call())
            except AWS_CALL_ERRORS as exc:
                last_chance = attempt == self.max_attempts
                if last_chance or not retry_if(read_error(exc)):
                    return Tried(attempt, failure=exc)
            self.sleep(self.delay(attempt))
        raise AssertionError("unreachable: the last attempt returns")
