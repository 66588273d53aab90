"""Organization sweep benchmark: 200 (account, region) targets x 1 canary, concurrency 50.

    make bench-org        # or: python -m devtools.bench_org [--runs N] [--targets N] ...

The real checker handler runs under moto in organization mode: the scheduled sweep fans the
targets out to a moto SQS queue (one message each), then a poller receives the messages and a
pool of 50 threads, standing in for the event source mapping's MaximumConcurrency, hands each
message to `lambda_handler` as a one-record SQS batch event (deleting it when the checker reports
no batch item failure). Every check assumes the member role in its account (moto's STS), reads
the VPC and its option set, finds the canary by its tag, invokes it and writes the state. The
canary is `SimulatedCanaries` (devtools/fanout.py): it sleeps the canary latency, then answers
with findings recorded from a real canary run against the DNS lab.

Side by side in one run, medians over the runs:
- the sweep with canaries answering in 300 ms, against the ideal 200 x 0.3 s / 50 = 1.2 s, and
  the target: at most 2 x ideal plus a fixed overhead, the fan-out (the schedule's invocation
  queueing the 200 messages), measured;
- the same sweep with canaries answering at once: the checker's own work for the 200 targets
  (moto calls, building each target's clients, judging, state); the difference between the two
  is what the canaries' waits cost, which the concurrency must bring down to the ideal;
- moto's cost per call and the calls per target, measured separately, which explain most of that
  work; and one target alone, one after another, each in a new (account, region).

In this process every target's CPU work shares one interpreter lock and the machine's cores, so
the measured sweep is bound by 200 x the per-target work, not by the canaries: the target is
missed here by construction, and the report says by how much. In Lambda each target is its own
invocation with its own CPU; the report's model (not a measurement) puts the sweep at the
fan-out plus 200 / 50 waves of one target measured alone. The exit status holds what this
process can show: the canaries' waits overlap as the concurrency allows (the 300 ms sweep takes
at most 2 x ideal longer than the same sweep with canaries answering at once).

Setup (member roles, VPCs, option sets, canary functions in 100 accounts x 2 regions) is not
timed. The cost per sweep prices one target's measured duration (alone) and the requests counted
in the median sweep at us-east-1 list prices (devtools/cost.py).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import boto3
from dns_watchdog.aws.sweep_queue import sweep_message
from dns_watchdog.domain.place import Place
from dns_watchdog.observability import logger

from devtools import cost
from devtools.awsworld import AwsWorld, function_zip, local_aws
from devtools.fanout import SimulatedCanaries, recorded_healthy_findings
from devtools.lambdakit import (
    CHECKER_DIR,
    REGION,
    FakeLambdaContext,
    LambdaHandler,
    environment_variables,
    load_handler,
    quiet_empty_metrics,
)
from devtools.orgworld import (
    HOME,
    ROLE_NAME,
    SWEEP_QUEUE_NAME,
    create_member_role,
    in_account,
    scheduled_sweep,
    sqs_batch_event,
)

REGIONS = (REGION, "eu-west-1")
VPC_CIDR = "127.201.7.0/24"  # the recorded findings' VPC: AmazonProvidedDNS at base + 2
CANARY_LATENCY_S = 0.3
CONCURRENCY = 50
TARGETS = 200
# The target: at most this many times the ideal, plus the measured overhead.
IDEAL_FACTOR = 2.0
# Lambda list prices (us-east-1) not in devtools/cost.py.
LAMBDA_X86_GB_S = 0.0000166667
SQS_REQUEST = 0.40 / 1_000_000
WAITS_LABEL = "the canaries' waits (300 ms - at once)"
_DYNAMODB_READS = frozenset({"GetItem", "Query", "Scan", "BatchGetItem"})
_DYNAMODB_WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"})


def member_accounts(count: int) -> list[str]:
    return [f"{200_000_000_000 + number:012d}" for number in range(1, count + 1)]


@dataclass
class CallCounter:
    """Counts the AWS calls the checker's clients complete (Invoke answered locally included)."""

    calls: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, model: Any, **_: Any) -> None:
        with self._lock:
            self.calls[f"{model.service_model.service_name}.{model.name}"] += 1

    @contextlib.contextmanager
    def counting(self, session: boto3.session.Session) -> Iterator[CallCounter]:
        session.events.register("after-call", self)
        try:
            yield self
        finally:
            session.events.unregister("after-call", self)


