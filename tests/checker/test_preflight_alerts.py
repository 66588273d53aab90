"""The WARNING for a new option set that would break Lambda DNS (pure)."""

from __future__ import annotations

import pytest
from canary_findings import unreachable
from dns_watchdog.domain.lint import lint_option_set
from dns_watchdog.domain.models import CanaryFindings, CanaryRun
from dns_watchdog.domain.preflight import predict
from dns_watchdog.domain.vpc import OptionSet, vpc_facts
from dns_watchdog.render.alert import ALERT_BUDGET_BYTES
from dns_watchdog.render.preflight import build_preflight_warning

pytestmark = pytest.mark.unit

DEAD = OptionSet("dopt-0dead00001", ("10.1.1.10",), None)
CANARY = "arn:aws:lambda:us-east-1:123456789012:function:vpc-dns-canary-a"


def _breaking(count: int) -> list:  # type: ignore[type-arg]
    run = CanaryRun(CANARY, "findings", CanaryFindings.model_validate(unreachable(["10.1.1.10"])))
    current = OptionSet("dopt-amazon", ("AmazonProvidedDNS",), None)
    return [
        predict(DEAD, vpc_facts(f"vpc-{i:017x}", "10.0.0.0/16", current, True), [run])
        for i in range(count)
    ]


def test_warning_names_the_option_set_the_server_and_every_vpc() -> None:
    breaking = _breaking(2)
    alert = build_preflight_warning(
        DEAD.option_set_id,
        DEAD.domain_name_servers,
        lint_option_set(DEAD),
        breaking,
        None,
        "us-east-1",
    )
    vpcs = ", ".join(p.facts.vpc_id for p in breaking)
    assert alert.text.startswith(
        f"WARNING: dopt-0dead00001 would break Lambda DNS in {vpcs}: CONFIGURED_SERVER_UNREACHABLE"
    )
    assert "dopt-0dead00001 (10.1.1.10)" in alert.text
    assert alert.subject == "[WARNING] dopt-0dead00001 would break Lambda DNS in 2 VPC(s)"
    assert alert.attributes["severity"] == "WARNING"
    assert alert.document["would_break_total"] == 2


def test_warning_for_thousands_of_vpcs_stays_under_the_sns_limit() -> None:
    breaking = _breaking(3000)
    alert = build_preflight_warning(
        DEAD.option_set_id, DEAD.domain_name_servers, [], breaking, None, "us-east-1"
    )
    assert alert.size_bytes() <= ALERT_BUDGET_BYTES
    assert alert.document["would_break_total"] == 3000
    assert alert.document["would_break_omitted"] > 0
    assert "more VPCs" in alert.text


def test_no_breaking_vpc_is_no_warning() -> None:
    with pytest.raises(ValueError, match="at least one VPC"):
        build_preflight_warning(DEAD.option_set_id, (), [], [], None, "us-east-1")
