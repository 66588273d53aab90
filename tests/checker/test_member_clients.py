"""Member accounts' clients are cheap to build: only the operations the adapters call, hooks of
the base session still reach them, and a bounded number of places keep theirs (offline: the
session's hooks answer the calls)."""

from __future__ import annotations

import ast
import inspect
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse, HTTPHeaders
from botocore.stub import Stubber
from dns_watchdog.aws import (
    canaries,
    dns_discovery,
    invoker,
    log_evidence,
    reachability,
    vpc_functions,
    vpcs,
)
from dns_watchdog.aws.sessions import AccountSessions
from dns_watchdog.domain.place import Place
from dns_watchdog.flow.places import member_operations

pytestmark = pytest.mark.unit

HOME = "123456789012"
MEMBER = "222222222222"
REGION = "eu-west-1"


def answered(parsed: dict[str, Any]) -> tuple[AWSResponse, dict[str, Any]]:
    """What a before-call hook returns to answer a call (no request is made)."""
    return AWSResponse("local://hook", 200, HTTPHeaders(), None), {
        **parsed,
        "ResponseMetadata": {"HTTPStatusCode": 200},
    }


def sessions_with(session: boto3.session.Session, **options: Any) -> AccountSessions:
    """AccountSessions whose AssumeRole answers from a Stubber (as often as asked)."""
    sts = session.client("sts")
    stubber = Stubber(sts)
    credentials = {
        "AccessKeyId": "ASIAMEMBEREXAMPLE0",
        "SecretAccessKey": "secret",
        "SessionToken": "token",
        "Expiration": datetime.now(UTC) + timedelta(hours=1),
    }
    for _ in range(5):
        stubber.add_response("assume_role", {"Credentials": credentials})
    stubber.activate()
    return AccountSessions(
        home_account=HOME,
        partition="aws",
        member_role_name="vpc-dns-watchdog-member",
        sts_client=sts,
        session=session,
        **options,
    )


def test_member_clients_have_only_the_checkers_operations_and_the_sessions_hooks(
    aws_env: None,
) -> None:
    # Given a session, and the checker's operations (the blocking rule on: its EC2 calls too;
    # workload evidence on: its Logs calls and ListFunctions)
    session = boto3.session.Session(region_name=REGION)
    settings: Any = type(
        "Settings",
        (),
        {"name_blocking_rule": True, "workload_evidence": True, "private_dns_discovery": True},
    )()
    sessions = sessions_with(session, operations=member_operations(settings))
    # and a hook put on the session after the sessions object was made
    session.events.register(
        "before-call.ec2.DescribeVpcs", lambda **_: answered({"Vpcs": [{"VpcId": "vpc-1"}]})
    )

    # When a member place's clients are built
    clients = sessions.clients(Place(MEMBER, REGION))

    # Then they can call what the adapters call, and nothing else
    assert clients.ec2.describe_vpcs()["Vpcs"] == [{"VpcId": "vpc-1"}]
    assert hasattr(clients.ec2, "create_network_insights_path")
    assert not hasattr(clients.ec2, "run_instances")
    assert hasattr(clients.lambda_, "invoke")
    assert not hasattr(clients.lambda_, "delete_function")
    assert clients.tagging.can_paginate("get_resources")
    assert clients.lambda_.get_waiter("function_updated_v2").name == "FunctionUpdatedV2"
    assert clients.ec2.meta.region_name == REGION
    # and discovery's clients (PrivateDnsDiscovery on) only the reads discovery makes
    found = sessions.discovery_clients(Place(MEMBER, REGION))
    assert hasattr(clients.ec2, "describe_vpc_endpoints")
    assert hasattr(found.route53, "list_hosted_zones_by_vpc")
    assert not hasattr(found.route53, "change_resource_record_sets")
    assert hasattr(found.resolver, "list_firewall_domains")
    assert not hasattr(found.resolver, "associate_resolver_rule")
    assert hasattr(found.profiles, "list_profile_resource_associations")
    assert not hasattr(found.profiles, "disassociate_profile")
    assert hasattr(clients.lambda_, "list_functions")
    logs = sessions.client("logs", MEMBER, REGION)
    assert hasattr(logs, "start_query")
    assert hasattr(logs, "stop_query")
    assert not hasattr(logs, "delete_log_group")


