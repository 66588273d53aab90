"""One reading of AWS errors and one retry loop for every adapter (aws/calls.py).

Errors come from botocore itself: Stubber answers a real client with the error response, and a
`before-send` hook raises the transport error where the request would leave for the network.
The retry loop runs with an injected sleep and jitter, so its schedule is visible and instant.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    IncompleteReadError,
    ParamValidationError,
    ReadTimeoutError,
    WaiterError,
)
from botocore.stub import Stubber
from dns_watchdog.aws.calls import (
    MAX_MESSAGE_CHARS,
    AwsError,
    Retry,
    is_throttled,
    read_error,
)
from dns_watchdog.domain.text import ELLIPSIS

pytestmark = pytest.mark.unit

ENDPOINT = "https://lambda.us-east-1.amazonaws.com"
REQUEST_ID = "6f1c2b3a-0d4e-4f5a-8b6c-7d8e9f0a1b2c"
# The SDK's own retries would only add their backoff to the test's time.
ONE_ATTEMPT = Config(retries={"mode": "standard", "total_max_attempts": 1})


@pytest.fixture
def lambda_stub(stub_session: boto3.session.Session) -> Iterator[tuple[Any, Stubber]]:
    client = stub_session.client("lambda")
    with Stubber(client) as stubber:
        yield client, stubber


def answered(
    stubbed: tuple[Any, Stubber],
    code: str,
    message: str = "",
    status: int = 400,
    request_id: str | None = REQUEST_ID,
) -> ClientError:
    """The ClientError botocore raises for `code` answered to ListFunctions."""
    client, stubber = stubbed
    meta = {"RequestId": request_id} if request_id else None
    stubber.add_client_error("list_functions", code, message, status, response_meta=meta)
    with pytest.raises(ClientError) as raised:
        client.list_functions()
    return raised.value


def unreachable(client: Any, fault: BotoCoreError) -> BotoCoreError:
    """The transport error botocore raises when the request cannot be sent or answered."""

    def broken_network(**_: Any) -> None:
        raise fault

    client.meta.events.register("before-send.lambda.ListFunctions", broken_network)
    with pytest.raises(BotoCoreError) as raised:
        client.list_functions()
    return raised.value


# --- read_error: one reading of every AWS error -------------------------------------------------


def test_a_service_answer_gives_code_message_request_id_and_status(
    lambda_stub: tuple[Any, Stubber],
) -> None:
    # Given Lambda refusing a call with its own words
    exc = answered(lambda_stub, "AccessDeniedException", "not authorized", 403)

    # When the error is read
    error = read_error(exc)

    # Then everything on-call and AWS support need is there, and it is not worth retrying
    assert error == AwsError(
        code="AccessDeniedException",
        message="not authorized",
        request_id=REQUEST_ID,
        http_status=403,
        operation="ListFunctions",
        answered=True,
    )
    assert not error.retryable
    assert not error.transport
    assert str(error) == "AccessDeniedException: not authorized"


def test_an_answer_without_message_or_request_id_reads_as_empty(
    lambda_stub: tuple[Any, Stubber],
) -> None:
    exc = answered(lambda_stub, "ResourceNotFoundException", "", 404, request_id=None)

    error = read_error(exc)

    assert error.message == ""
    assert error.request_id == ""
    assert str(error) == "ResourceNotFoundException"


def test_an_answer_without_any_error_fields_is_unknown() -> None:
    error = read_error(ClientError({}, "Invoke"))

    assert error == AwsError(code="Unknown", message="", operation="Invoke", answered=True)
    assert not error.retryable


def test_a_long_message_is_clipped_by_the_one_clip_rule(lambda_stub: tuple[Any, Stubber]) -> None:
    exc = answered(lambda_stub, "ServiceException", "x" * 100_000, 500)

    default = read_error(exc)
    shorter = read_error(exc, message_limit=200)

    assert len(default.message) == MAX_MESSAGE_CHARS
    assert len(shorter.message) == 200
    assert shorter.message.endswith(ELLIPSIS)


@pytest.mark.parametrize(
    "code",
    [
        "Throttling",
        "ThrottlingException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestThrottled",
        "SlowDown",
    ],
)
def test_throttling_codes_are_retryable(lambda_stub: tuple[Any, Stubber], code: str) -> None:
    error = read_error(answered(lambda_stub, code, "Rate exceeded", 400))

    assert error.throttled
    assert error.retryable
    assert not error.transport


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_retryable(lambda_stub: tuple[Any, Stubber], status: int) -> None:
    error = read_error(answered(lambda_stub, "ServiceException", "try again", status))

    assert error.http_status == status
    assert error.retryable
    assert not error.throttled


@pytest.mark.parametrize("code", ["RequestTimeout", "RequestTimeoutException"])
def test_a_request_timed_out_at_the_service_is_retryable(
    lambda_stub: tuple[Any, Stubber], code: str
) -> None:
    assert read_error(answered(lambda_stub, code, "too slow", 400)).retryable


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("AccessDeniedException", 403),
        ("ResourceNotFoundException", 404),
        ("InvalidParameterValueException", 400),
        ("UnrecognizedClientException", 403),
    ],
)
def test_client_errors_are_not_retryable(
    lambda_stub: tuple[Any, Stubber], code: str, status: int
) -> None:
    assert not read_error(answered(lambda_stub, code, "no", status)).retryable


@pytest.mark.parametrize(
    "fault",
    [
        EndpointConnectionError(endpoint_url=ENDPOINT),
        ConnectionClosedError(endpoint_url=ENDPOINT),
        ReadTimeoutError(endpoint_url=ENDPOINT),
        IncompleteReadError(actual_bytes=10, expected_bytes=20),
    ],
    ids=lambda fault: type(fault).__name__,
)
def test_transport_errors_are_named_by_class_and_retryable(
    stub_session: boto3.session.Session, fault: BotoCoreError
) -> None:
    # Given a request that never got an answer (no Stubber: it would answer first)
    exc = unreachable(stub_session.client("lambda", config=ONE_ATTEMPT), fault)

    # When it is read
    error = read_error(exc)

    # Then its class names it, its text says what happened, and trying again may help
    assert error.code == type(fault).__name__
    assert error.message == str(fault)
    assert error.transport
    assert not error.answered
    assert error.retryable
    assert error.http_status is None
    assert error.request_id == ""


def test_other_sdk_errors_are_named_and_not_retryable() -> None:
    error = read_error(ParamValidationError(report="Missing required parameter FunctionName"))

    assert error.code == "ParamValidationError"
    assert "FunctionName" in error.message
    assert not error.answered
    assert not error.transport
    assert not error.retryable


def test_a_waiter_stopped_by_an_error_answer_reads_as_that_answer() -> None:
    last = {
        "Error": {"Code": "ResourceNotFoundException", "Message": "Function not found"},
        "ResponseMetadata": {"RequestId": REQUEST_ID, "HTTPStatusCode": 404},
    }
    waited = WaiterError(name="FunctionUpdatedV2", reason="an error", last_response=last)

    error = read_error(waited)

    assert (error.code, error.message) == ("ResourceNotFoundException", "Function not found")
    assert (error.request_id, error.http_status) == (REQUEST_ID, 404)
    assert error.answered


def test_a_waiter_out_of_attempts_reads_as_the_waiter() -> None:
    waited = WaiterError(name="FunctionUpdatedV2", reason="Max attempts exceeded", last_response={})

    error = read_error(waited)

    assert error.code == "WaiterError"
    assert not error.answered


# --- Retry: exponential backoff with full jitter ------------------------------------------------


class Calls:
    """A call that raises the given errors in turn, then returns "done"."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.count = 0

    def __call__(self) -> str:
        self.count += 1
        if self.errors:
            raise self.errors.pop(0)
        return "done"


