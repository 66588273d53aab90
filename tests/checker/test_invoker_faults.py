"""One canary's fault is that canary's evidence, never the run's crash; answers are parsed
defensively; the stale-canary refresh never loses or reverts the canary's configuration.

Faults come in through botocore: Stubber pins error responses, and `before-call` / `after-call`
hooks raise transport errors where a real network would. No moto, no sockets.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from botocore.response import StreamingBody
from botocore.stub import Stubber
from canary_findings import AMAZON, NAMES, findings, healthy, probe
from dns_watchdog.aws.invoker import (
    MAX_ANSWER_BYTES,
    PLACEMENT_ERRORS,
    REFRESH_GONE,
    CanaryInvoker,
    whole_run_blinded,
)
from dns_watchdog.domain.models import (
    MAX_DIRECT,
    MAX_PROBES,
    MAX_SUMMARY_CHARS,
    MAX_TEXT_CHARS,
    CanaryRun,
)

pytestmark = pytest.mark.unit

ARN = "arn:aws:lambda:us-east-1:123456789012:function:canary-a"
PAYLOAD = {"deadline_ms": 1500, "expected_nameservers": ["10.1.1.10"]}
OPTION_SET = "dopt-0f1e2d3c4b5a69788"
REVISION = "9b2f4a52-0d6e-4b1c-8f1a-2c3d4e5f6a7b"


def _invoker(client: Any, sleeps: list[float] | None = None, **kwargs: Any) -> CanaryInvoker:
    recorded = sleeps if sleeps is not None else []
    return CanaryInvoker(client, sleep=recorded.append, jitter=lambda low, high: high, **kwargs)


def _answer(body: bytes, function_error: str | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {
        "StatusCode": 200,
        "Payload": StreamingBody(io.BytesIO(body), len(body)),
    }
    if function_error:
        response["FunctionError"] = function_error
    return response


def _invoke_body(stub: Stubber, client: Any, body: bytes, function_error: str | None = None) -> Any:
    stub.add_response("invoke", _answer(body, function_error))
    return _invoker(client).invoke(ARN, PAYLOAD)


def _invoke_document(stub: Stubber, client: Any, document: object) -> CanaryRun:
    run: CanaryRun = _invoke_body(stub, client, json.dumps(document).encode())
    return run


# --- every Invoke error is that canary's evidence ------------------------------------------------


@pytest.mark.parametrize("code", sorted(PLACEMENT_ERRORS))
def test_vpc_placement_errors_are_evidence_about_the_vpc_path(
    lambda_client: Any, stub: Stubber, code: str
) -> None:
    stub.add_client_error("invoke", code, f"{code} (from Lambda)", 502)
    run = _invoker(lambda_client).invoke(ARN, PAYLOAD)
    assert run.status == "placement_error"
    assert run.error_code == code
    assert code in run.detail
    assert "new execution environments" in run.detail  # what it means for the VPC's Lambdas


def test_eni_limit_detail_says_what_on_call_must_know(lambda_client: Any, stub: Stubber) -> None:
    stub.add_client_error(
        "invoke",
        "ENILimitReachedException",
        "Lambda was not able to create an ENI in the VPC of the Lambda function because the "
        "limit for Network Interfaces has been reached.",
        502,
    )
    run = _invoker(lambda_client).invoke(ARN, PAYLOAD)
    assert run.detail.startswith(
        "Lambda cannot attach the canary to its VPC (ENILimitReachedException): "
    )
    assert "network interface" in run.detail


def test_a_canary_whose_interface_was_reclaimed_is_asked_again(
    lambda_client: Any, stub: Stubber
) -> None:
    # Given an idle canary whose VPC network interface Lambda reclaimed: the first Invoke wakes it
    stub.add_client_error("invoke", "ResourceNotReadyException", "inactive function", 502)
    stub.add_response("invoke", _answer(json.dumps({"not": "findings"}).encode()))
    # When the checker asks it
    run = _invoker(lambda_client).invoke(ARN, PAYLOAD)
    # Then it was asked again once restored, and its answer is what counts
    assert run.attempts == 2
    assert run.error_code != "ResourceNotReadyException"


def test_a_canary_still_being_restored_is_not_a_dns_failure(
    lambda_client: Any, stub: Stubber
) -> None:
    for _ in range(4):
        stub.add_client_error("invoke", "ResourceNotReadyException", "inactive function", 502)
    run = _invoker(lambda_client).invoke(ARN, PAYLOAD)
    assert run.status == "error"
    assert run.error_code == "ResourceNotReadyException"
    assert run.attempts == 4
    assert "reclaimed its network interface" in run.detail
    assert "says nothing about DNS" in run.detail


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("ServiceException", 500),
        ("KMSAccessDeniedException", 502),
        ("KMSDisabledException", 502),
        ("KMSInvalidStateException", 502),
        ("KMSNotFoundException", 502),
        ("RequestTooLargeException", 413),
        ("CodeStorageExceededException", 400),
        ("AccessDeniedException", 403),
        ("ResourceConflictException", 409),
        ("InvalidRuntimeException", 502),
        ("InvalidZipFileException", 502),
        ("SnapStartException", 400),
        ("SnapStartNotReadyException", 409),
        ("SnapStartTimeoutException", 408),
        ("EFSMountConnectivityException", 408),
        ("InvalidRequestContentException", 400),
        ("UnsupportedMediaTypeException", 415),
        ("RecursiveInvocationException", 400),
        ("SomethingLambdaAddsNextYearException", 400),
    ],
)
def test_other_invoke_errors_are_that_canarys_error(
    lambda_client: Any, stub: Stubber, code: str, status: int
) -> None:
    stub.add_client_error("invoke", code, "the service's own words", status)
    run = _invoker(lambda_client).invoke(ARN, PAYLOAD)
    assert run.status == "error"
    assert run.error_code == code
    assert f"Invoke failed ({code}): the service's own words" in run.detail


def test_access_denied_names_the_checkers_permissions(lambda_client: Any, stub: Stubber) -> None:
    stub.add_client_error("invoke", "AccessDeniedException", "not authorized", 403)
    run = _invoker(lambda_client).invoke(ARN, PAYLOAD)
    assert run.status == "error"
    assert "the checker may not invoke this function" in run.detail


def test_a_long_service_message_is_clipped(lambda_client: Any, stub: Stubber) -> None:
    stub.add_client_error("invoke", "ServiceException", "x" * 100_000, 500)
    run = _invoker(lambda_client).invoke(ARN, PAYLOAD)
    assert run.status == "error"
    assert len(run.detail) < 500


@pytest.mark.parametrize(
    "fault",
    [
        EndpointConnectionError(endpoint_url="https://lambda.us-east-1.amazonaws.com"),
        ConnectionClosedError(endpoint_url="https://lambda.us-east-1.amazonaws.com"),
        ReadTimeoutError(endpoint_url="https://lambda.us-east-1.amazonaws.com"),
    ],
    ids=["EndpointConnectionError", "ConnectionClosedError", "ReadTimeoutError"],
)
def test_transport_errors_are_that_canarys_error(lambda_client: Any, fault: Exception) -> None:
    def broken_network(**_: Any) -> None:
        raise fault

    lambda_client.meta.events.register("before-call.lambda.Invoke", broken_network)
    run = _invoker(lambda_client).invoke(ARN, PAYLOAD)
    assert run.status == "error"
    assert run.error_code == type(fault).__name__
    assert type(fault).__name__ in run.detail


@pytest.mark.parametrize(
    "code",
    ["UnrecognizedClientException", "ExpiredTokenException", "InvalidSignatureException"],
)
def test_the_checkers_own_broken_credentials_raise(
    lambda_client: Any, stub: Stubber, code: str
) -> None:
    stub.add_client_error("invoke", code, "The security token included in the request is bad", 403)
    with pytest.raises(ClientError, match=code):
        _invoker(lambda_client).invoke(ARN, PAYLOAD)


def test_throttling_still_retries_then_reports(lambda_client: Any, stub: Stubber) -> None:
    for _ in range(3):
        stub.add_client_error("invoke", "TooManyRequestsException", "Rate exceeded", 429)
    sleeps: list[float] = []
    run = _invoker(lambda_client, sleeps, max_attempts=3).invoke(ARN, PAYLOAD)
    assert run.status == "error"
    assert run.attempts == 3
    assert len(sleeps) == 2


def test_a_run_is_blind_only_when_every_canary_failed_on_the_checkers_side() -> None:
    denied = CanaryRun(ARN, "error", detail="denied", error_code="AccessDeniedException")
    offline = CanaryRun(ARN, "error", detail="offline", error_code="EndpointConnectionError")
    placement = CanaryRun(ARN, "placement_error", error_code="ENILimitReachedException")
    crashed = CanaryRun(ARN, "error", detail="it crashed")
    assert whole_run_blinded([denied, offline]) is not None
    assert "AccessDeniedException" in (whole_run_blinded([denied, denied]) or "")
    assert whole_run_blinded([denied, placement]) is None  # the placement error is evidence
    assert whole_run_blinded([denied, crashed]) is None
    assert whole_run_blinded([]) is None


# --- answers are size-capped and parsed defensively ----------------------------------------------


def _largest_legitimate_answer() -> dict[str, Any]:
    """The contract's maximum: 50 probes, each asked of 4 configured servers and the Amazon
    resolver, every lookup answering 8 records with a full detail text."""
    names = [f"service-{i:02d}.{'x' * 40}.corp.example" for i in range(MAX_PROBES)]
    servers = ["10.1.1.10", "10.1.1.11", "10.1.1.12", "10.1.1.13"]
    records = [f"10.20.{i}.{i}" for i in range(8)]
    detail = "answered by the server after 2 attempts over udp " * 4
    probes = [probe(n, answers=records, detail=detail) for n in names]
    direct = [
        probe(n, role="configured", server=s, answers=records, detail=detail)
        for n in names
        for s in servers
    ] + [probe(n, role="amazon", server=AMAZON, answers=records, detail=detail) for n in names]
    return findings(configured=servers, expected=servers, probes=probes, direct=direct)


def test_the_largest_legitimate_answer_fits_well_under_the_cap(
    lambda_client: Any, stub: Stubber
) -> None:
    document = _largest_legitimate_answer()
    size = len(json.dumps(document).encode())
    assert size * 4 < MAX_ANSWER_BYTES  # headroom for TXT answers and longer texts
    run = _invoke_document(stub, lambda_client, document)
    assert run.status == "findings"
    assert run.findings is not None
    assert len(run.findings.direct) == 5 * MAX_PROBES


def test_an_answer_over_the_cap_is_that_canarys_error(lambda_client: Any, stub: Stubber) -> None:
    padding = "x" * MAX_ANSWER_BYTES
    body = json.dumps({**healthy(["10.1.1.10"]), "padding": padding}).encode()
    run = _invoke_body(stub, lambda_client, body)
    assert run.status == "error"
    assert run.detail == (
        f"its answer is larger than {MAX_ANSWER_BYTES:,} bytes, far more than a canary's "
        "findings can be; not read further"
    )


def test_a_crash_report_over_the_cap_is_that_canarys_error(
    lambda_client: Any, stub: Stubber
) -> None:
    body = json.dumps({"errorType": "MemoryError", "errorMessage": "y" * MAX_ANSWER_BYTES}).encode()
    run = _invoke_body(stub, lambda_client, body, "Unhandled")
    assert run.status == "error"
    assert "larger than" in run.detail


def test_deeply_nested_json_is_that_canarys_error(lambda_client: Any, stub: Stubber) -> None:
    body = b"[" * 1000 + b"]" * 1000  # 2 KB that json.loads cannot parse without recursing
    assert len(body) == 2000
    run = _invoke_body(stub, lambda_client, body)
    assert run.status == "error"
    assert run.detail == "malformed findings: not valid JSON (nested too deeply)"


def test_deeply_nested_crash_report_is_that_canarys_error(
    lambda_client: Any, stub: Stubber
) -> None:
    body = b'{"errorType": ' + b"[" * 1000 + b"]" * 1000 + b"}"
    run = _invoke_body(stub, lambda_client, body, "Unhandled")
    assert run.status == "error"
    assert run.detail.startswith("it crashed (Unhandled): ")


def test_a_crash_report_with_odd_fields_is_clipped(lambda_client: Any, stub: Stubber) -> None:
    nested: object = []
    for _ in range(900):  # parses, but printing it would recurse almost as deep
        nested = [nested]
    body = json.dumps({"errorType": nested, "errorMessage": "m" * 500_000}).encode()
    run = _invoke_body(stub, lambda_client, body, "Unhandled")
    assert run.status == "error"
    assert run.detail.startswith("it crashed (Unhandled): unknown error: mmmm")
    assert len(run.detail) < 1100


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b'{"ok": true, "stale": ', 'malformed findings: not a JSON object: \'{"ok": true'),
        (b"\xff\xfe\x00garbage", "malformed findings: not a JSON object: '\ufffd\ufffd"),
        (b'{"ok": ' + b"9" * 5000 + b"}", 'malformed findings: not a JSON object: \'{"ok": 999'),
    ],
    ids=["truncated", "not-utf8", "huge-integer"],
)
def test_malformed_json_is_that_canarys_error(
    lambda_client: Any, stub: Stubber, body: bytes, detail: str
) -> None:
    run = _invoke_body(stub, lambda_client, body)
    assert run.status == "error"
    assert run.detail.startswith(detail)


def test_more_probes_than_the_contract_allows_are_rejected(
    lambda_client: Any, stub: Stubber
) -> None:
    document = findings(
        configured=["10.1.1.10"],
        expected=["10.1.1.10"],
        probes=[probe(f"n{i}.corp.example") for i in range(1500)],
    )
    run = _invoke_document(stub, lambda_client, document)
    assert run.status == "error"
    assert run.findings is None
    assert run.detail == (
        f"malformed findings: probes: 1500 entries, more than the {MAX_PROBES} "
        "the canary contract allows"
    )


def test_more_direct_lookups_than_the_contract_allows_are_rejected(
    lambda_client: Any, stub: Stubber
) -> None:
    direct = [probe(NAMES[0], role="configured", server="10.1.1.10")] * (MAX_DIRECT + 1)
    document = findings(configured=["10.1.1.10"], expected=["10.1.1.10"], direct=direct)
    run = _invoke_document(stub, lambda_client, document)
    assert run.status == "error"
    assert run.detail == (
        f"malformed findings: direct: {MAX_DIRECT + 1} entries, more than the {MAX_DIRECT} "
        "the canary contract allows"
    )


ZONE_SOURCE = {"kind": "private_zone", "id": "Z0123456789ABC", "domain": "corp.internal"}


def test_the_diagnosis_keeps_the_zones_and_rules_it_names(
    lambda_client: Any, stub: Stubber
) -> None:
    document = findings(configured=["10.1.1.10"], expected=["10.1.1.10"])
    found = {**ZONE_SOURCE, "via": None, "finding": "not_forwarded"}
    document["diagnosis"]["sources"] = [
        {**found, "names": ["app.corp.internal"], "servers": ["10.1.1.10"]}
    ]
    run = _invoke_document(stub, lambda_client, document)
    assert run.findings is not None
    [source] = run.findings.diagnosis.sources
    assert (source.kind, source.id, source.domain) == (
        "private_zone",
        "Z0123456789ABC",
        ZONE_SOURCE["domain"],
    )
    assert (source.finding, source.names, source.servers) == (
        "not_forwarded",
        ["app.corp.internal"],
        ["10.1.1.10"],
    )


def test_more_source_names_than_the_plan_has_probes_are_rejected(
    lambda_client: Any, stub: Stubber
) -> None:
    document = findings(configured=["10.1.1.10"], expected=["10.1.1.10"])
    names = [f"n{i}.corp.internal" for i in range(30)]
    source = {**ZONE_SOURCE, "finding": "not_forwarded", "names": names}
    document["diagnosis"]["sources"] = [source, source]
    run = _invoke_document(stub, lambda_client, document)
    assert run.status == "error"
    assert f"60 names in sources, more than the plan's {MAX_PROBES} probes" in run.detail


@pytest.mark.parametrize(
    ("elapsed", "message"),
    [
        (b"NaN", "Input should be a finite number"),
        (b"Infinity", "Input should be a finite number"),
        (b"-Infinity", "Input should be a finite number"),
        (b"-0.5", "Input should be greater than or equal to 0"),
        (b"1e308", "Input should be less than or equal to 900000"),
    ],
)
@pytest.mark.parametrize("where", ["probes.0.elapsed_ms", "direct.0.elapsed_ms", "elapsed_ms"])
def test_non_finite_and_negative_latencies_are_rejected(
    lambda_client: Any, stub: Stubber, elapsed: bytes, message: str, where: str
) -> None:
    document = healthy(["10.1.1.10"])
    placeholder = 987654.321
    if where == "elapsed_ms":
        document["elapsed_ms"] = placeholder
    else:
        field, _, _ = where.split(".")
        document[field][0]["elapsed_ms"] = placeholder
    body = json.dumps(document).encode().replace(b"987654.321", elapsed)
    run = _invoke_body(stub, lambda_client, body)
    assert run.status == "error"
    assert run.findings is None
    assert run.detail == f"malformed findings: {where}: {message}"


def test_megabyte_texts_are_clipped_not_trusted(lambda_client: Any, stub: Stubber) -> None:
    huge = "z" * 100_000
    long = "y" * 2_000
    document = healthy(["10.1.1.10"])
    document["probes"][0]["detail"] = huge
    document["probes"][0]["answers"] = [huge, *[f"10.0.0.{i}" for i in range(200)]]
    document["diagnosis"]["summary"] = huge
    document["diagnosis"]["likely_causes"] = [long] * 100
    document["resolv_conf"]["problems"] = [long] * 100
    sent = json.dumps(document).encode()
    assert len(sent) > 500_000
    run = _invoke_body(stub, lambda_client, sent)
    assert run.status == "findings"
    assert run.findings is not None
    first = run.findings.probes[0]
    assert len(first.detail) == MAX_TEXT_CHARS
    assert first.detail.endswith("…")
    assert len(first.answers) <= 33
    assert first.answers[-1] == "(and 169 more)"
    diagnosis = run.findings.diagnosis
    assert len(diagnosis.summary) == MAX_SUMMARY_CHARS
    assert len(diagnosis.likely_causes) <= 21
    assert diagnosis.likely_causes[-1] == "(and 80 more)"
    assert run.findings.resolv_conf is not None
    assert len(run.findings.resolv_conf.problems) <= 21
    assert all(len(problem) <= MAX_TEXT_CHARS for problem in run.findings.resolv_conf.problems)
    kept = len(run.findings.model_dump_json())
    assert kept < 64_000  # what can reach an alert is bounded, whatever the canary sent


@pytest.mark.parametrize(
    ("field", "value", "where"),
    [
        ("name", "a" * 300, "probes.0.name"),
        ("server", "1" * 100, "probes.0.server"),
        ("outcome", "O" * 100, "probes.0.outcome"),
    ],
)
def test_oversized_identifiers_are_rejected(
    lambda_client: Any, stub: Stubber, field: str, value: str, where: str
) -> None:
    document = healthy(["10.1.1.10"])
    document["probes"][0][field] = value
    run = _invoke_document(stub, lambda_client, document)
    assert run.status == "error"
    assert run.detail.startswith(f"malformed findings: {where}: String should have at most ")


def test_oversized_diagnosis_code_is_rejected(lambda_client: Any, stub: Stubber) -> None:
    document = healthy(["10.1.1.10"])
    document["diagnosis"]["code"] = "C" * 10_000
    run = _invoke_document(stub, lambda_client, document)
    assert run.status == "error"
    assert run.detail.startswith("malformed findings: diagnosis.code: String should have at most")


# --- refresh: never loses, reverts or crashes on the canary's configuration ----------------------


def _config(variables: dict[str, str] | None = None, **extra: Any) -> dict[str, Any]:
    config: dict[str, Any] = {"RevisionId": REVISION, **extra}
    if variables is not None:
        config["Environment"] = {"Variables": variables}
    return config


def test_refresh_sends_the_revision_it_read(lambda_client: Any, stub: Stubber) -> None:
    stub.add_response(
        "get_function_configuration",
        _config({"PROBE_NAMES": "db.corp.example"}),
        {"FunctionName": ARN},
    )
    stub.add_response(
        "update_function_configuration",
        {"LastUpdateStatus": "InProgress"},
        {
            "FunctionName": ARN,
            "RevisionId": REVISION,
            "Environment": {
                "Variables": {"PROBE_NAMES": "db.corp.example", "WATCHDOG_OPTION_SET": OPTION_SET}
            },
        },
    )
    stub.add_response("get_function", {"Configuration": {"LastUpdateStatus": "Successful"}})
    assert _invoker(lambda_client, clock=lambda: 0.0).refresh(ARN, OPTION_SET, 60.0) is None


def test_refresh_aborts_when_the_variables_cannot_be_read(
    lambda_client: Any, stub: Stubber
) -> None:
    unreadable = {
        "Environment": {
            "Error": {
                "ErrorCode": "AccessDeniedException",
                "Message": "Lambda was unable to decrypt the environment variables because KMS "
                "access was denied.",
            }
        },
        "RevisionId": REVISION,
    }
    stub.add_response("get_function_configuration", unreadable, {"FunctionName": ARN})
    # No UpdateFunctionConfiguration is stubbed: calling it would fail this test.
    reason = _invoker(lambda_client, clock=lambda: 0.0).refresh(ARN, OPTION_SET, 60.0)
    assert reason == (
        "its environment variables cannot be read (AccessDeniedException: Lambda was unable to "
        "decrypt the environment variables because KMS access was denied.); they were left "
        "untouched"
    )


def test_refresh_reports_a_change_made_in_between(lambda_client: Any, stub: Stubber) -> None:
    stub.add_response("get_function_configuration", _config({}), {"FunctionName": ARN})
    stub.add_client_error(
        "update_function_configuration",
        "PreconditionFailedException",
        "The RevisionId provided does not match the latest RevisionId for the Lambda function.",
        412,
    )
    reason = _invoker(lambda_client, clock=lambda: 0.0).refresh(ARN, OPTION_SET, 60.0)
    assert reason == (
        "its configuration changed while the checker was updating it "
        "(PreconditionFailedException); that change was kept"
    )


@pytest.mark.parametrize("step", ["get_function_configuration", "update_function_configuration"])
def test_a_canary_deleted_before_its_refresh_is_gone(
    lambda_client: Any, stub: Stubber, step: str
) -> None:
    if step == "update_function_configuration":
        stub.add_response("get_function_configuration", _config({}), {"FunctionName": ARN})
    stub.add_client_error(step, "ResourceNotFoundException", "Function not found", 404)
    reason = _invoker(lambda_client, clock=lambda: 0.0).refresh(ARN, OPTION_SET, 60.0)
    assert reason == REFRESH_GONE


def test_a_canary_deleted_while_waiting_for_its_update_is_gone(
    lambda_client: Any, stub: Stubber
) -> None:
    stub.add_response("get_function_configuration", _config({}), {"FunctionName": ARN})
    stub.add_response("update_function_configuration", {"LastUpdateStatus": "InProgress"})
    stub.add_client_error("get_function", "ResourceNotFoundException", "Function not found", 404)
    reason = _invoker(lambda_client, clock=lambda: 0.0).refresh(ARN, OPTION_SET, 60.0)
    assert reason == REFRESH_GONE


@pytest.mark.parametrize(
    ("step", "code"),
    [
        ("get_function_configuration", "AccessDeniedException"),
        ("get_function_configuration", "TooManyRequestsException"),
        ("update_function_configuration", "AccessDeniedException"),
        ("update_function_configuration", "InvalidParameterValueException"),
        ("update_function_configuration", "ServiceException"),
    ],
)
def test_other_refresh_failures_are_reasons(
    lambda_client: Any, stub: Stubber, step: str, code: str
) -> None:
    if step == "update_function_configuration":
        stub.add_response("get_function_configuration", _config({}), {"FunctionName": ARN})
    stub.add_client_error(step, code, "the service's own words", 400)
    reason = _invoker(lambda_client, clock=lambda: 0.0).refresh(ARN, OPTION_SET, 60.0)
    assert reason is not None
    assert f"({code}: the service's own words)" in reason


def test_a_transport_error_during_refresh_is_a_reason(lambda_client: Any) -> None:
    def broken_network(**_: Any) -> None:
        raise EndpointConnectionError(endpoint_url="https://lambda.us-east-1.amazonaws.com")

    lambda_client.meta.events.register(
        "before-call.lambda.GetFunctionConfiguration", broken_network
    )
    reason = _invoker(lambda_client, clock=lambda: 0.0).refresh(ARN, OPTION_SET, 60.0)
    assert reason is not None
    assert "EndpointConnectionError" in reason


def test_refresh_with_broken_checker_credentials_raises(lambda_client: Any, stub: Stubber) -> None:
    stub.add_client_error(
        "get_function_configuration", "ExpiredTokenException", "The security token expired", 403
    )
    with pytest.raises(ClientError, match="ExpiredTokenException"):
        _invoker(lambda_client, clock=lambda: 0.0).refresh(ARN, OPTION_SET, 60.0)
