"""Invoking one canary: what each kind of answer becomes (botocore Stubber pins the calls)."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber
from canary_findings import healthy
from dns_watchdog.aws.invoker import CanaryInvoker

pytestmark = pytest.mark.unit

ARN = "arn:aws:lambda:us-east-1:123456789012:function:canary-a"
PAYLOAD = {"deadline_ms": 1500, "expected_nameservers": ["10.1.1.10"]}
INVOKE_PARAMS = {
    "FunctionName": ARN,
    "InvocationType": "RequestResponse",
    "Payload": json.dumps(PAYLOAD).encode(),
}


def _answer(document: object, function_error: str | None = None) -> dict[str, Any]:
    body = document if isinstance(document, bytes) else json.dumps(document).encode()
    response: dict[str, Any] = {
        "StatusCode": 200,
        "Payload": StreamingBody(io.BytesIO(body), len(body)),
    }
    if function_error:
        response["FunctionError"] = function_error
    return response


def _invoker(client: Any, sleeps: list[float] | None = None, **kwargs: Any) -> CanaryInvoker:
    recorded = sleeps if sleeps is not None else []
    return CanaryInvoker(
        client,
        sleep=recorded.append,
        jitter=lambda low, high: high,  # the ceiling, so the schedule is visible
        **kwargs,
    )


def test_findings_are_parsed(lambda_client: Any, stub: Stubber) -> None:
    stub.add_response("invoke", _answer(healthy(["10.1.1.10"])), INVOKE_PARAMS)
    run = _invoker(lambda_client).invoke(ARN, PAYLOAD)
    assert run.status == "findings"
    assert run.findings is not None
    assert run.findings.diagnosis.code == "HEALTHY"
    assert run.name == "canary-a"


@pytest.mark.parametrize(
    "error",
    [
        {
            "errorType": "Sandbox.Timedout",
            "errorMessage": "RequestId: 6f1c Error: Task timed out after 3.00 seconds",
        },
        {"errorMessage": "2024-05-14T09:16:01.123Z 6f1c Task timed out after 3.01 seconds"},
    ],
)
def test_both_timeout_formats_mean_the_canary_hung(
    lambda_client: Any, stub: Stubber, error: dict[str, str]
) -> None:
    stub.add_response("invoke", _answer(error, "Unhandled"), INVOKE_PARAMS)
    run = _invoker(lambda_client).invoke(ARN, PAYLOAD)
    assert run.status == "timed_out"
    assert "Task timed out after 3.0" in run.detail


def test_invalid_probe_plan_is_a_configuration_error(lambda_client: Any, stub: Stubber) -> None:
    message = "probes[0].type: unsupported record type 'AAA' (use one of A, AAAA, ...)"
    error = {"errorType": "InvalidProbePlan", "errorMessage": message}
    stub.add_response("invoke", _answer(error, "Unhandled"), INVOKE_PARAMS)
    run = _invoker(lambda_client).invoke(ARN, PAYLOAD)
    assert run.status == "invalid_plan"
    assert run.detail == message


def test_crash_is_a_canary_error(lambda_client: Any, stub: Stubber) -> None:
    error = {"errorType": "KeyError", "errorMessage": "'probes'"}
    stub.add_response("invoke", _answer(error, "Unhandled"), INVOKE_PARAMS)
    run = _invoker(lambda_client).invoke(ARN, PAYLOAD)
    assert run.status == "error"
    assert run.detail == "it crashed (Unhandled): KeyError: 'probes'"


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (b"<html>bad gateway</html>", "malformed findings: not a JSON object"),
        ([1, 2], "malformed findings: not a JSON object"),
        (
            {"ok": True, "stale": False, "probes": []},
            "malformed findings: diagnosis: Field required",
        ),
        (
            {**healthy(["10.1.1.10"]), "probes": [{"name": "x"}]},
            "malformed findings: probes.0.ok: Field required",
        ),
    ],
)
def test_malformed_findings_are_a_canary_error(
    lambda_client: Any, stub: Stubber, document: object, message: str
) -> None:
    stub.add_response("invoke", _answer(document), INVOKE_PARAMS)
    run = _invoker(lambda_client).invoke(ARN, PAYLOAD)
    assert run.status == "error"
    assert run.detail.startswith(message)


def test_throttling_is_retried_with_backoff_then_succeeds(
    lambda_client: Any, stub: Stubber
) -> None:
    for _ in range(2):
        stub.add_client_error(
            "invoke",
            "TooManyRequestsException",
            "Rate exceeded",
            429,
            expected_params=INVOKE_PARAMS,
        )
    stub.add_response("invoke", _answer(healthy(["10.1.1.10"])), INVOKE_PARAMS)
    sleeps: list[float] = []
    run = _invoker(lambda_client, sleeps, base_delay_s=0.2, max_delay_s=5).invoke(ARN, PAYLOAD)
    assert run.status == "findings"
    assert run.attempts == 3
    assert sleeps == [0.2, 0.4]  # exponential ceilings; full jitter draws below them


def test_backoff_is_capped_and_jittered(lambda_client: Any, stub: Stubber) -> None:
    for _ in range(5):
        stub.add_client_error("invoke", "TooManyRequestsException", http_status_code=429)
    sleeps: list[float] = []
    draws: list[tuple[float, float]] = []

    def jitter(low: float, high: float) -> float:
        draws.append((low, high))
        return high / 2

    invoker = CanaryInvoker(
        lambda_client,
        max_attempts=5,
        base_delay_s=1,
        max_delay_s=3,
        sleep=sleeps.append,
        jitter=jitter,
    )
    run = invoker.invoke(ARN, PAYLOAD)
    assert run.status == "error"
    assert run.detail == "throttled by Lambda (TooManyRequestsException) 5 times"
    assert draws == [(0.0, 1), (0.0, 2), (0.0, 3), (0.0, 3)]
    assert sleeps == [0.5, 1.0, 1.5, 1.5]


def test_missing_function_is_gone(lambda_client: Any, stub: Stubber) -> None:
    stub.add_client_error("invoke", "ResourceNotFoundException", http_status_code=404)
    run = _invoker(lambda_client).invoke(ARN, PAYLOAD)
    assert run.status == "gone"


def test_other_aws_failures_raise(lambda_client: Any, stub: Stubber) -> None:
    # The checker's own credentials are unusable: every call would fail alike.
    stub.add_client_error("invoke", "UnrecognizedClientException", http_status_code=403)
    with pytest.raises(ClientError, match="UnrecognizedClientException"):
        _invoker(lambda_client).invoke(ARN, PAYLOAD)


def test_refresh_merges_the_option_set_into_existing_variables(
    lambda_client: Any, stub: Stubber
) -> None:
    stub.add_response(
        "get_function_configuration",
        {"Environment": {"Variables": {"PROBE_NAMES": "db.corp.example", "DNS_PORT": "53"}}},
        {"FunctionName": ARN},
    )
    stub.add_response(
        "update_function_configuration",
        {"LastUpdateStatus": "InProgress"},
        {
            "FunctionName": ARN,
            "Environment": {
                "Variables": {
                    "PROBE_NAMES": "db.corp.example",
                    "DNS_PORT": "53",
                    "WATCHDOG_OPTION_SET": "dopt-0f1e2d3c4b5a69788",
                }
            },
        },
    )
    stub.add_response(
        "get_function",
        {"Configuration": {"LastUpdateStatus": "Successful"}},
        {"FunctionName": ARN},
    )
    invoker = _invoker(lambda_client, clock=lambda: 0.0)
    assert invoker.refresh(ARN, "dopt-0f1e2d3c4b5a69788", refresh_expiry=60.0) is None


def test_refresh_reports_a_failed_update(lambda_client: Any, stub: Stubber) -> None:
    stub.add_response("get_function_configuration", {}, {"FunctionName": ARN})
    stub.add_response(
        "update_function_configuration", {}, {"FunctionName": ARN, "Environment": ANY}
    )
    stub.add_response(
        "get_function",
        {"Configuration": {"LastUpdateStatus": "Failed"}},
        {"FunctionName": ARN},
    )
    reason = _invoker(lambda_client, clock=lambda: 0.0).refresh(ARN, "dopt-1", refresh_expiry=60.0)
    assert reason is not None
    assert "configuration update did not finish" in reason


def test_refresh_without_budget_does_nothing(lambda_client: Any, stub: Stubber) -> None:
    reason = _invoker(lambda_client, clock=lambda: 61.0).refresh(ARN, "dopt-1", refresh_expiry=60.0)
    assert reason == "no refresh budget left to refresh it"
