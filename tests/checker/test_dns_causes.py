"""What a VPC's own DNS configuration says about a check's failures (pure): a DNS Firewall rule
that blocks the failing names clears the option set; a name it does not block keeps the option
set suspect; a zone gone since the last reading is news only when read in this check."""

from __future__ import annotations

from typing import Any

import pytest
from canary_findings import AMAZON, NAMES, findings, probe
from dns_watchdog.domain.discovery import Discovery, FirewallRule, LostZone
from dns_watchdog.domain.dns_causes import dns_causes, needs_firewall_reading
from dns_watchdog.domain.judge import judge
from test_outcome import VPC, run

pytestmark = pytest.mark.unit

BLOCKED = "ads.tracker.example"
GROUP = "rslvr-frg-0123456789abcdef"


def _judgement(failing: dict[str, str]) -> Any:
    """The canaries' evidence: each of `failing` (name -> outcome) fails through the forwarder
    and at the Amazon resolver alike; the default names resolve."""
    fail = {"elapsed_ms": 3.0, "detail": "the server says the name does not exist"}
    probes = [probe(name) for name in NAMES]
    direct = [probe(name, role="amazon", server=AMAZON) for name in NAMES]
    for name, outcome in failing.items():
        probes.append(probe(name, outcome=outcome, **fail))
        direct.append(probe(name, role="amazon", server=AMAZON, outcome=outcome, **fail))
    document = findings(
        configured=[AMAZON],
        expected=None,
        code="NAME_FAILS_EVERYWHERE",
        severity="DEGRADED",
        failing_hop="name",
        summary="names fail at every resolver",
        probes=probes,
        direct=direct,
    )
    return judge(VPC, [run(document)], dns_support=True)


def _discovery(*domains: str, lost: tuple[LostZone, ...] = ()) -> Discovery:
    rule = FirewallRule(
        GROUP,
        100,
        1,
        "BLOCK",
        domains,
        block_response="NXDOMAIN",
        name="block-trackers",
        domain_list="rslvr-fdl-1",
    )
    return Discovery(
        VPC, "2024-05-14T09:00:00Z", firewall=(rule,) if domains else (), lost_zones=lost
    )


def test_a_firewall_that_blocks_every_failing_name_explains_the_failure() -> None:
    judgement = _judgement({BLOCKED: "NXDOMAIN"})

    causes = dns_causes(judgement, _discovery("*.tracker.example"), read_now=False)

    assert causes.firewall_explains
    (block,) = causes.firewall
    assert block.sentence() == (
        f"DNS Firewall rule group {GROUP} (rule block-trackers, domain list rslvr-fdl-1) "
        f"blocks {BLOCKED} (A)"
    )


def test_a_failing_name_the_firewall_does_not_block_keeps_the_option_set_suspect() -> None:
    judgement = _judgement({BLOCKED: "NXDOMAIN", "app.corp.example": "NXDOMAIN"})

    causes = dns_causes(judgement, _discovery("*.tracker.example"), read_now=False)

    assert [block.name for block in causes.firewall] == [BLOCKED]
    assert not causes.firewall_explains


def test_a_name_that_times_out_is_never_taken_for_a_firewall_block() -> None:
    # (a block answers at once: NXDOMAIN, or NOERROR without the record)
    judgement = _judgement({BLOCKED: "TIMEOUT"})

    causes = dns_causes(judgement, _discovery("*.tracker.example"), read_now=False)

    assert causes.firewall == ()
    assert not needs_firewall_reading(judgement, _discovery())


def test_a_block_no_stored_rule_explains_asks_for_a_fresh_reading() -> None:
    judgement = _judgement({BLOCKED: "NOANSWER"})

    assert needs_firewall_reading(judgement, _discovery())
    assert needs_firewall_reading(judgement, None)
    assert not needs_firewall_reading(judgement, _discovery("tracker.example", "*.tracker.example"))


def test_lost_zones_are_news_only_in_the_check_that_read_them() -> None:
    lost = (LostZone("Z0123", "corp.internal", VPC),)
    judgement = _judgement({})

    assert dns_causes(judgement, _discovery(lost=lost), read_now=True).lost_zones == lost
    assert not dns_causes(judgement, _discovery(lost=lost), read_now=False)
