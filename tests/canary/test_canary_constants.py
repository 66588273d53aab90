"""One owner for boundary names: the canary template and the handler agree with constants.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from dns_canary import constants
from dns_canary.canary import run_window
from samtranslator.yaml_helper import yaml_parse

pytestmark = pytest.mark.unit

CANARY_TEMPLATE = Path(__file__).resolve().parents[2] / "canary-template.yaml"
POWERTOOLS = {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_LOG_LEVEL"}


def _canary_function() -> dict[str, Any]:
    template: dict[str, Any] = yaml_parse(CANARY_TEMPLATE.read_text())
    [function] = [
        resource
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Serverless::Function"
    ]
    return function


def test_canary_template_sets_exactly_the_settings_the_canary_reads() -> None:
    variables = _canary_function()["Properties"]["Environment"]["Variables"]

    assert set(variables) - POWERTOOLS == set(constants.SETTING_VARIABLES)
    assert variables[constants.ENV_RESOLV_CONF_PATH] == constants.DEFAULT_RESOLV_CONF_PATH
    assert variables[constants.ENV_AMAZON_DNS_SERVER] == constants.DEFAULT_AMAZON_DNS_SERVER
    assert int(variables[constants.ENV_DNS_PORT]) == constants.DEFAULT_DNS_PORT
    assert int(variables[constants.ENV_DEADLINE_MARGIN_MS]) == constants.DEFAULT_DEADLINE_MARGIN_MS


def test_canary_template_parameters_stay_within_the_canarys_limits() -> None:
    parameters = yaml_parse(CANARY_TEMPLATE.read_text())["Parameters"]

    deadline = parameters["CanaryDeadlineMs"]
    assert int(deadline["Default"]) == constants.DEFAULT_DEADLINE_MS
    assert int(deadline["MinValue"]) >= constants.MIN_DEADLINE_MS
    assert int(deadline["MaxValue"]) <= constants.MAX_DEADLINE_MS
    latency = parameters["ProbeMaxLatencyMs"]
    assert int(latency["Default"]) == constants.DEFAULT_MAX_LATENCY_MS
    assert int(latency["MaxValue"]) <= constants.MAX_LATENCY_MS
    assert parameters["ProbeNames"]["Default"] == constants.DEFAULT_PROBE_NAMES


@pytest.mark.parametrize(
    ("plan_ms", "remaining_ms", "deadline_ms", "clipped"),
    [(1500, 30_000, 1500, False), (5000, 700, 450, True), (1500, 100, 0, True)],
)
def test_one_expiry_is_computed_from_the_start_and_the_effective_deadline(
    plan_ms: int, remaining_ms: int, deadline_ms: int, clipped: bool
) -> None:
    window = run_window(plan_ms, remaining_ms, constants.DEFAULT_DEADLINE_MARGIN_MS, started=100.0)

    assert window.deadline_ms == deadline_ms
    assert window.deadline_clipped is clipped
    assert window.expiry == 100.0 + deadline_ms / 1000
