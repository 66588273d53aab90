"""How many Reachability analyses may still start today (pure): per VPC and per account.

Each analysis is billed, and each server named in a page costs two (UDP and TCP 53). "Once per
incident and server" bounds one incident, not a VPC that flips between a bad and a good option
set all day: six flips were twelve analyses. So a day (UTC) has a budget of analyses per VPC
(counted in its stored state, `VpcState.analyses_on`) and per account (counted in an item of
its own, `aws/analysis_count.py`). A server is analysed only when both budgets hold its two
analyses; otherwise the alert says whose budget is spent (`BudgetSpent`, worded by
render/blocking.py) and the server stays unanalysed for this incident, so a later page of it may
still be analysed once the day turns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

# Two analyses per server: UDP and TCP (domain/blocking.py PROTOCOLS).
ANALYSES_PER_SERVER = 2

BudgetScope = Literal["vpc", "account"]


@dataclass(frozen=True)
class BudgetSpent:
    """The blocking rule was not analysed for `servers`: today's budget of `limit` analyses
    for `owner` (a VPC, or an account) is spent."""

    scope: BudgetScope
    owner: str
    limit: int
    servers: tuple[str, ...]


def day_of(timestamp: str) -> str:
    """The UTC day ("YYYY-MM-DD") of an ISO timestamp as the checker writes them."""
    return timestamp[:10]


def within_budget(
    servers: Sequence[str], *, used: int, limit: int, scope: BudgetScope, owner: str
) -> tuple[tuple[str, ...], BudgetSpent | None]:
    """The first of `servers` whose analyses fit in what is left of today's `limit` (`used`
    already started), and the fact saying the budget is spent for the others (None: all fit)."""
    room = max(0, limit - used) // ANALYSES_PER_SERVER
    fits, left_out = tuple(servers[:room]), tuple(servers[room:])
    return fits, (BudgetSpent(scope, owner, limit, left_out) if left_out else None)
