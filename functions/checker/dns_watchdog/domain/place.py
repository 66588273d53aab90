"""Where a VPC lives and where the checker acts: one account in one region (pure).

One type for the pair everywhere: state keys, the member sessions, the sweep's fan-out, requests
and alerts. `account` is None only for a single-account watchdog that was not told its own
account id (HOME_ACCOUNT_ID unset, as in some tests): "the account the checker runs in".
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Place:
    """One account in one region."""

    account: str | None
    region: str

    def __str__(self) -> str:
        return f"{self.account or 'home'}:{self.region}"
