"""The canary against the lab's domain controller (devtools/dnslab.py): its own zone answered
authoritatively, every other name forwarded the way Samba 4's internal DNS server does."""

from __future__ import annotations

import pytest
from canary_lab import LAMBDA, STS, CanaryLab

pytestmark = pytest.mark.integration

AD_RECORDS = {
    "dc1.ad.corp.example": {"A": ["10.1.1.10"]},
    "_ldap._tcp.ad.corp.example": {"SRV": ["0 100 389 dc1.ad.corp.example."]},
}
AD_PROBES = [{"name": "dc1.ad.corp.example"}, {"name": "_ldap._tcp.ad.corp.example", "type": "SRV"}]
AWS_PROBES = [{"name": STS}, {"name": LAMBDA}]


def _plan(*probes: dict[str, object]) -> dict[str, object]:
    return {"probes": list(probes), "deadline_ms": 1000}


def test_dc_with_a_working_forwarder_is_healthy(canary_lab: CanaryLab) -> None:
    # Given the option set names a DC that forwards to the Amazon resolver
    dc = canary_lab.lab.add_domain_controller("dc", AD_RECORDS, [canary_lab.amazon.address])
    canary_lab.use_servers([dc.address])

    run = canary_lab.invoke(_plan(*AWS_PROBES, *AD_PROBES))

    # Then healthy, and the DC's own names are marked as answered from its own zone
    assert run.diagnosis["code"] == "HEALTHY", run.diagnosis
    own = {e["name"]: e["authoritative"] for e in run.result["direct"] if e["role"] == "configured"}
    assert own == {STS: False, LAMBDA: False, **dict.fromkeys(AD_RECORDS, True)}


def test_dc_turning_a_forwarded_nxdomain_into_no_data_does_not_page(
    canary_lab: CanaryLab,
) -> None:
    # Given a healthy DC, and a probe expecting NXDOMAIN for a name no zone holds
    dc = canary_lab.lab.add_domain_controller("dc", AD_RECORDS, [canary_lab.amazon.address])
    canary_lab.use_servers([dc.address])
    missing = {"name": "nothere.corp.example", "expect": {"rcode": "NXDOMAIN"}}

    run = canary_lab.invoke(_plan(*AWS_PROBES, *AD_PROBES, missing))

    # Then DEGRADED at most, naming the "no data" answer; no rollback, not missing names
    diagnosis = run.diagnosis
    assert diagnosis["code"] == "NO_DATA_FOR_NXDOMAIN", diagnosis
    assert diagnosis["severity"] == "DEGRADED"
    assert diagnosis["option_set_at_fault"] is False
    assert f'{dc.address} answers "no data"' in diagnosis["summary"]
    assert diagnosis["failed_names"] == ["nothere.corp.example"]


@pytest.mark.parametrize("with_ad_names", [False, True])
def test_dc_with_a_dead_forwarder_fails_with_or_without_its_own_names(
    canary_lab: CanaryLab, with_ad_names: bool
) -> None:
    # Given the DC's forwarder swallows every query
    dead = canary_lab.lab.add_server("dead-forwarder", behaviour="blackhole")
    dc = canary_lab.lab.add_domain_controller("dc", AD_RECORDS, [dead.address])
    canary_lab.use_servers([dc.address])

    probes = [*AWS_PROBES, *(AD_PROBES if with_ad_names else [])]
    run = canary_lab.invoke(_plan(*probes))

    # Then FAILED at the configured server either way: adding the DC's own names, which it
    # answers at once, never softens the verdict to loss
    diagnosis = run.diagnosis
    assert diagnosis["severity"] == "FAILED", diagnosis
    assert diagnosis["failing_hop"] == "configured_server"
    assert diagnosis["option_set_at_fault"] is True
    assert sorted(diagnosis["failed_names"]) == sorted([STS, LAMBDA])
    if with_ad_names:
        assert diagnosis["code"] == "CONFIGURED_SERVER_CANNOT_FORWARD"
        assert f"{dc.address} answers its own zone at once" in diagnosis["summary"]
    else:
        assert diagnosis["code"] == "CONFIGURED_SERVER_UNREACHABLE"


def test_failing_member_behind_an_address_is_named_by_its_identity(canary_lab: CanaryLab) -> None:
    # Given the option set's server answers SERVFAIL, and says which instance it is
    # (hostname.bind / NSID), while the Amazon resolver says nothing about itself
    bad = canary_lab.lab.add_server("member-b", behaviour="servfail", identity="resolver-b\x07")
    canary_lab.use_servers([bad.address])

    run = canary_lab.invoke(_plan(*AWS_PROBES))

    # Then the page names the instance, as printable text (an NSID that is not printable ASCII
    # is shown as hex), and the findings record it once
    diagnosis = run.diagnosis
    assert diagnosis["code"] == "CONFIGURED_SERVER_ERRORS", diagnosis
    assert f'{bad.address} answered as "resolver-b?"' in diagnosis["summary"]
    assert run.result["identities"] == [
        {
            "server": bad.address,
            "role": "configured",
            "hostname_bind": "resolver-b?",
            "nsid": b"resolver-b\x07".hex(),
        }
    ]
    # and the identity query is never counted as a probe
    assert {entry["name"] for entry in run.result["direct"]} == {STS, LAMBDA}


def test_identity_of_a_healthy_server_is_recorded_without_a_sentence(
    canary_lab: CanaryLab,
) -> None:
    canary_lab.corp.identity = "corp-a"

    run = canary_lab.invoke(_plan(*AWS_PROBES))

    assert run.diagnosis["code"] == "HEALTHY"
    assert "answered as" not in run.diagnosis["summary"]
    assert [(i["server"], i["hostname_bind"]) for i in run.result["identities"]] == [
        (canary_lab.corp.address, "corp-a")
    ]
