"""Names the checker shares with the templates, the canaries and CloudWatch: one owner each.

``template.yaml`` and ``canary-template.yaml`` repeat these literals (CloudFormation cannot import
Python); ``tests/iac/test_template_constants.py`` holds the templates to them. Pure module: the
standard library only, safe to import from the templates' tests, devtools and pure domain code.
"""

from __future__ import annotations

from typing import Final

# --- canary identity -----------------------------------------------------------------------------

# Tag on every canary function; its value is the id of the VPC the canary watches. Fixed, not
# configurable: the checker's IAM condition (aws:ResourceTag/<key>) names it literally.
CANARY_TAG_KEY: Final = "dhcp-watchdog:vpc-id"

# Tag on a VPC that opts it in to self-healing (value "true"); the checker's permission to
# associate option sets is conditioned on it (template.yaml, domain/healing.py).
SELF_HEAL_TAG_KEY: Final = "dhcp-watchdog:self-heal"
SELF_HEAL_TAG_VALUE: Final = "true"

# Prefix of every canary function name. canary-template.yaml names its function
# "<prefix><vpc id>-<8 hex digits of the stack id>"; the checker's IAM is scoped to
# "function:<prefix>*", and discovery ignores tagged functions without the prefix.
CANARY_FUNCTION_NAME_PREFIX: Final = "vpc-dns-canary-"

# Lambda's limit on a function name: the canary names must fit.
LAMBDA_FUNCTION_NAME_MAX_LENGTH: Final = 64

# Environment variable the checker sets on a canary to make Lambda start fresh execution
# environments (its value: the option set the canary should now see).
OPTION_SET_ENV_VAR: Final = "WATCHDOG_OPTION_SET"

# --- the checker's environment (set by template.yaml) -------------------------------------------

