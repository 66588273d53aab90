"""What ``sam local invoke`` does, without Docker: every function of the template, loaded from its
CodeUri and Handler, with the template's environment plus events/env.json, answers its sample
events without an unhandled error.

AWS is moto; DNS is the DNS lab (real servers on loopback), never the machine's resolver.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from iac_template import (
    MAIN_TEMPLATE,
    SAMPLE_CANARY_SG_ID,
    SAMPLE_REGION,
    SAMPLE_VPC_ID,
    Resolver,
    load_template,
    serverless_functions,
)

from devtools.awsworld import AwsWorld, local_aws
from devtools.dnslab import DnsLab
from devtools.lambdakit import LambdaHandler, load_event, load_handler

pytestmark = pytest.mark.iac

pytestmark = pytest.mark.iac

FUNCTIONS = serverless_functions(MAIN_TEMPLATE)
ENV_FILE: dict[str, dict[str, str]] = load_event("env.json")
# Changes to what VPCs share (rules, endpoints, firewall rules, profile resources): their records
# name no VPC, so the checker checks every watched VPC of the place, naming the change.
SHARED_RESOURCE_EVENTS = [
    "update_resolver_rule.json",
    "update_resolver_endpoint.json",
    "disassociate_resolver_endpoint_ip_address.json",
    "delete_resolver_endpoint.json",
    "update_firewall_domains.json",
    "create_firewall_rule.json",
    "update_firewall_rule.json",
    "delete_firewall_rule.json",
    "modify_vpc_endpoint.json",
    "associate_resource_to_profile.json",
    "disassociate_resource_from_profile.json",
    "update_profile_resource_association.json",
]
CHECKER_EVENTS = [
    "associate_dhcp_options.json",
    "associate_dhcp_options_default.json",
    "associate_dhcp_options_failed.json",
    "modify_vpc_attribute.json",
    "associate_resolver_rule.json",
    "disassociate_resolver_rule.json",
    "associate_vpc_with_hosted_zone.json",
    "disassociate_vpc_from_hosted_zone.json",
    "associate_firewall_rule_group.json",
    "disassociate_firewall_rule_group.json",
    "revoke_security_group_egress.json",
    "modify_security_group_rules.json",
    "replace_network_acl_entry.json",
    "update_resolver_dnssec_config.json",
    "update_firewall_config.json",
    "create_vpc_endpoint.json",
    "associate_profile.json",
    "disassociate_profile.json",
    *SHARED_RESOURCE_EVENTS,
    "scheduled_sweep.json",
    "manual_check.json",
]
SAMPLE_NACL_ID = "acl-0a1b2c3d4e5f60099"
SAMPLE_DHCP_OPTIONS_ID = "dopt-0f1e2d3c4b5a69788"
DIAGNOSIS_CODES = {
    "HEALTHY",
    "SLOW_ANSWERS",
    "UNEXPECTED_ANSWERS",
    "PARTIAL_FAILURE",
    "CUSTOM_SERVER_MISSING_NAMES",
    "RESOLVER_RULE_TARGETS_FAILING",
    "CONFIGURED_SERVER_UNREACHABLE",
    "CONFIGURED_SERVER_ERRORS",
    "FORWARDER_FAILING",
    "NO_CONFIGURED_SERVERS",
    "NO_NAMESERVER",
    "STALE_CONFIG",
    "RESOLUTION_FAILED",
}


def load_lambda_handler(logical_id: str) -> LambdaHandler:
    """``Handler`` (module.function) from ``CodeUri`` as the runtime imports it, fresh each time."""
    _, resource, code_dir = FUNCTIONS[logical_id]
    return load_handler(code_dir, resource["Properties"]["Handler"])


def template_environment(logical_id: str, values: dict[str, Any]) -> dict[str, str]:
    template_path, resource, _ = FUNCTIONS[logical_id]
    variables = resource["Properties"].get("Environment", {}).get("Variables", {})
    resolved = Resolver(load_template(template_path), values).resolve(variables)
    return {name: str(value) for name, value in resolved.items()}


def template_timeout_ms(logical_id: str) -> int:
    template_path, resource, _ = FUNCTIONS[logical_id]
    timeout = Resolver(load_template(template_path), {}).resolve(resource["Properties"]["Timeout"])
    return int(timeout) * 1000


def test_the_template_has_the_functions_env_json_configures() -> None:
    assert set(FUNCTIONS) == {"CheckerFunction", "CanaryFunction"}
    assert set(ENV_FILE) == set(FUNCTIONS)


@pytest.mark.parametrize("logical_id", ["CheckerFunction", "CanaryFunction"])
def test_env_json_sets_only_variables_the_template_declares(logical_id: str) -> None:
    # sam local invoke --env-vars silently ignores variables the template does not declare.
    declared = FUNCTIONS[logical_id][1]["Properties"]["Environment"]["Variables"]
    assert set(ENV_FILE[logical_id]) <= set(declared)


def test_env_json_points_only_at_local_addresses() -> None:
    text = json.dumps(ENV_FILE)
    for address in ("169.254.169.253", "169.254.78.1", "8.8.8.8", "1.1.1.1"):
        assert address not in text


# ---------------------------------------------------------------- checker


@pytest.fixture
def checker_world(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """moto with the topic, table, VPC, option set, security group and NACL the samples name."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", SAMPLE_REGION)
    monkeypatch.setenv("AWS_REGION", SAMPLE_REGION)
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    with local_aws(region=SAMPLE_REGION):
        settings = ENV_FILE["CheckerFunction"]
        world = AwsWorld(region=SAMPLE_REGION)
        world.create_alert_topic(settings["ALERT_TOPIC_ARN"].rsplit(":", 1)[1])
        world.create_state_table(settings["STATE_TABLE_NAME"])
        vpc_id = world.create_vpc("10.0.0.0/16")
        options_id = world.option_set("10.1.1.10")
        world.associate(vpc_id, options_id)
        group_id = world.create_security_group(vpc_id)
        acl_id = world.ec2.create_network_acl(VpcId=vpc_id)["NetworkAcl"]["NetworkAclId"]
        # moto picks its own ids: the sample events are rewritten to name these resources.
        yield {
            SAMPLE_VPC_ID: vpc_id,
            SAMPLE_DHCP_OPTIONS_ID: options_id,
            SAMPLE_CANARY_SG_ID: group_id,
            SAMPLE_NACL_ID: acl_id,
        }


