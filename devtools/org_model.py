"""The organization sweep at scale, on paper: 1,000 accounts x 4 regions against AWS's quotas.

    python -m devtools.org_model [--accounts 1000] [--regions 4] [--concurrency 50 100 200]

`make bench-org` prints this model with the figures it has just measured; run alone, it uses
the figures of the run the README shows (`README_RUN`). Every input is printed, with where it
comes from: measured (the benchmark, at the checker's CPU share), documented (an AWS quota, the
page it is on), or assumed (what AWS's answers take in a region, which no local benchmark can
measure).

How a sweep goes, per target (one queue message, one (account, region)): the checker builds the
place's clients, assumes the member role unless its container holds the account's credentials,
reads the VPC (3 EC2 calls), finds the canary (Resource Groups Tagging), invokes it, reads and
writes the VPC's state (DynamoDB). Its wall time in Lambda is its own time at the CPU share
(measured, AWS's answers left out) plus one in-region latency per AWS call (assumed) plus the
canary's run. The sweep's time comes from `simulate_sweep`: `concurrency` execution
environments take the messages one at a time, the event source mapping's concurrency growing
as documented, messages released at the fan-out's rate, per-target times drawn from the
measured ones (a thousand sweeps, seeded; the median and the 95% range).

Rates: calls per second against each API over the sweep, and at its steady peak, next to the
documented quota and its scope. Quotas per member account (EC2, Tagging, the canary's Lambda)
see one target's calls per sweep; the central account's (STS, Organizations, DynamoDB, SQS, the
checker's Lambda concurrency) see every target's. The first quota reached is the one whose
rate crosses it at the lowest concurrency.
"""

from __future__ import annotations

import argparse
import heapq
import math
import random
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from devtools import cost
from devtools.benchkit import Estimate, percentile

# The fan-out's release rate (functions/checker/dns_watchdog/aws/sweep_queue.py RELEASE_PER_S).
RELEASE_PER_S = 100.0
SWEEP_PERIOD_MIN = 5
SWEEPS_A_MONTH = cost.MINUTES_A_MONTH // SWEEP_PERIOD_MIN
LIST_ACCOUNTS_PAGE = 20  # ListAccounts' largest page
SQS_BATCH = 10  # SendMessageBatch's largest batch
CHECKER_GB = cost.CHECKER_MEMORY_GB
CANARY_GB = cost.CANARY_MEMORY_GB
SQS_REQUEST = 0.40 / 1_000_000  # us-east-1, standard queue, per request
LAMBDA_X86_GB_S = 0.0000166667
# Credentials are renewed 16 minutes before they expire (aws/sessions.py), after 44 of 60.
CREDENTIALS_LIFE_MIN = 44
# Lambda's own log lines per invocation (START, END, REPORT): about this many bytes (assumed).
PLATFORM_LOG_BYTES = 350
# A warm canary's run (the canary rows of `make bench`: 54 ms for 20 names), rounded up.
FAST_CANARY_MS = 100.0
# A sweep's failure is asked again this long after (template: SweepConfirmDelaySeconds).
CONFIRM_DELAY_S = (30, 10)


@dataclass(frozen=True)
class Quota:
    api: str
    per_s: float | None  # None: no documented rate
    scope: str
    source: str
    unit: str = "/s"


# Documented quotas (defaults), each with the page that says it.
QUOTAS: dict[str, Quota] = {
    "sts.AssumeRole": Quota(
        "STS AssumeRole",
        600,
        "central account, checker's region (shared with all its STS calls)",
        "IAM and AWS STS quotas, docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html"
        " (600 requests/s per account per Region; as quoted in awslabs/mountpoint-s3#1358)",
    ),
    "organizations": Quota(
        "Organizations ListAccounts / DescribeAccount",
        None,
        "management or delegated administrator account",
        "no published rate: awsdocs/aws-organizations-docs#39; concurrent calls are refused "
        "with TooManyRequestsException ('another request is already in progress')",
    ),
    "ec2.Describe": Quota(
        "EC2 Describe* (non-mutating)",
        20,
        "each member account and region (bucket of 100, refilled 20/s)",
        "docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html",
    ),
    "tagging.GetResources": Quota(
        "Resource Groups Tagging GetResources",
        15,
        "each member account and region",
        "docs.aws.amazon.com/tag-editor/latest/userguide/reference.html (15 calls/s)",
    ),
    "dynamodb": Quota(
        "DynamoDB on-demand (reads, writes)",
        40_000,
        "the state table (request units/s, each of reads and writes)",
        "docs.aws.amazon.com/amazondynamodb/latest/developerguide/"
        "on-demand-capacity-mode-max-throughput.html (40,000 table-level default)",
    ),
    "sqs": Quota(
        "SQS standard queue",
        None,
        "the sweep queue",
        "docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/"
        "standard-queues.html ('nearly unlimited' API calls per second)",
    ),
    "lambda.concurrency": Quota(
        "Lambda concurrent executions",
        1_000,
        "central account and region (shared with every function there)",
        "docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html (1,000 by default); "
        "the SQS event source mapping adds up to 300 a minute: "
        "docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html",
        unit=" at once",
    ),
}
# The event source mapping's concurrency: 5 at first, up to 300 more a minute (documented above).
ESM_START = 5
ESM_PER_S = 300 / 60


