"""Checker settings, read once from the environment into a typed, validated object."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    Json,
    ValidationError,
    field_validator,
    model_validator,
)

from dns_watchdog import constants as names
from dns_watchdog.domain.identity import OwnIdentity
from dns_watchdog.domain.lint import IpNetwork, parse_allowed_networks
from dns_watchdog.domain.origins import ChangeOrigins
from dns_watchdog.domain.targets import SweepTargetError, parse_sweep_targets, partition_of


class ConfigError(ValueError):
    """A setting is missing or invalid; the message names the environment variable."""


class ProbePlanSetting(BaseModel):
    """PROBE_PLAN: the probes passed to every canary (the canary validates each probe)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    probes: list[dict[str, Any]] = Field(min_length=1, max_length=names.CANARY_MAX_PROBES)


class CheckerConfig(BaseModel):
    """Every setting of the checker (see docs/checker-contract.md)."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    alert_topic_arn: str = Field(alias=names.ALERT_TOPIC_ARN_ENV, min_length=1)
    # Optional: chat channels subscribe to this topic; it gets the custom notification document.
    chat_topic_arn: str | None = Field(
        None, alias=names.CHAT_TOPIC_ARN_ENV, pattern=r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:.+$"
    )
    state_table_name: str = Field(alias=names.STATE_TABLE_NAME_ENV, min_length=1)
    region: str = Field(alias="AWS_REGION", min_length=1)
    probe_plan: Json[ProbePlanSetting] | None = Field(None, alias=names.PROBE_PLAN_ENV)
    canary_deadline_ms: int = Field(1500, alias=names.CANARY_DEADLINE_MS_ENV, ge=100, le=60_000)
    canary_invoke_timeout_s: float = Field(
        10.0, alias=names.CANARY_INVOKE_TIMEOUT_S_ENV, gt=0, le=900
    )
    invoke_max_attempts: int = Field(4, alias=names.INVOKE_MAX_ATTEMPTS_ENV, ge=1, le=10)
    # How long the checker may spend refreshing stale canaries (update, wait, ask again).
    refresh_budget_s: float = Field(60.0, alias=names.REFRESH_BUDGET_S_ENV, ge=0, le=900)
    max_concurrent_invocations: int = Field(
        100, alias=names.MAX_CONCURRENT_INVOCATIONS_ENV, ge=1, le=1000
    )
    # A sweep's failure pages only when the canaries, asked again this much later, confirm it
    # (0: ask again at once). At most 60 s: it must fit in the checker's 120 s timeout.
    sweep_confirm_delay_s: float = Field(30.0, alias=names.SWEEP_CONFIRM_DELAY_S_ENV, ge=0, le=60)
    # A re-association of a VPC's unchanged option set this soon after its last check is
    # acknowledged without asking the canaries (domain/coalesce.py; 0: never).
    change_coalesce_window_s: float = Field(
        names.DEFAULT_CHANGE_COALESCE_WINDOW_S,
        alias=names.CHANGE_COALESCE_WINDOW_S_ENV,
        ge=0,
        le=names.MAX_CHANGE_COALESCE_WINDOW_S,
    )
    self_healing: Literal["off", "dry-run", "on"] = Field("off", alias=names.SELF_HEALING_ENV)
    # The last good option set must have been verified healthy this recently (default 7 days).
    self_healing_max_age_hours: float = Field(
        168, alias=names.SELF_HEALING_MAX_AGE_HOURS_ENV, gt=0, le=366 * 24
    )
    # The chat "Roll back" button is on (template: ChatRollbackAction with a channel).
    chat_rollback: bool = Field(False, alias=names.CHAT_ROLLBACK_ENV)
    # Set by Lambda: the chat button invokes this function's chat alias.
    function_name: str | None = Field(None, alias="AWS_LAMBDA_FUNCTION_NAME", max_length=64)
    checker_role_arn: str | None = Field(
        None, alias=names.CHECKER_ROLE_ARN_ENV, pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$"
    )
    # Organization mode (docs/deploy.md): the member role assumed in every other account; empty
    # means single-account mode.
    member_role_name: str = Field(
        "", alias=names.MEMBER_ROLE_NAME_ENV, pattern=r"^([\w+=,.@-]{1,64})?$"
    )
    home_account_id: str | None = Field(None, alias=names.HOME_ACCOUNT_ID_ENV, pattern=r"^\d{12}$")
    # The organization sweep's (account, region) targets (grammar: domain/targets.py); empty:
    # the home account in the configured region.
    sweep_targets: str = Field("", alias=names.SWEEP_TARGETS_ENV, max_length=4000)
    sweep_queue_url: str | None = Field(None, alias=names.SWEEP_QUEUE_URL_ENV)
    # Opt-in: name the blocking rule with Reachability Analyzer before a page goes out.
    name_blocking_rule: bool = Field(False, alias=names.NAME_BLOCKING_RULE_ENV)
    # Seconds one check run may spend on those analyses, all VPCs together (template.yaml adds
    # them to the checker's timeout).
    blocking_analysis_budget_s: float = Field(
        60.0, alias=names.BLOCKING_ANALYSIS_BUDGET_S_ENV, ge=5, le=300
    )
    # Analyses that may start per UTC day for one VPC, and for one account (each is billed).
    blocking_analyses_per_vpc_per_day: int = Field(
        names.DEFAULT_BLOCKING_ANALYSES_PER_VPC_PER_DAY,
        alias=names.BLOCKING_ANALYSES_PER_VPC_PER_DAY_ENV,
        ge=names.MIN_BLOCKING_ANALYSES_PER_DAY,
        le=names.MAX_BLOCKING_ANALYSES_PER_DAY,
    )
    blocking_analyses_per_account_per_day: int = Field(
        names.DEFAULT_BLOCKING_ANALYSES_PER_ACCOUNT_PER_DAY,
        alias=names.BLOCKING_ANALYSES_PER_ACCOUNT_PER_DAY_ENV,
        ge=names.MIN_BLOCKING_ANALYSES_PER_DAY,
        le=names.MAX_BLOCKING_ANALYSES_PER_DAY,
    )
    # Opt-in: count the VPC's functions' logged DNS failures (Logs Insights) before a FAILED page.
    workload_evidence: bool = Field(False, alias=names.WORKLOAD_EVIDENCE_ENV)
    evidence_max_functions: int = Field(
        names.DEFAULT_EVIDENCE_MAX_FUNCTIONS,
        alias=names.EVIDENCE_MAX_FUNCTIONS_ENV,
        ge=1,
        le=names.MAX_EVIDENCE_MAX_FUNCTIONS,
    )
    evidence_daily_scan_gib: float = Field(
        names.DEFAULT_EVIDENCE_DAILY_SCAN_GIB,
        alias=names.EVIDENCE_DAILY_SCAN_GIB_ENV,
        gt=0,
        le=names.MAX_EVIDENCE_DAILY_SCAN_GIB,
    )
    # Seconds one check run may wait for evidence queries, all VPCs together (taken from the
    # run's spare time, never from what it keeps to publish and store).
    evidence_query_budget_s: float = Field(
        20.0, alias=names.EVIDENCE_QUERY_BUDGET_S_ENV, ge=1, le=120
    )
    # A VPC's workload census is read again when older than this (domain/workloads.py).
    workloads_cache_ttl_s: int = Field(
        names.DEFAULT_WORKLOADS_CACHE_TTL_S,
        alias=names.WORKLOADS_CACHE_TTL_S_ENV,
        ge=0,
        le=names.MAX_WORKLOADS_CACHE_TTL_S,
    )
    # Opt-in: a CRITICAL whose VPC holds nothing but the canaries goes out as a WARNING.
    priority_from_impact: bool = Field(False, alias=names.PRIORITY_FROM_IMPACT_ENV)
    lint_allowed_networks: tuple[IpNetwork, ...] = Field((), alias=names.LINT_ALLOWED_NETWORKS_ENV)
    # Discovery of the VPC's own DNS (domain/discovery.py): on by default; the discovered probes
    # a plan may carry; how long a VPC's discovery is reused (a change event refreshes it at once).
    private_dns_discovery: bool = Field(True, alias=names.PRIVATE_DNS_DISCOVERY_ENV)
    max_discovered_probes: int = Field(
        names.DEFAULT_MAX_DISCOVERED_PROBES,
        alias=names.MAX_DISCOVERED_PROBES_ENV,
        ge=0,
        le=names.CANARY_MAX_PROBES - 1,
    )
    discovery_ttl_s: int = Field(
        names.DEFAULT_DISCOVERY_TTL_S,
        alias=names.DISCOVERY_TTL_S_ENV,
        ge=0,
        le=names.MAX_DISCOVERY_TTL_S,
    )
    # The stack's ProbeNames (the canary's PROBE_NAMES grammar): a plan with discovered probes
    # names them first (without discovered probes the canary uses its own PROBE_NAMES).
    probe_names: str = Field(
        "sts.{region}.amazonaws.com,lambda.{region}.amazonaws.com",
        alias=names.PROBE_NAMES_ENV,
        pattern=r"^[A-Za-z0-9_.{}/,-]+$",
        max_length=4000,
    )

    @field_validator("lint_allowed_networks", mode="before")
    @classmethod
    def _cidrs(cls, value: object) -> object:
        return parse_allowed_networks(value) if isinstance(value, str) else value

    @property
    def organization_mode(self) -> bool:
        return bool(self.member_role_name)

    def change_origins(self) -> ChangeOrigins:
        """Where a change may make the checker act: any region of its partition; in organization
        mode only the regions it sweeps (an empty SWEEP_TARGETS sweeps the home region)."""
        partition = partition_of(self.region)
        if not self.organization_mode:
            return ChangeOrigins(partition)
        plan = parse_sweep_targets(self.sweep_targets, partition=partition)
        return ChangeOrigins(partition, plan.regions or (self.region,))

    @property
    def rollback_enabled(self) -> bool:
        """The checker may associate option sets on a rollback request: its IAM permission (the
        tag-scoped association) exists when self-healing is on or the chat button is."""
        return self.self_healing == "on" or self.chat_rollback

    @property
    def own_identity(self) -> OwnIdentity | None:
        """How the watchdog's own calls look in CloudTrail (None: its role is not known)."""
        if not self.checker_role_arn:
            return None
        return OwnIdentity(self.checker_role_arn, self.member_role_name)

    @model_validator(mode="after")
    def _organization_mode_is_complete(self) -> CheckerConfig:
        if self.organization_mode and not self.home_account_id:
            raise ValueError(
                f"{names.HOME_ACCOUNT_ID_ENV} is required when {names.MEMBER_ROLE_NAME_ENV} is set"
            )
        if self.sweep_targets:
            try:
                parse_sweep_targets(
                    self.sweep_targets,
                    setting=names.SWEEP_TARGETS_ENV,
                    partition=partition_of(self.region),
                )
            except SweepTargetError as exc:
                raise ValueError(str(exc)) from exc
        return self

    @model_validator(mode="after")
    def _healing_knows_its_role(self) -> CheckerConfig:
        # Without its own role the watchdog could not tell its own associations from others'.
        if self.self_healing != "off" and not self.checker_role_arn:
            raise ValueError(
                f"{names.CHECKER_ROLE_ARN_ENV} is required when {names.SELF_HEALING_ENV} is "
                f"{self.self_healing}"
            )
        own = self.own_identity
        if own is not None and self.home_account_id and own.home_account != self.home_account_id:
            # Its own calls are recognised in the role's account: it must be the home account.
            raise ValueError(
                f"{names.CHECKER_ROLE_ARN_ENV} is a role of account {own.home_account}, not of "
                f"{names.HOME_ACCOUNT_ID_ENV} {self.home_account_id}"
            )
        return self


def _aliases() -> set[str]:
    return {field.alias for field in CheckerConfig.model_fields.values() if field.alias}


def load_config(environ: Mapping[str, str]) -> CheckerConfig:
    """Build the configuration from `environ`; raise ConfigError naming the offending variable."""
    known = _aliases()
    # An empty value counts as unset, so a blank required setting is reported as missing.
    values: dict[str, str] = {key: environ[key] for key in known if environ.get(key, "").strip()}
    if "AWS_REGION" not in values and environ.get("AWS_DEFAULT_REGION", "").strip():
        values["AWS_REGION"] = environ["AWS_DEFAULT_REGION"]
    try:
        return CheckerConfig.model_validate(values)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from exc


def _describe(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        variable = str(error["loc"][0]) if error["loc"] else "configuration"
        detail = ".".join(str(part) for part in error["loc"][1:])
        where = f"{variable} ({detail})" if detail else variable
        if error["type"] == "missing" and not detail:
            problems.append(f"{where}: required setting is not set")
        elif error["type"] == "missing":
            problems.append(f"{where}: field required")
        else:
            problems.append(f"{where}: {error['msg']}")
    return "invalid checker configuration: " + "; ".join(problems)