@dataclass
class SweepRun:
    """One timed sweep."""

    wall_s: float
    fan_out_s: float
    durations_s: list[float]
    calls: Counter[str]


class OrgBench:
    """The organization in moto: member accounts x regions, one VPC and one canary each."""

    def __init__(self, accounts: list[str], regions: tuple[str, ...]) -> None:
        self.accounts = accounts
        self.regions = regions
        session = boto3.DEFAULT_SESSION
        assert session is not None  # local_aws() set it up
        self.session: boto3.session.Session = session
        self.central = AwsWorld(self.session)
        resources = self.central.checker_resources(table="state", topic="alerts")
        self.queue_url = self.central.sqs.create_queue(
            QueueName=SWEEP_QUEUE_NAME, Attributes={"VisibilityTimeout": "900"}
        )["QueueUrl"]
        self.queue_arn = f"arn:aws:sqs:{REGION}:{HOME}:{SWEEP_QUEUE_NAME}"
        self._build_members()
        self.settings = {
            **resources.settings,
            "MEMBER_ROLE_NAME": ROLE_NAME,
            "HOME_ACCOUNT_ID": HOME,
            "SWEEP_QUEUE_URL": self.queue_url,
            "SWEEP_TARGETS": f"{'|'.join(accounts)}:{'|'.join(regions)}",
            "POWERTOOLS_LOG_LEVEL": "CRITICAL",
            "POWERTOOLS_METRICS_NAMESPACE": "BenchOrg",
            "POWERTOOLS_TRACE_DISABLED": "true",
        }

    def _build_members(self) -> None:
        """Not timed. One client per service and region, switched between accounts with moto's
        account setting (building clients per account would take most of the setup)."""
        iam = self.session.client("iam")
        ec2 = {region: self.session.client("ec2", region_name=region) for region in self.regions}
        lam = {region: self.session.client("lambda", region_name=region) for region in self.regions}
        for account in self.accounts:
            create_member_role(account)
            with in_account(account):
                role_arn = iam.create_role(
                    RoleName="vpc-dns-canary", AssumeRolePolicyDocument="{}"
                )["Role"]["Arn"]
                for region in self.regions:
                    vpc_id = ec2[region].create_vpc(CidrBlock=VPC_CIDR)["Vpc"]["VpcId"]
                    option_set = ec2[region].create_dhcp_options(
                        DhcpConfigurations=[
                            {"Key": "domain-name-servers", "Values": ["AmazonProvidedDNS"]}
                        ]
                    )["DhcpOptions"]["DhcpOptionsId"]
                    ec2[region].associate_dhcp_options(DhcpOptionsId=option_set, VpcId=vpc_id)
                    lam[region].create_function(
                        FunctionName=f"vpc-dns-canary-{vpc_id}",
                        Runtime="python3.12",
                        Role=role_arn,
                        Handler="app.lambda_handler",
                        Code={"ZipFile": function_zip()},
                        Tags={"dhcp-watchdog:vpc-id": vpc_id},
                    )

    def sweep(self, checker: LambdaHandler, concurrency: int) -> SweepRun:
        """Timed: the schedule's fan-out, then the queue drained by `concurrency` workers."""
        sqs = self.central.sqs
        durations: list[float] = []
        failures: list[str] = []
        counter = CallCounter()

        def deliver(message: dict[str, Any]) -> None:
            context = FakeLambdaContext("vpc-dns-watchdog-checker", timeout_ms=120_000)
            started = time.perf_counter()
            response = checker(sqs_batch_event([message], self.queue_arn), context)
            durations.append(time.perf_counter() - started)
            if response.get("batchItemFailures"):
                failures.append(message["Body"])
                return
            sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])

        with counter.counting(self.session), contextlib.redirect_stdout(io.StringIO()):
            started = time.perf_counter()
            context = FakeLambdaContext("vpc-dns-watchdog-checker", timeout_ms=120_000)
            fanned = checker(scheduled_sweep(), context)
            fan_out_s = time.perf_counter() - started
            with ThreadPoolExecutor(max_workers=concurrency) as pool:
                # The event source mapping's poller: receive, hand each message to a worker.
                while messages := sqs.receive_message(
                    QueueUrl=self.queue_url, MaxNumberOfMessages=10
                ).get("Messages", []):
                    for message in messages:
                        pool.submit(deliver, dict(message))
            wall_s = time.perf_counter() - started
        expected = len(self.accounts) * len(self.regions)
        if fanned.get("targets") != expected or len(durations) != expected or failures:
            raise RuntimeError(
                f"sweep incomplete: fanned out {fanned.get('targets')}, checked {len(durations)} "
                f"of {expected}, failed {failures[:3]}"
            )
        return SweepRun(wall_s, fan_out_s, durations, counter.calls)

    def alone_s(self, checker: LambdaHandler, samples: int) -> list[float]:
        """Durations of single-target invocations one after another (nothing else running): each
        a target in an account the handler has not entered yet, as a warm execution environment
        meets a new target."""
        sqs = self.central.sqs
        targets = [(a, r) for a in self.accounts[-samples:] for r in self.regions][:samples]
        for account, region in targets:
            sqs.send_message(
                QueueUrl=self.queue_url,
                MessageBody=sweep_message(Place(account, region), None),
            )
        durations = []
        with contextlib.redirect_stdout(io.StringIO()):
            while messages := sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10
            ).get("Messages", []):
                for message in messages:
                    context = FakeLambdaContext("vpc-dns-watchdog-checker", timeout_ms=120_000)
                    started = time.perf_counter()
                    response = checker(sqs_batch_event([message], self.queue_arn), context)
                    durations.append(time.perf_counter() - started)
                    if response.get("batchItemFailures"):
                        raise RuntimeError(f"target failed: {message['Body']}")
                    sqs.delete_message(
                        QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                    )
        return durations

    def moto_call_ms(self, samples: int = 50) -> float:
        """Median wall time of one moto call through a member account's assumed-role client."""
        account = self.accounts[0]
        sts = self.session.client("sts")
        keys = sts.assume_role(
            RoleArn=f"arn:aws:iam::{account}:role/{ROLE_NAME}", RoleSessionName="bench"
        )["Credentials"]
        ec2 = self.session.client(
            "ec2",
            region_name=REGION,
            aws_access_key_id=keys["AccessKeyId"],
            aws_secret_access_key=keys["SecretAccessKey"],
            aws_session_token=keys["SessionToken"],
        )
        ec2.describe_vpcs()
        timings = []
        for _ in range(samples):
            started = time.perf_counter()
            ec2.describe_vpcs()
            timings.append((time.perf_counter() - started) * 1000)
        return statistics.median(timings)


