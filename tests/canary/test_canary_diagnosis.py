"""Diagnosis from constructed evidence (pure): a hop is blamed only when evidence points at it."""

from __future__ import annotations

import json
import math

import pytest
from dns_canary.constants import MAX_PROBLEMS
from dns_canary.diagnose import Context, diagnose
from dns_canary.findings import Diagnosis, NameReport, Outcome, QueryResult, finite_ms
from dns_canary.resolv_conf import parse_resolv_conf

pytestmark = pytest.mark.unit

FORWARDER = "169.254.78.1"
CUSTOM = "10.1.1.10"
SECOND = "10.1.1.11"
AMAZON = "169.254.169.253"
DEADLINE_MS = 1500
RCODES = {"OK": "NOERROR", "NXDOMAIN": "NXDOMAIN", "SERVFAIL": "SERVFAIL", "REFUSED": "REFUSED"}


def _result(
    name: str,
    server: str,
    role: str,
    outcome: Outcome,
    *,
    transport: str = "udp",
    elapsed_ms: float = 5.0,
    attempts: int = 1,
) -> QueryResult:
    silent = outcome in ("TIMEOUT", "NETWORK_ERROR")
    return QueryResult(
        name=name,
        type="A",
        server=server,
        role=role,  # type: ignore[arg-type]
        ok=outcome == "OK",
        outcome=outcome,
        rcode=None if silent else RCODES.get(outcome, "NOERROR"),
        answers=("10.0.0.1",) if outcome in ("OK", "SLOW") else (),
        elapsed_ms=DEADLINE_MS if silent else elapsed_ms,
        detail=f"no answer within {DEADLINE_MS} ms" if outcome == "TIMEOUT" else "",
        transport=transport,  # type: ignore[arg-type]
        attempts=attempts,
    )


def _report(
    name: str,
    forwarder: Outcome,
    configured: dict[str, Outcome],
    amazon: Outcome,
    *,
    transport: str = "udp",
) -> NameReport:
    return NameReport(
        name=name,
        type="A",
        max_latency_ms=500,
        forwarder=(_result(name, FORWARDER, "forwarder", forwarder, transport=transport),),
        configured=tuple(
            _result(name, server, "configured", outcome, transport=transport)
            for server, outcome in configured.items()
        ),
        amazon=_result(name, AMAZON, "amazon", amazon),
    )


def _diagnose(reports: list[NameReport], configured: tuple[str, ...] = (CUSTOM,)) -> Diagnosis:
    text = "".join(f"; configured nameserver {server}\n" for server in configured)
    resolv = parse_resolv_conf(text + f"nameserver {FORWARDER}\n")
    context = Context(
        resolv_conf=resolv,
        stale=False,
        expected_nameservers=None,
        amazon_dns_server=AMAZON,
        port=53,
        deadline_ms=DEADLINE_MS,
    )
    return diagnose(reports, context)


def test_name_failing_at_the_amazon_resolver_too_is_not_the_option_sets_fault() -> None:
    # Given AmazonProvidedDNS answers two names in ~5 ms, and one name's zone is lame (SERVFAIL
    # everywhere)
    reports = [
        _report("sts.example", "OK", {CUSTOM: "OK"}, "OK"),
        _report("lambda.example", "OK", {CUSTOM: "OK"}, "OK"),
        _report("www.lame.example", "SERVFAIL", {CUSTOM: "SERVFAIL"}, "SERVFAIL"),
    ]

    diagnosis = _diagnose(reports)

    # Then the name is blamed, not the option set: no CRITICAL, no rollback
    assert diagnosis.code == "NAME_FAILS_EVERYWHERE"
    assert diagnosis.verdict == "DEGRADED"
    assert diagnosis.failing_hop == "zone"
    assert diagnosis.option_set_at_fault is False
    assert diagnosis.failed_names == ("www.lame.example",)
    assert "Amazon resolver 169.254.169.253 included" in diagnosis.summary
    assert "will not fix it" in diagnosis.summary
    assert diagnosis.to_dict()["option_set_at_fault"] is False