ALERT_TOPIC_ARN_ENV: Final = "ALERT_TOPIC_ARN"
# Optional: the topic the chat channels (Amazon Q Developer) subscribe to; empty: no chat.
CHAT_TOPIC_ARN_ENV: Final = "CHAT_TOPIC_ARN"
STATE_TABLE_NAME_ENV: Final = "STATE_TABLE_NAME"
PROBE_PLAN_ENV: Final = "PROBE_PLAN"  # optional; the template does not set it
CANARY_DEADLINE_MS_ENV: Final = "CANARY_DEADLINE_MS"
CANARY_INVOKE_TIMEOUT_S_ENV: Final = "CANARY_INVOKE_TIMEOUT_S"
INVOKE_MAX_ATTEMPTS_ENV: Final = "INVOKE_MAX_ATTEMPTS"
REFRESH_BUDGET_S_ENV: Final = "REFRESH_BUDGET_S"
MAX_CONCURRENT_INVOCATIONS_ENV: Final = "MAX_CONCURRENT_INVOCATIONS"
# Optional, default empty: comma-separated CIDRs exempt from the lint's UNUSABLE_ADDRESS finding
# (labs whose DNS servers listen on loopback). The template does not set it.
LINT_ALLOWED_NETWORKS_ENV: Final = "LINT_ALLOWED_NETWORKS"
# "true": every service counter and the per-VPC LookupLatency become CloudWatch metrics; otherwise
# only the metrics an alarm needs (ALARMED_METRICS) are - the rest is in the log lines the
# dashboard's Logs Insights widgets read (custom metrics dominate the watchdog's cost).
DETAILED_METRICS_ENV: Final = "DETAILED_METRICS"
# Seconds a sweep waits before asking the canaries again to confirm a failure (flap.py).
SWEEP_CONFIRM_DELAY_S_ENV: Final = "SWEEP_CONFIRM_DELAY_S"
# Seconds after a VPC's check within which a re-association of its unchanged option set is
# acknowledged without a canary run (domain/coalesce.py; 0: never); template parameter
# ChangeCoalesceSeconds.
CHANGE_COALESCE_WINDOW_S_ENV: Final = "CHANGE_COALESCE_WINDOW_S"
DEFAULT_CHANGE_COALESCE_WINDOW_S: Final = 60
MAX_CHANGE_COALESCE_WINDOW_S: Final = 900
# Self-healing (domain/healing.py): "off" (default), "dry-run" or "on"; the age limit of the
# last good option set's verification; the checker's own role (its associations never trigger
# a heal).
SELF_HEALING_ENV: Final = "SELF_HEALING"
SELF_HEALING_MAX_AGE_HOURS_ENV: Final = "SELF_HEALING_MAX_AGE_HOURS"
CHECKER_ROLE_ARN_ENV: Final = "CHECKER_ROLE_ARN"
# Naming the blocking rule (domain/blocking.py, aws/reachability.py): "true" runs Reachability
# Analyzer when a page says a configured server is unreachable; the seconds one check run may
# spend on it.
# "true" when the template's chat "Roll back" button is on (ChatRollbackAction): chat
# notifications then carry the rollback request the button sends (CHAT_CONTEXT_ROLLBACK_*), and
# the checker may associate option sets on rollback requests (docs/checker-contract.md).
CHAT_ROLLBACK_ENV: Final = "CHAT_ROLLBACK"
NAME_BLOCKING_RULE_ENV: Final = "NAME_BLOCKING_RULE"
BLOCKING_ANALYSIS_BUDGET_S_ENV: Final = "BLOCKING_ANALYSIS_BUDGET_S"
# The analyses (billed each) that may start per UTC day for one VPC, and for one account, all its
# VPCs and regions together (domain/analysis_budget.py); template parameters
# BlockingAnalysesPerVpcPerDay and BlockingAnalysesPerAccountPerDay.
BLOCKING_ANALYSES_PER_VPC_PER_DAY_ENV: Final = "BLOCKING_ANALYSES_PER_VPC_PER_DAY"
BLOCKING_ANALYSES_PER_ACCOUNT_PER_DAY_ENV: Final = "BLOCKING_ANALYSES_PER_ACCOUNT_PER_DAY"
# Workload evidence (opt-in, domain/evidence.py, aws/log_evidence.py): "true" counts, after a
# FAILED verdict, the DNS-failure lines the VPC's Lambda functions logged in the last
# EVIDENCE_WINDOW_MINUTES (one Logs Insights query); how many functions' log groups one query
# reads; the GiB Logs Insights may scan per UTC day and account (billed per GB scanned); the
# seconds one check run may spend waiting for queries, all VPCs together. Template parameters
# WorkloadEvidence, EvidenceMaxFunctions, EvidenceDailyScanGiB.
WORKLOAD_EVIDENCE_ENV: Final = "WORKLOAD_EVIDENCE"
EVIDENCE_MAX_FUNCTIONS_ENV: Final = "EVIDENCE_MAX_FUNCTIONS"
EVIDENCE_DAILY_SCAN_GIB_ENV: Final = "EVIDENCE_DAILY_SCAN_GIB"
EVIDENCE_QUERY_BUDGET_S_ENV: Final = "EVIDENCE_QUERY_BUDGET_S"
# Discovery of the VPC's own DNS (domain/discovery.py, aws/dns_discovery.py): "true" (default)
# or "false"; the discovered probes a VPC's plan may carry at most (template parameter
# MaxDiscoveredProbes); how long a VPC's discovery is reused before it is read again
# (DiscoveryTtlSeconds); and the names the canaries of the stack resolve (ProbeNames, the same
# grammar as the canary's PROBE_NAMES): with discovered probes the plan names them first.
PRIVATE_DNS_DISCOVERY_ENV: Final = "PRIVATE_DNS_DISCOVERY"
MAX_DISCOVERED_PROBES_ENV: Final = "MAX_DISCOVERED_PROBES"
DISCOVERY_TTL_S_ENV: Final = "DISCOVERY_TTL_S"
PROBE_NAMES_ENV: Final = "PROBE_NAMES"
DEFAULT_MAX_DISCOVERED_PROBES: Final = 10
DEFAULT_DISCOVERY_TTL_S: Final = 3600
MAX_DISCOVERY_TTL_S: Final = 7 * 24 * 3600
# The canary's plan limit (dns_canary/constants.py MAX_PROBES; a test holds them equal).
CANARY_MAX_PROBES: Final = 50
# Powertools reads these itself; the alarms in template.yaml depend on their values.
SERVICE_NAME_ENV: Final = "POWERTOOLS_SERVICE_NAME"
METRICS_NAMESPACE_ENV: Final = "POWERTOOLS_METRICS_NAMESPACE"