@dataclass
class Figures:
    targets: int
    concurrency: int
    runs: int
    slow: list[SweepRun]
    instant: list[SweepRun]
    moto_call_ms: float
    # Single-target invocations with nothing else running (canary 300 ms).
    alone_s: list[float]

    @property
    def ideal_s(self) -> float:
        return self.targets * CANARY_LATENCY_S / self.concurrency

    @property
    def wall_s(self) -> float:
        return statistics.median(run.wall_s for run in self.slow)

    @property
    def overhead_s(self) -> float:
        return statistics.median(run.wall_s for run in self.instant)

    @property
    def fan_out_s(self) -> float:
        return statistics.median(run.fan_out_s for run in self.slow)

    @property
    def passed(self) -> bool:
        """The canaries' waits overlap as the concurrency allows: the 300 ms sweep takes at most
        2 x ideal longer than the same sweep with canaries answering at once."""
        return self.wall_s <= IDEAL_FACTOR * self.ideal_s + self.overhead_s


def measure(targets: int, concurrency: int, runs: int) -> Figures:
    level = logger.log_level
    # The functions' loggers (one logging logger, named after the service) were created when
    # devtools imported the checker's package: quiet them (their JSON lines would be timed too).
    logger.setLevel("ERROR")
    try:
        return _measure(targets, concurrency, runs)
    finally:
        logger.setLevel(level)


