"""Organization sweep benchmark at Lambda's CPU share: 200 (account, region) targets.

    make bench-org    # or: python -m devtools.bench_org [--runs N] [--targets N] [--workers N]

What runs: an organization in moto (its management account and 99 member accounts, one VPC
and one canary in each of us-east-1 and eu-west-1; ``SWEEP_TARGETS=*:us-east-1|eu-west-1``),
served to the checker by a moto server in this process on loopback. The real checker handler
runs in worker processes (devtools/orgbench_worker.py), each in a cgroup of its own with the
CPU quota Lambda gives the checker's 512 MB (512 / 1,769 = 0.29 vCPU; root needed, otherwise
the workers run unthrottled and the report says so): one fans the sweep out (the schedule's
event: Organizations' listing, one queue message per target), the others take the queue's
messages one after another like warm execution environments, each message a one-record SQS
batch (the event source mapping's BatchSize 1). Before each sweep every worker starts a new
handler module (nothing cached from the sweep before) and checks one warm-up target of its
own, untimed: the timed targets are places its container has never entered, the common case
when a thousand accounts are shared by dozens of containers. Canaries are a double that sleeps
the canary latency (300 ms, or none) and answers with findings recorded from a real canary run.

What it reports, all measured unless it says "model": per target, the checker's CPU (goal <=
40 ms, judged on the upper end of the median's 95% interval) and wall time at the quota, the
time spent waiting on AWS's (moto's) answers, and the checker's own time (the rest, less the
canary); the cold start; the fan-out; the 200-target sweep with the workers this machine can
hold at the quota; a model of that sweep from the measured parts, held to the measured sweeps
(it fails when something outside the per-target work slows the sweep); what a 300 ms canary
adds to a target (the targets of the 300 ms sweeps against the others, AWS's answers left out
of both: a shift with its 95% interval, judged only when the interval is above zero); the
sweep in Lambda at concurrency 50, modelled from the same parts (warm, with the event source
mapping's documented ramp, cold); the AWS calls; the cost per sweep; and the 1,000-account
model (devtools/org_model.py) with these figures as inputs.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import boto3

from devtools import cost, org_model
from devtools.awsworld import MOTO_CREDENTIALS, AwsWorld, function_zip, local_aws
from devtools.bench_canary_tcp import cpu_quota_cgroup, cpu_share
from devtools.benchkit import (
    Estimate,
    mean_interval,
    median_interval,
    percentile,
    shift_interval,
)
from devtools.fanout import recorded_healthy_findings
from devtools.lambdakit import REGION, REPO_ROOT, environment_variables, quiet_empty_metrics
from devtools.orgworld import HOME, ROLE_NAME, SWEEP_QUEUE_NAME, in_account
from devtools.sam_local import moto_server

REGIONS = (REGION, "eu-west-1")
VPC_CIDR = "127.201.7.0/24"  # the recorded findings' VPC: AmazonProvidedDNS at base + 2
CANARY_LATENCY_S = 0.3
TARGETS = 200
CONCURRENCY = 50  # the template's SweepMaxConcurrency, modelled in Lambda
WORKERS = 4  # 4 x 0.29 vCPU, with the moto server beside them, on a 2-core machine
CHECKER_MEMORY_MB = 512
CPU_GOAL_S = 0.040  # the checker's CPU per target
IDEAL_FACTOR = 2.0
MODEL_TOLERANCE = 0.10  # the W-worker model may sit this far outside the measured sweeps
WARM_UP_ACCOUNT_BASE = 300_000_000_000  # outside the organization: never a sweep target
WAITS_LABEL = "a target's wait for its 300 ms canary"


# --- the world --------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrgWorld:
    endpoint: str
    queue_url: str
    queue_arn: str
    settings: dict[str, str]
    warm_up_accounts: tuple[str, ...]


def _place_canary(ec2: Any, lam: Any, role_arn: str) -> None:
    vpc_id = ec2.create_vpc(CidrBlock=VPC_CIDR)["Vpc"]["VpcId"]
    option_set = ec2.create_dhcp_options(
        DhcpConfigurations=[{"Key": "domain-name-servers", "Values": ["AmazonProvidedDNS"]}]
    )["DhcpOptions"]["DhcpOptionsId"]
    ec2.associate_dhcp_options(DhcpOptionsId=option_set, VpcId=vpc_id)
    lam.create_function(
        FunctionName=f"vpc-dns-canary-{vpc_id}",
        Runtime="python3.12",
        Role=role_arn,
        Handler="app.lambda_handler",
        Code={"ZipFile": function_zip()},
        Tags={"dhcp-watchdog:vpc-id": vpc_id},
    )


def _populate(accounts: Sequence[str], regions: Sequence[str]) -> None:
    """A VPC and its canary in every account and region (one client per service and region,
    switched between accounts with moto's account setting)."""
    session = boto3.session.Session(region_name=REGION)
    iam = session.client("iam")
    ec2 = {region: session.client("ec2", region_name=region) for region in regions}
    lam = {region: session.client("lambda", region_name=region) for region in regions}
    for account in accounts:
        with in_account(account):
            role_arn = iam.create_role(RoleName="vpc-dns-canary", AssumeRolePolicyDocument="{}")[
                "Role"
            ]["Arn"]
            for region in regions:
                _place_canary(ec2[region], lam[region], role_arn)


def _organization(members: int) -> list[str]:
    """An organization managed by the home account, with `members` accounts: every account."""
    organizations = boto3.client("organizations")
    organizations.create_organization(FeatureSet="ALL")
    for number in range(members):
        organizations.create_account(AccountName=f"team-{number:03d}", Email=f"t{number}@e.com")
    listed = organizations.get_paginator("list_accounts").paginate()
    return sorted(account["Id"] for page in listed for account in page["Accounts"])


@contextlib.contextmanager
def org_world(targets: int, workers: int) -> Iterator[OrgWorld]:
    """moto in this process, built here, served to the workers on loopback."""
    with (
        environment_variables({"MOTO_EC2_LOAD_DEFAULT_AMIS": "false"}),
        local_aws(),
        moto_server("127.0.0.1") as endpoint,
    ):
        accounts = _organization(max(1, targets // len(REGIONS)) - 1)
        warm_up = tuple(f"{WARM_UP_ACCOUNT_BASE + n:012d}" for n in range(workers + 1))
        _populate(accounts, REGIONS)
        _populate(warm_up, (REGION,))
        central = AwsWorld(boto3.session.Session(region_name=REGION))
        resources = central.checker_resources(table="state", topic="alerts")
        queue_url = central.sqs.create_queue(
            QueueName=SWEEP_QUEUE_NAME, Attributes={"VisibilityTimeout": "900"}
        )["QueueUrl"]
        settings = {
            **MOTO_CREDENTIALS,
            **resources.settings,
            "AWS_ENDPOINT_URL": endpoint,
            "MEMBER_ROLE_NAME": ROLE_NAME,
            "HOME_ACCOUNT_ID": HOME,
            "SWEEP_QUEUE_URL": queue_url,
            "SWEEP_TARGETS": f"*:{'|'.join(REGIONS)}",
            "POWERTOOLS_LOG_LEVEL": "INFO",  # as deployed: logging is part of the work
            "POWERTOOLS_METRICS_NAMESPACE": "BenchOrg",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "AWS_LAMBDA_FUNCTION_NAME": "vpc-dns-watchdog-checker",
        }
        queue_arn = f"arn:aws:sqs:{REGION}:{HOME}:{SWEEP_QUEUE_NAME}"
        # moto's backends for 100 accounts are a large heap: without this, the server stalls
        # for a full garbage collection every so often, in the middle of a checker's call.
        gc.collect()
        gc.freeze()
        yield OrgWorld(endpoint, queue_url, queue_arn, settings, warm_up)


# --- the workers ------------------------------------------------------------------------------


class WorkerProcess:
    """A devtools/orgbench_worker.py process, in `group` (a cgroup) when given."""

    def __init__(self, spec: dict[str, Any], group: Path | None) -> None:
        read_fd, write_fd = os.pipe()
        enter = f'echo $$ > "{group}/cgroup.procs" && exec "$0" "$@"'
        prefix = ["sh", "-c", enter] if group else []
        # Kept open for the worker's life, read when it fails.
        self._stderr = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115
        path = os.pathsep.join([str(REPO_ROOT), str(REPO_ROOT / "functions" / "checker")])
        self.process = subprocess.Popen(
            [*prefix, sys.executable, "-m", "devtools.orgbench_worker", f"--report-fd={write_fd}"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
            pass_fds=(write_fd,),
            cwd=REPO_ROOT,
            env={**os.environ, "PYTHONPATH": path},
            text=True,
        )
        os.close(write_fd)
        self._reports: IO[str] = os.fdopen(read_fd)
        self.send(spec)

    def send(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(message) + "\n")
        self.process.stdin.flush()

    def answer(self) -> dict[str, Any]:
        line = self._reports.readline()
        if not line:
            self._stderr.seek(0)
            raise RuntimeError(f"benchmark worker failed:\n{self._stderr.read()[-4000:]}")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def close(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.send({"do": "quit"})
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._reports.close()
        self._stderr.close()


def ask_all(workers: Sequence[WorkerProcess], command: dict[str, Any]) -> list[dict[str, Any]]:
    for worker in workers:
        worker.send(command)
    return [worker.answer() for worker in workers]


# --- one sweep --------------------------------------------------------------------------------


@dataclass
class SweepRun:
    latency_s: float
    wall_s: float  # the schedule's fan-out, then the queue drained
    fan_out: dict[str, Any]
    records: list[dict[str, Any]]
    overhead_s: float  # per target: the event source mapping's work, done by the worker here
    calls: Counter[str] = field(default_factory=Counter)


def sweep(
    fan: WorkerProcess, drainers: Sequence[WorkerProcess], latency_s: float, expected: int
) -> SweepRun:
    ask_all([fan, *drainers], {"do": "fresh"})
    started = time.perf_counter()
    fan_out = ask_all([fan], {"do": "fan_out"})[0]
    drained = ask_all(drainers, {"do": "drain", "latency_ms": latency_s * 1000})
    wall_s = time.perf_counter() - started
    records = [record for answer in drained for record in answer["records"]]
    if fan_out["targets"] != expected or len(records) != expected:
        raise RuntimeError(
            f"sweep incomplete: fanned out {fan_out['targets']}, checked {len(records)} of "
            f"{expected}"
        )
    loops = sum(answer["loop_s"] for answer in drained)
    overhead = (loops - sum(r["wall_s"] for r in records)) / len(records)
    calls: Counter[str] = Counter(fan_out["calls"])
    for record in records:
        calls.update(record["calls"])
    return SweepRun(latency_s, wall_s, fan_out, records, overhead, calls)


@dataclass
class Figures:
    targets: int
    concurrency: int
    workers: int
    runs: int
    share: float | None  # vCPU per worker; None: unthrottled
    slow: list[SweepRun]
    instant: list[SweepRun]
    cold: list[dict[str, Any]]  # each drain worker's first fresh(): import + first target
    setup_s: float = 0.0  # the world built, the workers started

    @property
    def slow_records(self) -> list[dict[str, Any]]:
        return [r for run in self.slow for r in run.records]

    @property
    def all_records(self) -> list[dict[str, Any]]:
        return [r for run in [*self.slow, *self.instant] for r in run.records]


def measure(
    targets: int = TARGETS,
    concurrency: int = CONCURRENCY,
    runs: int = 3,
    workers: int = WORKERS,
    *,
    quota: bool = True,
) -> Figures:
    share = cpu_share(CHECKER_MEMORY_MB) if quota and os.geteuid() == 0 else None
    findings = recorded_healthy_findings(VPC_CIDR)
    started = time.perf_counter()
    with (
        quiet_empty_metrics(),
        org_world(targets, workers) as world,
        contextlib.ExitStack() as stack,
    ):
        groups = [
            stack.enter_context(cpu_quota_cgroup(share)) if share else None
            for _ in range(workers + 1)
        ]
        processes: list[WorkerProcess] = []
        stack.callback(lambda: list(map(WorkerProcess.close, processes)))
        for number, group in enumerate(groups):
            spec = {
                "env": world.settings,
                "queue_url": world.queue_url,
                "queue_arn": world.queue_arn,
                "findings": findings,
                "warmup": [world.warm_up_accounts[number], REGION],
            }
            processes.append(WorkerProcess(spec, group))
        fan, drainers = processes[0], processes[1:]
        cold = ask_all(drainers, {"do": "fresh"})
        ask_all([fan], {"do": "fresh"})
        ready_s = time.perf_counter() - started
        sweep(fan, drainers, 0.0, targets)  # untimed: moto's and the checker's first calls
        slow: list[SweepRun] = []
        instant: list[SweepRun] = []
        for _ in range(runs):
            slow.append(sweep(fan, drainers, CANARY_LATENCY_S, targets))
            instant.append(sweep(fan, drainers, 0.0, targets))
    return Figures(targets, concurrency, workers, runs, share, slow, instant, cold, ready_s)


# --- the report -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Judged:
    """A row that passes or fails, or says why it is not judged (None)."""

    line: str
    passed: bool | None

    def render(self) -> str:
        verdict = {True: "PASS", False: "FAIL", None: "not judged"}[self.passed]
        return f"{self.line}: {verdict}"


def _seconds(records: Sequence[dict[str, Any]], key: str) -> list[float]:
    return [record[key] for record in records]


def own_seconds(run: SweepRun) -> list[float]:
    """Per target: the wall time less AWS's answers and the canary's run."""
    return [r["wall_s"] - r["aws_wait_s"] - run.latency_s for r in run.records]


def cold_starts(figures: Figures) -> list[float]:
    return [c["import_s"] + c["first"]["wall_s"] for c in figures.cold]


def lambda_models(figures: Figures) -> dict[str, Estimate]:
    """The sweep in Lambda at the modelled concurrency, from the measured parts: the fan-out,
    then the targets drawn from the measured per-target times (300 ms canaries)."""
    fan_out = statistics.median(run.fan_out["wall_s"] for run in figures.slow)
    walls = _seconds(figures.slow_records, "wall_s")
    targets, concurrency = figures.targets, figures.concurrency
    variants = {
        "warm": org_model.simulate_sweep(targets, concurrency, walls),
        "ramp": org_model.simulate_sweep(targets, concurrency, walls, ramp=True),
        "cold": org_model.simulate_sweep(targets, concurrency, walls, cold=cold_starts(figures)),
    }
    return {
        name: Estimate(e.value + fan_out, e.low + fan_out, e.high + fan_out, e.how)
        for name, e in variants.items()
    }


def worker_model(figures: Figures) -> Estimate:
    """The measured sweep's model: the fan-out, then the W workers taking the targets (their
    measured times plus the queue work the worker does in place of the event source mapping)."""
    fan_out = statistics.median(run.fan_out["wall_s"] for run in figures.slow)
    overhead = statistics.median(run.overhead_s for run in figures.slow)
    walls = [w + overhead for w in _seconds(figures.slow_records, "wall_s")]
    modelled = org_model.simulate_sweep(figures.targets, figures.workers, walls)
    return Estimate(modelled.value + fan_out, modelled.low + fan_out, modelled.high + fan_out, "")


def canary_waits(figures: Figures) -> Estimate:
    """What a 300 ms canary adds to a target: the checker's time without AWS's answers, with
    300 ms canaries and with instant ones (AWS's answers left out on both sides: moto answers
    more slowly when the instant sweeps keep it busier)."""
    slow = [r["wall_s"] - r["aws_wait_s"] for r in figures.slow_records]
    instant = [r["wall_s"] - r["aws_wait_s"] for run in figures.instant for r in run.records]
    return shift_interval(slow, instant)


def judged_rows(figures: Figures) -> list[Judged]:
    cpu = mean_interval(_seconds(figures.all_records, "cpu_s"))
    measured = [run.wall_s for run in figures.slow]
    model = worker_model(figures)
    low, high = (1 - MODEL_TOLERANCE) * min(measured), (1 + MODEL_TOLERANCE) * max(measured)
    waits = canary_waits(figures)
    ideal = figures.targets * CANARY_LATENCY_S / figures.concurrency
    fan_out = statistics.median(run.fan_out["wall_s"] for run in figures.slow)
    lam = lambda_models(figures)["warm"]
    return [
        Judged(
            f"{'checker CPU per target':<44} {cpu.render()} ({cpu.how}; median "
            f"{median_interval(_seconds(figures.all_records, 'cpu_s')).render()}) | goal <= "
            f"{CPU_GOAL_S * 1000:.0f} ms on the mean's upper end",
            cpu.high <= CPU_GOAL_S,
        ),
        Judged(
            f"{'model of the measured sweep':<44} {model.render('s', 1, 2)} | measured "
            f"{min(measured):.2f}-{max(measured):.2f} s; held within {MODEL_TOLERANCE:.0%} of "
            "them (fails when something outside the per-target work slows the sweep)",
            low <= model.value <= high,
        ),
        Judged(
            f"{WAITS_LABEL:<44} {waits.render()} ({waits.how}) | the canary's "
            f"{CANARY_LATENCY_S * 1000:.0f} ms; <= {IDEAL_FACTOR:g} x that on the upper end, "
            "judged when the whole interval is above 0",
            (waits.high <= IDEAL_FACTOR * CANARY_LATENCY_S) if waits.low > 0 else None,
        ),
        Judged(
            f"{'model: the sweep in Lambda, C = ' + str(figures.concurrency):<44} "
            f"{lam.render('s', 1, 2)} | ideal {figures.targets} x {CANARY_LATENCY_S} s / "
            f"{figures.concurrency} = {ideal:.2f} s; <= {IDEAL_FACTOR:g} x ideal + fan-out = "
            f"{IDEAL_FACTOR * ideal + fan_out:.2f} s on the upper end",
            lam.high <= IDEAL_FACTOR * ideal + fan_out,
        ),
    ]


def measured_lines(figures: Figures) -> list[str]:
    slow = figures.slow_records
    wall = median_interval(_seconds(slow, "wall_s"))
    aws = median_interval(_seconds(slow, "aws_wait_s"))
    own_all = sorted(s for run in [*figures.slow, *figures.instant] for s in own_seconds(run))
    own = median_interval(own_all)
    deciles = ", ".join(f"{percentile(own_all, q / 10) * 1000:.0f}" for q in range(1, 10))
    cold = median_interval(cold_starts(figures))
    cold_cpu = median_interval([c["import_cpu_s"] + c["first"]["cpu_s"] for c in figures.cold])
    fan = median_interval([run.fan_out["wall_s"] for run in figures.slow])
    fan_cpu = median_interval([run.fan_out["cpu_s"] for run in figures.slow])
    sweeps = [run.wall_s for run in figures.slow]
    logged = statistics.median(_seconds(figures.all_records, "log_chars"))
    return [
        f"{'checker wall per target (canary 300 ms)':<44} {wall.render()} | "
        f"of which AWS's (moto's) answers {aws.render()}",
        f"{'the checker own time per target':<44} {own.render()} | wall less AWS's answers and "
        f"the canary; deciles {deciles} ms",
        f"{'cold start (import + first target)':<44} {cold.render()} | CPU {cold_cpu.render()}",
        f"{'the fan-out (schedule -> queue)':<44} {fan.render()} | CPU {fan_cpu.render()}",
        f"{f'the sweep, {figures.workers} workers':<44} {statistics.median(sweeps):.2f} s | "
        f"runs {', '.join(f'{s:.2f}' for s in sweeps)} s; "
        f"{figures.targets / statistics.median(sweeps):.1f} targets/s; log {logged:.0f} "
        "bytes a target",
    ]


def model_lines(figures: Figures) -> list[str]:
    models = lambda_models(figures)
    c = figures.concurrency
    return [
        f"{f'model: C = {c}, the ESM ramping up':<44} {models['ramp'].render('s', 1, 2)} | "
        f"the event source mapping starts 5 environments and adds 5 a second "
        "(docs: services-sqs-scaling)",
        f"{f'model: C = {c}, every environment cold':<44} {models['cold'].render('s', 1, 2)} | "
        "each environment's first target after a cold start measured above",
    ]


def calls_lines(figures: Figures) -> list[str]:
    run = figures.slow[len(figures.slow) // 2]
    per_target = {
        name: number / figures.targets
        for name, number in run.calls.items()
        if not name.startswith(("sqs.", "organizations."))
    }
    fan_out = {n: c for n, c in run.calls.items() if n.startswith(("sqs.", "organizations."))}
    return [
        "AWS calls per target: "
        + ", ".join(f"{name} {n:.2f}" for name, n in sorted(per_target.items())),
        "AWS calls of the fan-out: " + ", ".join(f"{n} {c}" for n, c in sorted(fan_out.items())),
    ]


def cost_lines(figures: Figures) -> list[str]:
    """The cost per sweep at the modelled Lambda durations (us-east-1 list prices, arm64)."""
    walls = _seconds(figures.slow_records, "wall_s")
    run = figures.slow[len(figures.slow) // 2]
    targets = figures.targets
    checker_gb_s = (sum(walls) / len(walls) * targets + run.fan_out["wall_s"]) * 0.5
    canary_gb_s = targets * CANARY_LATENCY_S * cost.CANARY_MEMORY_GB
    lambda_usd = (checker_gb_s + canary_gb_s) * cost.LAMBDA_ARM_GB_S
    requests_usd = (2 * targets + 1) * cost.LAMBDA_REQUEST
    sqs = run.calls["sqs.SendMessageBatch"] + 2 * targets  # and the mapping's receive, delete
    dynamo_usd = (
        run.calls["dynamodb.GetItem"] * cost.DYNAMODB_READ
        + run.calls["dynamodb.PutItem"] * cost.DYNAMODB_WRITE
    )
    log_bytes = statistics.median(_seconds(figures.all_records, "log_chars"))
    logs_usd = targets * (log_bytes + 2 * org_model.PLATFORM_LOG_BYTES) / 1e9 * cost.LOGS_INGEST_GB
    total = lambda_usd + requests_usd + sqs * org_model.SQS_REQUEST + dynamo_usd + logs_usd
    return [
        f"cost per sweep of {targets} targets (us-east-1, arm64): checker {checker_gb_s:.1f} "
        f"GB-s + canaries {canary_gb_s:.1f} GB-s = ${lambda_usd:.5f}; requests "
        f"${requests_usd:.5f}; SQS {sqs} requests ${sqs * org_model.SQS_REQUEST:.5f}; DynamoDB "
        f"${dynamo_usd:.5f}; logs ${logs_usd:.5f}; total ${total:.5f}, every 5 minutes "
        f"${total * org_model.SWEEPS_A_MONTH:.2f} a month",
    ]


def model_inputs(figures: Figures) -> org_model.Inputs:
    """The 1,000-account model's measured inputs, from this run."""
    own = [s * 1000 for run in [*figures.slow, *figures.instant] for s in own_seconds(run)]
    per_target: Counter[str] = Counter()
    for record in figures.all_records:
        per_target.update(record["calls"])
    count = len(figures.all_records)
    calls = {
        name: n / count
        for name, n in per_target.items()
        if name not in ("sts.AssumeRole",)  # the model works out its own share
    }
    cold = [
        (c["import_s"] + c["first"]["wall_s"] - c["first"]["aws_wait_s"]) * 1000
        for c in figures.cold
    ]
    return org_model.Inputs(
        own_ms=own,
        cpu_ms=statistics.median(_seconds(figures.all_records, "cpu_s")) * 1000,
        cold_start_ms=statistics.median(cold),
        log_bytes=statistics.median(_seconds(figures.all_records, "log_chars")),
        calls=calls,
        measured_where="this run",
    )


def report(figures: Figures) -> tuple[list[str], bool]:
    quota = (
        f"each worker at {figures.share:.3f} vCPU ({CHECKER_MEMORY_MB} MB)"
        if figures.share
        else "workers NOT under the CPU quota (needs root): walls are a whole core's"
    )
    judged = judged_rows(figures)
    lines = [
        f"organization sweep benchmark: {figures.targets} targets = "
        f"{figures.targets // len(REGIONS)} accounts x {len(REGIONS)} regions, 1 canary each; "
        f"{figures.workers} workers + the fan-out, {quota}; {figures.runs} sweeps with 300 ms "
        f"canaries, {figures.runs} with instant ones; medians [95% intervals]; python "
        f"{sys.version.split()[0]}",
        judged[0].render(),
        *measured_lines(figures),
        *(row.render() for row in judged[1:]),
        *model_lines(figures),
        *calls_lines(figures),
        *cost_lines(figures),
        "",
        *org_model.report(model_inputs(figures)),
    ]
    return lines, all(row.passed is not False for row in judged)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="sweeps of each kind")
    parser.add_argument("--targets", type=int, default=TARGETS)
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY, help="modelled in Lambda")
    parser.add_argument("--workers", type=int, default=WORKERS)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    figures = measure(args.targets, args.concurrency, args.runs, args.workers)
    lines, passed = report(figures)
    for line in lines:
        print(line)
    print(
        f"(benchmark: {time.perf_counter() - started:.0f} s, of which the organization in moto "
        f"and the workers' start {figures.setup_s:.0f} s)"
    )
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
