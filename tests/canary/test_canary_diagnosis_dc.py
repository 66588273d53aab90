"""Diagnosis of domain controllers and lossy servers: recorded findings from Samba 4 as an AD DC
(tests/canary/recorded, written by the realdns tier's world) and constructed evidence (pure)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from dns_canary.diagnose import Context, diagnose
from dns_canary.findings import Diagnosis, NameReport, Outcome, QueryResult
from dns_canary.resolv_conf import parse_resolv_conf

pytestmark = pytest.mark.unit

RECORDED = Path(__file__).parent / "recorded"
FORWARDER = "169.254.78.1"
DC = "10.1.1.10"
AMAZON = "169.254.169.253"
DEADLINE_MS = 1500
STS = "sts.us-east-1.amazonaws.com"
LAMBDA = "lambda.us-east-1.amazonaws.com"
DC_HOST = "dc1.ad.corp.example"
RCODES = {"OK": "NOERROR", "NOANSWER": "NOERROR", "NXDOMAIN": "NXDOMAIN", "SERVFAIL": "SERVFAIL"}


# --- recorded findings ---------------------------------------------------------------------------


def _from_findings(document: dict[str, Any]) -> tuple[list[NameReport], Context]:
    """The canary's findings document back into the diagnosis's input."""
    results = [
        QueryResult(**{k: v for k, v in entry.items() if k != "answers_total"})
        for entry in (*document["probes"], *document["direct"])
    ]
    for result in results:
        object.__setattr__(result, "answers", tuple(result.answers))
    order = list(dict.fromkeys((r.name, r.type) for r in results if r.role == "forwarder"))
    reports = []
    for name, rdtype in order:
        own = [r for r in results if (r.name, r.type) == (name, rdtype)]
        amazon = [r for r in own if r.role == "amazon"]
        reports.append(
            NameReport(
                name=name,
                type=rdtype,
                max_latency_ms=500,
                forwarder=tuple(r for r in own if r.role == "forwarder"),
                configured=tuple(r for r in own if r.role == "configured"),
                amazon=amazon[0] if amazon else None,
            )
        )
    resolv = document["resolv_conf"]
    text = "".join(f"; configured nameserver {s}\n" for s in resolv["configured_nameservers"])
    text += "".join(f"nameserver {s}\n" for s in resolv["nameservers"])
    context = Context(
        resolv_conf=parse_resolv_conf(text),
        stale=False,
        expected_nameservers=None,
        amazon_dns_server=document["amazon_dns_server"],
        port=53,
        deadline_ms=document["deadline_ms"],
    )
    return reports, context


def _recorded(name: str) -> tuple[Diagnosis, dict[str, Any]]:
    document = json.loads((RECORDED / f"{name}.json").read_text())
    reports, context = _from_findings(document)
    return diagnose(reports, context), document


def test_samba_returning_a_forwarded_nxdomain_as_no_data_is_no_outage() -> None:
    # Given Samba with a working forwarder: every real name resolves, and a name the zone says
    # does not exist (the probe expects NXDOMAIN) comes back NOERROR without records
    diagnosis, document = _recorded("samba_dc_forwarded_nxdomain")
    dc = document["resolv_conf"]["configured_nameservers"][0]

    # Then no page and no rollback: DEGRADED, naming the "no data" answer
    assert diagnosis.code == "NO_DATA_FOR_NXDOMAIN"
    assert diagnosis.verdict == "DEGRADED"
    assert diagnosis.option_set_at_fault is False
    assert f'{dc} answers "no data"' in diagnosis.summary
    assert "where the zone says NXDOMAIN" in diagnosis.summary
    assert diagnosis.failed_names == ("nothere.corp.example",)


@pytest.mark.parametrize(
    "recording", ["samba_dc_forwarder_black_holed", "samba_dc_first_forwarder_dead"]
)
def test_dc_answering_its_own_zone_and_silent_on_forwarded_names_has_failed(
    recording: str,
) -> None:
    # Given a DC that answers its AD names at once (authoritative) and stays silent on every
    # name it must forward, on every attempt
    diagnosis, document = _recorded(recording)
    dc = document["resolv_conf"]["configured_nameservers"][0]

    # Then it is FAILED at the configured server, its forwarding dead: not loss or rate limiting
    assert diagnosis.code == "CONFIGURED_SERVER_CANNOT_FORWARD"
    assert diagnosis.verdict == "FAILED"
    assert diagnosis.failing_hop == "configured_server"
    assert diagnosis.option_set_at_fault is True
    assert f"{dc} answers its own zone at once ({DC_HOST}" in diagnosis.summary
    assert "lost or rate-limited" not in diagnosis.summary
    assert set(diagnosis.failed_names) == {STS, LAMBDA, "db.corp.example"}


def test_dc_whose_forwarded_answers_take_ten_seconds_has_failed() -> None:
    # Given the DC's forwarded names answered after about 10 s (its first forwarder dead)
    diagnosis, document = _recorded("samba_dc_first_forwarder_dead_long_deadline")
    dc = document["resolv_conf"]["configured_nameservers"][0]

    # Then FAILED, naming the slow forwarding and the Lambda timeout it breaks
    assert diagnosis.code == "ANSWERS_TOO_SLOW"
    assert diagnosis.verdict == "FAILED"
    assert diagnosis.failing_hop == "configured_server"
    assert "a Lambda function with the default 3 s timeout fails" in diagnosis.summary
    assert f"{dc} answers its own zone at once" in diagnosis.summary
    assert diagnosis.failed_names == (STS,)


# --- constructed evidence --------------------------------------------------------------------


def _result(
    name: str,
    server: str,
    role: str,
    outcome: Outcome,
    *,
    authoritative: bool = False,
    elapsed_ms: float = 5.0,
) -> QueryResult:
    silent = outcome in ("TIMEOUT", "NETWORK_ERROR")
    return QueryResult(
        name=name,
        type="A",
        server=server,
        role=role,  # type: ignore[arg-type]
        ok=outcome == "OK",
        outcome=outcome,
        rcode=None if silent else RCODES[outcome],
        answers=("10.0.0.1",) if outcome == "OK" else (),
        elapsed_ms=DEADLINE_MS if silent else elapsed_ms,
        detail=f"no answer within {DEADLINE_MS} ms" if silent else "",
        attempts=3 if silent else 1,
        authoritative=authoritative,
    )


def _report(
    name: str,
    forwarder: Outcome,
    dc: Outcome,
    amazon: Outcome,
    *,
    authoritative: bool = False,
    amazon_ok: bool | None = None,
) -> NameReport:
    amazon_result = _result(name, AMAZON, "amazon", amazon)
    if amazon_ok is not None:
        amazon_result = QueryResult(**{**amazon_result.__dict__, "ok": amazon_ok})
    return NameReport(
        name=name,
        type="A",
        max_latency_ms=500,
        forwarder=(_result(name, FORWARDER, "forwarder", forwarder),),
        configured=(_result(name, DC, "configured", dc, authoritative=authoritative),),
        amazon=amazon_result,
    )


def _diagnose(reports: list[NameReport]) -> Diagnosis:
    resolv = parse_resolv_conf(f"; configured nameserver {DC}\nnameserver {FORWARDER}\n")
    context = Context(
        resolv_conf=resolv,
        stale=False,
        expected_nameservers=None,
        amazon_dns_server=AMAZON,
        port=53,
        deadline_ms=DEADLINE_MS,
    )
    return diagnose(reports, context)


def test_missing_names_need_the_amazon_resolver_to_resolve_them() -> None:
    # Given a custom server answering NXDOMAIN for an AWS name the Amazon resolver resolves
    reports = [
        _report(STS, "NXDOMAIN", "NXDOMAIN", "OK"),
        _report(LAMBDA, "OK", "OK", "OK"),
    ]

    # Then that is still the missing-names failure, with the rollback
    diagnosis = _diagnose(reports)
    assert diagnosis.code == "CUSTOM_SERVER_MISSING_NAMES"
    assert diagnosis.verdict == "FAILED"


def test_silent_names_inside_the_servers_own_zone_are_loss_not_dead_forwarding() -> None:
    # Given an authoritative server that answers some of its own names and loses others of the
    # same zone (rate limiting on an authoritative server)
    reports = [
        _report(DC_HOST, "OK", "OK", "NXDOMAIN", authoritative=True),
        _report("dc3.ad.corp.example", "OK", "OK", "NXDOMAIN", authoritative=True),
        _report("dc2.ad.corp.example", "TIMEOUT", "TIMEOUT", "NXDOMAIN"),
    ]

    # Then it is loss, not a dead forwarder: the silent name is one the server holds itself
    diagnosis = _diagnose(reports)
    assert diagnosis.code == "PARTIAL_LOSS"
    assert diagnosis.verdict == "DEGRADED"


def test_server_answering_forwarded_names_too_is_not_blamed_for_dead_forwarding() -> None:
    # Given a recursive server (no AA) that answers some forwarded names and loses others
    reports = [
        _report(STS, "OK", "OK", "OK"),
        _report(LAMBDA, "TIMEOUT", "TIMEOUT", "OK"),
    ]

    diagnosis = _diagnose(reports)
    assert diagnosis.code == "PARTIAL_LOSS"
    assert diagnosis.failing_hop == "configured_server"


@pytest.mark.parametrize("order", ["direct-loss-first", "relayed-loss-first"])
def test_lossy_hop_is_decided_across_the_run(order: str) -> None:
    # Given a rate-limiting server: the forwarder's relayed query for one name was lost (its
    # direct query got through), and for another name the direct query was lost (the relayed one
    # got through, so that name resolved)
    relayed_lost = _report(LAMBDA, "TIMEOUT", "OK", "OK")
    direct_lost = _report(STS, "OK", "TIMEOUT", "OK")
    reports = (
        [direct_lost, relayed_lost] if order == "direct-loss-first" else [relayed_lost, direct_lost]
    )
    reports.append(_report("db.corp.example", "OK", "OK", "OK"))

    # Then the lossy hop is the configured server, from the whole run: not the forwarder
    diagnosis = _diagnose(reports)
    assert diagnosis.code == "PARTIAL_LOSS"
    assert diagnosis.failing_hop == "configured_server"
    assert f"the option set's DNS server {DC} answered other names" in diagnosis.summary


def test_loss_only_on_the_relayed_path_is_the_forwarders() -> None:
    # Given the server answered every direct query of the run; only relayed queries were lost
    reports = [_report(LAMBDA, "TIMEOUT", "OK", "OK"), _report(STS, "OK", "OK", "OK")]

    diagnosis = _diagnose(reports)
    assert diagnosis.code == "PARTIAL_LOSS"
    assert diagnosis.failing_hop == "forwarder"


def test_single_server_losing_most_direct_queries_is_degraded() -> None:
    # Given every name resolves through the forwarder, but the only configured server lost 3 of
    # the 4 queries the canary sent it directly
    reports = [
        _report(STS, "OK", "TIMEOUT", "OK"),
        _report(LAMBDA, "OK", "TIMEOUT", "OK"),
        _report("db.corp.example", "OK", "TIMEOUT", "OK"),
        _report("app.corp.example", "OK", "OK", "OK"),
    ]

    # Then DEGRADED, naming the server and the count: not HEALTHY
    diagnosis = _diagnose(reports)
    assert diagnosis.code == "PARTIAL_LOSS"
    assert diagnosis.verdict == "DEGRADED"
    assert diagnosis.failing_hop == "configured_server"
    assert f"DNS server {DC} gave no answer within {DEADLINE_MS} ms to 3 of the 4" in (
        diagnosis.summary
    )


def test_single_server_losing_one_direct_query_of_four_stays_healthy() -> None:
    reports = [
        _report(STS, "OK", "TIMEOUT", "OK"),
        _report(LAMBDA, "OK", "OK", "OK"),
        _report("db.corp.example", "OK", "OK", "OK"),
        _report("app.corp.example", "OK", "OK", "OK"),
    ]

    assert _diagnose(reports).code == "HEALTHY"


def test_slow_answers_within_a_lambda_timeout_stay_degraded() -> None:
    slow = _report(STS, "OK", "OK", "OK")
    late = QueryResult(
        **{**slow.forwarder[0].__dict__, "ok": False, "outcome": "SLOW", "elapsed_ms": 900.0}
    )
    reports = [NameReport(**{**slow.__dict__, "forwarder": (late,)})]

    diagnosis = _diagnose(reports)
    assert diagnosis.code == "SLOW_ANSWERS"
    assert diagnosis.verdict == "DEGRADED"
