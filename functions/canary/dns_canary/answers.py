"""Judging one DNS response against its probe: outcome, answers, and why it is not OK."""

from __future__ import annotations

import functools
import ipaddress
import socket
import struct
from collections.abc import Sequence

import dns.edns
import dns.exception
import dns.message
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TXT

from dns_canary.constants import ADDRESS_TYPES
from dns_canary.findings import Outcome, Role, ServerIdentity, printable
from dns_canary.plan import Probe

MAX_CNAME_HOPS = 16
_MAX_POINTERS = 128
_HEADER = struct.Struct("!HHHHHH")
_RR = struct.Struct("!HHIH")  # type, class, ttl, rdata length


def classify(
    probe: Probe, role: Role, rcode: int, wire: bytes, elapsed_ms: float
) -> tuple[Outcome, bool, str, tuple[str, ...], str]:
    """Judge one response against the probe: (outcome, ok, rcode, answers, detail).

    Only a NOERROR answer is read past its header, and then only its answer section (its records
    are what the probe checks). Raises MalformedAnswer for an answer it cannot read.
    """
    rcode_text = _rcode_text(rcode)
    answers: tuple[str, ...] = ()
    outcome: Outcome
    if rcode == dns.rcode.NOERROR:
        answers = answer_texts(wire, probe.name, probe.type)
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


@functools.cache
def rdatatype_number(rdtype_text: str) -> int:
    """The record type's number (``A`` -> 1)."""
    return int(dns.rdatatype.from_text(rdtype_text))


@functools.cache
def _rcode_text(rcode: int) -> str:
    return dns.rcode.to_text(dns.rcode.Rcode.make(rcode))


class MalformedAnswer(ValueError):
    """The answer section cannot be read (truncated, bad pointers, bad record data)."""


def answer_texts(wire: bytes, qname: str, rdtype_text: str) -> tuple[str, ...]:
    """The records of the asked type in the answer section, after following the CNAME chain.

    Reads the answer section only, straight from the wire (authority and additional records,
    often most of a large answer, are never parsed); A and AAAA records become text without
    building dnspython objects. ``qname`` is absolute without the final dot.
    """
    try:
        records = _answer_records(wire)
        rdtype = rdatatype_number(rdtype_text)
        name = qname.lower().encode()
        for _ in range(MAX_CNAME_HOPS):
            found = [
                _rdata_text_from_wire(wire, rdtype, offset, length)
                for owner, kind, offset, length in records
                if owner == name and kind == rdtype
            ]
            if found or rdtype == dns.rdatatype.CNAME:
                return tuple(found)
            target = next(
                (
                    offset
                    for owner, kind, offset, _ in records
                    if owner == name and kind == dns.rdatatype.CNAME
                ),
                None,
            )
            if target is None:
                return ()
            name, _ = _read_name(wire, target)
    except (IndexError, ValueError, struct.error, dns.exception.DNSException) as exc:
        raise MalformedAnswer(str(exc) or type(exc).__name__) from exc
    return ()


def _answer_records(wire: bytes) -> list[tuple[bytes, int, int, int]]:
    """(owner, type, rdata offset, rdata length) of each IN record of the answer section."""
    _, _, qdcount, ancount, _, _ = _HEADER.unpack_from(wire)
    offset = _HEADER.size
    for _ in range(qdcount):
        _, offset = _read_name(wire, offset)
        offset += 4  # type, class
    records = []
    for _ in range(ancount):
        owner, offset = _read_name(wire, offset)
        kind, rdclass, _, length = _RR.unpack_from(wire, offset)
        offset += _RR.size
        if offset + length > len(wire):
            raise ValueError("record data runs past the end of the message")
        if rdclass == dns.rdataclass.IN:
            records.append((owner, kind, offset, length))
        offset += length
    return records


def _read_name(wire: bytes, offset: int) -> tuple[bytes, int]:
    """A name at ``offset`` (compression pointers followed), lowercase text without the final
    dot, and the offset just after it."""
    labels: list[bytes] = []
    after = None
    for _ in range(_MAX_POINTERS):
        length = wire[offset]
        if length & 0xC0 == 0xC0:
            if after is None:
                after = offset + 2
            offset = ((length & 0x3F) << 8) | wire[offset + 1]
            continue
        if length == 0:
            return b".".join(labels).lower(), offset + 1 if after is None else after
        labels.append(wire[offset + 1 : offset + 1 + length])
        offset += 1 + length
    raise ValueError("too many compression pointers")


def _rdata_text_from_wire(wire: bytes, rdtype: int, offset: int, length: int) -> str:
    if rdtype == dns.rdatatype.A and length == 4:
        return socket.inet_ntop(socket.AF_INET, wire[offset : offset + 4])
    if rdtype == dns.rdatatype.AAAA and length == 16:
        return str(ipaddress.IPv6Address(wire[offset : offset + 16]))
    rdata = dns.rdata.from_wire(
        dns.rdataclass.IN, dns.rdatatype.RdataType.make(rdtype), wire, offset, length
    )
    if isinstance(rdata, dns.rdtypes.ANY.TXT.TXT):
        # TXT: the strings themselves, so answers_match sees "v=spf1 ..." rather than quotes.
        return b"".join(rdata.strings).decode("utf-8", errors="replace")
    return str(rdata)


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


def identity_from_wire(wire: bytes, server: str, role: Role) -> ServerIdentity | None:
    """The instance an answer to ``CH TXT hostname.bind`` (with an NSID option) names, or None
    when it names none (a refusal, an error, a malformed answer)."""
    try:
        message = dns.message.from_wire(wire)
    except (dns.exception.DNSException, ValueError):
        return None
    hostname = next(
        (
            b"".join(rdata.strings).decode("ascii", errors="replace")
            for rrset in message.answer
            if rrset.rdclass == dns.rdataclass.CH and rrset.rdtype == dns.rdatatype.TXT
            for rdata in rrset
            if isinstance(rdata, dns.rdtypes.ANY.TXT.TXT)
        ),
        None,
    )
    nsid = next(
        (
            _nsid_text(option.to_wire())
            for option in message.options
            if option.otype == dns.edns.OptionType.NSID
        ),
        None,
    )
    if not hostname and not nsid:
        return None
    return ServerIdentity(
        server=server,
        role=role,
        hostname_bind=printable(hostname) if hostname else None,
        nsid=nsid or None,
    )


def _nsid_text(data: bytes) -> str:
    """NSID bytes as text when they are printable ASCII, else as hex (RFC 5001 leaves it open)."""
    if data and all(0x20 <= byte <= 0x7E for byte in data):
        return printable(data.decode("ascii"))
    return printable(data.hex())
