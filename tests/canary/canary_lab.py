"""Test helpers: a DNS lab wired up like a VPC Lambda's DNS path, the canary pointed at it."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from dns_canary.constants import SETTING_VARIABLES

from devtools.dnslab import DnsLab, LabForwarder, LabServer
from devtools.realdns import CanaryRun as Invocation

REGION = "us-east-1"
STS = f"sts.{REGION}.amazonaws.com"
LAMBDA = f"lambda.{REGION}.amazonaws.com"
AWS_RECORDS = {STS: {"A": ["52.94.0.1"]}, LAMBDA: {"A": ["52.94.0.2"]}}
CORP_RECORDS = {
    "db.corp.example": {"A": ["10.1.2.3"]},
    "app.corp.example": {"CNAME": ["db.corp.example."]},
}
SAMPLE_PLAN = Path(__file__).resolve().parents[2] / "events" / "canary_probe.json"
CANARY_SETTINGS = SETTING_VARIABLES


@dataclass
class CanaryLab:
    """Amazon resolver + one custom server behind the forwarder, resolv.conf pointing at both."""

    lab: DnsLab
    amazon: LabServer
    corp: LabServer
    forwarder: LabForwarder
    monkeypatch: pytest.MonkeyPatch
    load_handler: Callable[[str], ModuleType]
    context_factory: Callable[..., Any]

    def use_servers(
        self, configured: Sequence[str], upstreams: Sequence[str] | None = None
    ) -> None:
        """The option set names ``configured``; the forwarder relays to ``upstreams``."""
        self.forwarder.upstreams = list(configured if upstreams is None else upstreams)
        self.write_resolv_conf(configured=configured)

    def write_resolv_conf(self, **kwargs: Any) -> Path:
        path = self.lab.write_resolv_conf(**kwargs)
        self.monkeypatch.setenv("RESOLV_CONF_PATH", str(path))
        return path

    def sample_plan(self, **overrides: Any) -> dict[str, Any]:
        plan: dict[str, Any] = json.loads(SAMPLE_PLAN.read_text())
        plan["expected_nameservers"] = [self.corp.address]
        plan.update(overrides)
        return plan

    def invoke(self, event: Any, *, timeout_ms: int = 30_000) -> Invocation:
        app = self.load_handler("canary")  # fresh module: settings are read from this env
        context = self.context_factory(timeout_ms=timeout_ms)
        started = time.monotonic()
        result = app.lambda_handler(event, context)
        wall_ms = (time.monotonic() - started) * 1000
        return Invocation(result=result, wall_ms=wall_ms, deadline_ms=result["deadline_ms"])
