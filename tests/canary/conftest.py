"""Fixtures of the canary tests (helpers live in canary_lab.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest
from canary_lab import AWS_RECORDS, CANARY_SETTINGS, CORP_RECORDS, REGION, CanaryLab

from devtools.dnslab import DnsLab


@pytest.fixture
def canary_lab(
    monkeypatch: pytest.MonkeyPatch,
    load_handler: Callable[[str], ModuleType],
    lambda_context_factory: Callable[..., Any],
) -> Iterator[CanaryLab]:
    for variable in CANARY_SETTINGS:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_REGION", REGION)
    with DnsLab() as lab:
        amazon = lab.add_server("amazon", records=AWS_RECORDS)
        corp = lab.add_server("corp", records={**AWS_RECORDS, **CORP_RECORDS})
        forwarder = lab.add_forwarder(upstreams=[corp.address])
        lab.write_resolv_conf(configured=[corp.address])
        for variable, value in lab.canary_env(amazon=amazon).items():
            monkeypatch.setenv(variable, value)
        yield CanaryLab(
            lab, amazon, corp, forwarder, monkeypatch, load_handler, lambda_context_factory
        )
