"""Why a member account cannot be entered: each AssumeRole refusal, pinned with botocore's
Stubber, becomes MemberAccessDenied naming the likely cause; throttling is retried first."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from botocore.stub import Stubber
from dns_watchdog.aws.sessions import (
    ASSUME_ROLE_MAX_ATTEMPTS,
    CREDENTIAL_REFRESH_MARGIN,
    STS_CLIENT_CONFIG,
    AccountSessions,
    renewal_time,
)
from dns_watchdog.domain.errors import AccessProblem, MemberAccessDenied
from dns_watchdog.domain.identity import ROLE_SESSION_NAME_MAX_LENGTH, role_session_name
from dns_watchdog.domain.place import Place

pytestmark = pytest.mark.unit

HOME = "111111111111"
MEMBER = "222222222222"
ROLE = "vpc-dns-watchdog-member"
ROLE_ARN = f"arn:aws:iam::{MEMBER}:role/{ROLE}"
NOW = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
DENIED = (
    f"User: arn:aws:sts::{HOME}:assumed-role/vpc-dns-watchdog-checker/checker is not "
    f"authorized to perform: sts:AssumeRole on resource: {ROLE_ARN}"
)


@pytest.fixture
def sts(stub_session: boto3.session.Session) -> Iterator[tuple[Any, Stubber]]:
    client = stub_session.client("sts", region_name="eu-central-1")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def sessions_with(
    sts: tuple[Any, Stubber | None], session: boto3.session.Session, **options: Any
) -> AccountSessions:
    options.setdefault("member_role_name", ROLE)
    return AccountSessions(
        home_account=HOME,
        partition="aws",
        sts_client=sts[0],
        session=session,
        clock=lambda: NOW,
        **options,
    )


def refuse(stubber: Stubber, code: str, message: str, status: int = 403) -> None:
    stubber.add_client_error(
        "assume_role", service_error_code=code, service_message=message, http_status_code=status
    )


def grant(stubber: Stubber, expiration: datetime = NOW + timedelta(hours=1)) -> None:
    stubber.add_response(
        "assume_role",
        {
            "Credentials": {
                "AccessKeyId": "ASIAMEMBER0000000000",
                "SecretAccessKey": "secret",
                "SessionToken": "token",
                "Expiration": expiration,
            }
        },
        {
            "RoleArn": ROLE_ARN,
            "RoleSessionName": f"vpc-dns-watchdog-{HOME}",
            "DurationSeconds": 3600,
        },
    )


def denial(sessions: AccountSessions) -> MemberAccessDenied:
    with pytest.raises(MemberAccessDenied) as raised:
        sessions.clients(Place(MEMBER, "eu-west-1"))
    assert raised.value.account == MEMBER
    assert raised.value.role_arn == ROLE_ARN
    assert str(raised.value).startswith(f"account {MEMBER}: ")
    return raised.value


def test_access_denied_without_detail_means_role_missing_or_trust_wrong(
    sts: tuple[Any, Stubber], stub_session: boto3.session.Session
) -> None:
    refuse(sts[1], "AccessDenied", DENIED)

    denied = denial(sessions_with(sts, stub_session))

    assert denied.problem is AccessProblem.ROLE_MISSING_OR_UNTRUSTED
    assert denied.reason.startswith("role missing or trust policy wrong: ")
    assert "deploy the member template" in denied.reason
    assert DENIED in denied.reason
    assert not denied.transient


def test_an_explicit_deny_in_a_service_control_policy_is_an_scp_deny(
    sts: tuple[Any, Stubber], stub_session: boto3.session.Session
) -> None:
    refuse(sts[1], "AccessDenied", f"{DENIED} with an explicit deny in a service control policy")

    denied = denial(sessions_with(sts, stub_session))

    assert denied.problem is AccessProblem.ORGANIZATION_POLICY_DENY
    assert "SCP" in denied.reason


def test_the_checkers_own_policy_missing_the_account_is_named(
    sts: tuple[Any, Stubber], stub_session: boto3.session.Session
) -> None:
    refuse(
        sts[1],
        "AccessDenied",
        f"{DENIED} because no identity-based policy allows the sts:AssumeRole action",
    )

    denied = denial(sessions_with(sts, stub_session))

    assert denied.problem is AccessProblem.CHECKER_POLICY
    assert "aws:ResourceOrgID" in denied.reason


def test_sts_disabled_in_the_region_is_region_disabled(
    sts: tuple[Any, Stubber], stub_session: boto3.session.Session
) -> None:
    refuse(
        sts[1],
        "RegionDisabledException",
        "STS is not activated in this region for account:222222222222.",
    )

    denied = denial(sessions_with(sts, stub_session))

    assert denied.problem is AccessProblem.REGION_DISABLED
    assert "not activated in region eu-central-1" in denied.reason


def test_throttling_is_retried_with_backoff_then_succeeds(
    sts: tuple[Any, Stubber], stub_session: boto3.session.Session
) -> None:
    slept: list[float] = []
    refuse(sts[1], "Throttling", "Rate exceeded", 400)
    refuse(sts[1], "Throttling", "Rate exceeded", 400)
    grant(sts[1])
    sessions = sessions_with(sts, stub_session, sleep=slept.append, jitter=lambda _, top: top)

    clients = sessions.clients(Place(MEMBER, "eu-west-1"))

    assert slept == [0.2, 0.4]
    assert clients.account == MEMBER


def test_throttling_on_every_attempt_is_a_transient_denial(
    sts: tuple[Any, Stubber], stub_session: boto3.session.Session
) -> None:
    slept: list[float] = []
    for _ in range(ASSUME_ROLE_MAX_ATTEMPTS):
        refuse(sts[1], "Throttling", "Rate exceeded", 400)
    sessions = sessions_with(sts, stub_session, sleep=slept.append, jitter=lambda _, top: top)

    denied = denial(sessions)

    assert denied.problem is AccessProblem.THROTTLED
    assert denied.transient
    assert f"{ASSUME_ROLE_MAX_ATTEMPTS} times in a row" in denied.reason
    assert len(slept) == ASSUME_ROLE_MAX_ATTEMPTS - 1


def test_unknown_sts_errors_keep_their_code(
    sts: tuple[Any, Stubber], stub_session: boto3.session.Session
) -> None:
    refuse(sts[1], "InternalFailure", "try again", 500)

    denied = denial(sessions_with(sts, stub_session, max_attempts=1))

    assert denied.problem is AccessProblem.OTHER
    assert "InternalFailure: try again" in denied.reason


def test_sts_out_of_reach_is_a_transient_denial(stub_session: boto3.session.Session) -> None:
    # The request fails where it would leave for the network (no Stubber: it answers earlier).
    client = stub_session.client("sts", region_name="eu-central-1", config=STS_CLIENT_CONFIG)

    calls: list[str] = []

    def unreachable(**_: Any) -> None:
        calls.append("AssumeRole")
        raise EndpointConnectionError(endpoint_url="https://sts.eu-central-1.amazonaws.com")

    client.meta.events.register("before-send.sts.AssumeRole", unreachable)

    denied = denial(sessions_with((client, None), stub_session))

    assert len(calls) == 1  # retried by the next delivery, not here
    assert denied.problem is AccessProblem.UNREACHABLE
    assert denied.transient
    assert "EndpointConnectionError" in denied.reason


@pytest.mark.parametrize("code", ["ExpiredToken", "InvalidClientTokenId"])
def test_the_checkers_own_unusable_credentials_raise_for_the_run_to_be_retried(
    sts: tuple[Any, Stubber], stub_session: boto3.session.Session, code: str
) -> None:
    refuse(sts[1], code, "The security token included in the request is expired")

    with pytest.raises(ClientError) as raised:
        sessions_with(sts, stub_session).clients(Place(MEMBER, "eu-west-1"))

    assert raised.value.response["Error"]["Code"] == code


def test_the_home_account_uses_the_default_credentials_without_sts(
    sts: tuple[Any, Stubber], stub_session: boto3.session.Session
) -> None:
    sessions = sessions_with(sts, stub_session)

    clients = sessions.clients(Place(HOME, "eu-west-1"))

    assert sessions.credentials(HOME) is None
    assert clients.ec2.meta.region_name == "eu-west-1"
    # The Stubber would fail on any AssumeRole; none is pending or made.


def test_a_place_without_an_account_is_in_the_home_account(
    sts: tuple[Any, Stubber], stub_session: boto3.session.Session
) -> None:
    sessions = sessions_with(sts, stub_session)

    clients = sessions.clients(Place(None, "eu-west-1"))

    assert (clients.account, clients.region) == (HOME, "eu-west-1")
    assert clients.ec2 is sessions.clients(Place(HOME, "eu-west-1")).ec2
    # No AssumeRole: the Stubber has none pending and would fail on one.


def test_single_account_mode_refuses_another_account_clearly(
    sts: tuple[Any, Stubber], stub_session: boto3.session.Session
) -> None:
    sessions = sessions_with(sts, stub_session, member_role_name="")

    with pytest.raises(MemberAccessDenied) as raised:
        sessions.clients(Place(MEMBER, "eu-west-1"))

    denied = raised.value
    assert not sessions.organization_mode
    assert denied.problem is AccessProblem.SINGLE_ACCOUNT_MODE
    assert "MEMBER_ROLE_NAME is not set" in denied.reason
    assert sessions.clients(Place(HOME, "eu-west-1")).region == "eu-west-1"


@pytest.mark.parametrize(
    ("options", "says"),
    [
        ({"home_account": "12345"}, "home account '12345' has 5 digits"),
        ({"partition": "amazon"}, "partition 'amazon' is not an AWS partition"),
        ({"member_role_name": f"arn:aws:iam::{MEMBER}:role/x"}, "a name, not an ARN"),
        ({"member_role_name": "r" * 65}, "is not an IAM role name"),
        ({"member_role_name": "wächter"}, "is not an IAM role name"),
    ],
)
def test_bad_settings_are_refused_when_built(
    sts: tuple[Any, Stubber], options: dict[str, str], says: str
) -> None:
    settings = {"home_account": HOME, "partition": "aws", "member_role_name": ROLE, **options}

    with pytest.raises(ValueError, match=re.escape(says)):
        AccountSessions(sts_client=sts[0], **settings)


def test_a_malformed_account_is_refused_before_any_call(
    sts: tuple[Any, Stubber], stub_session: boto3.session.Session
) -> None:
    with pytest.raises(ValueError, match="has 11 digits"):
        sessions_with(sts, stub_session).credentials("22222222222")


def test_the_session_name_identifies_the_watchdog_within_stss_limits() -> None:
    assert role_session_name(HOME) == f"vpc-dns-watchdog-{HOME}"
    assert len(role_session_name("9" * 80)) == ROLE_SESSION_NAME_MAX_LENGTH
    assert role_session_name("a b/ü") == "vpc-dns-watchdog-a-b--"


def test_credentials_are_renewed_before_the_margin_or_at_half_life_when_short() -> None:
    hour = renewal_time(NOW, NOW + timedelta(hours=1))
    short = renewal_time(NOW, NOW + timedelta(minutes=10))

    assert hour == NOW + timedelta(hours=1) - CREDENTIAL_REFRESH_MARGIN
    assert short == NOW + timedelta(minutes=5)


def test_assumed_credentials_never_show_their_secret(
    sts: tuple[Any, Stubber], stub_session: boto3.session.Session
) -> None:
    grant(sts[1])

    credentials = sessions_with(sts, stub_session).credentials(MEMBER)

    assert credentials is not None
    assert "ASIAMEMBER0000000000" in repr(credentials)
    assert "secret" not in repr(credentials)
    assert "token" not in repr(credentials)


def test_the_sts_client_uses_the_regional_endpoint_of_its_region(
    stub_session: boto3.session.Session,
) -> None:
    client = stub_session.client("sts", region_name="ap-southeast-5", config=STS_CLIENT_CONFIG)

    assert client.meta.endpoint_url == "https://sts.ap-southeast-5.amazonaws.com"