# --- organization mode ---------------------------------------------------------------------------

# The member role the checker assumes in every other account (empty or unset: single-account mode).
MEMBER_ROLE_NAME_ENV: Final = "MEMBER_ROLE_NAME"
# The sweep's (account, region) targets (grammar: dns_watchdog/domain/targets.py).
SWEEP_TARGETS_ENV: Final = "SWEEP_TARGETS"
# The checker's own account (template: AWS::AccountId): the account it needs no role for.
HOME_ACCOUNT_ID_ENV: Final = "HOME_ACCOUNT_ID"
# Organization mode: the queue a sweep fans its (account, region) targets out to.
SWEEP_QUEUE_URL_ENV: Final = "SWEEP_QUEUE_URL"
# The blast radius (domain/workloads.py): how long a VPC's workload census is kept with its state
# before an alert reads it again (seconds), and the opt-in "page CRITICAL only when something
# besides the canaries is hit".
WORKLOADS_CACHE_TTL_S_ENV: Final = "WORKLOADS_CACHE_TTL_S"
DEFAULT_WORKLOADS_CACHE_TTL_S: Final = 3600
MAX_WORKLOADS_CACHE_TTL_S: Final = 7 * 24 * 3600
PRIORITY_FROM_IMPACT_ENV: Final = "PRIORITY_FROM_IMPACT"
# Every session the checker opens in a member account is named "<prefix><home account id>": the
# member account's CloudTrail shows it, and a member role's trust policy may require it
# (sts:RoleSessionName).
ROLE_SESSION_NAME_PREFIX: Final = "vpc-dns-watchdog-"

# Every variable the template sets for the checker (besides Powertools' log level and the
# local-endpoint settings of sam local).
CHECKER_TEMPLATE_ENV_VARS: Final = (
    ALERT_TOPIC_ARN_ENV,
    CHAT_TOPIC_ARN_ENV,
    STATE_TABLE_NAME_ENV,
    CANARY_DEADLINE_MS_ENV,
    CANARY_INVOKE_TIMEOUT_S_ENV,
    INVOKE_MAX_ATTEMPTS_ENV,
    REFRESH_BUDGET_S_ENV,
    MAX_CONCURRENT_INVOCATIONS_ENV,
    SWEEP_CONFIRM_DELAY_S_ENV,
    CHANGE_COALESCE_WINDOW_S_ENV,
    DETAILED_METRICS_ENV,
    SELF_HEALING_ENV,
    SELF_HEALING_MAX_AGE_HOURS_ENV,
    CHECKER_ROLE_ARN_ENV,
    CHAT_ROLLBACK_ENV,
    NAME_BLOCKING_RULE_ENV,
    BLOCKING_ANALYSIS_BUDGET_S_ENV,
    BLOCKING_ANALYSES_PER_VPC_PER_DAY_ENV,
    BLOCKING_ANALYSES_PER_ACCOUNT_PER_DAY_ENV,
    WORKLOAD_EVIDENCE_ENV,
    EVIDENCE_MAX_FUNCTIONS_ENV,
    EVIDENCE_DAILY_SCAN_GIB_ENV,
    EVIDENCE_QUERY_BUDGET_S_ENV,
    MEMBER_ROLE_NAME_ENV,
    HOME_ACCOUNT_ID_ENV,
    SWEEP_TARGETS_ENV,
    SWEEP_QUEUE_URL_ENV,
    PRIVATE_DNS_DISCOVERY_ENV,
    MAX_DISCOVERED_PROBES_ENV,
    DISCOVERY_TTL_S_ENV,
    PROBE_NAMES_ENV,
    WORKLOADS_CACHE_TTL_S_ENV,
    PRIORITY_FROM_IMPACT_ENV,
    SERVICE_NAME_ENV,
    METRICS_NAMESPACE_ENV,
)