def throttled() -> ClientError:
    return ClientError(
        {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "AssumeRole"
    )


def denied() -> ClientError:
    return ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "AssumeRole")


def ceiling(low: float, high: float) -> float:
    """A jitter that draws the ceiling, so the backoff schedule is visible."""
    return high


def recorded(sleeps: list[float], **options: Any) -> Retry:
    return Retry(sleep=sleeps.append, jitter=ceiling, **options)


def test_retryable_errors_are_retried_until_the_call_succeeds() -> None:
    # Given a call throttled twice, then answered
    call = Calls(throttled(), throttled())
    sleeps: list[float] = []

    # When it is run with retries
    tried = recorded(sleeps, base_delay_s=0.2, max_delay_s=5.0).call(call)

    # Then it succeeded on the third attempt, after waits under the doubling ceilings
    assert tried.result() == "done"
    assert tried.attempts == 3
    assert tried.failure is None
    assert tried.error is None
    assert sleeps == [0.2, 0.4]


def test_an_error_the_predicate_refuses_ends_at_once() -> None:
    call = Calls(denied())
    sleeps: list[float] = []

    tried = recorded(sleeps).call(call)

    assert call.count == 1
    assert sleeps == []
    assert tried.attempts == 1
    assert tried.error is not None
    assert tried.error.code == "AccessDenied"
    with pytest.raises(ClientError, match="AccessDenied"):
        tried.result()


