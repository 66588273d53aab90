"""Probes that follow the VPC's own DNS: private zones, forward rules, IPv6 hops (DNS lab).

The lab's "Amazon" server alone serves the private zone and applies the forward rules (like the
Route 53 Resolver); the corporate server of the option set knows neither.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest
from canary_lab import AWS_RECORDS, CANARY_SETTINGS, CORP_RECORDS, LAMBDA, REGION, STS, CanaryLab

from devtools.dnslab import DnsLab

pytestmark = pytest.mark.integration

ZONE_ID = "Z0123456789ABC"
RULE_ID = "rslvr-rr-0123456789abcdef0"
PROFILE_ID = "rp-0123456789abcdef"
APP = "app.corp.internal"
ONPREM = "db.onprem.example"
PRIVATE_ZONE_RECORDS = {APP: {"A": ["10.50.0.10"]}}
ONPREM_RECORDS = {ONPREM: {"A": ["192.168.10.5"]}}


def _zone_probe(**source: Any) -> dict[str, Any]:
    return {
        "name": APP,
        "source": {"kind": "private_zone", "id": ZONE_ID, "domain": "corp.internal", **source},
    }


def _rule_probe(targets: list[str]) -> dict[str, Any]:
    return {
        "name": ONPREM,
        "source": {"kind": "forward_rule", "id": RULE_ID, "domain": "onprem.example"},
        "targets": targets,
    }


def _plan(*discovered: dict[str, Any], deadline_ms: int = 1500) -> dict[str, Any]:
    return {"probes": [{"name": STS}, {"name": LAMBDA}, *discovered], "deadline_ms": deadline_ms}


@pytest.fixture
def zone_lab(canary_lab: CanaryLab) -> CanaryLab:
    """The private zone is associated with the VPC: only the Amazon resolver answers it."""
    canary_lab.amazon.set_records({**AWS_RECORDS, **PRIVATE_ZONE_RECORDS})
    return canary_lab


def test_a_corporate_server_that_does_not_forward_a_private_zone_is_named_with_the_zone(
    zone_lab: CanaryLab,
) -> None:
    # Given the option set names the corporate server, which answers AWS names but not the
    # VPC's private hosted zone, and no configured probe names that zone
    corp = zone_lab.corp.address

    # When the canary runs the plan the checker built from the VPC's zones
    run = zone_lab.invoke(_plan(_zone_probe(via=PROFILE_ID)))

    # Then the diagnosis blames the option set and names the zone and its id
    diagnosis = run.diagnosis
    assert diagnosis["code"] == "CUSTOM_SERVER_MISSING_NAMES"
    assert diagnosis["severity"] == "FAILED"
    assert diagnosis["option_set_at_fault"] is True
    assert diagnosis["summary"].startswith(
        f"Private hosted zone corp.internal ({ZONE_ID}) through Route 53 Profile {PROFILE_ID} "
        f"is answered only by the Amazon resolver; {corp} does not forward it."
    )
    assert diagnosis["failed_names"] == [APP]
    # and the structured fields the checker renders
    assert diagnosis["sources"] == [
        {
            "kind": "private_zone",
            "id": ZONE_ID,
            "domain": "corp.internal",
            "via": PROFILE_ID,
            "finding": "not_forwarded",
            "names": [APP],
            "servers": [corp],
        }
    ]
    # and the name's own report echoes its source
    [report] = run.result["sources"]
    assert report["name"] == APP
    assert report["status"] == "not_forwarded"
    assert report["source"]["id"] == ZONE_ID
    assert report["targets"] == []


def test_a_server_that_forwards_the_private_zone_is_healthy(zone_lab: CanaryLab) -> None:
    # Given the option set points at the Amazon resolver itself (AmazonProvidedDNS)
    zone_lab.use_servers([zone_lab.amazon.address])

    run = zone_lab.invoke(_plan(_zone_probe()))

    assert run.diagnosis["code"] == "HEALTHY"
    assert run.diagnosis["sources"] == []
    assert [report["status"] for report in run.result["sources"]] == ["ok"]
    assert run.result["sources"][0]["source"]["via"] is None


def test_a_forward_rule_whose_target_is_dead_is_its_own_diagnosis_not_the_option_sets(
    canary_lab: CanaryLab,
) -> None:
    # Given AmazonProvidedDNS and a forward rule for onprem.example whose one target is dead
    dead = canary_lab.lab.add_server("dead-target", behaviour="blackhole")
    canary_lab.amazon.forward_rules = {"onprem.example": [dead.address]}
    canary_lab.use_servers([canary_lab.amazon.address])

    # When the canary asks the rule's name, and the target directly
    run = canary_lab.invoke(_plan(_rule_probe([dead.address])))

    # Then the rule is named with its dead target, and no option set is blamed
    diagnosis = run.diagnosis
    assert diagnosis["code"] == "RESOLVER_RULE_TARGETS_FAILING"
    assert diagnosis["severity"] == "FAILED"
    assert diagnosis["failing_hop"] == "rule_target"
    assert diagnosis["option_set_at_fault"] is False
    assert f"Resolver forwarding rule onprem.example ({RULE_ID})" in diagnosis["summary"]
    assert f"{dead.address}: TIMEOUT" in diagnosis["summary"]
    assert "rolling back the option set will not fix it" in diagnosis["summary"]
    assert diagnosis["failed_names"] == [ONPREM]
    assert diagnosis["sources"] == [
        {
            "kind": "forward_rule",
            "id": RULE_ID,
            "domain": "onprem.example",
            "via": None,
            "finding": "targets_failing",
            "names": [ONPREM],
            "servers": [dead.address],
        }
    ]
    # and the target was asked as a hop of its own, reported with its probe, not in direct[]
    [report] = run.result["sources"]
    assert report["status"] == "targets_failing"
    assert [(t["server"], t["role"], t["outcome"]) for t in report["targets"]] == [
        (dead.address, "rule_target", "TIMEOUT")
    ]
    assert "rule_target" not in {entry["role"] for entry in run.result["direct"]}
    assert run.result["ok"] is False


def test_an_option_set_fault_leads_when_a_rule_fails_at_the_same_time(
    zone_lab: CanaryLab,
) -> None:
    # Given the corporate server does not forward the private zone, and a rule's target is dead
    dead = zone_lab.lab.unused_address()
    zone_lab.amazon.forward_rules = {"onprem.example": [dead]}

    run = zone_lab.invoke(_plan(_zone_probe(), _rule_probe([dead])))

    # Then the option set's fault leads (a rollback can help), the rule is mentioned too
    diagnosis = run.diagnosis
    assert diagnosis["code"] == "CUSTOM_SERVER_MISSING_NAMES"
    assert diagnosis["option_set_at_fault"] is True
    assert f"({RULE_ID}) forwards to {dead}" in diagnosis["summary"]
    assert set(diagnosis["failed_names"]) == {APP, ONPREM}
    assert [finding["finding"] for finding in diagnosis["sources"]] == [
        "not_forwarded",
        "targets_failing",
    ]


def test_targets_unreachable_from_the_canary_while_the_amazon_resolver_answers_do_not_page(
    canary_lab: CanaryLab,
) -> None:
    # Given a rule whose target answers the Amazon resolver (through the rule's outbound
    # endpoint) but not the canary's subnet: the address the canary asks never answers it
    target = canary_lab.lab.add_server("onprem", records=ONPREM_RECORDS)
    canary_lab.amazon.forward_rules = {"onprem.example": [target.address]}
    canary_lab.use_servers([canary_lab.amazon.address])
    unreachable = canary_lab.lab.add_server("unreachable-target", behaviour="blackhole")

    run = canary_lab.invoke(_plan(_rule_probe([unreachable.address])))

    # Then DNS is healthy, and the findings say why the silent target is not a failure
    diagnosis = run.diagnosis
    assert diagnosis["code"] == "HEALTHY"
    assert diagnosis["severity"] == "OK"
    assert run.result["ok"] is True
    assert "not a failure" in diagnosis["summary"]
    assert unreachable.address in diagnosis["summary"]
    assert [f["finding"] for f in diagnosis["sources"]] == ["targets_unreachable"]
    assert run.result["sources"][0]["status"] == "targets_unreachable"


def test_a_live_rule_target_is_healthy(canary_lab: CanaryLab) -> None:
    target = canary_lab.lab.add_server("onprem", records=ONPREM_RECORDS)
    canary_lab.amazon.forward_rules = {"onprem.example": [target.address]}
    canary_lab.use_servers([canary_lab.amazon.address])

    run = canary_lab.invoke(_plan(_rule_probe([target.address])))

    assert run.diagnosis["code"] == "HEALTHY"
    [report] = run.result["sources"]
    assert report["status"] == "ok"
    assert report["targets"][0]["answers"] == ["192.168.10.5"]


# --- IPv6 hops (one lab server on ::1) -----------------------------------------------------------


@pytest.fixture
def ipv6_lab(
    monkeypatch: pytest.MonkeyPatch,
    load_handler: Callable[[str], ModuleType],
    lambda_context_factory: Callable[..., Any],
) -> Iterator[CanaryLab]:
    """A dual-stack VPC: the option set's server has an IPv6 address (::1)."""
    for variable in CANARY_SETTINGS:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_REGION", REGION)
    with DnsLab(ipv6=True) as lab:
        amazon = lab.add_server("amazon", records={**AWS_RECORDS, **PRIVATE_ZONE_RECORDS})
        corp = lab.add_server(
            "corp-v6",
            records={**AWS_RECORDS, **CORP_RECORDS, "v6.corp.example": {"AAAA": ["fd12::10"]}},
            ipv6=True,
        )
        forwarder = lab.add_forwarder(upstreams=[corp.address])
        lab.write_resolv_conf(configured=[corp.address])
        for variable, value in lab.canary_env(amazon=amazon).items():
            monkeypatch.setenv(variable, value)
        yield CanaryLab(
            lab, amazon, corp, forwarder, monkeypatch, load_handler, lambda_context_factory
        )


