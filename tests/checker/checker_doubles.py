"""The checker's canary doubles behind the kit's Invoke router, and the moto world they live in
(devtools/awsworld.py) with the doubles registered per canary."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3
from canary_findings import NAMES, findings, healthy, probe, stale, unreachable

from devtools.awsworld import AwsWorld, DnsExtrasStandIn
from devtools.lambdakit import REGION, InvokeReply, InvokeRouter, LambdaApiError

# A canary double gets the invocation payload and the function's environment variables and
# returns (FunctionError or None, the response payload: a document or raw bytes).
Reply = tuple[str | None, object]
CanaryBehaviour = Callable[[dict[str, Any], dict[str, str]], Reply]


@dataclass
class FakeCanary:
    """A canary in a VPC whose DNS servers listed in `dead` do not answer.

    Its execution environment sees the servers the checker expects, unless `stale_servers` is
    set: then it keeps seeing those until a configuration change (WATCHDOG_OPTION_SET) gives it
    fresh environments, or for ever when `stuck` is true.
    """

    dead: set[str] = field(default_factory=set)
    stale_servers: list[str] | None = None
    stuck: bool = False

    def __call__(self, payload: dict[str, Any], env: dict[str, str]) -> Reply:
        expected = list(payload.get("expected_nameservers") or [])
        configured = expected
        if self.stale_servers is not None and (self.stuck or "WATCHDOG_OPTION_SET" not in env):
            configured = self.stale_servers
        if configured != expected:
            return None, stale(configured, expected)
        if not configured:
            return None, findings(
                configured=[],
                expected=expected,
                code="NO_CONFIGURED_SERVERS",
                severity="FAILED",
                failing_hop="option_set",
                summary="resolv.conf has no configured nameserver: the option set hands out none",
                likely_causes=["the VPC uses the 'default' option set (no DNS servers)"],
                probes=[probe(n, outcome="TIMEOUT", elapsed_ms=1500.0) for n in NAMES],
            )
        if self.dead & set(configured):
            return None, unreachable(configured, expected)
        return None, healthy(configured, expected)


@dataclass
class CanaryDoubles(InvokeRouter):
    """Answers Invoke with in-process canary doubles, one behaviour per function name.

    Functions without a registered behaviour answer ResourceNotFoundException; `fail_next`
    queues error codes (e.g. TooManyRequestsException) returned before the canary runs.
    """

    environment_of: Callable[[str], dict[str, str]]
    canaries: dict[str, CanaryBehaviour] = field(default_factory=dict)
    fail_next: dict[str, list[str]] = field(default_factory=dict)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def invoke(self, function: str, event: Any) -> InvokeReply:
        self.calls.append((function, event))
        queued = self.fail_next.get(function)
        if queued:
            raise LambdaApiError(queued.pop(0), 429)
        behaviour = self.canaries.get(function)
        if behaviour is None:
            raise LambdaApiError("ResourceNotFoundException", 404)
        function_error, document = behaviour(event, self.environment_of(function))
        return InvokeReply(document, function_error)

    def invocations(self, name: str) -> list[dict[str, Any]]:
        return [payload for called, payload in self.calls if called == name]


class World(AwsWorld):
    """moto's EC2/Lambda/SNS/SQS/DynamoDB as the checker sees them, plus the canary doubles."""

    # DNS Firewall and Route 53 Profiles as the checker's clients read them (moto lacks them).
    dns_extras: DnsExtrasStandIn | None = None

    def __init__(self, session: boto3.session.Session | None = None) -> None:
        super().__init__(session, region=REGION)
        self.resources = self.checker_resources()
        self.router = CanaryDoubles(self.function_environment)

    @property
    def topic_arn(self) -> str:
        return self.resources.topic_arn

    @property
    def table_name(self) -> str:
        return self.resources.table_name

    def add_canary(  # type: ignore[override]  # the behaviour comes third, as the tests pass it
        self,
        vpc_id: str,
        name: str,
        behaviour: CanaryBehaviour | None = None,
        variables: dict[str, str] | None = None,
        **options: Any,
    ) -> str:
        """A canary of the VPC; Invoke runs `behaviour` (None: the function is gone)."""
        arn = super().add_canary(vpc_id, name, variables=variables, **options)
        if behaviour is not None:
            self.router.canaries[name] = behaviour
        return arn

    def canary_dead(self, name: str, server: str) -> None:
        """Make `server` unreachable for the FakeCanary registered as `name`."""
        canary = self.router.canaries[name]
        assert isinstance(canary, FakeCanary), f"{name} is not a FakeCanary"
        canary.dead.add(server)
