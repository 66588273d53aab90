"""The sweep's targets from Organizations in moto: active accounts only, every page, and the
setting's own list when the central account may not list accounts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from dns_watchdog.aws.organization import list_active_accounts, resolve_sweep_targets
from dns_watchdog.aws.sessions import AccountSessions
from dns_watchdog.domain.errors import AccessProblem, AwsCallFailed, MemberAccessDenied
from dns_watchdog.domain.place import Place
from dns_watchdog.domain.targets import parse_sweep_targets

from devtools.awsworld import local_aws
from devtools.orgworld import (
    HOME,
    MEMBER,
    ROLE_NAME,
    AssumeRoleGate,
    create_vpc,
    error_response,
    in_account,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def organizations() -> Iterator[Any]:
    """An organization whose management account is the home account."""
    with local_aws():
        client = boto3.client("organizations")
        client.create_organization(FeatureSet="ALL")
        yield client


def create_accounts(client: Any, *names: str, role_name: str = ROLE_NAME) -> dict[str, str]:
    """Accounts by name -> id; Organizations creates `role_name` in each, trusting the
    management account."""
    created = {}
    for name in names:
        status = client.create_account(
            AccountName=name, Email=f"{name}@example.com", RoleName=role_name
        )
        account_id = client.describe_create_account_status(
            CreateAccountRequestId=status["CreateAccountStatus"]["Id"]
        )["CreateAccountStatus"]["AccountId"]
        created[name] = account_id
    return created


def test_active_accounts_are_listed_across_pages_and_closed_ones_left_out(
    organizations: Any,
) -> None:
    # Given five member accounts, one of them closed, listed two per page
    created = create_accounts(organizations, "network", "prod", "dev", "sandbox", "retired")
    organizations.close_account(AccountId=created["retired"])
    pages: list[dict[str, Any]] = []

    def two_per_page(params: dict[str, Any], **_: Any) -> None:
        params["MaxResults"] = 2
        pages.append(dict(params))

    organizations.meta.events.register(
        "provide-client-params.organizations.ListAccounts", two_per_page
    )

    accounts = list_active_accounts(organizations)

    assert len(pages) >= 3
    by_id = {account.account_id: account.name for account in accounts}
    assert created["retired"] not in by_id
    assert {by_id[created[name]] for name in ("network", "prod", "dev", "sandbox")} == {
        "network",
        "prod",
        "dev",
        "sandbox",
    }
    assert HOME in by_id  # the management account is a member of its organization
    assert [account.account_id for account in accounts] == sorted(by_id)
    assert all(account.state == "ACTIVE" for account in accounts)


def test_every_account_entries_cross_the_organizations_accounts_with_their_regions(
    organizations: Any,
) -> None:
    created = create_accounts(organizations, "network")
    plan = parse_sweep_targets(f"*:us-east-1|eu-west-1, {MEMBER}:ap-southeast-2")

    resolved = resolve_sweep_targets(plan, home_account=HOME, client=organizations)

    network = created["network"]
    assert resolved.source == "organizations"
    assert resolved.fallback_reason is None
    assert resolved.account_names[network] == "network"
    assert set(resolved.targets) == {
        Place(HOME, "eu-west-1"),
        Place(HOME, "us-east-1"),
        Place(network, "eu-west-1"),
        Place(network, "us-east-1"),
        Place(MEMBER, "ap-southeast-2"),
    }
    assert list(resolved.targets) == sorted(resolved.targets)


def test_access_denied_falls_back_to_the_settings_accounts_and_logs_why(
    organizations: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a central account that is neither management account nor delegated administrator
    create_accounts(organizations, "network")
    organizations.meta.events.register(
        "before-call.organizations.ListAccounts",
        lambda **_: error_response(
            "AccessDeniedException",
            "You don't have permissions to access this resource.",
            400,
        ),
    )
    plan = parse_sweep_targets(f"*:eu-west-1, {MEMBER}:us-east-1")

    resolved = resolve_sweep_targets(plan, home_account=HOME, client=organizations)

    assert resolved.source == "setting"
    assert resolved.targets == (
        Place(HOME, "eu-west-1"),
        Place(MEMBER, "eu-west-1"),
        Place(MEMBER, "us-east-1"),
    )
    assert resolved.fallback_reason is not None
    assert "AccessDeniedException" in resolved.fallback_reason
    assert "delegated administrator" in resolved.fallback_reason
    assert [(r.levelname, getattr(r, "reason", None)) for r in caplog.records] == [
        ("WARNING", resolved.fallback_reason)
    ]


def test_an_account_outside_any_organization_falls_back_too() -> None:
    # AWS refuses ListAccounts outside an organization (moto lists nothing: the hook says it).
    with local_aws():
        client = boto3.client("organizations")
        client.meta.events.register(
            "before-call.organizations.ListAccounts",
            lambda **_: error_response(
                "AWSOrganizationsNotInUseException",
                "Your account is not a member of an organization.",
                400,
            ),
        )

        resolved = resolve_sweep_targets(
            parse_sweep_targets("*:eu-west-1"), home_account=HOME, client=client
        )

    assert resolved.targets == (Place(HOME, "eu-west-1"),)
    assert resolved.fallback_reason is not None
    assert "AWSOrganizationsNotInUseException" in resolved.fallback_reason


def test_a_listing_without_any_active_account_is_not_trusted() -> None:
    # moto outside an organization lists no account at all.
    with local_aws():
        resolved = resolve_sweep_targets(
            parse_sweep_targets(f"*:eu-west-1, {MEMBER}:us-east-1"),
            home_account=HOME,
            client=boto3.client("organizations"),
        )

    assert resolved.source == "setting"
    assert resolved.fallback_reason == "Organizations listed no active account"
    assert resolved.targets == (
        Place(HOME, "eu-west-1"),
        Place(MEMBER, "eu-west-1"),
        Place(MEMBER, "us-east-1"),
    )


def test_a_setting_without_every_account_entries_does_not_ask_organizations(
    organizations: Any,
) -> None:
    asked: list[str] = []
    organizations.meta.events.register(
        "before-call.organizations.ListAccounts", lambda **_: asked.append("ListAccounts")
    )
    plan = parse_sweep_targets(f"{MEMBER}:eu-west-1")

    resolved = resolve_sweep_targets(plan, home_account=HOME, client=organizations)

    assert resolved.targets == (Place(MEMBER, "eu-west-1"),)
    assert resolved.source == "setting"
    assert asked == []


def test_other_organizations_failures_raise_so_the_sweep_is_retried(organizations: Any) -> None:
    organizations.meta.events.register(
        "before-call.organizations.ListAccounts",
        lambda **_: error_response("ServiceException", "internal error", 500),
    )

    with pytest.raises(AwsCallFailed, match="could not list the organization's accounts"):
        resolve_sweep_targets(
            parse_sweep_targets("*:eu-west-1"), home_account=HOME, client=organizations
        )


def test_a_sweep_enters_every_organization_account_and_one_missing_role_blinds_no_other(
    organizations: Any,
) -> None:
    # Given two member accounts with the member role, and one whose role was deleted
    created = create_accounts(organizations, "network", "prod", "legacy")
    vpcs = {
        name: create_vpc(account, "eu-west-1", "10.9.0.0/16") for name, account in created.items()
    }
    with in_account(created["legacy"]):
        boto3.client("iam").delete_role(RoleName=ROLE_NAME)
    sts = boto3.client("sts")
    AssumeRoleGate().install(sts)
    sessions = AccountSessions(
        home_account=HOME, partition="aws", member_role_name=ROLE_NAME, sts_client=sts
    )
    resolved = resolve_sweep_targets(
        parse_sweep_targets("*:eu-west-1"), home_account=HOME, client=organizations
    )

    # When each target's clients are asked for
    seen: dict[str, set[str]] = {}
    denied: dict[str, MemberAccessDenied] = {}
    for target in resolved.targets:
        try:
            ec2 = sessions.clients(target).ec2
        except MemberAccessDenied as exc:
            denied[target.account] = exc
            continue
        seen[target.account] = {vpc["VpcId"] for vpc in ec2.describe_vpcs()["Vpcs"]}

    # Then every account but the one without its role is entered, each seeing its own VPC only
    assert set(seen) == {HOME, created["network"], created["prod"]}
    for name in ("network", "prod"):
        assert vpcs[name] in seen[created[name]]
        assert not (set(vpcs.values()) - {vpcs[name]}) & seen[created[name]]
    assert set(denied) == {created["legacy"]}
    assert denied[created["legacy"]].problem is AccessProblem.ROLE_MISSING_OR_UNTRUSTED


def test_without_an_organizations_client_the_settings_accounts_are_swept() -> None:
    plan = parse_sweep_targets(f"*:eu-west-1, {MEMBER}:us-east-1")

    resolved = resolve_sweep_targets(plan, home_account=HOME, client=None)

    assert resolved.source == "setting"
    assert resolved.fallback_reason is not None
    assert set(resolved.targets) == {
        Place(HOME, "eu-west-1"),
        Place(MEMBER, "eu-west-1"),
        Place(MEMBER, "us-east-1"),
    }