@dataclass(frozen=True)
class Inputs:
    """What the model is built from."""

    # Measured by `make bench-org` at the checker's CPU share (512 MB, 0.29 vCPU).
    own_ms: Sequence[float]  # per target: wall time minus AWS's answers and the canary's run
    cpu_ms: float  # per target, median
    cold_start_ms: float  # import + first target, at the CPU share, AWS's answers left out
    log_bytes: float  # the checker's log per target
    calls: Mapping[str, float]  # AWS calls per target, by "service.Operation" (fan-out excluded)
    measured_where: str = "make bench-org, the run the README shows"
    # Assumed: what AWS's answers and the canary take (no local benchmark measures them).
    api_latency_ms: float = 20.0
    assume_role_latency_ms: float = 60.0
    canary_ms: float = 300.0  # the benchmark's canary, as in the 200-target sweep
    list_accounts_ms: float = 150.0
    assumptions: tuple[str, ...] = field(
        default=(
            "in-region API answer 20 ms (AssumeRole 60 ms, ListAccounts page 150 ms)",
            "canary run 300 ms (a warm canary answers in 50-100 ms: see the canary rows)",
            "containers stay warm between sweeps; a container holds an account's "
            f"credentials {CREDENTIALS_LIFE_MIN} min",
        )
    )


# The figures of the run the README shows (make bench-org on the 2-core development machine):
# the deciles of the checker's own time per target, its median CPU, the cold start, the log.
README_RUN = Inputs(
    own_ms=(22.0, 26.0, 29.0, 32.0, 35.0, 38.0, 43.0, 48.0, 60.0),
    cpu_ms=27.5,
    cold_start_ms=2_495.0,
    log_bytes=1_410.0,
    calls={
        "ec2.DescribeVpcs": 1,
        "ec2.DescribeDhcpOptions": 1,
        "ec2.DescribeVpcAttribute": 1,
        "resourcegroupstaggingapi.GetResources": 1,
        "lambda.Invoke": 1,
        "dynamodb.GetItem": 1,
        "dynamodb.PutItem": 1,
    },
)


# --- the sweep, simulated ---------------------------------------------------------------------


def _slot_opens_s(concurrency: int, ramp: bool) -> list[float]:
    """When each execution environment may start taking messages."""
    if not ramp:
        return [0.0] * concurrency
    return [max(0.0, (slot + 1 - ESM_START) / ESM_PER_S) for slot in range(concurrency)]


