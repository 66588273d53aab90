"""Organizations adapter: the organization's active accounts, and the targets of a sweep.

`list_active_accounts` pages through ListAccounts and keeps the accounts that are ACTIVE (a
suspended or closing account cannot be entered, and its role is gone with it); their names let
alerts name the account. `resolve_sweep_targets` crosses them with the regions of the sweep
setting's ``*`` entries, and names every target's account once per sweep (with ``*`` the
listing names them; a setting's own accounts are named by `listed_account_names`): the messages
carry the names, so no checker asks Organizations per target. Only the management account or a
delegated administrator may list accounts: when Organizations refuses (AccessDenied, or no
organization at all), the sweep falls back to the setting's own list (``*`` then means the home
account and the accounts the list names), and says why in the log and in the result. Any other
failure raises, so the scheduled sweep fails and is retried, instead of quietly sweeping fewer
accounts.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from dns_watchdog.aws.calls import read_error
from dns_watchdog.domain.errors import AwsCallFailed
from dns_watchdog.domain.place import Place
from dns_watchdog.domain.targets import SweepPlan
from dns_watchdog.observability import logger

# The boto3 Organizations client (mypy-boto3-organizations is not among the dev requirements).
OrganizationsClient = Any

ACTIVE = "ACTIVE"
# ListAccounts answers at most this many accounts a page.
LIST_ACCOUNTS_PAGE_SIZE = 20
# Organizations' answers that mean "this account may not list accounts here".
LISTING_REFUSED_CODES = frozenset(
    {
        "AccessDeniedException",
        "AccessDenied",
        "AWSOrganizationsNotInUseException",
        "AccessDeniedForDependencyException",
    }
)

TargetSource = Literal["organizations", "setting"]


class ListingRefused(RuntimeError):
    """Organizations will not list this organization's accounts to the checker."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(
            f"Organizations refused ListAccounts ({code}: {message}); only the management "
            "account or a delegated administrator may list accounts"
        )


@dataclass(frozen=True)
class OrganizationAccount:
    account_id: str
    name: str
    state: str


@dataclass(frozen=True)
class ResolvedTargets:
    """The sweep's targets, where the accounts came from, and why not from Organizations."""

    targets: tuple[Place, ...]
    source: TargetSource
    account_names: Mapping[str, str] = field(default_factory=dict)
    fallback_reason: str | None = None


def list_active_accounts(client: OrganizationsClient) -> tuple[OrganizationAccount, ...]:
    """Every ACTIVE account of the organization, ordered by id.

    Raises ListingRefused when the checker may not list accounts, AwsCallFailed on any other
    error.
    """
    accounts: list[OrganizationAccount] = []
    try:
        for page in client.get_paginator("list_accounts").paginate():
            for account in page.get("Accounts", []):
                # `State` replaces the deprecated `Status`; older answers carry only `Status`.
                state = str(account.get("State") or account.get("Status") or "")
                accounts.append(
                    OrganizationAccount(str(account["Id"]), str(account.get("Name", "")), state)
                )
    except ClientError as exc:
        error = read_error(exc)
        if error.code in LISTING_REFUSED_CODES:
            raise ListingRefused(error.code, error.message) from exc
        raise AwsCallFailed(f"could not list the organization's accounts: {exc}") from exc
    active = {account.account_id: account for account in accounts if account.state == ACTIVE}
    return tuple(active[account_id] for account_id in sorted(active))


def resolve_sweep_targets(
    plan: SweepPlan, *, home_account: str, client: OrganizationsClient | None
) -> ResolvedTargets:
    """The sweep's (account, region) targets.

    Without ``*`` entries the setting's pairs are the targets and Organizations is not asked.
    With them, the organization's active accounts (or, when it may not be asked, the home
    account and the accounts the setting names) are crossed with the ``*`` regions.
    """
    if not plan.wants_every_account:
        names = listed_account_names(client, plan.named_accounts) if client is not None else {}
        return ResolvedTargets(plan.targets, "setting", names)
    fallback_accounts = {home_account, *plan.named_accounts}
    if client is None:
        reason = "no Organizations client: the sweep uses the setting's own accounts"
        return _fall_back(plan, fallback_accounts, reason)
    try:
        accounts = list_active_accounts(client)
    except ListingRefused as exc:
        return _fall_back(plan, fallback_accounts, str(exc))
    if not accounts:  # an organization always holds its management account: not a real answer
        reason = "Organizations listed no active account"
        return _fall_back(plan, fallback_accounts, reason)
    names = {account.account_id: account.name for account in accounts}
    return ResolvedTargets(plan.expand(names), "organizations", names)


def listed_account_names(client: OrganizationsClient, accounts: Collection[str]) -> dict[str, str]:
    """The names of `accounts` (a sweep setting's own), asked once: DescribeAccount for each
    when they fit in one ListAccounts page, else one listing of the organization. Best effort:
    an account Organizations will not name goes without one."""
    if len(accounts) <= LIST_ACCOUNTS_PAGE_SIZE:
        described = AccountNames(client)
        return {account: name for account in accounts if (name := described.name_of(account))}
    try:
        listed = list_active_accounts(client)
    except (ListingRefused, AwsCallFailed) as exc:
        logger.info("No account names from Organizations", extra={"error": str(exc)})
        return {}
    wanted = set(accounts)
    return {a.account_id: a.name for a in listed if a.account_id in wanted and a.name}


def _fall_back(plan: SweepPlan, accounts: set[str], reason: str) -> ResolvedTargets:
    logger.warning(
        "Sweeping the accounts of the target setting, not the organization's",
        extra={"reason": reason, "accounts": sorted(accounts)},
    )
    return ResolvedTargets(plan.expand(accounts), "setting", fallback_reason=reason)


class AccountNames:
    """Account names for alerts, from Organizations' DescribeAccount, cached per account.

    Best effort: a name is a courtesy, never a reason to hold up a page. When Organizations will
    not tell (not the management or a delegated administrator account, no organization, an
    unknown account, any error), the account is shown by its id alone, and not asked again.
    """

    def __init__(self, client: OrganizationsClient) -> None:
        self._client = client
        self._names: dict[str, str | None] = {}

    def name_of(self, account_id: str) -> str | None:
        if account_id not in self._names:
            self._names[account_id] = self._describe(account_id)
        return self._names[account_id]

    def _describe(self, account_id: str) -> str | None:
        try:
            account = self._client.describe_account(AccountId=account_id)["Account"]
        except (ClientError, BotoCoreError) as exc:
            error = read_error(exc)
            logger.info(
                "No account name from Organizations",
                extra={
                    "account_id": account_id,
                    "error": str(error),
                    "request_id": error.request_id,
                },
            )
            return None
        name = account.get("Name")
        return str(name) if name else None