# --- chat: the "Roll back" custom action (template.yaml, ChatRollbackAction) -------------------

# Keys of a chat notification's metadata.additionalContext that the custom action's variables
# read (event.metadata.additionalContext.<key>). The rollback target is there only when the alert
# advises a rollback: the action's button is shown only on those notifications.
CHAT_CONTEXT_VPC_ID: Final = "vpc_id"
CHAT_CONTEXT_REGION: Final = "region"
CHAT_CONTEXT_ROLLBACK_OPTION_SET_ID: Final = "rollback_option_set_id"
# The button's command invokes the checker (never EC2 itself): `lambda invoke --function-name
# $fn --region $rgn --invocation-type Event --payload $req`, its variables read from these keys:
# the checker's alias the channel role may invoke, the checker's region, and the rollback request
# (a JSON object, domain/events.py). They are present only when the alert advises a rollback to
# the last option set verified healthy and the button is on.
CHAT_CONTEXT_ROLLBACK_FUNCTION: Final = "rollback_function"
CHAT_CONTEXT_CHECKER_REGION: Final = "checker_region"
CHAT_CONTEXT_ROLLBACK_REQUEST: Final = "rollback_request"
# The alias of the checker the chat channel role may invoke (template.yaml, ChatRollbackAlias;
# it points at $LATEST). Invoked through it, the checker accepts rollback requests only.
CHAT_ROLLBACK_ALIAS: Final = "chat"
# Who a rollback request from the chat button says asked (Amazon Q posts the person who pressed
# the button in the channel; the invocation itself carries only the channel role).
CHAT_REQUESTED_BY: Final = "chat"

# --- metrics (CloudWatch embedded metric format, through Powertools Metrics) ---------------------

DEFAULT_SERVICE_NAME: Final = "vpc-dns-watchdog"
DEFAULT_METRICS_NAMESPACE: Final = "vpc-dns-watchdog"
# The dimension Powertools Metrics adds to every metric: its value is the service name.
SERVICE_DIMENSION: Final = "service"
# The dimension of the per-VPC latency document.
VPC_ID_DIMENSION: Final = "VpcId"

METRIC_CHECKS_RUN: Final = "ChecksRun"  # one per VPC checked
METRIC_CANARY_FAILURES: Final = "CanaryFailures"
METRIC_ALERTS_PUBLISHED: Final = "AlertsPublished"
METRIC_LOOKUP_LATENCY: Final = "LookupLatency"
METRIC_EVENTS_REJECTED: Final = "EventsRejected"
METRIC_EVENTS_IGNORED: Final = "EventsIgnored"
METRIC_DUPLICATE_EVENTS: Final = "DuplicateEvents"
# A VPC check that decided nothing: evidence older than the stored state, or a change in a VPC
# no canary watches.
METRIC_CHECKS_SKIPPED: Final = "ChecksSkipped"
# Per sweep: watched VPCs none of whose canaries reported healthy DNS (the coverage report).
METRIC_VPCS_WITHOUT_HEALTHY_CANARY: Final = "VpcsWithoutHealthyCanary"
# The heartbeat: 1 per check run (sweep, change or manual check) that ran to its end, whatever it
# found (also a sweep over no VPC). template.yaml's HeartbeatAlarm fires when none arrives within
# two sweep periods.
METRIC_CHECKS_COMPLETED: Final = "ChecksCompleted"

# The metrics an alarm in template.yaml watches: always published, whatever DETAILED_METRICS says.
ALARMED_METRICS: Final = (METRIC_CHECKS_COMPLETED,)
# --- naming the blocking rule (Reachability Analyzer, opt-in) ------------------------------------

