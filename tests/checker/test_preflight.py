"""Preflight parsing and prediction (pure: no AWS, no sockets)."""

from __future__ import annotations

import pytest
from canary_findings import healthy, unreachable
from dns_watchdog.domain.events import InvalidEvent, parse_event
from dns_watchdog.domain.lint import lint_option_set
from dns_watchdog.domain.models import CanaryFindings, CanaryRun
from dns_watchdog.domain.preflight import candidate_servers, predict, preflight_result
from dns_watchdog.domain.request import PreflightRequest
from dns_watchdog.domain.vpc import OptionSet, vpc_facts

from devtools.lambdakit import load_event

pytestmark = pytest.mark.unit

VPC = "vpc-0a1b2c3d4e5f60718"
CANARY = "arn:aws:lambda:us-east-1:123456789012:function:vpc-dns-canary-a"
FACTS = vpc_facts(VPC, "10.0.0.0/16", OptionSet("dopt-amazon", ("AmazonProvidedDNS",), None), True)
DEAD = OptionSet("dopt-0dead0000", ("10.1.1.10",), None)


def test_preflight_event_names_option_set_and_vpcs() -> None:
    parsed = parse_event(
        {"action": "preflight", "dhcp_options_id": "dopt-0123abcd", "vpc_ids": [VPC, VPC]}
    )
    assert parsed == PreflightRequest(option_set_id="dopt-0123abcd", vpc_ids=(VPC,))


def test_preflight_without_vpcs_means_every_watched_vpc() -> None:
    parsed = parse_event({"action": "preflight", "dhcp_options_id": "dopt-0123abcd"})
    assert parsed == PreflightRequest(option_set_id="dopt-0123abcd")


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"action": "preflight"}, "dhcp_options_id"),
        ({"action": "preflight", "dhcp_options_id": "default"}, "dhcp_options_id"),
        ({"action": "preflight", "dhcp_options_id": "dopt-0123abcd", "vpc": []}, "vpc"),
        ({"action": "preflight", "dhcp_options_id": "dopt-0123abcd", "vpc_ids": ["x"]}, "vpc_ids"),
    ],
)
def test_bad_preflight_events_are_rejected_by_field(event: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidEvent, match=f"invalid preflight: .*{message}"):
        parse_event(event)


def test_amazon_provided_dns_in_a_candidate_is_the_vpc_base_plus_two() -> None:
    candidate = OptionSet("dopt-mixed", ("10.1.1.10", "AmazonProvidedDNS"), None)
    assert candidate_servers(candidate, FACTS) == ("10.1.1.10", "10.0.0.2")


def test_unreachable_candidate_is_predicted_to_break() -> None:
    run = CanaryRun(CANARY, "findings", CanaryFindings.model_validate(unreachable(["10.1.1.10"])))
    prediction = predict(DEAD, FACTS, [run])
    assert prediction.breaks
    summary = prediction.as_dict()
    assert summary["verdict"] == "FAILED"
    assert summary["diagnosis"] == "CONFIGURED_SERVER_UNREACHABLE"
    assert summary["current_option_set_id"] == "dopt-amazon"
    result = preflight_result(DEAD, lint_option_set(DEAD), [prediction])
    assert result["would_break"] == [VPC]
    assert result["safe"] is False


def test_healthy_candidate_is_safe() -> None:
    run = CanaryRun(CANARY, "findings", CanaryFindings.model_validate(healthy(["10.1.1.10"])))
    prediction = predict(DEAD, FACTS, [run])
    assert not prediction.breaks
    assert preflight_result(DEAD, [], [prediction])["safe"] is True


def test_candidate_without_servers_breaks_without_asking_a_canary() -> None:
    empty = OptionSet("dopt-0empty000", (), None)
    prediction = predict(empty, FACTS, [])
    assert prediction.as_dict()["verdict"] == "FAILED"
    assert prediction.as_dict()["diagnosis"] == "NO_CONFIGURED_SERVERS"


def test_create_dhcp_options_is_an_automatic_preflight_of_the_new_set() -> None:
    parsed = parse_event(load_event("create_dhcp_options"))
    assert isinstance(parsed, PreflightRequest)
    assert parsed.option_set_id == "dopt-0a9b8c7d6e5f40312"
    assert parsed.vpc_ids == ()
    assert parsed.automatic
    assert parsed.event_name == "CreateDhcpOptions"
    assert parsed.event_id == "8f4c2d1a-6b3e-4f7a-9c2d-1e5b7a3f9002"


def test_failed_create_dhcp_options_is_ignored() -> None:
    event = load_event("create_dhcp_options")
    event["detail"]["errorCode"] = "Client.InvalidParameterValue"
    event["detail"]["responseElements"] = None
    ignored = parse_event(event)
    assert not isinstance(ignored, PreflightRequest)
    assert "nothing changed" in ignored.reason  # type: ignore[union-attr]


def test_create_dhcp_options_without_the_new_id_is_rejected() -> None:
    event = load_event("create_dhcp_options")
    del event["detail"]["responseElements"]["dhcpOptions"]["dhcpOptionsId"]
    with pytest.raises(InvalidEvent, match="dhcpOptionsId: missing"):
        parse_event(event)
