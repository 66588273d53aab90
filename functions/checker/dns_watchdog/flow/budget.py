"""One invocation's time: made once from the Lambda context, handed to every step of the run.

Nothing here is kept between invocations: a budget belongs to the run that made it (a warm
execution environment's cached clients never carry an earlier run's deadline).

Optional steps (refreshing stale canaries, the sweep's confirmation, self-healing, naming the
blocking rule) take a `slice_s` of what is spare, so that `RESERVE_S` always remains to publish
the alerts and store the state.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

# Seconds a run always keeps, before its deadline, to publish its alerts and store its state.
RESERVE_S = 10.0


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class RunBudget:
    """When this run must be done (`deadline`, monotonic seconds; None: no limit), the clocks
    every step reads, and the id of the invocation whose log holds the run's details."""

    deadline: float | None = None
    request_id: str | None = None
    monotonic: Callable[[], float] = field(default=time.monotonic, repr=False)
    wall: Callable[[], datetime] = field(default=_utc_now, repr=False)

    @classmethod
    def from_context(
        cls,
        context: LambdaContext | None,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = _utc_now,
    ) -> RunBudget:
        """The budget of the invocation `context` belongs to (no context: no limit)."""
        if context is None:
            return cls(monotonic=monotonic, wall=wall)
        remaining_s = context.get_remaining_time_in_millis() / 1000
        return cls(monotonic() + remaining_s, context.aws_request_id, monotonic, wall)

    def spare_s(self) -> float:
        """Seconds the run may still spend before it must publish and store (inf: no limit)."""
        if self.deadline is None:
            return float("inf")
        return self.deadline - RESERVE_S - self.monotonic()

    def slice_s(self, wanted_s: float, *, keep_s: float = 0.0) -> float:
        """At most `wanted_s` for an optional step, leaving `keep_s` of the spare time after it
        (for what must follow the step, e.g. one more Invoke); never negative."""
        return max(0.0, min(wanted_s, self.spare_s() - keep_s))

    def expiry(self, wanted_s: float, *, keep_s: float = 0.0) -> float:
        """The monotonic time at which a step given `slice_s(wanted_s, keep_s=keep_s)` ends."""
        return self.monotonic() + self.slice_s(wanted_s, keep_s=keep_s)

    def timestamp(self, precision: str = "seconds") -> str:
        """Now, as the ISO time alerts and the state use ("...Z")."""
        return self.wall().isoformat(timespec=precision).replace("+00:00", "Z")
