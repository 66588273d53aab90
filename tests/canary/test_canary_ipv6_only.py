"""Which Amazon resolver the canary asks: the IPv6 one only when resolv.conf is IPv6-only (DNS lab).

The loopback has one IPv6 address and the lab one port (``DNS_PORT`` is one setting for every
server), so the lab's single IPv6 server on ``::1`` plays every IPv6 hop at once: the forwarder,
the option set's server and the IPv6 Amazon resolver (``AMAZON_DNS_SERVER_IPV6=::1``). The IPv4
Amazon resolver (``AMAZON_DNS_SERVER``) is a lab server of its own whose query log says whether
it was asked. Separate IPv6 hops (a dead IPv6 server, a private zone only the IPv6 Amazon
resolver answers) are in the real-DNS tier (tests/realdns/test_realdns_ipv6.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest
from canary_lab import AWS_RECORDS, CANARY_SETTINGS, LAMBDA, REGION, STS, CanaryLab

from devtools.dnslab import IPV6_LOOPBACK, DnsLab

pytestmark = pytest.mark.integration

PLAN = {"probes": [{"name": STS}, {"name": LAMBDA}], "deadline_ms": 1500}


@pytest.fixture
def lab(
    monkeypatch: pytest.MonkeyPatch,
    load_handler: Callable[[str], ModuleType],
    lambda_context_factory: Callable[..., Any],
) -> Iterator[CanaryLab]:
    for variable in CANARY_SETTINGS:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_REGION", REGION)
    with DnsLab(ipv6=True) as dns_lab:
        amazon_v4 = dns_lab.add_server("amazon-v4", records=AWS_RECORDS)
        v6 = dns_lab.add_server("v6", records=AWS_RECORDS, ipv6=True)
        forwarder = dns_lab.add_forwarder(upstreams=[v6.address])
        dns_lab.write_resolv_conf(configured=[v6.address], nameservers=[v6.address])
        env = dns_lab.canary_env(amazon=amazon_v4)
        assert env["AMAZON_DNS_SERVER_IPV6"] == IPV6_LOOPBACK
        for variable, value in env.items():
            monkeypatch.setenv(variable, value)
        yield CanaryLab(
            dns_lab, amazon_v4, v6, forwarder, monkeypatch, load_handler, lambda_context_factory
        )


def _amazon_entries(result: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["server"], e["outcome"]) for e in result["direct"] if e["role"] == "amazon"]


def test_an_ipv6_only_resolv_conf_asks_the_ipv6_amazon_resolver_and_never_the_ipv4_one(
    lab: CanaryLab,
) -> None:
    run = lab.invoke(PLAN)

    assert run.result["resolv_conf"]["nameservers"] == [IPV6_LOOPBACK]
    assert run.result["resolv_conf"]["configured_nameservers"] == [IPV6_LOOPBACK]
    assert run.result["amazon_dns_server"] == IPV6_LOOPBACK
    assert _amazon_entries(run.result) == [(IPV6_LOOPBACK, "OK"), (IPV6_LOOPBACK, "OK")]
    assert run.diagnosis["code"] == "HEALTHY"
    assert lab.amazon.queries == []  # the IPv4 Amazon resolver got no query at all


def test_one_ipv4_server_in_resolv_conf_keeps_the_ipv4_amazon_resolver(lab: CanaryLab) -> None:
    # Given a dual-stack option set: the IPv6 server and an IPv4 one
    corp_v4 = lab.lab.add_server("corp-v4", records=AWS_RECORDS)
    lab.write_resolv_conf(configured=[IPV6_LOOPBACK, corp_v4.address], nameservers=[IPV6_LOOPBACK])

    run = lab.invoke(PLAN)

    assert run.result["amazon_dns_server"] == lab.amazon.address
    assert _amazon_entries(run.result) == [(lab.amazon.address, "OK")] * 2
    # (besides the one identity query, CH TXT hostname.bind, a run sends each direct server)
    assert {(q.name, q.rdtype) for q in lab.amazon.queries} - {("hostname.bind.", "TXT")} == {
        (f"{STS}.", "A"),
        (f"{LAMBDA}.", "A"),
    }
    assert run.diagnosis["code"] == "HEALTHY"
