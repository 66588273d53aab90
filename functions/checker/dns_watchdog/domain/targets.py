"""Sweep targets: the (account, region) pairs a sweep checks, parsed from one setting (pure).

The setting (``SWEEP_TARGETS``) is a list of entries separated by commas or white space; each
entry is ``ACCOUNTS:REGIONS``, where either side may name several values joined by ``|``, and
the account side may be ``*``:

    111111111111:us-east-1, 222222222222:eu-west-1     two targets
    111111111111|222222222222:us-east-1|eu-west-1      accounts x regions: four targets
    *:us-east-1|eu-west-1                              every active account of the organization
                                                       (or, when Organizations cannot be asked,
                                                       the home account and the accounts named
                                                       elsewhere in the list) in two regions

The ``|`` and ``*`` forms exist because Lambda gives a function's environment 4 KB in all: one
``account:region`` pair takes 23 bytes, so a landing zone's 200 accounts x 3 regions could not be
spelled out pair by pair.

Every malformed entry is reported at once, each with its position and what is wrong with it
(an 11-digit account, an account written with dashes, an Availability Zone instead of a region,
a region of another partition); nothing is dropped silently. Targets come out deduplicated, in
a stable order (account, then region).

Hand-written: the grammar is a few lines of string splitting, which no parsing library would
make clearer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from dns_watchdog.constants import SWEEP_TARGETS_ENV
from dns_watchdog.domain.place import Place

# A twelve-digit account id, and the shape of a region name (`us-east-1`, `us-gov-west-1`,
# `cn-north-1`, `ap-southeast-5`, `us-isob-east-1`, `eusc-de-east-1`).
ACCOUNT_ID_PATTERN = re.compile(r"\d{12}")
REGION_PATTERN = re.compile(r"[a-z]{2,4}(-[a-z]+)+-\d{1,2}")
# An Availability Zone (`us-east-1a`) or zone id (`use1-az1`): a common slip for a region.
_ZONE_PATTERN = re.compile(r"[a-z]{2,4}(-[a-z]+)+-\d{1,2}[a-z]|[a-z]{3,5}\d-az\d+")

EVERY_ACCOUNT = "*"
_ENTRY_SEPARATORS = re.compile(r"[,\s]+")
_ALTERNATIVES = "|"

# Region prefixes of the partitions other than `aws` (longest first: `us-isob-` before `us-iso-`).
_PARTITION_PREFIXES = (
    ("us-isob-", "aws-iso-b"),
    ("us-isof-", "aws-iso-f"),
    ("eu-isoe-", "aws-iso-e"),
    ("us-iso-", "aws-iso"),
    ("us-gov-", "aws-us-gov"),
    ("cn-", "aws-cn"),
    ("eusc-", "aws-eusc"),
)
DEFAULT_PARTITION = "aws"


class SweepTargetError(ValueError):
    """The sweep target list is malformed; ``problems`` names every bad entry."""

    def __init__(self, setting: str, problems: list[str]) -> None:
        self.setting = setting
        self.problems = tuple(problems)
        super().__init__(f"{setting}: " + "; ".join(problems))


@dataclass(frozen=True)
class SweepPlan:
    """What the setting asks for, before the organization's accounts are known.

    ``targets``: the pairs named explicitly (sorted, deduplicated); ``every_account_regions``:
    the regions to sweep in every active account (from ``*`` entries).
    """

    targets: tuple[Place, ...] = ()
    every_account_regions: tuple[str, ...] = ()

    @property
    def named_accounts(self) -> tuple[str, ...]:
        """The accounts the setting names explicitly, sorted."""
        return tuple(sorted({target.account for target in self.targets if target.account}))

    @property
    def wants_every_account(self) -> bool:
        return bool(self.every_account_regions)

    @property
    def regions(self) -> tuple[str, ...]:
        """Every region the setting names (explicit pairs and ``*`` entries), sorted."""
        return tuple(sorted({t.region for t in self.targets} | set(self.every_account_regions)))

    def expand(self, accounts: Iterable[str]) -> tuple[Place, ...]:
        """Every target: the explicit pairs, plus `accounts` x the ``*`` regions; deduplicated,
        ordered by account then region."""
        crossed = cross(accounts, self.every_account_regions) if self.wants_every_account else ()
        return tuple(sorted({*self.targets, *crossed}))


def cross(accounts: Iterable[str], regions: Iterable[str]) -> tuple[Place, ...]:
    """Every account in every region, deduplicated and ordered (values assumed valid)."""
    region_list = tuple(regions)
    return tuple(sorted({Place(account, region) for account in accounts for region in region_list}))


def partition_of(region: str) -> str:
    """The AWS partition a region belongs to (by its name's prefix)."""
    for prefix, partition in _PARTITION_PREFIXES:
        if region.startswith(prefix):
            return partition
    return DEFAULT_PARTITION


def account_problem(value: str) -> str | None:
    """Why `value` is not an account id, or None when it is one."""
    if ACCOUNT_ID_PATTERN.fullmatch(value):
        return None
    digits = value.replace("-", "").replace(" ", "")
    if ACCOUNT_ID_PATTERN.fullmatch(digits):
        return f"account {value!r} must be written as 12 digits without separators ({digits})"
    if value.isdigit():
        return f"account {value!r} has {len(value)} digits; an account id has exactly 12"
    if value.startswith("arn:"):
        return f"account {value!r} is an ARN; give the 12-digit account id"
    return f"account {value!r} is not a 12-digit account id"


def region_problem(value: str, partition: str | None = None) -> str | None:
    """Why `value` is not a region (of `partition`, when given), or None when it is one."""
    if REGION_PATTERN.fullmatch(value):
        if partition is not None and partition_of(value) != partition:
            return (
                f"region {value!r} is in partition {partition_of(value)}; "
                f"this watchdog runs in partition {partition}"
            )
        return None
    if value != value.lower() and REGION_PATTERN.fullmatch(value.lower()):
        return f"region {value!r} must be lower case ({value.lower()})"
    if _ZONE_PATTERN.fullmatch(value):
        return f"{value!r} is an Availability Zone, not a region"
    return f"region {value!r} is not an AWS region name (like us-east-1)"


def parse_sweep_targets(
    text: str, *, setting: str = SWEEP_TARGETS_ENV, partition: str | None = None
) -> SweepPlan:
    """Parse the sweep target list; raise SweepTargetError naming every malformed entry.

    An empty or blank text is an empty plan (the caller decides what an unset list means).
    With `partition`, regions of other partitions are rejected: the watchdog's credentials
    cannot reach them.
    """
    entries = [entry for entry in _ENTRY_SEPARATORS.split(text.strip()) if entry]
    problems: list[str] = []
    targets: set[Place] = set()
    every_account_regions: set[str] = set()
    for position, entry in enumerate(entries, start=1):
        found = _entry_problems(entry, partition)
        if found:
            problems += [f"entry {position} {entry!r}: {problem}" for problem in found]
            continue
        accounts_text, regions_text = entry.split(":")
        regions = regions_text.split(_ALTERNATIVES)
        if accounts_text == EVERY_ACCOUNT:
            every_account_regions.update(regions)
        else:
            targets.update(cross(accounts_text.split(_ALTERNATIVES), regions))
    if problems:
        raise SweepTargetError(setting, problems)
    return SweepPlan(tuple(sorted(targets)), tuple(sorted(every_account_regions)))


def _entry_problems(entry: str, partition: str | None) -> list[str]:
    if entry.count(":") != 1:
        if entry.startswith("arn:"):
            return ["is an ARN; write ACCOUNT:REGION (e.g. 111111111111:us-east-1)"]
        return ["expected ACCOUNT:REGION (e.g. 111111111111:us-east-1)"]
    accounts_text, regions_text = entry.split(":")
    accounts = accounts_text.split(_ALTERNATIVES)
    regions = regions_text.split(_ALTERNATIVES)
    problems: list[str] = []
    if "" in accounts:
        problems.append("an account is missing")
    elif EVERY_ACCOUNT in accounts and len(accounts) > 1:
        problems.append(f"'{EVERY_ACCOUNT}' already means every account; name no others with it")
    elif accounts != [EVERY_ACCOUNT]:
        problems += [p for p in map(account_problem, accounts) if p]
    if "" in regions:
        problems.append("a region is missing")
    else:
        problems += [p for p in (region_problem(r, partition) for r in regions) if p]
    return problems