def _measure(targets: int, concurrency: int, runs: int) -> Figures:
    accounts = member_accounts(max(1, targets // len(REGIONS)))
    slow: list[SweepRun] = []
    instant: list[SweepRun] = []
    findings = recorded_healthy_findings(VPC_CIDR)
    with local_aws(), quiet_empty_metrics():
        bench = OrgBench(accounts, REGIONS)
        canaries = SimulatedCanaries(latency_ms=CANARY_LATENCY_S * 1000, findings=findings)
        with canaries.routing(), environment_variables(bench.settings):
            # Warm-up, untimed: imports, service models, moto's first calls.
            bench.alone_s(load_handler(CHECKER_DIR), samples=2)
            alone = bench.alone_s(load_handler(CHECKER_DIR), samples=10)
            for _ in range(runs):
                # A new handler module per sweep: no credentials or clients cached from before.
                slow.append(bench.sweep(load_handler(CHECKER_DIR), concurrency))
                canaries.latency_ms = 0
                instant.append(bench.sweep(load_handler(CHECKER_DIR), concurrency))
                canaries.latency_ms = CANARY_LATENCY_S * 1000
            moto_ms = bench.moto_call_ms()
    return Figures(len(accounts) * len(REGIONS), concurrency, runs, slow, instant, moto_ms, alone)


def lambda_model_s(figures: Figures) -> float:
    """A model, not a measurement: the sweep in Lambda, where each target is its own invocation
    with its own CPU: the fan-out, then the targets in waves of `concurrency`, each wave as long
    as one target measured alone."""
    fan_out = statistics.median(run.fan_out_s for run in figures.slow)
    waves = -(-figures.targets // figures.concurrency)
    return fan_out + waves * statistics.median(figures.alone_s)


def cost_lines(figures: Figures) -> list[str]:
    """The cost per sweep, from the measured durations and the counted requests."""
    run = figures.slow[len(figures.slow) // 2]
    calls = run.calls
    alone = statistics.median(figures.alone_s)
    checker_s = figures.targets * alone + run.fan_out_s
    checker_gb_s = checker_s * cost.CHECKER_MEMORY_GB
    contended_gb_s = (sum(run.durations_s) + run.fan_out_s) * cost.CHECKER_MEMORY_GB
    invocations = len(run.durations_s) + 1
    canary_runs = calls["lambda.Invoke"]
    canary_gb_s = canary_runs * CANARY_LATENCY_S * cost.CANARY_MEMORY_GB
    sqs_requests = sum(number for name, number in calls.items() if name.startswith("sqs."))
    # The event source mapping's receives and deletes are made by Lambda's pollers, not the
    # checker: about one receive per 10 messages and one delete per message (batches of one).
    esm_requests = -(-figures.targets // 10) + figures.targets
    reads = calls_of(calls, "dynamodb", _DYNAMODB_READS)
    writes = calls_of(calls, "dynamodb", _DYNAMODB_WRITES)
    lambda_arm = (checker_gb_s + canary_gb_s) * cost.LAMBDA_ARM_GB_S
    lambda_x86 = (checker_gb_s + canary_gb_s) * LAMBDA_X86_GB_S
    requests = (invocations + canary_runs) * cost.LAMBDA_REQUEST
    sqs = (sqs_requests + esm_requests) * SQS_REQUEST
    dynamodb = reads * cost.DYNAMODB_READ + writes * cost.DYNAMODB_WRITE
    total_arm = lambda_arm + requests + sqs + dynamodb
    sweeps_a_month = cost.MINUTES_A_MONTH // 5
    return [
        f"cost per sweep of {figures.targets} targets (us-east-1 list prices, the median run):",
        f"  checker  {invocations} invocations ({figures.targets} queue batches of one + the "
        f"fan-out) x {alone * 1000:.0f} ms (one target measured alone) = {checker_s:.1f} s, "
        f"{cost.CHECKER_MEMORY_GB * 1024:.0f} MB: {checker_gb_s:.1f} GB-s "
        f"(with this run's contended durations: {contended_gb_s:.1f} GB-s)",
        f"  canaries {canary_runs} invocations x {CANARY_LATENCY_S} s, "
        f"{cost.CANARY_MEMORY_GB * 1024:.0f} MB: {canary_gb_s:.1f} GB-s",
        f"  Lambda   compute arm64 ${lambda_arm:.6f} (x86_64 ${lambda_x86:.6f}); requests "
        f"{invocations + canary_runs} x $0.20/M = ${requests:.6f}",
        f"  SQS      {sqs_requests} SendMessageBatch by the checker + ~{esm_requests} receives "
        f"and deletes by the event source mapping, x $0.40/M = ${sqs:.6f}",
        f"  DynamoDB {reads} reads + {writes} writes on demand = ${dynamodb:.6f}; "
        f"STS AssumeRole ({calls['sts.AssumeRole']} calls), EC2 and tagging reads: free",
        f"  total    ${total_arm:.5f} per sweep (arm64); a sweep every 5 minutes: "
        f"${total_arm * sweeps_a_month:.2f} a month",
    ]


def calls_of(calls: Counter[str], service: str, operations: frozenset[str]) -> int:
    return sum(
        number
        for name, number in calls.items()
        if name.split(".")[0] == service and name.split(".")[1] in operations
    )


def report(figures: Figures) -> list[str]:
    slow, instant = figures.slow, figures.instant
    targets, concurrency = figures.targets, figures.concurrency
    ideal, wall, overhead = figures.ideal_s, figures.wall_s, figures.overhead_s
    fan_out = figures.fan_out_s
    stated = IDEAL_FACTOR * ideal + fan_out  # the target with the fixed overhead stated
    waits = wall - overhead
    run = slow[len(slow) // 2]
    calls_per_target = (sum(run.calls.values()) - run.calls["lambda.Invoke"]) / targets
    moto_s = calls_per_target * targets * figures.moto_call_ms / 1000
    alone = statistics.median(figures.alone_s)
    model = lambda_model_s(figures)

    def met(value: float, limit: float) -> str:
        return "met" if value <= limit else "MISSED"

    return [
        f"organization sweep benchmark (median of {figures.runs} runs; {targets} targets = "
        f"{targets // len(REGIONS)} accounts x {len(REGIONS)} regions, 1 canary each; "
        f"concurrency {concurrency}; python {sys.version.split()[0]})",
        f"{'sweep, canaries answer in 300 ms':<46} {wall:>7.2f} s | ideal {targets} x "
        f"{CANARY_LATENCY_S} s / {concurrency} = {ideal:.2f} s | ratio {wall / ideal:5.2f} | "
        f"{targets / wall:6.1f} targets/s",
        f"{'same sweep, canaries answer at once':<46} {overhead:>7.2f} s | the checker's own work "
        f"for {targets} targets, one process | {targets / overhead:6.1f} targets/s",
        f"{'  of which the fan-out (schedule -> queue)':<46} {fan_out:>7.2f} s "
        "| the fixed overhead",
        f"{'  of which moto (DescribeVpcs: one call)':<46} {moto_s:>7.2f} s = "
        f"{calls_per_target:.1f} AWS calls per target (besides Invoke) x {targets} x "
        f"{figures.moto_call_ms:.1f} ms",
        f"{WAITS_LABEL:<46} {waits:>7.2f} s | ideal {ideal:.2f} s | "
        f"ratio {waits / ideal:5.2f} | <= {IDEAL_FACTOR:g} x ideal: {met(waits, 2 * ideal)}",
        f"{'one target alone (canary 300 ms)':<46} {alone * 1000:>7.0f} ms | median of "
        f"{len(figures.alone_s)}, one after another, each a new (account, region)",
        f"{'model: the sweep in Lambda (not measured)':<46} {model:>7.2f} s | fan-out + "
        f"{-(-targets // concurrency)} waves x one target alone | ratio {model / ideal:5.2f}",
        f"target: sweep <= {IDEAL_FACTOR:g} x ideal + fan-out = {IDEAL_FACTOR:g} x {ideal:.2f} + "
        f"{fan_out:.2f} = {stated:.2f} s: in this process {wall:.2f} s, {met(wall, stated)} "
        f"(every target's CPU work shares one interpreter lock and 2 cores); in Lambda "
        f"(model) {model:.2f} s, {met(model, stated)}",
        "sweeps (s): canaries 300 ms "
        + ", ".join(f"{r.wall_s:.2f}" for r in slow)
        + " | at once "
        + ", ".join(f"{r.wall_s:.2f}" for r in instant),
        "AWS calls per sweep: "
        + ", ".join(f"{name} {number}" for name, number in sorted(run.calls.items())),
        *cost_lines(figures),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="sweeps per measurement (median)")
    parser.add_argument("--targets", type=int, default=TARGETS)
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    figures = measure(args.targets, args.concurrency, args.runs)
    for line in report(figures):
        print(line)
    print(f"(benchmark with setup: {time.perf_counter() - started:.0f} s)")
    return 0 if figures.passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
