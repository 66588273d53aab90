"""Where a request is checked: the adapters of each Place, and a run's crew built from them.

Single-account mode: one place, the configured region, the home account's credentials; a
request for anywhere else is refused with the reason. Organization mode: a place's clients come
from `AccountSessions` (cached there, renewed with the member role's credentials); state items
outside the home place are keyed by place.

Adapters (clients) may be cached across invocations; a crew is made per run, with the run's
budget, so no run's time or findings outlive it. Optional features' code (self-healing, the
blocking-rule analysis, workload evidence) is imported only when the feature is on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from dns_watchdog.aws.canaries import TAGGING_OPERATIONS, CanaryDirectory
from dns_watchdog.aws.invoker import LAMBDA_OPERATIONS, CanaryInvoker
from dns_watchdog.aws.sessions import DiscoveryClients
from dns_watchdog.aws.state import StateStore
from dns_watchdog.aws.vpcs import EC2_OPERATIONS, VpcDirectory
from dns_watchdog.aws.workloads import (
    WORKLOAD_EC2_OPERATIONS,
    WORKLOAD_LAMBDA_OPERATIONS,
    WorkloadDirectory,
)
from dns_watchdog.config import CheckerConfig
from dns_watchdog.domain.errors import AccessProblem, MemberAccessDenied
from dns_watchdog.domain.place import Place
from dns_watchdog.domain.request import CheckRequest
from dns_watchdog.flow.blast import BlastReader
from dns_watchdog.flow.budget import RunBudget
from dns_watchdog.flow.fleet import CanaryFleet
from dns_watchdog.flow.notifier import Notifier
from dns_watchdog.flow.option_sets import OptionSets
from dns_watchdog.flow.preflight import PreflightCheck
from dns_watchdog.flow.run import Crew
from dns_watchdog.flow.scope import Scope
from dns_watchdog.observability import logger

if TYPE_CHECKING:
    from dns_watchdog.aws.sessions import AccountSessions
    from dns_watchdog.flow.blocking_rule import BlockingRuleNamer
    from dns_watchdog.flow.discovery import DiscoveryKeeper
    from dns_watchdog.flow.endpoint_health import EndpointHealthReader
    from dns_watchdog.flow.evidence import EvidenceCollector
    from dns_watchdog.flow.healer import Healer
    from dns_watchdog.flow.rollback import Rollbacker


def lambda_client_config(config: CheckerConfig) -> Config:
    """The Lambda client's settings: one connection per concurrent Invoke, no hidden retries."""
    return Config(
        max_pool_connections=config.max_concurrent_invocations,
        read_timeout=config.canary_invoke_timeout_s,
        connect_timeout=5,
        # Throttling is retried by CanaryInvoker, with full jitter; no hidden retries here.
        retries={"mode": "standard", "total_max_attempts": 1},
    )


def member_operations(config: CheckerConfig) -> dict[str, frozenset[str]]:
    """The operations member accounts' clients are built with: what the adapters call there
    (aws/sessions.py says why)."""
    ec2 = EC2_OPERATIONS | WORKLOAD_EC2_OPERATIONS
    if config.name_blocking_rule:
        from dns_watchdog.aws.reachability import ANALYZER_OPERATIONS  # noqa: PLC0415  # opt-in

        ec2 = ec2 | ANALYZER_OPERATIONS
    operations = {
        "ec2": ec2,
        "lambda": LAMBDA_OPERATIONS | WORKLOAD_LAMBDA_OPERATIONS,
        "resourcegroupstaggingapi": TAGGING_OPERATIONS,
    }
    if config.workload_evidence:
        from dns_watchdog.aws.log_evidence import LOGS_OPERATIONS  # noqa: PLC0415  # opt-in
        from dns_watchdog.aws.vpc_functions import LIST_FUNCTIONS_OPERATIONS  # noqa: PLC0415

        operations["lambda"] = operations["lambda"] | LIST_FUNCTIONS_OPERATIONS
        operations["logs"] = LOGS_OPERATIONS
    if config.private_dns_discovery:
        from dns_watchdog.aws import dns_discovery as found  # noqa: PLC0415  # on by default

        operations["ec2"] = operations["ec2"] | found.DISCOVERY_EC2_OPERATIONS
        operations["route53"] = found.ROUTE53_OPERATIONS
        from dns_watchdog.aws import endpoint_health as health  # noqa: PLC0415  # with discovery

        operations["route53resolver"] = found.RESOLVER_OPERATIONS | health.RESOLVER_OPERATIONS
        operations["route53profiles"] = found.PROFILES_OPERATIONS
        operations["cloudwatch"] = health.CLOUDWATCH_OPERATIONS
    return operations


