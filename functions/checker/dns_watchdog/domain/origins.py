"""Where a change event may make the checker act (pure).

A CloudTrail change names its place in its envelope, which EventBridge vouches for
(`events.py`), but the region must still be one the watchdog may act in: a region of the
partition it runs in (its credentials reach no other) and, in organization mode, one of the
regions it sweeps (`SWEEP_TARGETS`; empty: its home region). A change anywhere else is
rejected, never checked: no role is assumed and no canary is invoked for it.

Manual checks and sweep messages are not changes: whoever may invoke the checker or write to
its sweep queue is trusted with any place (`flow/places.py` still refuses what it cannot enter).
"""

from __future__ import annotations

from dataclasses import dataclass

from dns_watchdog.constants import SWEEP_TARGETS_ENV
from dns_watchdog.domain.request import CheckRequest, PreflightRequest
from dns_watchdog.domain.targets import region_problem


@dataclass(frozen=True)
class ChangeOrigins:
    """The regions a change may come from: any of `partition`, or only `regions` when given."""

    partition: str
    regions: tuple[str, ...] | None = None

    def problem(self, request: CheckRequest | PreflightRequest) -> str | None:
        """Why the checker must not act on this change, or None (also for non-changes)."""
        change = request.change
        if change is None or request.region is None:
            return None
        for what, region in (("envelope region", change.region), ("region", request.region)):
            problem = region_problem(region, self.partition)
            if problem is not None:
                return f"{what}: {problem}"
        if self.regions is not None and request.region not in self.regions:
            return (
                f"region {request.region!r} of account {request.account_id or 'home'} is not "
                f"watched: this watchdog acts in {', '.join(self.regions)} "
                f"({SWEEP_TARGETS_ENV})"
            )
        return None