@pytest.mark.parametrize("sample", CHECKER_EVENTS)
def test_checker_answers_its_sample_event(
    checker_world: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    lambda_context_factory: Callable[..., Any],
    sample: str,
) -> None:
    # Given the checker configured as deployed (template), then as sam local would (env.json)
    environment = template_environment(
        "CheckerFunction",
        {
            "AlertTopic": "set-by-env-json",
            "StateTable": "set-by-env-json",
            "CheckerRole.Arn": "arn:aws:iam::123456789012:role/vpc-dns-watchdog-CheckerRole-AbC123",
        },
    )
    environment.update(ENV_FILE["CheckerFunction"])
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    text = json.dumps(load_event(sample))
    for sample_id, moto_id in checker_world.items():
        text = text.replace(sample_id, moto_id)
    handler = load_lambda_handler("CheckerFunction")
    context = lambda_context_factory(
        function_name="vpc-dns-watchdog-CheckerFunction",
        timeout_ms=template_timeout_ms("CheckerFunction"),
        memory_limit_in_mb=512,
    )

    # When the sample event arrives
    result = handler(json.loads(text), context)

    # Then the checker answers (no unhandled error), recognises the event and finds the VPC it
    # names (through DescribeSecurityGroups / DescribeNetworkAcls where the event names no VPC)
    assert isinstance(result, dict)
    assert result.get("status") != "rejected", result
    if sample == "associate_dhcp_options_failed.json":
        assert result["status"] == "ignored"
    elif sample in SHARED_RESOURCE_EVENTS:
        assert result["status"] == "checked", result
        assert result["event_name"] == load_event(sample)["detail"]["eventName"]
    elif sample != "scheduled_sweep.json":
        assert checker_world[SAMPLE_VPC_ID] in json.dumps(result, default=str), result


# ---------------------------------------------------------------- canary

AWS_NAMES = {
    "sts.us-east-1.amazonaws.com": {"A": ["52.94.0.1"]},
    "lambda.us-east-1.amazonaws.com": {"A": ["52.94.0.2"]},
    "db.corp.example": {"A": ["10.20.0.5"]},
}


@pytest.mark.parametrize("sample", ["canary_probe.json", None], ids=["canary_probe", "empty"])
def test_canary_answers_with_a_diagnosis(
    monkeypatch: pytest.MonkeyPatch,
    lambda_context_factory: Callable[..., Any],
    sample: str | None,
) -> None:
    with DnsLab() as lab:
        # Given a VPC whose option set names a server that answers, behind the forwarder
        corp = lab.add_server("corp", records=AWS_NAMES)
        amazon = lab.add_server("amazon", records=AWS_NAMES)
        lab.add_forwarder([corp.address])
        lab.write_resolv_conf(configured=[corp.address])
        # and the canary configured by the template, env.json, then pointed at the lab
        environment = template_environment("CanaryFunction", {})
        environment.update(ENV_FILE["CanaryFunction"])
        environment.update(lab.canary_env(amazon))
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("AWS_REGION", SAMPLE_REGION)
        handler = load_lambda_handler("CanaryFunction")
        context = lambda_context_factory(
            function_name="vpc-dns-watchdog-CanaryFunction",
            timeout_ms=template_timeout_ms("CanaryFunction"),
            memory_limit_in_mb=256,
        )
        event = load_event(sample) if sample else {}

        # When the canary runs the sample plan
        result = handler(event, context)

    # Then it returns findings with a diagnosis, well within its Lambda timeout
    assert result["diagnosis"]["code"] in DIAGNOSIS_CODES
    assert result["elapsed_ms"] < template_timeout_ms("CanaryFunction")
    if sample is None:
        # the defaults (PROBE_NAMES from the template) resolve through the forwarder
        assert result["diagnosis"]["code"] == "HEALTHY", result["diagnosis"]
        assert [probe["name"] for probe in result["probes"]] == [
            "sts.us-east-1.amazonaws.com",
            "lambda.us-east-1.amazonaws.com",
        ]
    else:
        # the sample plan expects the option set's server 10.1.1.10, this environment has the lab's
        assert result["stale"] is True
        assert result["diagnosis"]["code"] == "STALE_CONFIG"
