"""Preflight: the canary probes a candidate option set's servers and predicts the diagnosis.

The live option set stays healthy (the forwarder relays to the lab's corp server); only the
candidate servers and the Amazon resolver are asked, and the forwarder's answer is predicted.
"""

from __future__ import annotations

import pytest
from canary_lab import LAMBDA, STS, CanaryLab

pytestmark = pytest.mark.integration

PLAN = {"probes": [{"name": STS}, {"name": LAMBDA}, {"name": "db.corp.example"}]}


def test_dead_candidate_is_predicted_unreachable(canary_lab: CanaryLab) -> None:
    # Given a candidate server that swallows every query, while the live set is healthy
    dead = canary_lab.lab.add_server("dead", behaviour="blackhole")

    # When the canary preflights it
    run = canary_lab.invoke({**PLAN, "deadline_ms": 800, "candidate_nameservers": [dead.address]})

    # Then it predicts the failure the association would cause, blaming that server
    assert run.result["preflight"] is True
    assert run.result["ok"] is False
    assert run.diagnosis["code"] == "CONFIGURED_SERVER_UNREACHABLE"
    assert run.diagnosis["severity"] == "FAILED"
    assert run.diagnosis["failing_hop"] == "configured_server"
    assert dead.address in run.diagnosis["summary"]
    # and asked only the candidate and the Amazon resolver, never the live configured server
    servers = {entry["server"] for entry in run.result["direct"]}
    assert servers == {dead.address, canary_lab.amazon.address}
    assert run.result["resolv_conf"]["configured_nameservers"] == [dead.address]


def test_domain_controller_that_does_not_forward_aws_names_is_predicted(
    canary_lab: CanaryLab,
) -> None:
    # Given a candidate domain controller that knows only the corporate zone
    dc = canary_lab.lab.add_server("dc", records={"db.corp.example": {"A": ["10.1.2.3"]}})

    run = canary_lab.invoke({**PLAN, "candidate_nameservers": [dc.address]})

    assert run.result["ok"] is False
    assert run.outcomes() == {STS: "NXDOMAIN", LAMBDA: "NXDOMAIN", "db.corp.example": "OK"}
    assert run.diagnosis["code"] == "CUSTOM_SERVER_MISSING_NAMES"
    assert run.diagnosis["failed_names"] == [STS, LAMBDA]
    assert run.diagnosis["option_set_at_fault"] is True


def test_healthy_candidate_is_predicted_healthy(canary_lab: CanaryLab) -> None:
    good = canary_lab.lab.add_server(
        "good",
        records={
            STS: {"A": ["52.94.0.1"]},
            LAMBDA: {"A": ["52.94.0.2"]},
            "db.corp.example": {"A": ["10.1.2.3"]},
        },
    )

    run = canary_lab.invoke({**PLAN, "candidate_nameservers": [good.address]})

    assert run.result["ok"] is True
    assert run.diagnosis["code"] == "HEALTHY"
    assert run.diagnosis["severity"] == "OK"
    assert good.address in run.diagnosis["summary"]


def test_one_dead_candidate_next_to_a_healthy_one_is_not_a_failure(canary_lab: CanaryLab) -> None:
    # Given two candidate servers: one answers every name, one swallows every query
    dead = canary_lab.lab.add_server("dead", behaviour="blackhole")

    run = canary_lab.invoke(
        {
            **PLAN,
            "deadline_ms": 800,
            "candidate_nameservers": [canary_lab.corp.address, dead.address],
        }
    )

    # Then names would still resolve, but the lost redundancy is reported
    assert run.result["ok"] is True
    assert run.diagnosis["severity"] != "FAILED"
    assert dead.address in run.diagnosis["summary"]