@dataclass(frozen=True)
class Adapters:
    """The AWS adapters of one place (no run state: safe to keep between invocations)."""

    place: Place
    ec2: Any
    vpcs: VpcDirectory
    canaries: CanaryDirectory
    invoker: CanaryInvoker
    state: StateStore
    blast: BlastReader
    # The place's Lambda client (the invoker's), and its CloudWatch Logs client, built when first
    # asked for (only workload evidence reads logs).
    lambda_client: Any = None
    logs_client: Callable[[], Any] | None = None


class Places:
    """The adapters of each place a request names, and the crew of one run there."""

    def __init__(
        self,
        config: CheckerConfig,
        *,
        dynamodb: Any,
        notifier: Notifier,
        sessions: AccountSessions | None,
    ) -> None:
        self._config = config
        self._dynamodb = dynamodb
        self._notifier = notifier
        self._sessions = sessions
        self._home: Adapters | None = None

    @property
    def home(self) -> Place:
        return Place(self._config.home_account_id, self._config.region)

    def resolve(self, account_id: str | None, region: str | None) -> Place:
        """The place a request names; what it leaves out is the checker's own."""
        return Place(account_id or self.home.account, region or self.home.region)

    def crew(self, place: Place, budget: RunBudget) -> Crew:
        """One run's collaborators there; raises MemberAccessDenied when it cannot be entered."""
        config = self._config
        adapters = self._adapters(place)
        fleet = CanaryFleet(adapters.invoker, config, region=place.region)
        option_sets = OptionSets(adapters.vpcs, config.lint_allowed_networks)
        return Crew(
            config=config,
            place=place,
            organization=config.organization_mode,
            scope=Scope(adapters.vpcs, adapters.canaries),
            fleet=fleet,
            option_sets=option_sets,
            state=adapters.state,
            notifier=self._notifier,
            healer=self._healer(adapters, option_sets, fleet),
            namer=self._namer(adapters, budget),
            evidence=self._evidence(adapters, budget),
            discovery=self._discovery(adapters),
            blast=adapters.blast,
            endpoints=self._endpoint_health(adapters),
        )

    def preflight(self, place: Place) -> PreflightCheck:
        """A preflight there; raises MemberAccessDenied when it cannot be entered."""
        adapters = self._adapters(place)
        return PreflightCheck(
            Scope(adapters.vpcs, adapters.canaries),
            OptionSets(adapters.vpcs, self._config.lint_allowed_networks),
            CanaryFleet(adapters.invoker, self._config, region=place.region),
            self._notifier,
            place.region,
            blast=adapters.blast,
            state=adapters.state,
            discovery=self._discovery(adapters),
        )

    def rollback(self, place: Place) -> Rollbacker:
        """A rollback somebody asked for there; raises MemberAccessDenied when it cannot be
        entered."""
        from dns_watchdog.flow.rollback import Rollbacker  # noqa: PLC0415  # rare requests

        adapters = self._adapters(place)
        return Rollbacker(
            self._config,
            place,
            scope=Scope(adapters.vpcs, adapters.canaries),
            vpcs=adapters.vpcs,
            option_sets=OptionSets(adapters.vpcs, self._config.lint_allowed_networks),
            fleet=CanaryFleet(adapters.invoker, self._config),
            state=adapters.state,
            notifier=self._notifier,
        )

    def refused(self, request: CheckRequest, exc: MemberAccessDenied) -> dict[str, Any]:
        """A place the checker cannot enter: that request's targets are UNVERIFIED, with why.

        A change there gets one WARNING (a change nobody can check must not be silent); sweeps
        and manual checks report it in their result and log.
        """
        place = self.resolve(request.account_id, request.region)
        logger.error(
            "Cannot check in this account",
            extra={
                "account_id": exc.account,
                "region": place.region,
                "problem": str(exc.problem),
                "reason": exc.reason,
            },
        )
        published = False
        if request.change is not None:
            published = self._notifier.warn_no_access(request, exc, place)
        resources = [r.resource_id for r in request.resources] or ["*"]
        return {
            "status": "checked",
            "event_name": request.event_name,
            "trigger": request.trigger,
            "account_id": place.account,
            "region": place.region,
            "vpcs": [
                {
                    "target": resource,
                    "account_id": exc.account,
                    "region": place.region,
                    "status": "error",
                    "verdict": "UNVERIFIED",
                    "error": exc.reason,
                    "access_problem": str(exc.problem),
                }
                for resource in resources
            ],
            "alerts_published": int(published),
        }

    def _adapters(self, place: Place) -> Adapters:
        config = self._config
        if self._sessions is None or place.account is None:
            home = config.home_account_id
            if (place.account != home and home is not None) or place.region != config.region:
                raise MemberAccessDenied(
                    place.account or "?",
                    f"this watchdog runs in single-account mode and watches "
                    f"{home or 'its own account'} in {config.region} only, not {place.region}",
                    problem=AccessProblem.SINGLE_ACCOUNT_MODE,
                )
            if self._home is None:
                self._home = self._build(
                    place,
                    boto3.client("ec2"),
                    boto3.client("resourcegroupstaggingapi"),
                    boto3.client("lambda", config=lambda_client_config(config)),
                    keyed=False,
                    logs_client=lambda: boto3.client("logs"),
                )
            return self._home
        clients = self._sessions.clients(place)
        sessions, account = self._sessions, clients.account
        return self._build(
            place,
            clients.ec2,
            clients.tagging,
            clients.lambda_,
            keyed=place != self.home,
            logs_client=lambda: sessions.client("logs", account, place.region),
        )

    def _build(
        self,
        place: Place,
        ec2: Any,
        tagging: Any,
        lambda_client: Any,
        *,
        keyed: bool,
        logs_client: Callable[[], Any] | None = None,
    ) -> Adapters:
        config = self._config
        return Adapters(
            place=place,
            ec2=ec2,
            vpcs=VpcDirectory(ec2),
            canaries=CanaryDirectory(client=tagging),
            invoker=CanaryInvoker(lambda_client, max_attempts=config.invoke_max_attempts),
            state=StateStore(
                config.state_table_name, self._dynamodb, place=place if keyed else None
            ),
            lambda_client=lambda_client,
            logs_client=logs_client,
            blast=BlastReader(
                WorkloadDirectory(ec2, lambda_client), place.account, config.workloads_cache_ttl_s
            ),
        )

    def _healer(
        self, adapters: Adapters, option_sets: OptionSets, fleet: CanaryFleet
    ) -> Healer | None:
        if self._config.self_healing == "off":
            return None
        from dns_watchdog.flow.healer import Healer  # noqa: PLC0415  # opt-in feature

        return Healer(self._config, adapters.vpcs, option_sets, fleet)

    def _discovery(self, adapters: Adapters) -> DiscoveryKeeper | None:
        """Discovery of the VPCs' own DNS there (PrivateDnsDiscovery, on by default)."""
        config = self._config
        if not config.private_dns_discovery:
            return None
        from dns_watchdog.aws.dns_discovery import DnsDiscovery  # noqa: PLC0415
        from dns_watchdog.flow.discovery import DiscoveryKeeper  # noqa: PLC0415

        clients = self._discovery_clients(adapters.place)
        reader = DnsDiscovery(
            route53=clients.route53,
            resolver=clients.resolver,
            profiles=clients.profiles,
            ec2=adapters.ec2,
            region=adapters.place.region,
        )
        return DiscoveryKeeper(
            reader, cap=config.max_discovered_probes, ttl_s=config.discovery_ttl_s
        )

    def _endpoint_health(self, adapters: Adapters) -> EndpointHealthReader | None:
        """The outbound endpoints' health on pages about forward rules (with discovery)."""
        if not self._config.private_dns_discovery:
            return None
        from dns_watchdog.flow.endpoint_health import EndpointHealthReader  # noqa: PLC0415

        clients = self._discovery_clients(adapters.place)
        return EndpointHealthReader(resolver=clients.resolver, cloudwatch=clients.cloudwatch)

    def _discovery_clients(self, place: Place) -> DiscoveryClients:
        """The Route 53, Resolver, Profiles and CloudWatch clients of `place` (its member role's
        in organization mode)."""
        if self._sessions is None or place.account is None:
            return DiscoveryClients(
                route53=boto3.client("route53"),
                resolver=boto3.client("route53resolver"),
                profiles=boto3.client("route53profiles"),
                cloudwatch=boto3.client("cloudwatch"),
            )
        return self._sessions.discovery_clients(place)

    def _namer(self, adapters: Adapters, budget: RunBudget) -> BlockingRuleNamer | None:
        if not self._config.name_blocking_rule:
            return None
        # Opt-in (NameBlockingRule): the place's EC2 client; the canaries' placement comes from
        # the invoker's Lambda client.
        from dns_watchdog.aws.analysis_count import AnalysisCount  # noqa: PLC0415
        from dns_watchdog.aws.reachability import ReachabilityAnalyzer  # noqa: PLC0415
        from dns_watchdog.flow.blocking_rule import BlockingRuleNamer, DailyBudgets  # noqa: PLC0415

        config = self._config
        daily = DailyBudgets(
            per_vpc=config.blocking_analyses_per_vpc_per_day,
            per_account=config.blocking_analyses_per_account_per_day,
            count=AnalysisCount(config.state_table_name, self._dynamodb),
            account=adapters.place.account,
        )
        return BlockingRuleNamer(
            ReachabilityAnalyzer(adapters.ec2),
            adapters.invoker,
            config.blocking_analysis_budget_s,
            budget,
            daily,
        )

    def _evidence(self, adapters: Adapters, budget: RunBudget) -> EvidenceCollector | None:
        if not self._config.workload_evidence or adapters.logs_client is None:
            return None
        # Opt-in (WorkloadEvidence): the place's Logs client, built now (only when on); the
        # function names from the place's Lambda client.
        from dns_watchdog.aws.log_evidence import LogEvidence  # noqa: PLC0415
        from dns_watchdog.aws.scan_count import ScanCount  # noqa: PLC0415
        from dns_watchdog.aws.vpc_functions import functions_in_vpc  # noqa: PLC0415
        from dns_watchdog.flow.evidence import GIB, EvidenceCollector, ScanBudget  # noqa: PLC0415

        config = self._config
        lambda_client = adapters.lambda_client
        return EvidenceCollector(
            LogEvidence(adapters.logs_client()),
            lambda vpc_id: functions_in_vpc(lambda_client, vpc_id),
            ScanBudget(
                int(config.evidence_daily_scan_gib * GIB),
                ScanCount(config.state_table_name, self._dynamodb),
                adapters.place.account,
            ),
            max_functions=config.evidence_max_functions,
            budget_s=config.evidence_query_budget_s,
            budget=budget,
        )
