"""Probe plan and settings validation: every broken rule gives an error naming the field."""

from __future__ import annotations

import json
from typing import Any

import pytest
from canary_lab import SAMPLE_PLAN
from dns_canary.plan import InvalidProbePlan, parse_plan
from dns_canary.settings import CanarySettings, InvalidSettings

pytestmark = pytest.mark.unit

SETTINGS = CanarySettings.from_env({"AWS_REGION": "eu-west-1"})


def _probe(**fields: Any) -> dict[str, Any]:
    return {"probes": [{"name": "db.corp.example", **fields}]}


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ([], "plan: expected a JSON object, got a list"),
        (
            {"probe": []},
            "probe: unknown field (allowed: candidate_nameservers, deadline_ms, "
            "expected_nameservers, probes)",
        ),
        ({"probes": "db.corp.example"}, "probes: expected a list of probes"),
        ({"probes": []}, "probes: 0 probes given, expected 1 to 50"),
        ({"probes": [{"name": f"h{i}.example"} for i in range(51)]}, "probes: 51 probes given"),
        ({"probes": ["db.corp.example"]}, "probes[0]: expected a JSON object"),
        ({"probes": [{"type": "A"}]}, "probes[0].name: required"),
        (_probe(nme="x"), "probes[0].nme: unknown field"),
        ({"probes": [{"name": 42}]}, "probes[0].name: expected a DNS name string, got 42"),
        ({"probes": [{"name": ""}]}, "probes[0].name: empty name"),
        ({"probes": [{"name": "a..b"}]}, "probes[0].name: 'a..b' has an empty label"),
        ({"probes": [{"name": "bad name.example"}]}, "probes[0].name: 'bad name.example' contains"),
        ({"probes": [{"name": "x/y.example"}]}, "probes[0].name: 'x/y.example' contains the char"),
        ({"probes": [{"name": "a" * 64 + ".example"}]}, "probes[0].name: label 'aaaaaaaaaaaaaaaa"),
        (
            {"probes": [{"name": ".".join(["a" * 63] * 4)}]},
            "probes[0].name: name is 255 characters long (at most 253)",
        ),
        (
            {
                "probes": [
                    {"name": "ok.example"},
                    {"name": "ok.example"},
                    {"name": "x", "type": "AAA"},
                ]
            },
            "probes[2].type: unsupported record type 'AAA' (use one of A, AAAA, CNAME, MX, NS, "
            "PTR, SOA, SRV, TXT)",
        ),
        (_probe(type=1), "probes[0].type: unsupported record type 1"),
        (_probe(expect=[]), "probes[0].expect: expected a JSON object, got a list"),
        (_probe(expect={"rcode": "SERVFAIL"}), "probes[0].expect.rcode: unsupported rcode"),
        (_probe(expect={"answer_match": "x"}), "probes[0].expect.answer_match: unknown field"),
        (_probe(expect={"answers_match": "(unclosed"}), "probes[0].expect.answers_match: '(un"),
        (_probe(expect={"answers_match": "x" * 513}), "probes[0].expect.answers_match: 513 char"),
        (_probe(expect={"answers_match": 5}), "probes[0].expect.answers_match: expected a regular"),
        (
            _probe(expect={"answers_in": "10.0.0.0/8"}),
            "probes[0].expect.answers_in: expected a list",
        ),
        (
            _probe(expect={"answers_in": ["10.0.0.0/33"]}),
            "probes[0].expect.answers_in[0]: '10.0.0.0",
        ),
        (
            _probe(expect={"answers_in": ["10.0.0.1/8"]}),
            "probes[0].expect.answers_in[0]: '10.0.0.1",
        ),
        (
            _probe(expect={"answers_in": ["10.0.0.0/8"] * 17}),
            "probes[0].expect.answers_in: 17 CIDR blocks given (at most 16)",
        ),
        (
            _probe(type="TXT", expect={"answers_in": ["10.0.0.0/8"]}),
            "probes[0].expect.answers_in: only applies to A and AAAA probes",
        ),
        (_probe(max_latency_ms=0), "probes[0].max_latency_ms: 0 is outside 1..60000"),
        (_probe(max_latency_ms="200"), "probes[0].max_latency_ms: expected an integer"),
        (_probe(max_latency_ms=True), "probes[0].max_latency_ms: expected an integer"),
        ({"deadline_ms": 99}, "deadline_ms: 99 is outside 100..60000"),
        ({"deadline_ms": 60001}, "deadline_ms: 60001 is outside 100..60000"),
        ({"deadline_ms": 1500.5}, "deadline_ms: expected an integer (milliseconds), got 1500.5"),
        ({"expected_nameservers": "10.1.1.10"}, "expected_nameservers: expected a list"),
        ({"expected_nameservers": ["10.0.0.1"] * 5}, "expected_nameservers: 5 addresses given"),
        ({"expected_nameservers": ["10.1.1.300"]}, "expected_nameservers[0]: '10.1.1.300' is not"),
        ({"expected_nameservers": [None]}, "expected_nameservers[0]: expected an IP address"),
        ({"candidate_nameservers": "10.1.1.10"}, "candidate_nameservers: expected a list"),
        ({"candidate_nameservers": ["10.0.0.1"] * 5}, "candidate_nameservers: 5 addresses given"),
        ({"candidate_nameservers": ["x"]}, "candidate_nameservers[0]: 'x' is not an IP address"),
        ({"candidate_nameservers": []}, "candidate_nameservers: at least one address is needed"),
    ],
)
def test_invalid_plan_names_the_field(event: object, message: str) -> None:
    with pytest.raises(InvalidProbePlan) as raised:
        parse_plan(event, SETTINGS)

    assert str(raised.value).startswith(message)