def test_the_callers_predicate_decides_what_is_retried() -> None:
    # Given a server error, which is retryable in general
    server_error = ClientError(
        {"Error": {"Code": "ServiceException"}, "ResponseMetadata": {"HTTPStatusCode": 500}},
        "Invoke",
    )
    call = Calls(server_error)
    sleeps: list[float] = []

    # When the caller retries throttling only
    tried = recorded(sleeps).call(call, retry_if=is_throttled)

    # Then it is not retried
    assert (call.count, tried.attempts, sleeps) == (1, 1, [])
    assert tried.error is not None
    assert tried.error.retryable


def test_retries_stop_at_max_attempts_with_the_last_error() -> None:
    call = Calls(*(throttled() for _ in range(10)))
    sleeps: list[float] = []

    tried = recorded(sleeps, max_attempts=4).call(call)

    assert call.count == 4
    assert tried.attempts == 4
    assert len(sleeps) == 3  # no wait after the last attempt
    assert tried.error is not None
    assert tried.error.code == "ThrottlingException"


def test_transport_errors_are_retried_by_default() -> None:
    call = Calls(EndpointConnectionError(endpoint_url=ENDPOINT))
    sleeps: list[float] = []

    tried = recorded(sleeps).call(call)

    assert tried.result() == "done"
    assert tried.attempts == 2


def test_programming_errors_are_not_caught() -> None:
    call = Calls(ParamValidationError(report="Missing required parameter"), ValueError("bug"))

    with pytest.raises(ParamValidationError):
        recorded([]).call(call)
    with pytest.raises(ValueError, match="bug"):
        recorded([]).call(call)


def test_delays_are_full_jitter_under_exponential_ceilings_capped_at_the_maximum() -> None:
    # Given a call throttled on every attempt, and a jitter that records what it is asked
    call = Calls(*(throttled() for _ in range(6)))
    draws: list[tuple[float, float]] = []
    sleeps: list[float] = []
    seeded = random.Random(7)

    def jitter(low: float, high: float) -> float:
        draws.append((low, high))
        return seeded.uniform(low, high)

    # When it is run with six attempts
    Retry(6, base_delay_s=1.0, max_delay_s=5.0, sleep=sleeps.append, jitter=jitter).call(call)

    # Then each wait is drawn from zero up to base * 2 ** (attempt - 1), at most the maximum
    assert draws == [(0.0, 1.0), (0.0, 2.0), (0.0, 4.0), (0.0, 5.0), (0.0, 5.0)]
    assert all(0.0 <= slept <= high for slept, (_, high) in zip(sleeps, draws, strict=True))
    assert len(set(sleeps)) == len(sleeps)  # drawn, not fixed


def test_the_default_jitter_stays_within_the_ceiling() -> None:
    retry = Retry(base_delay_s=0.5, max_delay_s=1.5)

    delays = [retry.delay(attempt) for attempt in (1, 2, 3, 4) for _ in range(200)]

    assert all(0.0 <= delay <= 1.5 for delay in delays)
    assert max(retry.delay(1) for _ in range(200)) <= 0.5


def test_at_least_one_attempt() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Retry(max_attempts=0)
