"""Reading answers straight from the wire: the records the probe checks, nothing else (pure)."""

from __future__ import annotations

import dns.message
import dns.rrset
import pytest
from dns_canary.answers import MalformedAnswer, answer_texts

pytestmark = pytest.mark.unit


def _response(qname: str, rdtype: str, *answer: str, authority: str = "") -> bytes:
    query = dns.message.make_query(qname, rdtype)
    response = dns.message.make_response(query)
    for line in answer:
        response.answer.append(dns.rrset.from_text(*line.split(maxsplit=4)))
    if authority:
        response.authority.append(dns.rrset.from_text(*authority.split(maxsplit=4)))
        response.additional.append(dns.rrset.from_text("ns1.example.", 60, "IN", "A", "192.0.2.53"))
    wire: bytes = response.to_wire()
    return wire


def test_cname_chain_is_followed_to_the_records_of_the_asked_type() -> None:
    wire = _response(
        "app.corp.example",
        "A",
        "app.corp.example. 60 IN CNAME db.corp.example.",
        "db.corp.example. 60 IN A 10.1.2.3",
        authority="corp.example. 60 IN NS ns1.example.",
    )

    assert answer_texts(wire, "app.corp.example", "A") == ("10.1.2.3",)
    assert answer_texts(wire, "app.corp.example", "CNAME") == ("db.corp.example.",)


def test_owner_names_compare_without_case_and_other_owners_are_ignored() -> None:
    wire = _response(
        "DB.Corp.Example",
        "A",
        "other.example. 60 IN A 10.9.9.9",
        "db.corp.example. 60 IN A 10.1.2.3",
    )

    assert answer_texts(wire, "db.corp.example", "A") == ("10.1.2.3",)


@pytest.mark.parametrize(
    ("rdtype", "record", "text"),
    [
        ("AAAA", "v6.example. 60 IN AAAA 2001:db8::1", "2001:db8::1"),
        ("TXT", 'v6.example. 60 IN TXT "v=spf1 -all"', "v=spf1 -all"),
        ("MX", "v6.example. 60 IN MX 10 mail.example.", "10 mail.example."),
    ],
)
def test_record_types_read_as_text(rdtype: str, record: str, text: str) -> None:
    wire = _response("v6.example", rdtype, record)

    assert answer_texts(wire, "v6.example", rdtype) == (text,)


def test_a_cut_off_answer_is_malformed() -> None:
    wire = _response("db.corp.example", "A", "db.corp.example. 60 IN A 10.1.2.3")

    with pytest.raises(MalformedAnswer):
        answer_texts(wire[:-3], "db.corp.example", "A")