@dataclass(frozen=True)
class Release:
    """When the fan-out makes each message visible: after listing the accounts, as its batch
    is sent (one SendMessageBatch after the other), and after its DelaySeconds."""

    listing_s: float = 0.0
    batch_send_s: float = 0.0
    per_s: float | None = None

    def at(self, position: int) -> float:
        sent = self.listing_s + (position // SQS_BATCH + 1) * self.batch_send_s
        return sent + (position / self.per_s if self.per_s else 0.0)


def _one_sweep(
    targets: int,
    opens: Sequence[float],
    durations: Sequence[float],
    cold: Sequence[float],
    release: Release,
    rng: random.Random,
) -> float:
    free = [(opened, slot) for slot, opened in enumerate(opens)]
    heapq.heapify(free)
    started = [False] * len(opens)
    end = 0.0
    for position in range(targets):
        released = release.at(position)
        at, slot = heapq.heappop(free)
        begin = max(at, released)
        took = rng.choice(durations)
        if not started[slot]:
            started[slot] = True
            took += rng.choice(cold) if cold else 0.0
        finish = begin + took
        end = max(end, finish)
        heapq.heappush(free, (finish, slot))
    return end


def simulate_sweep(
    targets: int,
    concurrency: int,
    durations: Sequence[float],
    *,
    cold: Sequence[float] = (),
    ramp: bool = False,
    release: Release | None = None,
    sweeps: int = 1000,
    seed: int = 22,
) -> Estimate:
    """How long `concurrency` environments take to check `targets` messages, each target taking
    a duration drawn from `durations` (seconds), an environment's first one `cold` more; with
    `ramp`, the event source mapping's documented growth; with `release`, messages visible
    only as the fan-out sends and releases them. The median and the 95% range of `sweeps`
    simulated sweeps."""
    rng = random.Random(seed)  # noqa: S311  # a simulation, seeded to repeat
    opens = _slot_opens_s(concurrency, ramp)
    release = release or Release()
    ends = sorted(_one_sweep(targets, opens, durations, cold, release, rng) for _ in range(sweeps))
    return Estimate(
        statistics.median(ends),
        percentile(ends, 0.025),
        percentile(ends, 0.975),
        f"median and 95% range of {sweeps} simulated sweeps",
    )


# --- a thousand accounts ----------------------------------------------------------------------


def assume_role_share(concurrency: int, regions: int) -> float:
    """AssumeRole calls per target: a target's container holds its account's credentials when
    it checked one of that account's targets within their life; each sweep deals an account's
    `regions` targets at random among `concurrency` containers."""
    seen = regions * (CREDENTIALS_LIFE_MIN / SWEEP_PERIOD_MIN) / concurrency
    return math.exp(-seen)


def target_seconds(inputs: Inputs, concurrency: int, regions: int) -> list[float]:
    """Per-target wall times in Lambda: measured own time + assumed AWS answers + the canary."""
    api_calls = sum(n for name, n in inputs.calls.items() if name != "lambda.Invoke")
    waits = api_calls * inputs.api_latency_ms
    waits += assume_role_share(concurrency, regions) * inputs.assume_role_latency_ms
    return [(own + waits + inputs.canary_ms) / 1000 for own in inputs.own_ms]


@dataclass(frozen=True)
class Scenario:
    accounts: int
    regions: int
    concurrency: int
    release_per_s: float | None

    @property
    def targets(self) -> int:
        return self.accounts * self.regions


@dataclass(frozen=True)
class Outcome:
    scenario: Scenario
    sweep: Estimate
    fan_out_s: float
    targets_per_s: float  # over the sweep
    peak_targets_per_s: float  # all environments busy, or the release rate
    rates: dict[str, float]  # calls/s at the peak, by quota key
    per_account_rates: dict[str, float]  # calls/s in one member account and region
    usd_month: dict[str, float]


def _per_target_calls(inputs: Inputs, concurrency: int, regions: int) -> dict[str, float]:
    calls = {
        "sts.AssumeRole": assume_role_share(concurrency, regions),
        "dynamodb": max(inputs.calls.get("dynamodb.GetItem", 0), 0)
        + inputs.calls.get("dynamodb.PutItem", 0),
        "ec2.Describe": sum(n for k, n in inputs.calls.items() if k.startswith("ec2.Describe")),
        "tagging.GetResources": inputs.calls.get("resourcegroupstaggingapi.GetResources", 0),
        "organizations": inputs.calls.get("organizations.DescribeAccount", 0),
        # the event source mapping receives and deletes each message (batches of one)
        "sqs": 2.0,
    }
    return calls


def run_scenario(inputs: Inputs, scenario: Scenario) -> Outcome:
    seconds = target_seconds(inputs, scenario.concurrency, scenario.regions)
    pages = math.ceil(scenario.accounts / LIST_ACCOUNTS_PAGE)
    release = Release(
        pages * inputs.list_accounts_ms / 1000,
        inputs.api_latency_ms / 1000,
        scenario.release_per_s,
    )
    fan_out_s = release.at(scenario.targets - 1) - (
        (scenario.targets - 1) / scenario.release_per_s if scenario.release_per_s else 0.0
    )
    sweep = simulate_sweep(
        scenario.targets,
        scenario.concurrency,
        seconds,
        cold=[inputs.cold_start_ms / 1000],
        ramp=True,
        release=release,
        sweeps=200,
    )
    mean_s = statistics.fmean(seconds)
    peak = scenario.concurrency / mean_s
    if scenario.release_per_s:
        peak = min(peak, scenario.release_per_s)
    per_target = _per_target_calls(inputs, scenario.concurrency, scenario.regions)
    rates = {key: n * peak for key, n in per_target.items()}
    rates["organizations"] += 1000 / inputs.list_accounts_ms  # the fan-out's listing, one at a time
    rates["lambda.concurrency"] = min(scenario.concurrency, peak * mean_s)
    # One target per member account and region a sweep: its calls, spread over the period.
    per_account = {
        "ec2.Describe": per_target["ec2.Describe"] / (SWEEP_PERIOD_MIN * 60),
        "tagging.GetResources": per_target["tagging.GetResources"] / (SWEEP_PERIOD_MIN * 60),
    }
    usd = monthly_usd(inputs, scenario, mean_s, per_target)
    return Outcome(
        scenario,
        sweep,
        fan_out_s,
        scenario.targets / sweep.value,
        peak,
        rates,
        per_account,
        usd,
    )


def monthly_usd(
    inputs: Inputs, scenario: Scenario, mean_s: float, per_target: Mapping[str, float]
) -> dict[str, float]:
    """Every sweep of the month at us-east-1 list prices (arm64), by item."""
    targets = scenario.targets
    checker_gb_s = targets * mean_s * CHECKER_GB
    canary_gb_s = targets * inputs.canary_ms / 1000 * CANARY_GB
    sqs = targets * per_target["sqs"] + math.ceil(targets / SQS_BATCH)
    reads = targets * inputs.calls.get("dynamodb.GetItem", 0)
    writes = targets * inputs.calls.get("dynamodb.PutItem", 0)
    log_gb = targets * (inputs.log_bytes + 2 * PLATFORM_LOG_BYTES) / 1e9
    per_sweep = {
        "checker": checker_gb_s * cost.LAMBDA_ARM_GB_S,
        "canaries": canary_gb_s * cost.LAMBDA_ARM_GB_S,
        "Lambda requests": (2 * targets + 1) * cost.LAMBDA_REQUEST,
        "SQS": sqs * SQS_REQUEST,
        "DynamoDB": reads * cost.DYNAMODB_READ + writes * cost.DYNAMODB_WRITE,
        "logs": log_gb * cost.LOGS_INGEST_GB,
    }
    return {item: usd * SWEEPS_A_MONTH for item, usd in per_sweep.items()}


def first_quota_reached(inputs: Inputs, accounts: int, regions: int) -> tuple[str, int]:
    """The central quota crossed at the lowest concurrency without the release rate, and that
    concurrency (up to the event source mapping's 1,000)."""
    for concurrency in range(2, 1001):
        outcome = run_rates_only(inputs, concurrency, regions)
        for key, rate in outcome.items():
            quota = QUOTAS[key].per_s
            if key in ("ec2.Describe", "tagging.GetResources") or quota is None:
                continue
            if rate >= quota:
                return QUOTAS[key].api, concurrency
    return "none below 1,000", 1000


def run_rates_only(inputs: Inputs, concurrency: int, regions: int) -> dict[str, float]:
    seconds = target_seconds(inputs, concurrency, regions)
    peak = concurrency / statistics.fmean(seconds)
    rates = {k: n * peak for k, n in _per_target_calls(inputs, concurrency, regions).items()}
    rates["lambda.concurrency"] = concurrency
    return rates


# --- the report -------------------------------------------------------------------------------


def input_lines(inputs: Inputs) -> list[str]:
    calls = ", ".join(f"{name} {n:g}" for name, n in sorted(inputs.calls.items()))
    own = statistics.median(inputs.own_ms)
    return [
        f"inputs measured ({inputs.measured_where}; 512 MB = 0.29 vCPU):",
        f"  the checker's own time per target {own:.0f} ms (median of {len(inputs.own_ms)}; "
        f"AWS's answers and the canary left out), CPU {inputs.cpu_ms:.1f} ms",
        f"  cold start {inputs.cold_start_ms:.0f} ms; log {inputs.log_bytes:.0f} bytes a target",
        f"  AWS calls per target (AssumeRole modelled below): {calls}",
        "inputs assumed: " + "; ".join(inputs.assumptions),
        "inputs documented (quotas):",
        *(
            f"  {q.api}: {'no published rate' if q.per_s is None else f'{q.per_s:,g}{q.unit}'}, "
            f"{q.scope} [{q.source}]"
            for q in QUOTAS.values()
        ),
    ]


def _rate_cell(key: str, rate: float) -> str:
    quota = QUOTAS[key].per_s
    if quota is None:
        return f"{rate:7.1f}/s (-)"
    return f"{rate:7.1f}/s ({rate / quota:4.0%})"


def table_lines(outcomes: Sequence[Outcome]) -> list[str]:
    header = (
        f"{'release':>8} {'C':>4} | {'sweep (95% range)':>22} | {'env.':>5} | "
        f"{'STS AssumeRole':>17} | {'DynamoDB':>17} | {'Organizations':>15} | {'SQS':>10} | "
        f"{'EC2 / tagging per member':>25} | {'month':>8}"
    )
    lines = [header, "-" * len(header)]
    for o in outcomes:
        s = o.scenario
        release = f"{s.release_per_s:g}/s" if s.release_per_s else "none"
        sweep = f"{o.sweep.value:5.1f} s [{o.sweep.low:.1f}, {o.sweep.high:.1f}]"
        member = (
            f"{o.per_account_rates['ec2.Describe']:.3f}/s, "
            f"{o.per_account_rates['tagging.GetResources']:.4f}/s"
        )
        lines.append(
            f"{release:>8} {s.concurrency:>4} | {sweep:>22} | "
            f"{o.rates['lambda.concurrency']:5.0f} | "
            f"{_rate_cell('sts.AssumeRole', o.rates['sts.AssumeRole']):>17} | "
            f"{_rate_cell('dynamodb', o.rates['dynamodb']):>17} | "
            f"{o.rates['organizations']:10.1f}/s | {o.rates['sqs']:7.0f}/s | {member:>25} | "
            f"${sum(o.usd_month.values()):7.2f}"
        )
    return lines


def report(
    inputs: Inputs,
    accounts: int = 1000,
    regions: int = 4,
    concurrencies: Sequence[int] = (50, 100, 200),
) -> list[str]:
    scenarios = [
        Scenario(accounts, regions, c, release)
        for release in (None, RELEASE_PER_S)
        for c in concurrencies
    ]
    outcomes = [run_scenario(inputs, s) for s in scenarios]
    quota, at = first_quota_reached(inputs, accounts, regions)
    fast_quota, fast_at = first_quota_reached(
        replace(inputs, canary_ms=FAST_CANARY_MS), accounts, regions
    )
    mean_s = statistics.fmean(target_seconds(inputs, concurrencies[0], regions))
    chosen = outcomes[len(concurrencies)]  # the release rate, the first concurrency
    before = replace(
        inputs, calls={**inputs.calls, "organizations.DescribeAccount": 0.78, "dynamodb.GetItem": 2}
    )
    asked = [run_rates_only(before, c, regions)["organizations"] for c in concurrencies]
    return [
        f"organization sweep model: {accounts:,} accounts x {regions} regions = "
        f"{accounts * regions:,} targets, a sweep every {SWEEP_PERIOD_MIN} minutes "
        f"({SWEEPS_A_MONTH:,} a month)",
        *input_lines(inputs),
        f"a target in Lambda: {mean_s * 1000:.0f} ms on average (at C={concurrencies[0]}); "
        "rates at the peak (every environment busy, or the release rate), % of the quota; "
        "env. = checker environments busy at the peak; month = us-east-1 list prices, arm64 "
        "(Lambda, requests, SQS, DynamoDB, logs)",
        *table_lines(outcomes),
        f"first quota reached without the release rate: {quota}, at concurrency {at} "
        f"({fast_quota} at {fast_at} when canaries answer in {FAST_CANARY_MS:.0f} ms; every "
        "other central quota later; member accounts see one target per region a sweep, far "
        "below theirs)",
        "Organizations: the fan-out's listing, one page after the other (the same in every row)",
        f"with targets released {RELEASE_PER_S:g}/s (the fan-out's DelaySeconds) no rate grows "
        "with the concurrency: AssumeRole stays under a sixth of STS's quota, and concurrency "
        f"beyond {RELEASE_PER_S * mean_s:.0f} environments only waits for messages",
        "before issue 22, a setting's own accounts were named per target (DescribeAccount for "
        "78% of targets in its benchmark): "
        + ", ".join(f"{rate:.0f}/s at C={c}" for c, rate in zip(concurrencies, asked, strict=True))
        + " against Organizations, which publishes no rate and refuses concurrent calls; now "
        "none (the fan-out names every account once, the messages carry the names)",
        "the first sweep to find every target failing (one bad option set everywhere, no "
        "change event seen) waits for each one's confirming second run: "
        + ", ".join(
            f"{delay} s (SweepConfirmDelaySeconds) -> "
            f"{accounts * regions * (mean_s + delay) / concurrencies[0] / 60:.0f} min"
            for delay in CONFIRM_DELAY_S
        )
        + f" of sweep at C={concurrencies[0]}",
        f"a month at C={chosen.scenario.concurrency}, released {RELEASE_PER_S:g}/s: "
        + ", ".join(f"{item} ${usd:.2f}" for item, usd in chosen.usd_month.items())
        + f" = ${sum(chosen.usd_month.values()):.2f}",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--regions", type=int, default=4)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[50, 100, 200])
    args = parser.parse_args(argv)
    for line in report(README_RUN, args.accounts, args.regions, args.concurrency):
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