def test_region_placeholder_needs_a_region() -> None:
    settings = CanarySettings.from_env({"PROBE_NAMES": "db.corp.example"})

    with pytest.raises(InvalidProbePlan, match=r"^probes\[0\]\.name: .*AWS_REGION is not set"):
        parse_plan({"probes": [{"name": "sts.{region}.amazonaws.com"}]}, settings)


def test_sample_plan_is_valid_and_filled_in() -> None:
    plan = parse_plan(json.loads(SAMPLE_PLAN.read_text()), SETTINGS)

    assert [probe.name for probe in plan.probes] == [
        "sts.eu-west-1.amazonaws.com",
        "lambda.eu-west-1.amazonaws.com",
        "db.corp.example",
        "no-such-host.corp.example",
    ]
    assert plan.probes[1].max_latency_ms == SETTINGS.probe_max_latency_ms
    assert plan.probes[2].expect.answers_match is not None
    assert [str(network) for network in plan.probes[2].expect.answers_in] == ["10.0.0.0/8"]
    assert plan.probes[3].expect.rcode == "NXDOMAIN"
    assert plan.deadline_ms == 1500
    assert plan.expected_nameservers == ("10.1.1.10",)


def test_names_are_absolute_and_normalised() -> None:
    plan = parse_plan(
        {"probes": [{"name": "DB.corp.example."}, {"name": "bücher.example", "type": "mx"}]},
        SETTINGS,
    )

    assert [(probe.name, probe.type) for probe in plan.probes] == [
        ("DB.corp.example", "A"),
        ("xn--bcher-kva.example", "MX"),
    ]


def test_longest_allowed_name_is_accepted() -> None:
    name = ".".join(["a" * 63] * 3 + ["a" * 61])  # 253 characters

    plan = parse_plan({"probes": [{"name": name}]}, SETTINGS)

    assert plan.probes[0].name == name


def test_null_event_runs_the_defaults() -> None:
    plan = parse_plan(None, SETTINGS)

    assert [probe.name for probe in plan.probes] == [
        "sts.eu-west-1.amazonaws.com",
        "lambda.eu-west-1.amazonaws.com",
    ]
    assert plan.expected_nameservers is None


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"DNS_PORT": "dns"}, "DNS_PORT: 'dns' is not an integer"),
        ({"DNS_PORT": "70000"}, "DNS_PORT: 70000 is outside 1..65535"),
        ({"CANARY_DEADLINE_MS": "50"}, "CANARY_DEADLINE_MS: 50 is outside 100..60000"),
        ({"PROBE_MAX_LATENCY_MS": "0"}, "PROBE_MAX_LATENCY_MS: 0 is outside 1..60000"),
        ({"DEADLINE_MARGIN_MS": "-1"}, "DEADLINE_MARGIN_MS: -1 is outside 0..60000"),
        ({"AMAZON_DNS_SERVER": "resolver"}, "AMAZON_DNS_SERVER: 'resolver' is not an IP address"),
        ({"PROBE_NAMES": " , "}, "PROBE_NAMES: no names given"),
        ({"PROBE_NAMES": "a.example/AAA"}, "PROBE_NAMES: entry 'a.example/AAA': type: unsupported"),
        ({"PROBE_NAMES": "a..example"}, "PROBE_NAMES: entry 'a..example': name: 'a..example' has"),
    ],
)
def test_invalid_settings_name_the_variable(environ: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidSettings) as raised:
        CanarySettings.from_env({"AWS_REGION": "us-east-1", **environ})

    assert str(raised.value).startswith(message)


def test_default_probe_names_need_the_region_only_when_used() -> None:
    settings = CanarySettings.from_env({})

    assert parse_plan({"probes": [{"name": "db.corp.example"}]}, settings).probes[0].name == (
        "db.corp.example"
    )
    with pytest.raises(InvalidSettings, match=r"^PROBE_NAMES: names use \{region\} but AWS_REGION"):
        parse_plan({}, settings)


def test_settings_defaults_follow_the_contract() -> None:
    settings = CanarySettings.from_env({"AWS_REGION": "us-east-1"})

    assert settings.resolv_conf_path == "/etc/resolv.conf"
    assert settings.amazon_dns_server == "169.254.169.253"
    assert [(p.name, p.type) for p in settings.probe_names] == [
        ("sts.us-east-1.amazonaws.com", "A"),
        ("lambda.us-east-1.amazonaws.com", "A"),
    ]
    assert settings.deadline_ms == 1500
    assert settings.probe_max_latency_ms == 500
    assert settings.deadline_margin_ms == 250
    assert settings.dns_port == 53
