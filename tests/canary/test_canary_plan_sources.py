"""Probe plan: `source` and `targets` of discovered probes; errors name the field."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import botocore
import pytest
from dns_canary.constants import (
    MAX_PROBES,
    MAX_SOURCE_ID_LENGTH,
    MAX_TARGET_HOPS,
    MAX_TARGETS_PER_PROBE,
    SOURCE_KINDS,
)
from dns_canary.plan import InvalidProbePlan, Source, parse_plan
from dns_canary.settings import CanarySettings, InvalidSettings

pytestmark = pytest.mark.unit

SETTINGS = CanarySettings.from_env({"AWS_REGION": "eu-west-1"})
ZONE = {"kind": "private_zone", "id": "Z0123456789ABC", "domain": "corp.internal"}
RULE = {"kind": "forward_rule", "id": "rslvr-rr-0123456789abcdef0", "domain": "onprem.example"}
BOTOCORE = Path(botocore.__file__).resolve().parent / "data"


def _probe(**fields: Any) -> dict[str, Any]:
    return {"probes": [{"name": "app.corp.internal", **fields}]}


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (_probe(source="phz"), "probes[0].source: expected a JSON object, got 'phz'"),
        (
            _probe(source={**ZONE, "zone": "x"}),
            "probes[0].source.zone: unknown field (allowed: domain, id, kind, via)",
        ),
        (
            _probe(source={**ZONE, "kind": "hosted_zone"}),
            "probes[0].source.kind: unsupported source kind 'hosted_zone' (use one of "
            "configured, private_zone, forward_rule, system_rule, endpoint, firewall)",
        ),
        (
            _probe(source={"kind": "private_zone", "domain": "corp.internal"}),
            "probes[0].source.id: required for kind 'private_zone'",
        ),
        (
            _probe(source={"kind": "endpoint", "id": "vpce-0123"}),
            "probes[0].source.domain: required for kind 'endpoint'",
        ),
        (
            _probe(source={**ZONE, "id": "Z" * (MAX_SOURCE_ID_LENGTH + 1)}),
            f"probes[0].source.id: {MAX_SOURCE_ID_LENGTH + 1} characters long (1 to 64)",
        ),
        (
            _probe(source={**ZONE, "id": "Z1 <script>"}),
            "probes[0].source.id: 'Z1 <script>' holds characters other than",
        ),
        (_probe(source={**ZONE, "id": 12}), "probes[0].source.id: expected an AWS id string"),
        (
            _probe(source={**ZONE, "domain": "corp..internal"}),
            "probes[0].source.domain: 'corp..internal' has an empty label",
        ),
        (_probe(source={**ZONE, "via": ""}), "probes[0].source.via: 0 characters long"),
        (
            _probe(source=ZONE, targets=["10.9.0.10"]),
            "probes[0].targets: only allowed with source.kind 'forward_rule'",
        ),
        (_probe(targets=["10.9.0.10"]), "probes[0].targets: only allowed with source.kind"),
        (_probe(source=RULE, targets="10.9.0.10"), "probes[0].targets: expected a list"),
        (_probe(source=RULE, targets=[]), "probes[0].targets: 0 addresses given (1 to 6)"),
        (
            _probe(source=RULE, targets=["10.9.0.1"] * (MAX_TARGETS_PER_PROBE + 1)),
            f"probes[0].targets: {MAX_TARGETS_PER_PROBE + 1} addresses given",
        ),
        (
            _probe(source=RULE, targets=["10.9.0.10", "onprem-dns"]),
            "probes[0].targets[1]: 'onprem-dns' is not an IP address",
        ),
    ],
)
def test_invalid_source_or_targets_name_the_field(event: object, message: str) -> None:
    with pytest.raises(InvalidProbePlan) as raised:
        parse_plan(event, SETTINGS)

    assert str(raised.value).startswith(message)


def test_a_plan_cannot_multiply_its_queries_with_targets() -> None:
    # 7 probes x 6 targets = 42 target queries, over the per-plan cap of 40
    targets = [f"10.9.0.{i}" for i in range(1, MAX_TARGETS_PER_PROBE + 1)]
    probes = [
        {"name": f"h{i}.onprem.example", "source": RULE, "targets": targets} for i in range(7)
    ]

    with pytest.raises(InvalidProbePlan) as raised:
        parse_plan({"probes": probes}, SETTINGS)

    assert str(raised.value) == (
        f"probes: 42 target addresses in all (at most {MAX_TARGET_HOPS} per plan)"
    )


def test_discovered_probes_keep_their_source_and_targets() -> None:
    plan = parse_plan(
        {
            "probes": [
                {"name": "sts.{region}.amazonaws.com"},
                {"name": "app.corp.internal", "source": {**ZONE, "via": "rp-0123456789abcdef"}},
                {
                    "name": "db.onprem.example",
                    "source": RULE,
                    "targets": ["10.9.0.10", "fd00:9::10", "10.9.0.10"],
                },
                {
                    "name": "x.firewall.example",
                    "source": {"kind": "firewall", "id": "rslvr-frg-1", "domain": "."},
                },
            ]
        },
        SETTINGS,
    )

    configured, zone, rule, firewall = plan.probes
    assert configured.source is None
    assert configured.targets == ()
    assert zone.source == Source(
        "private_zone", "Z0123456789ABC", "corp.internal", "rp-0123456789abcdef"
    )
    # IPv6 targets are allowed; repeated ones are asked once
    assert rule.targets == ("10.9.0.10", "fd00:9::10")
    assert firewall.source is not None
    assert firewall.source.domain == "."


def test_a_configured_source_is_a_configured_probe() -> None:
    plan = parse_plan(_probe(source={"kind": "configured"}), SETTINGS)

    assert plan.probes[0].source == Source("configured")


def test_the_largest_plan_stays_within_the_answer_budget() -> None:
    # 50 probes, of which 6 carry 6 targets and one 4 (40 target hops): accepted
    targets = [f"10.9.0.{i}" for i in range(1, 7)]
    probes: list[dict[str, Any]] = [
        {"name": f"h{i}.onprem.example", "source": RULE, "targets": targets} for i in range(6)
    ]
    probes.append({"name": "h6.onprem.example", "source": RULE, "targets": targets[:4]})
    probes += [{"name": f"n{i}.example"} for i in range(MAX_PROBES - len(probes))]

    plan = parse_plan({"probes": probes}, SETTINGS)

    assert sum(len(probe.targets) for probe in plan.probes) == MAX_TARGET_HOPS


def test_the_kinds_are_those_the_checker_produces() -> None:
    assert SOURCE_KINDS == (
        "configured",
        "private_zone",
        "forward_rule",
        "system_rule",
        "endpoint",
        "firewall",
    )


def test_source_ids_fit_the_route53resolver_resource_id() -> None:
    # AWS's contract: Route 53 Resolver ids (ResourceId) are 1 to 64 characters, and a rule's
    # TargetList has a minimum of one entry and no maximum (the canary sets its own)
    [model_path] = (BOTOCORE / "route53resolver").glob("*/service-2.json.gz")
    shapes = json.loads(gzip.decompress(model_path.read_bytes()))["shapes"]

    assert shapes["ResourceId"]["max"] == MAX_SOURCE_ID_LENGTH
    assert shapes["TargetList"]["min"] == 1
    assert "max" not in shapes["TargetList"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("resolver", "AMAZON_DNS_SERVER_IPV6: 'resolver' is not an IP address"),
        ("169.254.169.253", "AMAZON_DNS_SERVER_IPV6: '169.254.169.253' is not an IPv6 address"),
    ],
)
def test_the_ipv6_amazon_resolver_setting_must_be_ipv6(value: str, message: str) -> None:
    with pytest.raises(InvalidSettings) as raised:
        CanarySettings.from_env({"AWS_REGION": "us-east-1", "AMAZON_DNS_SERVER_IPV6": value})

    assert str(raised.value) == message


def test_the_ipv6_amazon_resolver_defaults_to_the_nitro_address() -> None:
    assert CanarySettings.from_env({}).amazon_dns_server_ipv6 == "fd00:ec2::253"
