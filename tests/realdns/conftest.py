"""The real-server world, started once for the tier; the tier fails in CI when it cannot run."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from devtools.realdns import RealDnsWorld, why_unavailable


def _unavailable_means_failure() -> bool:
    """In CI the tier is mandatory: a missing server fails it, never skips it silently."""
    return os.environ.get("CI", "").lower() in ("true", "1", "yes")


@pytest.fixture(scope="session")
def realdns() -> Iterator[RealDnsWorld]:
    reason = why_unavailable()
    if reason is not None:
        if _unavailable_means_failure():
            pytest.fail(f"the realdns tier cannot run in CI: {reason}", pytrace=False)
        pytest.skip(f"realdns tier skipped: {reason}")
    with RealDnsWorld() as world:
        yield world