def test_without_workload_evidence_member_clients_cannot_read_logs(aws_env: None) -> None:
    settings: Any = type(
        "Settings",
        (),
        {"name_blocking_rule": False, "workload_evidence": False, "private_dns_discovery": False},
    )()
    operations = member_operations(settings)
    assert "logs" not in operations


def _called_operations(module: ModuleType, service: str) -> set[str]:
    """The operations of `service` the module calls by method, paginator or waiter name."""
    client = boto3.session.Session(region_name=REGION).client(service)  # type: ignore[call-overload]
    operations = client.meta.method_to_api_mapping  # python name -> operation
    waiters = {name: client.get_waiter(name).config.operation for name in client.waiter_names}
    called: set[str] = set()
    for node in ast.walk(ast.parse(inspect.getsource(module))):
        if isinstance(node, ast.Attribute) and node.attr in operations:
            called.add(operations[node.attr])  # a method handed on (to a pager) counts too
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        name = node.func.attr
        argument = node.args[0] if node.args else None
        literal = argument.value if isinstance(argument, ast.Constant) else None
        if name in operations:
            called.add(operations[name])
        elif name == "get_paginator" and isinstance(literal, str):
            called.add(operations[literal])
        elif name == "get_waiter" and isinstance(literal, str):
            called.add(waiters[literal])
    return called


@pytest.mark.parametrize(
    ("module", "service", "declared"),
    [
        (vpcs, "ec2", vpcs.EC2_OPERATIONS),
        (reachability, "ec2", reachability.ANALYZER_OPERATIONS),
        (invoker, "lambda", invoker.LAMBDA_OPERATIONS),
        (canaries, "resourcegroupstaggingapi", canaries.TAGGING_OPERATIONS),
        (log_evidence, "logs", log_evidence.LOGS_OPERATIONS),
        (vpc_functions, "lambda", vpc_functions.LIST_FUNCTIONS_OPERATIONS),
        (dns_discovery, "route53", dns_discovery.ROUTE53_OPERATIONS),
        (dns_discovery, "route53resolver", dns_discovery.RESOLVER_OPERATIONS),
        (dns_discovery, "route53profiles", dns_discovery.PROFILES_OPERATIONS),
        (dns_discovery, "ec2", dns_discovery.DISCOVERY_EC2_OPERATIONS),
    ],
)
def test_every_operation_an_adapter_calls_is_in_its_declared_list(
    aws_env: None, module: ModuleType, service: str, declared: frozenset[str]
) -> None:
    called = _called_operations(module, service)
    assert called, f"found no {service} call in {module.__name__}"
    assert called <= declared, f"{module.__name__} calls undeclared {sorted(called - declared)}"


def test_the_clients_of_at_most_so_many_places_are_kept(aws_env: None) -> None:
    # Given room for the clients of two places
    sessions = sessions_with(boto3.session.Session(region_name=REGION), max_cached_places=2)
    first = sessions.clients(Place(HOME, "us-east-1"))
    assert sessions.clients(Place(HOME, "us-east-1")).ec2 is first.ec2  # kept

    # When two more places come
    sessions.clients(Place(HOME, "eu-west-1"))
    sessions.clients(Place(HOME, "ap-southeast-2"))

    # Then the least recently used place's clients were let go, and are built anew
    again = sessions.clients(Place(HOME, "us-east-1"))
    assert again.ec2 is not first.ec2
    assert sessions.clients(Place(HOME, "ap-southeast-2")).ec2.meta.region_name == "ap-southeast-2"
