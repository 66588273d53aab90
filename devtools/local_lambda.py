"""A local stand-in for the Lambda platform, for the demo and end-to-end tests.

It answers the Lambda ``Invoke`` calls of boto3 clients (created under moto) by running the real
canary handler in this process, inside a simulated VPC execution environment:

- each environment gets a resolv.conf generated from the VPC's option set *at the time the
  environment was created*, exactly shaped like Lambda's (``; configured nameserver X`` lines and a
  ``nameserver`` pointing at a forwarder that plays 169.254.78.1);
- its forwarder relays to those same servers (AmazonProvidedDNS is the VPC base + 2 address);
- an environment stays warm until the function's configuration changes (its ``RevisionId``) or
  :meth:`LocalCanaryPlatform.recycle` retires it, so a warm canary keeps seeing an old option set,
  the worst case the checker's refresh step handles;
- a run longer than the function's timeout, or an exception, comes back the way Lambda reports it
  (``FunctionError: Unhandled`` with the ``Sandbox.Timedout`` or error payload).

Everything it starts lives in the given :class:`DnsLab`, on loopback.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import threading
import time
import traceback
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3

from devtools.lambdakit import (
    CANARY_DIR,
    FakeLambdaContext,
    InvokeReply,
    InvokeRouter,
    LambdaHandler,
    environment_variables,
    load_handler,
)

if TYPE_CHECKING:
    from devtools.dnslab import DnsLab, LabForwarder, LabServer

_handler_lock = threading.Lock()
_ENVIRONMENT_DEFINING = (
    "RevisionId",
    "CodeSha256",
    "Environment",
    "VpcConfig",
    "MemorySize",
    "Timeout",
    "Runtime",
)


@dataclass
class ExecutionEnvironment:
    """One warm environment of a canary: its resolv.conf and forwarder are fixed at creation."""

    revision_id: str
    configured: list[str]
    resolv_conf: Path
    forwarder: LabForwarder | None
    handler: LambdaHandler
    invocations: int = 0


def amazon_provided_dns_address(cidr: str) -> str:
    """AmazonProvidedDNS inside a VPC: the primary CIDR's base address + 2."""
    return str(ipaddress.ip_network(cidr, strict=False).network_address + 2)


