"""Limits that keep the canary answering: the expiry under a flood, bounded answers, polite TCP."""

from __future__ import annotations

import json

import pytest
from canary_lab import CanaryLab
from dns_canary.constants import (
    MAX_CONFIGURED_SERVERS,
    MAX_PROBES,
    MAX_TARGET_HOPS,
    MAX_TARGETS_PER_PROBE,
    MAX_TCP_CONNECTIONS_PER_SERVER,
)

pytestmark = pytest.mark.integration

DEADLINE_FACTOR = 1.10
# Lambda's synchronous response limit is 6 MB; the canary stays well under it.
MAX_ANSWER_BYTES = 1_000_000


def test_a_flood_of_datagrams_cannot_hold_the_run_past_its_deadline(
    canary_lab: CanaryLab,
) -> None:
    # Given the option set's server answers every query with a stream of stray datagrams
    flooder = canary_lab.lab.add_server("flooder", behaviour="flood")
    canary_lab.use_servers([flooder.address])

    # When the canary runs with a 1500 ms deadline
    run = canary_lab.invoke({"deadline_ms": 1500})

    # Then it ends within 1.10 x the deadline, and the server counts as not answering
    assert run.wall_ms <= DEADLINE_FACTOR * 1500
    assert run.result["elapsed_ms"] <= DEADLINE_FACTOR * 1500
    assert set(run.outcomes("configured").values()) == {"TIMEOUT"}
    assert run.diagnosis["code"] == "CONFIGURED_SERVER_UNREACHABLE"


def test_ten_thousand_configured_servers_and_fifty_probes_give_a_bounded_answer(
    canary_lab: CanaryLab,
) -> None:
    # Given a resolv.conf with 10,000 configured nameserver lines (loopback addresses where
    # nothing listens, outside every lab's block) after the real server
    others = [f"127.254.{i // 250}.{i % 250 + 1}" for i in range(9_999)]
    configured = [canary_lab.corp.address, *others]
    canary_lab.use_servers(configured, upstreams=[canary_lab.corp.address])
    # the nameserver line first: the file is larger than the 64 KiB the canary reads
    canary_lab.write_resolv_conf(
        text=f"nameserver {canary_lab.forwarder.address}\n"
        + "".join(f"; configured nameserver {server}\n" for server in configured)
    )
    plan = {"probes": [{"name": f"h{i}.corp.example"} for i in range(50)], "deadline_ms": 1000}

    # When the canary runs
    run = canary_lab.invoke(plan)

    # Then only the first 4 servers (an option set's maximum) were probed, the rest reported
    resolv = run.result["resolv_conf"]
    assert resolv["configured_nameservers"] == configured[:MAX_CONFIGURED_SERVERS]
    assert any("more than an option set can hold" in problem for problem in resolv["problems"])
    assert len(run.result["direct"]) == 50 * (MAX_CONFIGURED_SERVERS + 1)
    # and the answer and the run time are bounded
    assert len(json.dumps(run.result)) < MAX_ANSWER_BYTES
    assert run.wall_ms <= DEADLINE_FACTOR * 1000


def test_truncated_answers_share_a_few_pipelined_tcp_connections(
    canary_lab: CanaryLab,
) -> None:
    # Given 20 names whose answers are too big for UDP (the real-server tier asks 50 of BIND)
    big = {
        f"big{i}.corp.example": {"A": [f"10.4.{i}.{h}" for h in range(1, 41)]} for i in range(20)
    }
    canary_lab.corp.set_records({**canary_lab.corp.records, **big})
    canary_lab.amazon.set_records({**canary_lab.amazon.records, **big})

    # When the canary asks all of them
    # (the in-process lab builds answers slowly: latency is the real-server tier's to judge)
    probes = [{"name": name, "max_latency_ms": 5000} for name in big]
    run = canary_lab.invoke({"probes": probes, "deadline_ms": 5000})

    # Then every one is answered over TCP, through at most a few connections per server (only
    # the canary connects to the forwarder and to the Amazon resolver)
    assert run.result["ok"] is True
    assert {entry["transport"] for entry in run.result["probes"]} == {"tcp"}
    assert {entry["transport"] for entry in run.result["direct"]} == {"tcp"}
    forwarder_queries = [q for q in canary_lab.forwarder.queries if q.transport == "tcp"]
    assert len(forwarder_queries) == 20
    assert 1 <= canary_lab.forwarder.tcp_connections <= MAX_TCP_CONNECTIONS_PER_SERVER
    assert 1 <= canary_lab.amazon.tcp_connections <= MAX_TCP_CONNECTIONS_PER_SERVER


def test_the_most_target_hops_a_plan_may_carry_give_a_bounded_answer(
    canary_lab: CanaryLab,
) -> None:
    # Given four configured servers and a plan at every cap: 50 probes, 40 rule targets (none
    # answers), each probe's name long enough to fill its entries
    servers = [canary_lab.corp.address, *(canary_lab.lab.unused_address() for _ in range(3))]
    canary_lab.use_servers(servers, upstreams=[canary_lab.corp.address])
    targets = [canary_lab.lab.unused_address() for _ in range(MAX_TARGETS_PER_PROBE)]
    rule = {"kind": "forward_rule", "id": "rslvr-rr-" + "0" * 55, "domain": "onprem.example"}
    label = "x" * 60
    probes = [
        {"name": f"{label}.{label}.h{i}.onprem.example", "source": rule, "targets": targets}
        for i in range(MAX_TARGET_HOPS // MAX_TARGETS_PER_PROBE)
    ]
    probes.append(
        {
            "name": f"{label}.{label}.last.onprem.example",
            "source": rule,
            "targets": targets[: MAX_TARGET_HOPS % MAX_TARGETS_PER_PROBE],
        }
    )
    probes += [{"name": f"{label}.{label}.n{i}.example"} for i in range(MAX_PROBES - len(probes))]

    # When the canary runs
    run = canary_lab.invoke({"probes": probes, "deadline_ms": 1000})

    # Then every target was asked, the answer stays far below Lambda's 6 MB, on time
    asked = [t for report in run.result["sources"] for t in report["targets"]]
    assert len(asked) == MAX_TARGET_HOPS
    assert len(json.dumps(run.result)) < MAX_ANSWER_BYTES
    assert run.wall_ms <= DEADLINE_FACTOR * 1000
