"""Canary findings shaped per docs/canary-contract.md, as a canary returns them (pure data)."""

from __future__ import annotations

from typing import Any

REGION = "us-east-1"
FORWARDER = "169.254.78.1"
AMAZON = "169.254.169.253"
STS = f"sts.{REGION}.amazonaws.com"
LAMBDA = f"lambda.{REGION}.amazonaws.com"
NAMES = (STS, LAMBDA)


def probe(
    name: str,
    *,
    role: str = "forwarder",
    server: str = FORWARDER,
    outcome: str = "OK",
    elapsed_ms: float = 1.5,
    answers: list[str] | None = None,
    detail: str = "",
) -> dict[str, Any]:
    ok = outcome == "OK"
    return {
        "name": name,
        "type": "A",
        "server": server,
        "role": role,
        "ok": ok,
        "outcome": outcome,
        "rcode": "NOERROR" if ok else None,
        "answers": (answers if answers is not None else ["52.94.0.1"]) if ok else [],
        "elapsed_ms": elapsed_ms,
        "detail": detail,
    }


def findings(
    *,
    configured: list[str],
    expected: list[str] | None,
    code: str = "HEALTHY",
    severity: str = "OK",
    failing_hop: str | None = None,
    summary: str = "every name resolved as expected",
    likely_causes: list[str] | None = None,
    probes: list[dict[str, Any]] | None = None,
    direct: list[dict[str, Any]] | None = None,
    stale: bool = False,
) -> dict[str, Any]:
    probes = probes if probes is not None else [probe(name) for name in NAMES]
    ok = severity == "OK" and not stale
    return {
        "ok": ok,
        "stale": stale,
        "deadline_ms": 1500,
        "deadline_clipped": False,
        "elapsed_ms": max((p["elapsed_ms"] for p in probes), default=0.0),
        "resolv_conf": {
            "path": "/etc/resolv.conf",
            "found": True,
            "nameservers": [FORWARDER],
            "configured_nameservers": configured,
            "search": [],
            "options": {"timeout": "2", "attempts": "5"},
            "problems": [],
        },
        "expected_nameservers": expected,
        "amazon_dns_server": AMAZON,
        "probes": probes,
        "direct": direct if direct is not None else [],
        "diagnosis": {
            "code": code,
            "severity": severity,
            "failing_hop": failing_hop,
            "summary": summary,
            "likely_causes": likely_causes or [],
            "failed_names": [p["name"] for p in probes if not p["ok"]],
        },
    }


def healthy(configured: list[str], expected: list[str] | None = None) -> dict[str, Any]:
    direct = [probe(n, role="configured", server=s) for n in NAMES for s in configured]
    return findings(configured=configured, expected=expected, direct=direct)


def unreachable(configured: list[str], expected: list[str] | None = None) -> dict[str, Any]:
    timeout = "no answer within 1500 ms"
    probes = [probe(n, outcome="TIMEOUT", elapsed_ms=1500.1, detail=timeout) for n in NAMES]
    direct = [
        probe(n, role="configured", server=s, outcome="TIMEOUT", elapsed_ms=1500.0, detail=timeout)
        for n in NAMES
        for s in configured
    ] + [probe(n, role="amazon", server=AMAZON, elapsed_ms=1.2) for n in NAMES]
    servers = ", ".join(configured)
    return findings(
        configured=configured,
        expected=expected,
        code="CONFIGURED_SERVER_UNREACHABLE",
        severity="FAILED",
        failing_hop="configured_server",
        summary=f"The option set's DNS server {servers} does not answer on port 53",
        likely_causes=[
            f"security group egress to {servers} on UDP/TCP 53 is missing",
            f"the DNS server {servers} is down",
        ],
        probes=probes,
        direct=direct,
    )


def stale(configured: list[str], expected: list[str]) -> dict[str, Any]:
    return findings(
        configured=configured,
        expected=expected,
        code="STALE_CONFIG",
        severity="UNVERIFIED",
        failing_hop="environment",
        summary="the execution environment still has an older option set",
        stale=True,
    )


def zone_broken_everywhere(configured: list[str], name: str = "app.corp.example") -> dict[str, Any]:
    """One name SERVFAILs at every resolver, the Amazon one included: its zone is broken."""
    failing = {"outcome": "SERVFAIL", "elapsed_ms": 9.0, "detail": "SERVFAIL"}
    probes = [probe(n) for n in NAMES] + [probe(name, **failing)]
    direct = [probe(name, role="configured", server=s, **failing) for s in configured]
    direct.append(probe(name, role="amazon", server=AMAZON, **failing))
    document = findings(
        configured=configured,
        expected=configured,
        code="NAME_FAILS_EVERYWHERE",
        severity="DEGRADED",
        failing_hop="name",
        summary=f"{name} fails at every resolver, the Amazon resolver included",
        probes=probes,
        direct=direct,
    )
    document["diagnosis"]["option_set_at_fault"] = False
    return document


def rule_targets_failing(
    configured: list[str], name: str = "db.onprem.example", target: str = "10.9.0.10"
) -> dict[str, Any]:
    """A forward rule's only target is dead: the rule's name fails at the Amazon resolver and at
    the target asked directly (canary contract, RESOLVER_RULE_TARGETS_FAILING)."""
    servfail = {"outcome": "SERVFAIL", "elapsed_ms": 300.0, "detail": "SERVFAIL"}
    probes = [probe(n) for n in NAMES] + [probe(name, **servfail)]
    direct = [probe(name, role="configured", server=s, **servfail) for s in configured]
    direct.append(probe(name, role="amazon", server=AMAZON, **servfail))
    document = findings(
        configured=configured,
        expected=configured,
        code="RESOLVER_RULE_TARGETS_FAILING",
        severity="FAILED",
        failing_hop="rule_target",
        summary=f"Resolver forwarding rule onprem.example (rslvr-rr-1) forwards to {target}",
        probes=probes,
        direct=direct,
    )
    document["diagnosis"]["option_set_at_fault"] = False
    rule = {"kind": "forward_rule", "id": "rslvr-rr-1", "domain": "onprem.example", "via": None}
    document["diagnosis"]["sources"] = [
        {**rule, "finding": "targets_failing", "names": [name], "servers": [target]}
    ]
    target_result = probe(name, role="rule_target", server=target, outcome="TIMEOUT")
    document["sources"] = [
        {
            "name": name,
            "type": "A",
            "source": rule,
            "status": "targets_failing",
            "targets": [target_result],
        }
    ]
    return document