def test_an_ipv6_configured_server_is_read_and_probed_like_an_ipv4_one(
    ipv6_lab: CanaryLab,
) -> None:
    probes = [
        {"name": STS},
        {"name": "v6.corp.example", "type": "AAAA", "expect": {"answers_in": ["fd12::/64"]}},
    ]
    run = ipv6_lab.invoke({"probes": probes})

    assert run.diagnosis["code"] == "HEALTHY"
    assert run.result["resolv_conf"]["configured_nameservers"] == ["::1"]
    assert {(e["server"], e["role"]) for e in run.result["direct"]} == {
        ("::1", "configured"),
        (ipv6_lab.amazon.address, "amazon"),
    }
    # dual-stack: the IPv4 Amazon resolver is still the one asked
    assert run.result["amazon_dns_server"] == ipv6_lab.amazon.address
    assert run.result["probes"][1]["answers"] == ["fd12::10"]


def test_an_aaaa_answer_outside_the_expected_block_is_unexpected(ipv6_lab: CanaryLab) -> None:
    probes = [
        {"name": STS},
        {"name": "v6.corp.example", "type": "AAAA", "expect": {"answers_in": ["fd99::/64"]}},
    ]
    run = ipv6_lab.invoke({"probes": probes})

    assert run.outcomes()["v6.corp.example"] == "UNEXPECTED_ANSWER"
    assert run.diagnosis["code"] == "UNEXPECTED_ANSWERS"
    assert "answer fd12::10 is outside fd99::/64" in run.result["probes"][1]["detail"]


