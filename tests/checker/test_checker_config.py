"""Checker settings: read once, validated, errors naming the variable."""

from __future__ import annotations

import pytest
from dns_watchdog.config import ConfigError, load_config

pytestmark = pytest.mark.unit

REQUIRED = {
    "ALERT_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:alerts",
    "STATE_TABLE_NAME": "state",
    "AWS_REGION": "us-east-1",
}


def test_defaults_follow_the_contract() -> None:
    config = load_config(REQUIRED)
    assert config.probe_plan is None
    assert config.canary_deadline_ms == 1500
    assert config.canary_invoke_timeout_s == 10
    assert config.invoke_max_attempts == 4
    assert config.refresh_budget_s == 60
    assert config.max_concurrent_invocations == 100
    assert config.lint_allowed_networks == ()


@pytest.mark.parametrize("variable", ["ALERT_TOPIC_ARN", "STATE_TABLE_NAME"])
@pytest.mark.parametrize("value", [None, "", "  "])
def test_missing_required_setting_is_named(variable: str, value: str | None) -> None:
    environ = dict(REQUIRED)
    if value is None:
        del environ[variable]
    else:
        environ[variable] = value
    with pytest.raises(ConfigError, match=f"{variable}: required setting is not set"):
        load_config(environ)


def test_region_falls_back_to_aws_default_region() -> None:
    environ = {k: v for k, v in REQUIRED.items() if k != "AWS_REGION"}
    assert load_config({**environ, "AWS_DEFAULT_REGION": "eu-west-1"}).region == "eu-west-1"
    with pytest.raises(ConfigError, match="AWS_REGION: required setting is not set"):
        load_config(environ)


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (
            "CANARY_DEADLINE_MS",
            "50",
            "CANARY_DEADLINE_MS: Input should be greater than or equal to 100",
        ),
        ("INVOKE_MAX_ATTEMPTS", "many", "INVOKE_MAX_ATTEMPTS: Input should be a valid integer"),
        ("MAX_CONCURRENT_INVOCATIONS", "0", "MAX_CONCURRENT_INVOCATIONS: Input should be greater"),
        ("PROBE_PLAN", "{not json", "PROBE_PLAN: Invalid JSON"),
        (
            "PROBE_PLAN",
            '{"probes": []}',
            r"PROBE_PLAN \(probes\): List should have at least 1 item",
        ),
        ("PROBE_PLAN", '{"probe": [{"name": "a"}]}', r"PROBE_PLAN \(probes\): field required"),
    ],
)
def test_invalid_settings_are_named(variable: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config({**REQUIRED, variable: value})


def test_probe_plan_is_parsed() -> None:
    config = load_config({**REQUIRED, "PROBE_PLAN": '{"probes": [{"name": "db.corp.example"}]}'})
    assert config.probe_plan is not None
    assert config.probe_plan.probes == [{"name": "db.corp.example"}]


def test_lint_allowed_networks_are_parsed_cidrs() -> None:
    config = load_config({**REQUIRED, "LINT_ALLOWED_NETWORKS": "127.0.0.0/8, ::1/128"})
    assert [str(n) for n in config.lint_allowed_networks] == ["127.0.0.0/8", "::1/128"]


def test_a_bad_lint_allowed_network_is_named() -> None:
    with pytest.raises(ConfigError, match=r"LINT_ALLOWED_NETWORKS: .*'10\.0\.0\.0/40'"):
        load_config({**REQUIRED, "LINT_ALLOWED_NETWORKS": "10.0.0.0/40"})


def test_self_healing_is_off_by_default_and_needs_the_checkers_role_when_on() -> None:
    config = load_config(REQUIRED)
    assert config.self_healing == "off"
    assert config.self_healing_max_age_hours == 168
    for mode in ("on", "dry-run"):
        with pytest.raises(
            ConfigError, match=f"CHECKER_ROLE_ARN is required when SELF_HEALING is {mode}"
        ):
            load_config({**REQUIRED, "SELF_HEALING": mode})
    role = "arn:aws:iam::123456789012:role/watchdog-checker"
    healing = load_config({**REQUIRED, "SELF_HEALING": "on", "CHECKER_ROLE_ARN": role})
    assert healing.self_healing == "on"
    assert healing.checker_role_arn == role


def test_an_unknown_self_healing_mode_is_named() -> None:
    with pytest.raises(ConfigError, match="SELF_HEALING: Input should be 'off', 'dry-run' or 'on'"):
        load_config({**REQUIRED, "SELF_HEALING": "yes"})


def test_naming_the_blocking_rule_is_off_by_default_with_a_60_s_budget() -> None:
    config = load_config(REQUIRED)
    assert config.name_blocking_rule is False
    assert config.blocking_analysis_budget_s == 60
    on = load_config({**REQUIRED, "NAME_BLOCKING_RULE": "true", "BLOCKING_ANALYSIS_BUDGET_S": "90"})
    assert on.name_blocking_rule is True
    assert on.blocking_analysis_budget_s == 90


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("NAME_BLOCKING_RULE", "maybe", "NAME_BLOCKING_RULE: Input should be a valid boolean"),
        ("BLOCKING_ANALYSIS_BUDGET_S", "2", "BLOCKING_ANALYSIS_BUDGET_S: Input should be greater"),
        ("BLOCKING_ANALYSIS_BUDGET_S", "301", "BLOCKING_ANALYSIS_BUDGET_S: Input should be less"),
    ],
)
def test_bad_blocking_rule_settings_are_named(variable: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config({**REQUIRED, variable: value})
