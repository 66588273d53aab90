"""Judging one DNS response against its probe: outcome, answers, and why it is not OK."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TXT

from dns_canary.constants import ADDRESS_TYPES
from dns_canary.findings import Outcome, Role
from dns_canary.plan import Probe

MAX_CNAME_HOPS = 16


def classify(
    probe: Probe, role: Role, rcode: int, wire: bytes, elapsed_ms: float
) -> tuple[Outcome, bool, str, tuple[str, ...], str]:
    """Judge one response against the probe: (outcome, ok, rcode, answers, detail).

    Only a NOERROR answer is parsed in full (its records are what the probe checks); the other
    outcomes follow from the header's rcode alone. Raises DNSException for a malformed NOERROR
    answer.
    """
    rcode_text = dns.rcode.to_text(dns.rcode.Rcode.make(rcode))
    answers: tuple[str, ...] = ()
    outcome: Outcome
    if rcode == dns.rcode.NOERROR:
        response = dns.message.from_wire(wire)
        answers = answer_texts(response, dns.name.from_text(probe.name), probe.type)
        if not answers:
            outcome, ok, detail = "NOANSWER", False, f"NOERROR without {probe.type} records"
        elif probe.expect.rcode == "NXDOMAIN":
            outcome, ok = "UNEXPECTED_ANSWER", False
            detail = "expected NXDOMAIN but the name resolves"
        else:
            violations = answer_violations(answers, probe)
            if violations:
                outcome, ok, detail = "UNEXPECTED_ANSWER", False, "; ".join(violations)
            else:
                outcome, ok, detail = "OK", True, ""
    elif rcode == dns.rcode.NXDOMAIN:
        outcome, ok = "NXDOMAIN", probe.expect.rcode == "NXDOMAIN"
        detail = "" if ok else "the server says the name does not exist"
    elif rcode == dns.rcode.REFUSED:
        outcome, ok, detail = "REFUSED", False, "the server refused to answer"
    else:
        outcome, ok = "SERVFAIL", False
        detail = (
            "the server could not resolve the name"
            if rcode == dns.rcode.SERVFAIL
            else f"error rcode {rcode_text}"
        )
    if ok and role == "forwarder" and elapsed_ms > probe.max_latency_ms:
        outcome, ok = "SLOW", False
        detail = f"answered in {elapsed_ms:.0f} ms, budget {probe.max_latency_ms} ms"
    return outcome, ok, rcode_text, answers, detail


def answer_texts(
    response: dns.message.Message, qname: dns.name.Name, rdtype_text: str
) -> tuple[str, ...]:
    """The records of the asked type, after following the CNAME chain from qname."""
    rdtype = dns.rdatatype.from_text(rdtype_text)
    name = qname
    for _ in range(MAX_CNAME_HOPS):
        rrset = response.get_rrset(response.answer, name, dns.rdataclass.IN, rdtype)
        if rrset is not None:
            return tuple(_rdata_text(rdata) for rdata in rrset)
        if rdtype == dns.rdatatype.CNAME:
            return ()
        cname = response.get_rrset(response.answer, name, dns.rdataclass.IN, dns.rdatatype.CNAME)
        if cname is None or len(cname) == 0:
            return ()
        name = next(iter(cname)).target
    return ()


def answer_violations(answers: Sequence[str], probe: Probe) -> list[str]:
    """What in the answers the plan does not allow (empty when all is well)."""
    violations = []
    pattern = probe.expect.answers_match
    if pattern is not None:
        violations += [
            f"answer {answer!r} does not match {pattern.pattern!r}"
            for answer in answers
            if not pattern.search(answer)
        ]
    networks = probe.expect.answers_in
    if networks and probe.type in ADDRESS_TYPES:
        allowed = ", ".join(str(network) for network in networks)
        for answer in answers:
            address = ipaddress.ip_address(answer)
            if not any(address in network for network in networks):
                violations.append(f"answer {answer} is outside {allowed}")
    return violations


def _rdata_text(rdata: object) -> str:
    if isinstance(rdata, dns.rdtypes.ANY.TXT.TXT):
        # TXT: the strings themselves, so answers_match sees "v=spf1 ..." rather than quotes.
        return b"".join(rdata.strings).decode("utf-8", errors="replace")
    return str(rdata)