@dataclass
class LocalCanaryPlatform(InvokeRouter):
    """Routes ``lambda.Invoke`` to the real canary code, through the DNS lab."""

    lab: DnsLab
    amazon: LabServer
    region: str = "us-east-1"
    environments: dict[str, ExecutionEnvironment] = field(default_factory=dict)
    invocations: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    # Functions in other accounts or regions (organization mode): name -> (a session acting in
    # that account, its region). The rest live in the default session's account and `region`.
    elsewhere: dict[str, tuple[boto3.session.Session, str]] = field(default_factory=dict)

    def place(self, function_name: str, session: boto3.session.Session, region: str) -> None:
        """The function lives in `session`'s account, in `region`."""
        self.elsewhere[function_name] = (session, region)

    def _client(self, function_name: str, service: str) -> Any:
        session, region = self.elsewhere.get(function_name, (None, self.region))
        if session is None:
            return boto3.client(service, region_name=region)  # type: ignore[call-overload]
        return session.client(service, region_name=region)  # type: ignore[call-overload]

    def close(self) -> None:
        for environment in self.environments.values():
            if environment.forwarder is not None:
                self.lab.remove(environment.forwarder)
        self.environments.clear()

    def recycle(self, function_name: str) -> None:
        """Retire the function's warm environment, as Lambda may do with idle ones at any time:
        the next invocation starts a fresh one, with the VPC's current option set."""
        environment = self.environments.pop(function_name, None)
        if environment is not None and environment.forwarder is not None:
            self.lab.remove(environment.forwarder)

    # the simulated platform --------------------------------------------------------------
    def invoke(self, function: str, event: Any) -> InvokeReply:
        lam = self._client(function, "lambda")
        config = lam.get_function_configuration(FunctionName=function)
        name = config["FunctionName"]
        self.invocations.append((name, event))
        environment = self._environment_for(name, config)
        environment.invocations += 1
        timeout_s = float(config.get("Timeout", 3))
        variables = dict(config.get("Environment", {}).get("Variables", {}))
        variables.update(
            {
                "RESOLV_CONF_PATH": str(environment.resolv_conf),
                "AMAZON_DNS_SERVER": self.amazon.address,
                "AMAZON_DNS_SERVER_IPV6": "::1",
                "DNS_PORT": str(self.lab.port),
                "AWS_REGION": self.elsewhere.get(name, (None, self.region))[1],
                "AWS_LAMBDA_FUNCTION_NAME": name,
            }
        )
        context = FakeLambdaContext(
            function_name=name,
            timeout_ms=int(timeout_s * 1000),
            memory_limit_in_mb=int(config.get("MemorySize", 128)),
        )
        started = time.monotonic()
        try:
            with _handler_lock, environment_variables(variables):
                result = environment.handler(event, context)
        except Exception as exc:  # reported the way Lambda reports it: FunctionError
            error = {
                "errorMessage": str(exc),
                "errorType": type(exc).__name__,
                "stackTrace": traceback.format_tb(exc.__traceback__),
            }
            return InvokeReply(error, "Unhandled")
        elapsed = time.monotonic() - started
        if elapsed > timeout_s:
            timed_out = {
                "errorType": "Sandbox.Timedout",
                "errorMessage": f"RequestId: {context.aws_request_id} Error: "
                f"Task timed out after {timeout_s:.2f} seconds",
            }
            return InvokeReply(timed_out, "Unhandled")
        return InvokeReply(result)

    def _environment_for(self, name: str, config: Mapping[str, Any]) -> ExecutionEnvironment:
        # A new environment whenever the configuration changes, as Lambda does after an update.
        revision = hashlib.sha256(
            json.dumps(
                {key: config.get(key) for key in _ENVIRONMENT_DEFINING}, sort_keys=True
            ).encode()
        ).hexdigest()
        environment = self.environments.get(name)
        if environment is not None and environment.revision_id == revision:
            return environment
        if environment is not None and environment.forwarder is not None:
            self.lab.remove(environment.forwarder)
        ec2 = self._client(name, "ec2")
        vpc_id = self.vpc_of(config, ec2)
        configured = self.option_set_servers(vpc_id, ec2)
        outside = [server for server in configured if not server.startswith(self.lab.prefix + ".")]
        if outside:
            # Network safety: the local platform only ever talks to the lab's own addresses.
            raise ValueError(
                f"option set of {vpc_id} names {outside}, outside the DNS lab {self.lab.cidr}; "
                "build local VPCs with CidrBlock=lab.cidr and lab server addresses"
            )
        forwarder = self.lab.add_forwarder(configured)
        path = self.lab.write_resolv_conf(
            configured=configured,
            nameservers=[forwarder.address],
            filename=f"resolv-{name}-{uuid.uuid4().hex[:8]}.conf",
        )
        # A fresh module per environment: module-level state (settings read once) starts anew,
        # as in a new Lambda execution environment.
        handler = load_handler(CANARY_DIR)
        environment = ExecutionEnvironment(revision, configured, path, forwarder, handler)
        self.environments[name] = environment
        return environment

    def vpc_of(self, config: Mapping[str, Any], ec2: Any = None) -> str:
        """The VPC of the function's subnets (where Lambda would place its ENIs)."""
        subnets = config.get("VpcConfig", {}).get("SubnetIds", [])
        if not subnets:
            raise ValueError(f"{config['FunctionName']} is not attached to a VPC")
        ec2 = ec2 or boto3.client("ec2", region_name=self.region)
        vpc_id: str = ec2.describe_subnets(SubnetIds=subnets[:1])["Subnets"][0]["VpcId"]
        return vpc_id

    def option_set_servers(self, vpc_id: str, ec2: Any = None) -> list[str]:
        """The DNS servers a new environment in the VPC would get from its option set."""
        ec2 = ec2 or boto3.client("ec2", region_name=self.region)
        vpc = ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]
        option_set_id = vpc.get("DhcpOptionsId", "default")
        if option_set_id == "default":
            return []
        option_set = ec2.describe_dhcp_options(DhcpOptionsIds=[option_set_id])["DhcpOptions"][0]
        servers: list[str] = []
        for entry in option_set.get("DhcpConfigurations", []):
            if entry["Key"] == "domain-name-servers":
                for value in entry["Values"]:
                    server = value["Value"]
                    if server == "AmazonProvidedDNS":
                        server = amazon_provided_dns_address(vpc["CidrBlock"])
                    servers.append(server)
        return servers
