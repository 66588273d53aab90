"""The Lambda stand-in kit: what a handler sees of the context, what a boto3 caller sees of a
routed Invoke, and the event and handler loaders."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from devtools.lambdakit import (
    CANARY_DIR,
    CHECKER_DIR,
    FakeLambdaContext,
    InvokeReply,
    InvokeRouter,
    LambdaApiError,
    cloudtrail_event,
    import_handler_module,
    load_event,
    load_handler,
)

pytestmark = pytest.mark.unit


class Echo(InvokeRouter):
    """Answers by the event's "reply" key, recording what it was asked."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def invoke(self, function: str, event: Any) -> InvokeReply:
        self.calls.append((function, event))
        reply = event.get("reply")
        if reply == "throttle":
            raise LambdaApiError("TooManyRequestsException", 429)
        if reply == "crash":
            return InvokeReply({"errorType": "KeyError", "errorMessage": "'x'"}, "Unhandled")
        if reply == "bytes":
            return InvokeReply(b"<html>bad gateway</html>")
        return InvokeReply({"echo": event})


@pytest.fixture
def routed() -> Any:
    # Fake credentials: a routed call is answered before it would be signed or sent.
    session = boto3.session.Session(
        region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    router = Echo()
    with router.routing(session):
        yield router, session.client("lambda")


def test_context_counts_down_from_the_timeout_and_names_the_function() -> None:
    context = FakeLambdaContext("dns-canary", timeout_ms=3000, memory_limit_in_mb=256)
    first = context.get_remaining_time_in_millis()
    time.sleep(0.02)
    assert 2900 < context.get_remaining_time_in_millis() < first <= 3000
    assert context.invoked_function_arn.endswith(":function:dns-canary")
    assert context.memory_limit_in_mb == 256
    assert context.aws_request_id != FakeLambdaContext().aws_request_id


def test_context_never_reports_negative_time() -> None:
    assert FakeLambdaContext(timeout_ms=0).get_remaining_time_in_millis() == 0


def test_routed_invoke_returns_the_payload_by_name_or_arn(routed: Any) -> None:
    router, client = routed
    arn = "arn:aws:lambda:us-east-1:123456789012:function:canary-a"
    for target in ("canary-a", arn, f"{arn}:live"):
        response = client.invoke(FunctionName=target, Payload=json.dumps({"n": 1}).encode())
        assert "FunctionError" not in response
        assert json.loads(response["Payload"].read()) == {"echo": {"n": 1}}
    assert [name for name, _ in router.calls] == ["canary-a"] * 3


def test_routed_function_error_and_raw_payload_reach_the_caller(routed: Any) -> None:
    _, client = routed
    crashed = client.invoke(FunctionName="f", Payload=b'{"reply": "crash"}')
    assert crashed["FunctionError"] == "Unhandled"
    assert json.loads(crashed["Payload"].read())["errorType"] == "KeyError"
    raw = client.invoke(FunctionName="f", Payload=b'{"reply": "bytes"}')
    assert raw["Payload"].read() == b"<html>bad gateway</html>"


def test_routed_api_error_raises_client_error(routed: Any) -> None:
    _, client = routed
    with pytest.raises(ClientError) as raised:
        client.invoke(FunctionName="f", Payload=b'{"reply": "throttle"}')
    assert raised.value.response["Error"]["Code"] == "TooManyRequestsException"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429


def test_routing_ends_with_the_block() -> None:
    session = boto3.session.Session(
        region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    router = Echo()
    with router.routing(session):
        pass
    # A client built afterwards is answered by its own Stubber, not by the router.
    client = session.client("lambda")
    with Stubber(client) as stub:
        stub.add_response("invoke", {"StatusCode": 202})
        assert client.invoke(FunctionName="f", InvocationType="Event")["StatusCode"] == 202
    assert router.calls == []


def test_load_event_takes_the_file_name_with_or_without_json() -> None:
    assert load_event("manual_check") == load_event("manual_check.json")
    assert load_event("manual_check")["action"] == "check"


def test_cloudtrail_event_is_a_new_delivery_with_rewritten_parameters() -> None:
    event = cloudtrail_event("associate_dhcp_options", vpcId="vpc-1", dhcpOptionsId="dopt-1")
    sample = load_event("associate_dhcp_options")
    assert event["detail"]["requestParameters"] == {"dhcpOptionsId": "dopt-1", "vpcId": "vpc-1"}
    assert event["detail"]["eventID"] != sample["detail"]["eventID"]
    assert sample["detail"]["requestParameters"]["vpcId"] == "vpc-0a1b2c3d4e5f60718"


def test_each_load_is_a_fresh_module_of_the_function() -> None:
    # (the canary: importing the checker's Tracer opens X-Ray's UDP socket, not for this tier)
    first = import_handler_module(CANARY_DIR)
    second = import_handler_module(CANARY_DIR)
    assert first is not second
    assert first.__file__ == second.__file__ == str(CANARY_DIR / "app.py")
    assert load_handler(CANARY_DIR, "app.lambda_handler").__module__ not in {
        first.__name__,
        second.__name__,
    }


def test_a_missing_handler_module_is_named() -> None:
    with pytest.raises(FileNotFoundError, match=r"no handler module at .*/nowhere\.py"):
        import_handler_module(CHECKER_DIR, "nowhere")