def test_dead_authoritative_silent_everywhere_while_servers_answer_other_names() -> None:
    reports = [
        _report("sts.example", "OK", {CUSTOM: "OK"}, "OK"),
        _report("www.deadauth.example", "TIMEOUT", {CUSTOM: "TIMEOUT"}, "TIMEOUT"),
    ]

    diagnosis = _diagnose(reports)

    assert diagnosis.code == "NAME_FAILS_EVERYWHERE"
    assert diagnosis.option_set_at_fault is False


def test_mixed_run_still_finds_the_option_set_fault_and_mentions_the_other_names() -> None:
    # Given one name broken everywhere, and AWS names the custom server does not forward
    reports = [
        _report("www.lame.example", "SERVFAIL", {CUSTOM: "SERVFAIL"}, "SERVFAIL"),
        _report("sts.amazonaws.com", "NXDOMAIN", {CUSTOM: "NXDOMAIN"}, "OK"),
        _report("db.corp.example", "OK", {CUSTOM: "OK"}, "OK"),
    ]

    diagnosis = _diagnose(reports)

    assert diagnosis.code == "CUSTOM_SERVER_MISSING_NAMES"
    assert diagnosis.verdict == "FAILED"
    assert diagnosis.option_set_at_fault is True
    assert set(diagnosis.failed_names) == {"www.lame.example", "sts.amazonaws.com"}
    assert "Not the option set's fault: www.lame.example also fails" in diagnosis.summary


def test_everything_silent_with_a_dead_amazon_resolver_blames_the_configured_server() -> None:
    # The Amazon resolver answered nothing in this run: it is no evidence about the name
    reports = [
        _report(f"n{i}.example", "TIMEOUT", {CUSTOM: "TIMEOUT"}, "TIMEOUT") for i in range(3)
    ]

    diagnosis = _diagnose(reports)

    assert diagnosis.code == "CONFIGURED_SERVER_UNREACHABLE"
    assert diagnosis.option_set_at_fault is True
    assert f"{CUSTOM} gave no answer within {DEADLINE_MS} ms on port 53" in diagnosis.summary
    assert "does not answer" not in diagnosis.summary


def test_server_answering_some_names_and_silent_for_others_is_partial_loss() -> None:
    # Given a rate-limiting server: answers for two names, silence for two others
    reports = [
        _report("a.example", "OK", {CUSTOM: "OK"}, "OK"),
        _report("b.example", "OK", {CUSTOM: "OK"}, "OK"),
        _report("c.example", "TIMEOUT", {CUSTOM: "TIMEOUT"}, "OK"),
        _report("d.example", "TIMEOUT", {CUSTOM: "TIMEOUT"}, "OK"),
    ]

    diagnosis = _diagnose(reports)

    assert diagnosis.code == "PARTIAL_LOSS"
    assert diagnosis.verdict == "DEGRADED"
    assert diagnosis.failing_hop == "configured_server"
    assert diagnosis.option_set_at_fault is True
    causes = " ".join(diagnosis.likely_causes)
    assert "1024 packets per second" in causes
    assert "rate" in causes
    assert "security group" not in causes


def test_forwarder_silent_for_some_names_while_servers_answer_them_is_partial_loss() -> None:
    reports = [
        _report("a.example", "OK", {CUSTOM: "OK"}, "OK"),
        _report("b.example", "TIMEOUT", {CUSTOM: "OK"}, "OK"),
    ]

    diagnosis = _diagnose(reports)

    assert diagnosis.code == "PARTIAL_LOSS"
    assert diagnosis.failing_hop == "forwarder"


