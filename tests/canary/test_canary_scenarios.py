"""The canary against real DNS servers on loopback: what the checker and on-call engineers see."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from canary_lab import LAMBDA, STS, CanaryLab
from dns_canary.constants import MAX_ANSWERS_PER_RESULT

pytestmark = pytest.mark.integration

# Generous bound for "the verdict arrives within the deadline" on a loaded CI machine.
MARGIN_MS = 500


def test_healthy_path_resolves_every_probe_of_the_sample_plan(canary_lab: CanaryLab) -> None:
    # Given the sample plan and a custom server that knows every name
    # When the canary runs
    run = canary_lab.invoke(canary_lab.sample_plan())

    # Then every name met its expectation through the forwarder
    result = run.result
    assert result["ok"] is True
    assert result["stale"] is False
    assert run.diagnosis["code"] == "HEALTHY"
    assert run.diagnosis["severity"] == "OK"
    assert run.diagnosis["failed_names"] == []
    assert run.outcomes() == {
        STS: "OK",
        LAMBDA: "OK",
        "db.corp.example": "OK",
        "no-such-host.corp.example": "NXDOMAIN",
    }
    assert all(entry["ok"] for entry in result["probes"])
    assert result["probes"][0]["answers"] == ["52.94.0.1"]
    assert result["probes"][0]["server"] == canary_lab.forwarder.address
    # and each name was also asked of the configured server and the Amazon resolver
    assert {(entry["server"], entry["role"]) for entry in result["direct"]} == {
        (canary_lab.corp.address, "configured"),
        (canary_lab.amazon.address, "amazon"),
    }
    assert len(result["direct"]) == 8
    assert result["resolv_conf"]["configured_nameservers"] == [canary_lab.corp.address]
    assert result["resolv_conf"]["nameservers"] == [canary_lab.forwarder.address]
    assert result["resolv_conf"]["options"] == {"timeout": "2", "attempts": "5"}
    assert result["resolv_conf"]["problems"] == []


def test_empty_event_probes_the_default_names_of_the_region(canary_lab: CanaryLab) -> None:
    run = canary_lab.invoke({})

    assert run.result["ok"] is True
    assert [entry["name"] for entry in run.result["probes"]] == [STS, LAMBDA]
    assert run.result["deadline_ms"] == 1500
    assert run.result["expected_nameservers"] is None


def test_probe_names_setting_picks_names_and_record_types(canary_lab: CanaryLab) -> None:
    canary_lab.monkeypatch.setenv("PROBE_NAMES", "db.corp.example, app.corp.example/A")

    run = canary_lab.invoke({})

    assert run.outcomes() == {"db.corp.example": "OK", "app.corp.example": "OK"}
    # app.corp.example is a CNAME: the answers are the A records at the end of the chain
    assert run.result["probes"][1]["answers"] == ["10.1.2.3"]


def test_dead_configured_server_is_reported_within_the_deadline(canary_lab: CanaryLab) -> None:
    # Given the option set points at a server that swallows every query
    dead = canary_lab.lab.add_server("dead", behaviour="blackhole")
    canary_lab.use_servers([dead.address])

    # When the canary runs with an 800 ms deadline
    run = canary_lab.invoke(canary_lab.sample_plan(deadline_ms=800, expected_nameservers=None))

    # Then the verdict arrives on time and blames the configured server, not the VPC resolver
    assert run.wall_ms < 800 + MARGIN_MS
    assert run.result["ok"] is False
    assert run.diagnosis["code"] == "CONFIGURED_SERVER_UNREACHABLE"
    assert run.diagnosis["severity"] == "FAILED"
    assert run.diagnosis["failing_hop"] == "configured_server"
    assert set(run.outcomes().values()) == {"TIMEOUT"}
    assert set(run.outcomes("configured").values()) == {"TIMEOUT"}
    summary = run.diagnosis["summary"]
    assert dead.address in summary
    assert f"Amazon resolver {canary_lab.amazon.address} resolved" in summary
    causes = " ".join(run.diagnosis["likely_causes"])
    assert "security group" in causes
    assert "ephemeral ports" in causes
    assert "route" in causes
    # a lost packet is retried within the budget rather than reported at once
    assert all(entry["attempts"] >= 2 for entry in run.result["probes"])


def test_every_server_black_holed_with_fifty_probes_still_answers_on_time(
    canary_lab: CanaryLab,
) -> None:
    # Given the configured server and the Amazon resolver both drop every query
    dead = canary_lab.lab.add_server("dead", behaviour="blackhole")
    canary_lab.use_servers([dead.address])
    canary_lab.amazon.behaviour = "blackhole"
    plan = {"probes": [{"name": f"host{i}.corp.example"} for i in range(50)], "deadline_ms": 700}

    run = canary_lab.invoke(plan)

    assert run.wall_ms < 700 + MARGIN_MS
    assert run.result["elapsed_ms"] < 700 + MARGIN_MS
    assert len(run.result["probes"]) == 50
    assert len(run.result["direct"]) == 100
    assert {entry["outcome"] for entry in run.result["direct"]} == {"TIMEOUT"}
    assert run.diagnosis["code"] == "CONFIGURED_SERVER_UNREACHABLE"
    assert "did not resolve them either" in run.diagnosis["summary"]


def test_configured_address_where_nothing_listens_is_a_network_error(
    canary_lab: CanaryLab,
) -> None:
    nowhere = canary_lab.lab.unused_address()
    canary_lab.use_servers([nowhere])

    run = canary_lab.invoke({"deadline_ms": 600})

    assert set(run.outcomes("configured").values()) == {"NETWORK_ERROR"}
    assert set(run.outcomes().values()) == {"TIMEOUT"}  # the forwarder stays silent
    assert run.diagnosis["code"] == "CONFIGURED_SERVER_UNREACHABLE"
    assert nowhere in run.diagnosis["summary"]
    assert "connection refused" in run.diagnosis["summary"]


@pytest.mark.parametrize(
    ("behaviour", "rcode", "cause"),
    [("servfail", "SERVFAIL", "DNSSEC"), ("refuse", "REFUSED", "recursion")],
)
def test_configured_server_errors_are_blamed_on_it(
    canary_lab: CanaryLab, behaviour: str, rcode: str, cause: str
) -> None:
    canary_lab.corp.behaviour = behaviour  # type: ignore[assignment]

    run = canary_lab.invoke({})

    assert set(run.outcomes().values()) == {rcode}
    assert set(run.outcomes("configured").values()) == {rcode}
    assert set(run.outcomes("amazon").values()) == {"OK"}
    assert run.diagnosis["code"] == "CONFIGURED_SERVER_ERRORS"
    summary = run.diagnosis["summary"]
    assert f"{canary_lab.corp.address} answers {rcode} for {STS} and {LAMBDA}" in summary
    assert cause in " ".join(run.diagnosis["likely_causes"])


def test_custom_server_without_aws_names_is_told_to_forward_them(canary_lab: CanaryLab) -> None:
    # Given a custom server (a domain controller, say) that only knows the corporate zone
    canary_lab.corp.set_records({"db.corp.example": {"A": ["10.1.2.3"]}})
    plan = {"probes": [{"name": STS}, {"name": LAMBDA}, {"name": "db.corp.example"}]}

    run = canary_lab.invoke(plan)

    assert run.outcomes() == {STS: "NXDOMAIN", LAMBDA: "NXDOMAIN", "db.corp.example": "OK"}
    assert run.diagnosis["code"] == "CUSTOM_SERVER_MISSING_NAMES"
    assert run.diagnosis["failing_hop"] == "configured_server"
    assert run.diagnosis["failed_names"] == [STS, LAMBDA]
    summary = run.diagnosis["summary"]
    assert f"{STS} and {LAMBDA}" in summary
    assert canary_lab.corp.address in summary
    assert "does not forward AWS or private hosted zone names to AmazonProvidedDNS" in summary
    assert "conditional forwarders for amazonaws.com" in summary
    assert "base +2" in summary


def test_name_that_exists_without_records_of_the_type_is_noanswer(
    canary_lab: CanaryLab,
) -> None:
    canary_lab.corp.set_records({**canary_lab.corp.records, "v6.corp.example": {"A": ["10.0.0.9"]}})
    plan = {"probes": [{"name": "v6.corp.example", "type": "AAAA"}, {"name": STS}]}

    run = canary_lab.invoke(plan)

    assert run.outcomes() == {"v6.corp.example": "NOANSWER", STS: "OK"}
    assert run.result["probes"][0]["detail"] == "NOERROR without AAAA records"
    # the Amazon resolver does not know the name either: the name's fault, not the option set's
    assert run.diagnosis["code"] == "NAME_FAILS_EVERYWHERE"
    assert run.diagnosis["severity"] == "DEGRADED"
    assert run.diagnosis["failing_hop"] == "zone"
    assert run.diagnosis["option_set_at_fault"] is False
    assert run.diagnosis["failed_names"] == ["v6.corp.example"]


def test_names_missing_everywhere_are_not_blamed_on_the_option_set(canary_lab: CanaryLab) -> None:
    run = canary_lab.invoke({"probes": [{"name": "gone.corp.example"}]})

    assert run.outcomes() == {"gone.corp.example": "NXDOMAIN"}
    assert run.diagnosis["code"] == "NAME_FAILS_EVERYWHERE"
    assert run.diagnosis["option_set_at_fault"] is False
    assert "gone.corp.example: NXDOMAIN" in run.diagnosis["summary"]
    assert "Amazon resolver" in run.diagnosis["summary"]
    assert "rolling back the option set will not fix it" in run.diagnosis["summary"]


def test_slow_custom_server_exceeds_the_latency_budget(canary_lab: CanaryLab) -> None:
    canary_lab.corp.delay_ms = 300
    plan = {"probes": [{"name": STS, "max_latency_ms": 100}], "deadline_ms": 2000}

    run = canary_lab.invoke(plan)

    probe = run.result["probes"][0]
    assert probe["outcome"] == "SLOW"
    assert probe["ok"] is False
    assert probe["answers"] == ["52.94.0.1"]
    assert run.result["ok"] is False
    assert run.diagnosis["code"] == "SLOW_ANSWERS"
    assert run.diagnosis["severity"] == "DEGRADED"
    assert f"{STS} in " in run.diagnosis["summary"]
    assert "(budget 100 ms)" in run.diagnosis["summary"]


def test_fast_answer_within_budget_is_not_slow(canary_lab: CanaryLab) -> None:
    run = canary_lab.invoke({"probes": [{"name": STS, "max_latency_ms": 1000}]})

    assert run.outcomes() == {STS: "OK"}


def test_nxdomain_expected_but_name_resolves_is_unexpected(canary_lab: CanaryLab) -> None:
    run = canary_lab.invoke({"probes": [{"name": STS, "expect": {"rcode": "NXDOMAIN"}}]})

    assert run.outcomes() == {STS: "UNEXPECTED_ANSWER"}
    assert run.result["probes"][0]["detail"] == "expected NXDOMAIN but the name resolves"


@pytest.mark.parametrize(
    ("expect", "detail"),
    [
        ({"answers_in": ["10.0.0.0/8"]}, "answer 198.51.100.7 is outside 10.0.0.0/8"),
        ({"answers_match": r"^10\."}, "answer '198.51.100.7' does not match '^10\\\\.'"),
    ],
)
def test_answers_outside_the_plan_are_unexpected(
    canary_lab: CanaryLab, expect: dict[str, object], detail: str
) -> None:
    # Given a private name that resolves to a public address (a missing private hosted zone)
    canary_lab.corp.set_records({"db.corp.example": {"A": ["198.51.100.7"]}})

    run = canary_lab.invoke({"probes": [{"name": "db.corp.example", "expect": expect}]})

    probe = run.result["probes"][0]
    assert probe["outcome"] == "UNEXPECTED_ANSWER"
    assert probe["detail"] == detail
    assert run.diagnosis["code"] == "UNEXPECTED_ANSWERS"
    assert "db.corp.example -> 198.51.100.7" in run.diagnosis["summary"]
    assert "private hosted zone" in " ".join(run.diagnosis["likely_causes"])


def test_answers_match_applies_to_txt_strings(canary_lab: CanaryLab) -> None:
    canary_lab.corp.set_records({"corp.example": {"TXT": ['"v=spf1 -all"']}})
    plan = {
        "probes": [{"name": "corp.example", "type": "TXT", "expect": {"answers_match": "^v=spf1"}}]
    }

    run = canary_lab.invoke(plan)

    assert run.outcomes() == {"corp.example": "OK"}
    assert run.result["probes"][0]["answers"] == ["v=spf1 -all"]


def test_truncated_answer_is_retried_over_tcp(canary_lab: CanaryLab) -> None:
    big = [f"10.3.{i // 250}.{i % 250 + 1}" for i in range(60)]  # > 512 bytes over UDP
    canary_lab.corp.set_records({"big.corp.example": {"A": big}})

    run = canary_lab.invoke({"probes": [{"name": "big.corp.example"}]})

    probe = run.result["probes"][0]
    assert probe["outcome"] == "OK"
    assert probe["transport"] == "tcp"
    # the answer lists at most MAX_ANSWERS_PER_RESULT records and says how many there were
    assert len(probe["answers"]) == MAX_ANSWERS_PER_RESULT
    assert set(probe["answers"]) <= set(big)
    assert probe["answers_total"] == 60


def test_lost_first_answer_is_retransmitted_within_the_budget(canary_lab: CanaryLab) -> None:
    # Given a server that drops queries for the first 200 ms, then answers again
    canary_lab.corp.behaviour = "blackhole"
    timer = threading.Timer(0.2, lambda: setattr(canary_lab.corp, "behaviour", "answer"))
    timer.start()
    try:
        run = canary_lab.invoke({"probes": [{"name": STS}], "deadline_ms": 1500})
    finally:
        timer.cancel()

    configured = next(e for e in run.result["direct"] if e["role"] == "configured")
    assert configured["outcome"] == "OK"
    assert configured["attempts"] >= 2


def test_forwarder_failing_while_configured_server_answers(canary_lab: CanaryLab) -> None:
    # Given the forwarder relays to a dead server, but the option set's server answers directly
    dead = canary_lab.lab.add_server("dead", behaviour="blackhole")
    canary_lab.use_servers([canary_lab.corp.address], upstreams=[dead.address])

    run = canary_lab.invoke({"deadline_ms": 600})

    assert set(run.outcomes().values()) == {"TIMEOUT"}
    assert set(run.outcomes("configured").values()) == {"OK"}
    assert run.diagnosis["code"] == "FORWARDER_FAILING"
    assert run.diagnosis["failing_hop"] == "forwarder"
    assert canary_lab.forwarder.address in run.diagnosis["summary"]
    assert canary_lab.corp.address in run.diagnosis["summary"]


def test_stale_configuration_is_unverified_but_still_probed(canary_lab: CanaryLab) -> None:
    # Given the checker expects servers this environment does not have (never queried)
    run = canary_lab.invoke(canary_lab.sample_plan(expected_nameservers=["10.1.1.10"]))

    assert run.result["stale"] is True
    assert run.result["ok"] is False
    assert run.diagnosis["code"] == "STALE_CONFIG"
    assert run.diagnosis["severity"] == "UNVERIFIED"
    assert "10.1.1.10" in run.diagnosis["summary"]
    assert canary_lab.corp.address in run.diagnosis["summary"]
    assert run.outcomes()[STS] == "OK"
    assert len(run.result["probes"]) == 4


def test_expected_nameservers_match_in_any_order(canary_lab: CanaryLab) -> None:
    other = canary_lab.lab.add_server("corp2", records=canary_lab.corp.records)
    canary_lab.use_servers([canary_lab.corp.address, other.address])

    run = canary_lab.invoke({"expected_nameservers": [other.address, canary_lab.corp.address]})

    assert run.result["stale"] is False
    assert run.result["ok"] is True


def test_missing_resolv_conf_is_a_finding_not_a_crash(
    canary_lab: CanaryLab, tmp_path: Path
) -> None:
    canary_lab.monkeypatch.setenv("RESOLV_CONF_PATH", str(tmp_path / "absent.conf"))

    run = canary_lab.invoke({})

    resolv = run.result["resolv_conf"]
    assert resolv["found"] is False
    assert resolv["problems"] == [f"{tmp_path / 'absent.conf'} does not exist"]
    assert run.result["ok"] is False
    assert run.result["probes"] == []
    assert run.diagnosis["code"] == "NO_NAMESERVER"
    assert run.diagnosis["failing_hop"] == "resolv_conf"
    assert "absent.conf is missing or unreadable" in run.diagnosis["summary"]
    # the Amazon resolver is still asked directly, to tell a broken VPC from a broken file
    assert set(run.outcomes("amazon").values()) == {"OK"}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "is empty"),
        ("nameserver bogus\nthis is not a resolver file\n", "'nameserver' value 'bogus'"),
        ("options timeout:2\n; generated by /sbin/dhclient-script\n", "no usable 'nameserver'"),
    ],
)
def test_empty_or_garbled_resolv_conf(canary_lab: CanaryLab, text: str, problem: str) -> None:
    canary_lab.write_resolv_conf(text=text)

    run = canary_lab.invoke({})

    resolv = run.result["resolv_conf"]
    assert resolv["found"] is True
    assert any(problem in entry for entry in resolv["problems"])
    assert run.diagnosis["code"] == "NO_NAMESERVER"
    assert "has no usable 'nameserver' line" in run.diagnosis["summary"]


def test_undecodable_resolv_conf_is_still_parsed(canary_lab: CanaryLab, tmp_path: Path) -> None:
    path = tmp_path / "resolv.conf"
    path.write_bytes(
        b"\xff\xfe garbage\n; configured nameserver "
        + canary_lab.corp.address.encode()
        + b"\nnameserver "
        + canary_lab.forwarder.address.encode()
        + b"\n"
    )
    canary_lab.monkeypatch.setenv("RESOLV_CONF_PATH", str(path))

    run = canary_lab.invoke({})

    assert run.result["ok"] is True
    problems = " ".join(run.result["resolv_conf"]["problems"])
    assert "not UTF-8" in problems
    assert "unrecognised line" in problems


def test_no_configured_servers_means_the_option_set_hands_out_none(
    canary_lab: CanaryLab,
) -> None:
    canary_lab.use_servers([])

    run = canary_lab.invoke({"deadline_ms": 500})

    assert run.result["resolv_conf"]["configured_nameservers"] == []
    assert set(run.outcomes().values()) == {"TIMEOUT"}
    assert run.diagnosis["code"] == "NO_CONFIGURED_SERVERS"
    assert run.diagnosis["failing_hop"] == "option_set"
    assert "hands out no DNS servers" in run.diagnosis["summary"]


def test_deadline_is_clipped_to_the_lambda_remaining_time(canary_lab: CanaryLab) -> None:
    # Given a black-holed server and a Lambda with only 700 ms left
    dead = canary_lab.lab.add_server("dead", behaviour="blackhole")
    canary_lab.use_servers([dead.address])

    run = canary_lab.invoke({"deadline_ms": 5000}, timeout_ms=700)

    # Then the canary keeps DEADLINE_MARGIN_MS (250 ms) free and answers before the timeout
    assert run.result["deadline_clipped"] is True
    assert 300 <= run.result["deadline_ms"] <= 450
    assert run.wall_ms < 700
    assert run.diagnosis["code"] == "CONFIGURED_SERVER_UNREACHABLE"


def test_deadline_margin_setting_is_honoured(canary_lab: CanaryLab) -> None:
    canary_lab.monkeypatch.setenv("DEADLINE_MARGIN_MS", "1000")

    run = canary_lab.invoke({"deadline_ms": 1500}, timeout_ms=2000)

    assert run.result["deadline_clipped"] is True
    assert run.result["deadline_ms"] <= 1000


def test_handler_output_is_json_serialisable(canary_lab: CanaryLab) -> None:
    dead = canary_lab.lab.add_server("dead", behaviour="blackhole")
    canary_lab.use_servers([canary_lab.corp.address, dead.address])

    run = canary_lab.invoke(canary_lab.sample_plan(deadline_ms=300))

    assert json.loads(json.dumps(run.result)) == run.result
    assert set(run.result) == {
        "preflight",
        "ok",
        "stale",
        "deadline_ms",
        "deadline_clipped",
        "elapsed_ms",
        "resolv_conf",
        "expected_nameservers",
        "amazon_dns_server",
        "probes",
        "direct",
        "sources",
        "diagnosis",
        "identities",
    }
    # a plan without discovered probes has no source reports
    assert run.result["sources"] == []


def test_no_time_left_still_returns_findings(canary_lab: CanaryLab) -> None:
    # Given a Lambda with less time left than DEADLINE_MARGIN_MS
    run = canary_lab.invoke({}, timeout_ms=200)

    # Then the canary answers at once, every lookup a timeout within 0 ms
    assert run.result["deadline_clipped"] is True
    assert run.result["deadline_ms"] == 0
    assert run.wall_ms < 200
    assert {entry["detail"] for entry in run.result["probes"]} == {"no answer within 0 ms"}
    assert run.result["ok"] is False