# Tag on every Network Insights path and analysis the checker creates; its value is the id of the
# VPC analysed. The checker's IAM policy scopes StartNetworkInsightsAnalysis and the deletes to
# resources carrying this key (aws:ResourceTag/<key>), and creation to requests that set it.
ANALYSIS_TAG_KEY: Final = "dhcp-watchdog:reachability"
# The DNS port every analysis asks about.
DNS_PORT: Final = 53
# At most this many unreachable servers are analysed per alert (two analyses each, UDP and TCP,
# billed per analysis): an option set holds up to 4 servers; the first two name the problem.
MAX_SERVERS_ANALYSED: Final = 2
# The daily budgets' defaults and least values: two analyses per server (UDP and TCP), so 4 is two
# incidents of one server a day per VPC; 20 is 2 USD a day per account at list price.
DEFAULT_BLOCKING_ANALYSES_PER_VPC_PER_DAY: Final = 4
DEFAULT_BLOCKING_ANALYSES_PER_ACCOUNT_PER_DAY: Final = 20
MIN_BLOCKING_ANALYSES_PER_DAY: Final = 2
MAX_BLOCKING_ANALYSES_PER_DAY: Final = 10_000
# The state table item counting one account's analyses of one day: "<prefix><account>#<day>".
ANALYSIS_COUNT_KEY_PREFIX: Final = "analyses#"

# --- workload evidence (CloudWatch Logs Insights, opt-in) ----------------------------------------

# The window the query reads, back from the moment the page is decided.
EVIDENCE_WINDOW_MINUTES: Final = 15
# Functions whose log groups one query reads: default, and the most (DescribeLogGroups takes at
# most 50 logGroupIdentifiers, botocore's logs model; a Logs Insights query reads at most 50 log
# groups by name).
DEFAULT_EVIDENCE_MAX_FUNCTIONS: Final = 10
MAX_EVIDENCE_MAX_FUNCTIONS: Final = 50
# GiB Logs Insights may scan per UTC day and account (0.005 USD per GB at list price: 10 GiB is
# about 0.05 USD a day).
DEFAULT_EVIDENCE_DAILY_SCAN_GIB: Final = 10
MAX_EVIDENCE_DAILY_SCAN_GIB: Final = 10_000
# The state table item counting one account's bytes scanned on one day: "<prefix><account>#<day>".
SCAN_COUNT_KEY_PREFIX: Final = "logscan#"
# Lambda writes a function's logs to this log group by default: "<prefix><function name>".
LAMBDA_LOG_GROUP_PREFIX: Final = "/aws/lambda/"
# The alert's SNS message attribute saying what the evidence found (subscription filter
# policies route on it), and its values: the VPC's functions logged DNS errors; they logged
# none in the window; evidence was not collected (the day's scan budget is spent, no function or
# log group to read); evidence could not be read (access denied, an AWS error, the query timed
# out or failed). "not-collected" too when WorkloadEvidence is off or the alert is not about a
# FAILED verdict: every alert carries the attribute.
EVIDENCE_ATTRIBUTE: Final = "evidence"
EVIDENCE_DNS_ERRORS: Final = "dns-errors"
EVIDENCE_NONE_LOGGED: Final = "none-logged"
EVIDENCE_NOT_COLLECTED: Final = "not-collected"
EVIDENCE_UNAVAILABLE: Final = "unavailable"
EVIDENCE_VALUES: Final = (
    EVIDENCE_NOT_COLLECTED,
    EVIDENCE_DNS_ERRORS,
    EVIDENCE_NONE_LOGGED,
    EVIDENCE_UNAVAILABLE,
)

# --- the blast radius: SNS message attributes subscription filter policies route on ------------

# `workloads` (DataType Number): the workloads in the VPC besides the canaries (for a preflight
# WARNING, in every VPC it names); absent when they could not be read.
ATTRIBUTE_WORKLOADS: Final = "workloads"
