"""One execution environment across invocations: what the first invocation loaded is frozen out
of the garbage collector's reach once, when the second starts, and never again in that process
(moto, canary doubles)."""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Any

import pytest
from checker_doubles import FakeCanary, World

from devtools.lambdakit import load_event

pytestmark = pytest.mark.integration


def test_the_first_invocations_heap_is_frozen_once_when_the_second_starts(
    world: World, checker_app: Callable[[Any], dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a watched VPC, and the garbage collector's freeze counted
    vpc_id = world.create_vpc("10.0.0.0/16")
    world.associate(vpc_id, world.option_set("AmazonProvidedDNS"))
    world.add_canary(vpc_id, "vpc-dns-canary-a", FakeCanary())
    frozen: list[int] = []
    monkeypatch.setattr(gc, "freeze", lambda: frozen.append(len(frozen)))
    monkeypatch.setattr(gc, "get_freeze_count", lambda: len(frozen))  # none frozen yet

    # When one execution environment runs three sweeps
    verdicts = []
    for _ in range(3):
        result = checker_app(load_event("scheduled_sweep"))
        verdicts.append(result["vpcs"][0]["verdict"])
        # Then the heap is frozen when the second starts, and only then
        assert len(frozen) == min(len(verdicts) - 1, 1)
    assert verdicts == ["OK", "OK", "OK"]
