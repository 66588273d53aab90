"""Clients per (account, region) in moto: assumed credentials act in the member account, are
reused until shortly before they expire, and a role that cannot be assumed is a typed error."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.config import Config
from dns_watchdog.aws.sessions import CREDENTIAL_REFRESH_MARGIN, AccountSessions
from dns_watchdog.domain.errors import AccessProblem, MemberAccessDenied
from dns_watchdog.domain.place import Place

from devtools.awsworld import local_aws
from devtools.orgworld import (
    HOME,
    MEMBER,
    OTHER_MEMBER,
    ROLE_NAME,
    AssumeRoleGate,
    create_member_role,
    create_vpc,
)

pytestmark = pytest.mark.integration

REGION = "eu-west-1"


class Clock:
    """An adjustable clock for the credential cache (starts at the real time)."""

    def __init__(self) -> None:
        self.now = datetime.now().astimezone()

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def aws() -> Iterator[None]:
    with local_aws(REGION):
        yield


@pytest.fixture
def gate(aws: None) -> AssumeRoleGate:
    return AssumeRoleGate()


@pytest.fixture
def clock() -> Clock:
    return Clock()


def sessions_for(gate: AssumeRoleGate, clock: Clock, **options: Any) -> AccountSessions:
    sts = boto3.client("sts", region_name=REGION)
    gate.install(sts)
    return AccountSessions(
        home_account=HOME,
        partition="aws",
        member_role_name=ROLE_NAME,
        sts_client=sts,
        clock=clock,
        **options,
    )


def vpc_ids(ec2: Any) -> set[str]:
    return {vpc["VpcId"] for vpc in ec2.describe_vpcs()["Vpcs"]}


def test_member_clients_act_in_the_member_account_under_the_watchdogs_session_name(
    gate: AssumeRoleGate, clock: Clock
) -> None:
    # Given a VPC in the home account and one in the member account, which has the member role
    home_vpc = create_vpc(HOME, REGION, "10.1.0.0/16")
    member_vpc = create_vpc(MEMBER, REGION, "10.2.0.0/16")
    create_member_role(MEMBER)
    sessions = sessions_for(gate, clock)

    # When the checker asks for each account's clients
    member = sessions.clients(Place(MEMBER, REGION))
    home = sessions.clients(Place(HOME, REGION))

    # Then each sees its own account's VPCs only
    assert member_vpc in vpc_ids(member.ec2)
    assert home_vpc not in vpc_ids(member.ec2)
    assert home_vpc in vpc_ids(home.ec2)
    assert member_vpc not in vpc_ids(home.ec2)
    # and the member account's CloudTrail would name the watchdog's session
    assert gate.calls == [
        {
            "Action": "AssumeRole",
            "Version": "2011-06-15",
            "RoleArn": f"arn:aws:iam::{MEMBER}:role/{ROLE_NAME}",
            "RoleSessionName": f"vpc-dns-watchdog-{HOME}",
            "DurationSeconds": 3600,
        }
    ]
    identity = sessions.client("sts", MEMBER, REGION).get_caller_identity()
    assert identity["Account"] == MEMBER
    assert identity["Arn"].endswith(f"assumed-role/{ROLE_NAME}/vpc-dns-watchdog-{HOME}")
    # and the home account needed no role
    assert member.region == home.region == REGION


def test_one_assume_role_serves_every_client_and_region_of_an_account(
    gate: AssumeRoleGate, clock: Clock
) -> None:
    create_member_role(MEMBER)
    create_member_role(OTHER_MEMBER)
    sessions = sessions_for(gate, clock)

    first = sessions.clients(Place(MEMBER, REGION))
    again = sessions.clients(Place(MEMBER, REGION))
    elsewhere = sessions.clients(Place(MEMBER, "us-east-1"))
    sessions.clients(Place(OTHER_MEMBER, REGION))

    assert [call["RoleArn"].split(":")[4] for call in gate.calls] == [MEMBER, OTHER_MEMBER]
    assert again.ec2 is first.ec2
    assert again.lambda_ is first.lambda_
    assert elsewhere.ec2 is not first.ec2
    assert elsewhere.ec2.meta.region_name == "us-east-1"


def test_credentials_are_renewed_shortly_before_they_expire(
    gate: AssumeRoleGate, clock: Clock
) -> None:
    member_vpc = create_vpc(MEMBER, REGION, "10.2.0.0/16")
    create_member_role(MEMBER)
    sessions = sessions_for(gate, clock)
    first = sessions.clients(Place(MEMBER, REGION)).ec2
    credentials = sessions.credentials(MEMBER)
    assert credentials is not None

    # Just outside the refresh margin: the cached credentials and clients still serve
    clock.now = credentials.expiration - CREDENTIAL_REFRESH_MARGIN - timedelta(seconds=1)
    assert sessions.clients(Place(MEMBER, REGION)).ec2 is first
    assert len(gate.calls) == 1

    # Inside the margin: the role is assumed again and the clients are rebuilt with the new keys
    clock.now = credentials.expiration - CREDENTIAL_REFRESH_MARGIN + timedelta(seconds=1)
    renewed = sessions.clients(Place(MEMBER, REGION)).ec2
    assert len(gate.calls) == 2
    assert renewed is not first
    renewed_credentials = sessions.credentials(MEMBER)
    assert renewed_credentials is not None
    assert renewed_credentials.access_key_id != credentials.access_key_id
    assert member_vpc in vpc_ids(renewed)
    # and the renewed credentials serve in turn
    assert sessions.clients(Place(MEMBER, REGION)).ec2 is renewed
    assert len(gate.calls) == 2


def test_a_missing_member_role_is_member_access_denied_naming_the_role(
    gate: AssumeRoleGate, clock: Clock
) -> None:
    # Given a member account where the member template was never deployed
    create_vpc(MEMBER, REGION, "10.2.0.0/16")
    create_member_role(OTHER_MEMBER)
    sessions = sessions_for(gate, clock, sleep=pytest.fail)

    with pytest.raises(MemberAccessDenied) as denied:
        sessions.clients(Place(MEMBER, REGION))

    assert denied.value.account == MEMBER
    assert denied.value.problem is AccessProblem.ROLE_MISSING_OR_UNTRUSTED
    assert "role missing" in denied.value.reason
    assert f"arn:aws:iam::{MEMBER}:role/{ROLE_NAME}" in denied.value.reason
    assert not denied.value.transient
    # and the other accounts are unaffected
    assert sessions.clients(Place(OTHER_MEMBER, REGION)).ec2 is not None
    assert sessions.clients(Place(HOME, REGION)).ec2 is not None


def test_a_role_that_trusts_another_account_is_refused_the_same_way(
    gate: AssumeRoleGate, clock: Clock
) -> None:
    create_member_role(MEMBER, trusted_account="999999999999")
    sessions = sessions_for(gate, clock)

    with pytest.raises(MemberAccessDenied) as denied:
        sessions.clients(Place(MEMBER, REGION))

    assert denied.value.problem is AccessProblem.ROLE_MISSING_OR_UNTRUSTED
    assert "trust policy" in denied.value.reason


def test_clients_are_built_with_the_config_given_per_service(
    gate: AssumeRoleGate, clock: Clock
) -> None:
    create_member_role(MEMBER)
    lambda_config = Config(read_timeout=7, retries={"mode": "standard", "total_max_attempts": 1})
    sessions = sessions_for(gate, clock, client_configs={"lambda": lambda_config})

    clients = sessions.clients(Place(MEMBER, REGION))

    assert clients.lambda_.meta.config.read_timeout == 7
    assert clients.lambda_.meta.config.retries["total_max_attempts"] == 1
    assert clients.ec2.meta.config.read_timeout != 7


def test_hooks_on_the_session_see_member_account_calls(gate: AssumeRoleGate, clock: Clock) -> None:
    # The checker's tracing and the tests' routers hook boto3's default session.
    create_member_role(MEMBER)
    seen: list[str] = []
    assert boto3.DEFAULT_SESSION is not None
    boto3.DEFAULT_SESSION.events.register(
        "before-call.ec2.DescribeVpcs", lambda **kwargs: seen.append("DescribeVpcs")
    )
    sessions = sessions_for(gate, clock)

    sessions.clients(Place(MEMBER, REGION)).ec2.describe_vpcs()

    assert seen == ["DescribeVpcs"]


def test_threads_asking_for_one_account_at_once_share_one_assume_role(
    gate: AssumeRoleGate, clock: Clock
) -> None:
    create_member_role(MEMBER)
    create_member_role(OTHER_MEMBER)
    sessions = sessions_for(gate, clock)
    accounts = [MEMBER, OTHER_MEMBER] * 8

    with ThreadPoolExecutor(max_workers=8) as pool:
        clients = list(pool.map(lambda account: sessions.clients(Place(account, REGION)), accounts))

    assert sorted(call["RoleArn"].split(":")[4] for call in gate.calls) == [MEMBER, OTHER_MEMBER]
    assert len({id(c.ec2) for c in clients if c.account == MEMBER}) == 1
