"""Fixtures of the checker tests (helpers live in checker_doubles.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from checker_doubles import World

# The lab VPC with the real canary behind the checker (fixtures `lab_vpc`, `checker`).
from real_canary import checker, handler_invoker, lab_vpc  # noqa: F401  # fixtures by name

from devtools.awsworld import MOTO_CREDENTIALS, local_aws
from devtools.lambdakit import REGION, FakeLambdaContext

CHECKER_SETTINGS = (
    "ALERT_TOPIC_ARN",
    "STATE_TABLE_NAME",
    "PROBE_PLAN",
    "CANARY_DEADLINE_MS",
    "CANARY_INVOKE_TIMEOUT_S",
    "INVOKE_MAX_ATTEMPTS",
    "REFRESH_BUDGET_S",
    "MAX_CONCURRENT_INVOCATIONS",
    "SWEEP_CONFIRM_DELAY_S",
    "CHAT_TOPIC_ARN",
)


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Offline AWS settings: fake credentials, one region, tracing off."""
    for variable in CHECKER_SETTINGS:
        monkeypatch.delenv(variable, raising=False)
    for variable, value in MOTO_CREDENTIALS.items():
        monkeypatch.setenv(variable, value)
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    # Sweep failures are confirmed by asking the canaries again at once, not 30 s later.
    monkeypatch.setenv("SWEEP_CONFIRM_DELAY_S", "0")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "vpc-dns-watchdog-checker")


@pytest.fixture(scope="session")
def stub_session() -> boto3.session.Session:
    """One session for the clients botocore's Stubber pins, so service models load once. Its
    credentials are never used: the Stubber answers before a request is signed."""
    return boto3.session.Session(
        region_name=REGION,
        aws_access_key_id=MOTO_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=MOTO_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=MOTO_CREDENTIALS["AWS_SESSION_TOKEN"],
    )


@pytest.fixture
def moto_world(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """moto with the resources the template creates: state table, alert topic, a subscriber.

    Nothing answers lambda Invoke yet: `world` routes it to canary doubles, the end-to-end tests
    to the real canary (devtools.local_lambda.LocalCanaryPlatform).
    """
    with local_aws() as extras:
        world = World()
        world.dns_extras = extras
        for variable, value in world.resources.settings.items():
            monkeypatch.setenv(variable, value)
        yield world


@pytest.fixture
def world(moto_world: World) -> Iterator[World]:
    """The moto world with lambda Invoke answered by in-process canary doubles."""
    # Clients the checker builds from the default session route Invoke to the doubles.
    with moto_world.router.routing():
        yield moto_world


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    """The checker's context. In Lambda every invocation has the checker's full time; tests
    reuse one context across several invocations, so its clock starts with room for them all
    (the run's deadline comes from it: devtools.lambdakit.FakeLambdaContext counts down)."""
    return FakeLambdaContext("vpc-dns-watchdog-checker", timeout_ms=3_600_000)


@pytest.fixture
def checker_app(
    world: World, load_handler: Callable[[str], ModuleType], lambda_context: Any
) -> Callable[[Any], dict[str, Any]]:
    """Invoke the checker handler like Lambda would (one execution environment per test)."""
    return handler_invoker(load_handler, lambda_context)


@pytest.fixture
def lambda_client(aws_env: None, stub_session: boto3.session.Session) -> Any:
    """A Lambda client of the shared Stubber session (its service model loads once)."""
    return stub_session.client("lambda")


@pytest.fixture
def stub(lambda_client: Any) -> Iterator[Stubber]:
    """botocore's Stubber on `lambda_client`; every queued response must be used."""
    with Stubber(lambda_client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()
