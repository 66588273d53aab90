"""Self-healing in organization mode: the watchdog's own calls are told apart by account, role
and session name together (domain/identity.py), through the real handler, moto across accounts
and the real canary in the member account's VPC (the `organization` world of
test_organization.py).
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from real_canary import handler_invoker
from test_organization import (  # noqa: F401  # `organization` is a fixture
    MEMBER_CANARY,
    MEMBER_REGION,
    MemberVpc,
    Organization,
    organization,
)

from devtools.orgworld import HOME, MEMBER, ROLE_NAME, forwarded_change

pytestmark = pytest.mark.integration

CHECKER_ROLE_NAME = "vpc-dns-watchdog-CheckerRole-AbC123"
CHECKER_ROLE = f"arn:aws:iam::{HOME}:role/{CHECKER_ROLE_NAME}"
Invoke = Callable[[Any], dict[str, Any]]


@pytest.fixture
def healing_checker(
    organization: Organization,  # noqa: F811  # the fixture imported above
    load_handler: Callable[[str], ModuleType],
    lambda_context: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> Invoke:
    """The central checker with self-healing on, after it verified the member VPC healthy; the
    member VPC is opted in."""
    monkeypatch.setenv("SELF_HEALING", "on")
    monkeypatch.setenv("CHECKER_ROLE_ARN", CHECKER_ROLE)
    member = organization.member
    member.world.ec2.create_tags(
        Resources=[member.vpc_id], Tags=[{"Key": "dhcp-watchdog:self-heal", "Value": "true"}]
    )
    checker = handler_invoker(load_handler, lambda_context)
    baseline = checker(
        {
            "action": "check",
            "vpc_ids": [member.vpc_id],
            "account_id": MEMBER,
            "region": MEMBER_REGION,
        }
    )
    assert baseline["vpcs"][0]["verdict"] == "OK"
    return checker


def _broken_by(org: Organization, actor: str, issuer: str) -> dict[str, Any]:
    """The dead-server set associated in the member account by `actor` (a session of the role
    `issuer`), and that call's CloudTrail event as the central bus receives it."""
    member = org.member
    member.world.associate(member.vpc_id, member.bad)
    org.platform.recycle(MEMBER_CANARY)
    event = forwarded_change(
        "associate_dhcp_options",
        account=MEMBER,
        region=MEMBER_REGION,
        vpcId=member.vpc_id,
        dhcpOptionsId=member.bad,
    )
    identity = event["detail"]["userIdentity"]
    identity["type"] = "AssumedRole"
    identity["arn"] = actor
    identity["accountId"] = MEMBER
    identity["sessionContext"]["sessionIssuer"].update(
        {"arn": issuer, "accountId": MEMBER, "userName": issuer.rsplit("/", 1)[-1]}
    )
    return event


def _association(member: MemberVpc) -> str:
    [described] = member.world.ec2.describe_vpcs(VpcIds=[member.vpc_id])["Vpcs"]
    return str(described["DhcpOptionsId"])


def test_the_watchdogs_own_member_session_is_recognised(
    organization: Organization,  # noqa: F811
    healing_checker: Invoke,
) -> None:
    member = organization.member
    # When the watchdog's own session in the member account (the member role, session name
    # vpc-dns-watchdog-<home>) is the one that associated the dead set
    own_session = f"arn:aws:sts::{MEMBER}:assumed-role/{ROLE_NAME}/vpc-dns-watchdog-{HOME}"
    event = _broken_by(organization, own_session, f"arn:aws:iam::{MEMBER}:role/{ROLE_NAME}")
    result = healing_checker(event)

    # Then it never reacts to itself: nothing is associated, and the CRITICAL says why
    assert result["vpcs"][0]["verdict"] == "FAILED"
    assert _association(member) == member.bad
    [critical] = organization.central.alerts()
    assert critical.text.splitlines()[1] == (
        "Self-healing did not act: the change was the watchdog's own association (it never "
        "reacts to itself)."
    )


def test_a_role_named_like_the_checker_role_in_another_account_is_not_the_watchdog(
    organization: Organization,  # noqa: F811
    healing_checker: Invoke,
) -> None:
    member = organization.member
    # When a member account's own role, merely named like the checker role, associated the set
    lookalike = f"arn:aws:sts::{MEMBER}:assumed-role/{CHECKER_ROLE_NAME}/mallory"
    event = _broken_by(organization, lookalike, f"arn:aws:iam::{MEMBER}:role/{CHECKER_ROLE_NAME}")
    result = healing_checker(event)

    # Then it is somebody else's change: self-healing puts the last good set back, verified
    assert result["vpcs"][0]["verdict"] == "FAILED"
    assert _association(member) == member.good
    [critical] = organization.central.alerts()
    assert critical.text.splitlines()[1].startswith(
        f"Rolled back automatically to {member.good} at "
    )
    assert critical.document["self_healing"]["healed"] is True


def test_a_rollback_request_for_a_member_vpc_is_made_there_through_the_member_role(
    organization: Organization,  # noqa: F811
    healing_checker: Invoke,
) -> None:
    member = organization.member
    # Given the member VPC broke by the watchdog's own hand (so self-healing held back)
    own_session = f"arn:aws:sts::{MEMBER}:assumed-role/{ROLE_NAME}/vpc-dns-watchdog-{HOME}"
    healing_checker(
        _broken_by(organization, own_session, f"arn:aws:iam::{MEMBER}:role/{ROLE_NAME}")
    )
    [critical] = organization.central.alerts()
    assert critical.severity == "CRITICAL"

    # When the chat button's request (it names the account) reaches the central checker
    result = healing_checker(
        {
            "action": "rollback",
            "vpc_id": member.vpc_id,
            "account_id": MEMBER,
            "region": MEMBER_REGION,
            "requested_by": "chat",
        }
    )

    # Then the member VPC is back on its last good set, verified by its canary, and the record
    # names the account
    assert result["status"] == "rolled_back"
    assert result["verified_verdict"] == "OK"
    assert (result["account_id"], result["region"]) == (MEMBER, MEMBER_REGION)
    assert _association(member) == member.good
    [record] = organization.central.alerts()
    assert record.subject.startswith(f"[INFO] {MEMBER} {MEMBER_REGION} {member.vpc_id}: rolled ")
    assert record.attributes["account_id"] == MEMBER