def test_one_of_two_servers_dead_while_every_name_resolves_is_redundancy_lost() -> None:
    reports = [
        _report("a.example", "OK", {CUSTOM: "OK", SECOND: "TIMEOUT"}, "OK"),
        _report("b.example", "OK", {CUSTOM: "OK", SECOND: "TIMEOUT"}, "OK"),
    ]

    diagnosis = _diagnose(reports, configured=(CUSTOM, SECOND))

    assert diagnosis.code == "REDUNDANCY_LOST"
    assert diagnosis.verdict == "DEGRADED"
    assert diagnosis.failing_hop == "configured_server"
    assert diagnosis.option_set_at_fault is True
    assert f"DNS server {SECOND} fails" in diagnosis.summary
    assert f"only {CUSTOM} carries" in diagnosis.summary


def test_truncated_answers_with_tcp_failing_name_the_transport() -> None:
    reports = [
        _report("small.example", "OK", {CUSTOM: "OK"}, "OK"),
        _report("big.example", "TIMEOUT", {CUSTOM: "TIMEOUT"}, "OK", transport="tcp"),
    ]

    diagnosis = _diagnose(reports)

    assert diagnosis.code == "CONFIGURED_SERVER_NO_TCP"
    assert diagnosis.verdict == "FAILED"
    assert diagnosis.option_set_at_fault is True
    assert "answers over UDP" in diagnosis.summary
    assert "TCP" in diagnosis.summary
    assert "allows UDP 53 only" in " ".join(diagnosis.likely_causes)


def test_slow_answers_after_a_retransmit_are_not_called_packet_loss() -> None:
    # Given a slow server: the canary resent the query because the answer was late
    slow = QueryResult(
        name="a.example",
        type="A",
        server=FORWARDER,
        role="forwarder",
        ok=False,
        outcome="SLOW",
        rcode="NOERROR",
        answers=("10.0.0.1",),
        elapsed_ms=800,
        detail="answered in 800 ms, budget 500 ms",
        attempts=2,
    )
    direct = _result("a.example", CUSTOM, "configured", "OK", elapsed_ms=790, attempts=2)
    report = NameReport("a.example", "A", 500, (slow,), (direct,), None)

    diagnosis = _diagnose([report])

    assert diagnosis.code == "SLOW_ANSWERS"
    assert not any("lost" in cause for cause in diagnosis.likely_causes)


def test_healthy_run_is_not_the_option_sets_fault() -> None:
    diagnosis = _diagnose([_report("a.example", "OK", {CUSTOM: "OK"}, "OK")])

    assert diagnosis.code == "HEALTHY"
    assert diagnosis.to_dict()["option_set_at_fault"] is False
    assert diagnosis.to_dict()["severity"] == "OK"


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, -3.0])
def test_latencies_in_the_answer_are_always_finite(value: float) -> None:
    result = _result("a.example", CUSTOM, "configured", "OK", elapsed_ms=value)

    document = result.to_dict()

    # strict JSON (no NaN / Infinity), as the checker and EMF need it
    assert json.loads(json.dumps(document, allow_nan=False))["elapsed_ms"] == 0.0
    assert finite_ms(12.34) == 12.3


def test_more_configured_servers_than_an_option_set_holds_are_capped_and_reported() -> None:
    servers = [f"10.9.{i // 250}.{i % 250 + 1}" for i in range(10_000)]
    text = "".join(f"; configured nameserver {s}\n" for s in servers) + "nameserver 169.254.78.1\n"

    conf = parse_resolv_conf(text)

    assert conf.configured_nameservers == tuple(servers[:4])
    assert "10000 configured nameservers, more than an option set can hold (4)" in conf.problems[0]
    assert "ignored 10.9.0.5, 10.9.0.6, 10.9.0.7 and 9993 more" in conf.problems[0]


def test_problem_lists_are_capped() -> None:
    text = "".join(f"garbage line {i}\n" for i in range(500)) + "nameserver 169.254.78.1\n"

    conf = parse_resolv_conf(text)

    assert len(conf.problems) == MAX_PROBLEMS
    assert conf.problems[-1] == f"and {500 - MAX_PROBLEMS + 1} more problems not listed"