def test_a_dead_ipv6_configured_server_is_diagnosed_like_an_ipv4_one(ipv6_lab: CanaryLab) -> None:
    # Given the IPv6 server of the option set stops (nothing listens on ::1 any more)
    ipv6_lab.lab.remove(ipv6_lab.corp)

    run = ipv6_lab.invoke(_plan(deadline_ms=800))

    assert run.diagnosis["code"] == "CONFIGURED_SERVER_UNREACHABLE"
    assert run.diagnosis["failing_hop"] == "configured_server"
    assert "DNS server ::1" in run.diagnosis["summary"]


def test_an_ipv6_rule_target_that_is_dead_names_the_rule(ipv6_lab: CanaryLab) -> None:
    # Given the option set is AmazonProvidedDNS and the rule's IPv6 target does not listen
    ipv6_lab.lab.remove(ipv6_lab.corp)
    ipv6_lab.amazon.forward_rules = {"onprem.example": ["::1"]}
    ipv6_lab.use_servers([ipv6_lab.amazon.address])

    run = ipv6_lab.invoke(_plan(_rule_probe(["::1"])))

    assert run.diagnosis["code"] == "RESOLVER_RULE_TARGETS_FAILING"
    assert run.diagnosis["sources"][0]["servers"] == ["::1"]
    assert run.result["sources"][0]["targets"][0]["outcome"] == "NETWORK_ERROR"
