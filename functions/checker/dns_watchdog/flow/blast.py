"""What an alert says is hit: the workloads in the VPC, read only when an alert is about to go out.

`BlastReader.read` takes the census cached with the VPC's state while it is younger than the
cache's time to live (WORKLOADS_CACHE_TTL_S), and otherwise reads it (aws/workloads.py: a few
calls). Reading it never blocks nor loses the page: whatever goes wrong becomes a blast radius
that says it could not be read, and why.
"""

from __future__ import annotations

from collections.abc import Iterable

from dns_watchdog.aws.workloads import WorkloadDirectory
from dns_watchdog.domain.errors import AwsCallFailed
from dns_watchdog.domain.history import VpcState
from dns_watchdog.domain.workloads import BlastRadius, Census, take_census, unreadable
from dns_watchdog.observability import logger


class BlastReader:
    """Reads one place's VPCs' workloads (`account`: the place's, to tell other owners apart)."""

    def __init__(self, directory: WorkloadDirectory, account: str | None, ttl_s: float) -> None:
        self._directory = directory
        self._account = account
        self._ttl_s = ttl_s

    def read(
        self, vpc_id: str, canaries: Iterable[str], stored: VpcState | None, now: str
    ) -> BlastRadius:
        """The VPC's blast radius: cached when fresh, else read now (`canaries`: their ARNs)."""
        cached = stored.workloads if stored is not None else None
        if cached is not None and cached.fresh(now, self._ttl_s):
            return BlastRadius("cached", cached)
        try:
            census = self._census(vpc_id, canaries, now)
        except AwsCallFailed as exc:
            logger.warning("Workloads not read", extra={"vpc_id": vpc_id, "error": str(exc)})
            return unreadable(str(exc))
        except Exception as exc:  # an enrichment: the page goes out without it
            logger.exception("Workloads not read", extra={"vpc_id": vpc_id})
            return unreadable(f"internal error: {type(exc).__name__}")
        logger.info(
            "Workloads read",
            extra={"vpc_id": vpc_id, "workloads": census.workloads, **census.as_record()},
        )
        return BlastRadius("read", census)

    def _census(self, vpc_id: str, canaries: Iterable[str], now: str) -> Census:
        interfaces = self._directory.interfaces(vpc_id)
        functions, complete = self._directory.functions_in(vpc_id)
        return take_census(
            read_at=now,
            interfaces=interfaces,
            functions=functions,
            functions_complete=complete,
            canaries=canaries,
            account=self._account,
        )
