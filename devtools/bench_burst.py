"""A burst of changes from one member account through the change queue: a model from a measurement.

    python -m devtools.bench_burst [--events N] [--samples K] [--concurrency C]
    (also a suite of `make bench`: python -m devtools.bench --only burst)

Measured: the real checker handler in organization mode under moto takes forwarded changes from a
moto change queue as the event source mapping hands them over (one-record SQS batches). Each is a
new CloudTrail event (its own eventID) of one member account re-associating its VPC's healthy
option set, as a script looping over `associate-dhcp-options` would make them; the VPC's one
canary is `SimulatedCanaries` (devtools/fanout.py: 300 ms, then findings recorded from a real
canary run). Timed: the first change in a new execution environment (member role assumed, clients
built), then K changes after it (median); counted: canary invocations, alerts published, DynamoDB
requests per change.

Modelled (not measured): N such changes arriving within a minute drain `ChangeMaxConcurrency` at
a time (template.yaml's default, read from the template, or --concurrency): the time to drain,
the longest wait in the queue against `ChangeQueueAgeAlarm` and the queue's retention, the canary
runs, the alerts and the cost at us-east-1 list prices (devtools/cost.py). Beside it, what the
same burst did before the queue (asynchronous invokes, no cap): its concurrency.

In this process moto answers in milliseconds; real AWS calls take tens of milliseconds each, so a
check in Lambda is slower than measured here: the rows say how much slower it may be before the
burst outlasts the age alarm.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
from dns_watchdog.observability import logger

from devtools import cost
from devtools.awsworld import AwsWorld, local_aws
from devtools.benchkit import Row
from devtools.fanout import SimulatedCanaries, recorded_healthy_findings
from devtools.lambdakit import (
    CHECKER_DIR,
    REGION,
    FakeLambdaContext,
    environment_variables,
    load_handler,
    quiet_empty_metrics,
)
from devtools.orgworld import (
    HOME,
    MEMBER,
    ROLE_NAME,
    ChangeQueue,
    create_member_role,
    forwarded_change,
    session_in,
)


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


def calls_of(calls: Counter[str], service: str, operations: frozenset[str]) -> int:
    return sum(
        number
        for name, number in calls.items()
        if name.split(".")[0] == service and name.split(".")[1] in operations
    )


EVENTS = 10_000
ARRIVAL_WINDOW_S = 60.0  # "10,000 events a minute"
SAMPLES = 30
MEMBER_REGION = "eu-west-1"
VPC_CIDR = "127.201.7.0/24"  # the recorded findings' VPC: AmazonProvidedDNS at base + 2
CANARY_LATENCY_S = 0.3
# The Lambda account concurrency quota most accounts have: what an uncapped burst could take.
ACCOUNT_CONCURRENCY = 1000
# List prices (us-east-1) not in devtools/cost.py.
SQS_REQUEST = 0.40 / 1_000_000
EVENTBRIDGE_EVENT = 1.00 / 1_000_000  # an event put on a custom bus (cross-account delivery)
SNS_PUBLISH = 0.50 / 1_000_000
_DYNAMODB_READS = frozenset({"GetItem", "Query", "Scan", "BatchGetItem"})
_DYNAMODB_WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"})


@dataclass(frozen=True)
class QueueSettings:
    """What template.yaml says about the change queue (its defaults)."""

    concurrency: int
    retention_s: int
    age_alarm_s: int

    @classmethod
    def from_template(cls) -> QueueSettings:
        template = cost.load_template()
        resources = template["Resources"]
        return cls(
            concurrency=int(template["Parameters"]["ChangeMaxConcurrency"]["Default"]),
            retention_s=int(resources["ChangeQueue"]["Properties"]["MessageRetentionPeriod"]),
            age_alarm_s=int(resources["ChangeQueueAgeAlarm"]["Properties"]["Threshold"]),
        )


@dataclass(frozen=True)
class Measured:
    """One change check, measured through the handler."""

    first_s: float
    per_event_s: list[float]
    canary_runs: int
    alerts: int
    reads: int
    writes: int

    @property
    def samples(self) -> int:
        return len(self.per_event_s)

    @property
    def event_s(self) -> float:
        return statistics.median(self.per_event_s)


def measure(samples: int) -> Measured:
    level = logger.log_level
    logger.setLevel("ERROR")  # the checker's JSON lines would be timed too
    try:
        return _measure(samples)
    finally:
        logger.setLevel(level)


def _measure(samples: int) -> Measured:
    findings = recorded_healthy_findings(VPC_CIDR)
    with local_aws(), quiet_empty_metrics():
        session = boto3.DEFAULT_SESSION
        assert session is not None  # local_aws() set it up
        central = AwsWorld(session)
        resources = central.checker_resources(table="state", topic="alerts")
        create_member_role(MEMBER)
        member = AwsWorld(session_in(MEMBER, MEMBER_REGION), region=MEMBER_REGION)
        vpc_id = member.create_vpc(VPC_CIDR)
        option_set = member.option_set("AmazonProvidedDNS")
        member.associate(vpc_id, option_set)
        member.add_canary(vpc_id, "vpc-dns-canary-burst")
        queue = ChangeQueue(central.sqs)
        settings = {
            **resources.settings,
            "MEMBER_ROLE_NAME": ROLE_NAME,
            "HOME_ACCOUNT_ID": HOME,
            "SWEEP_TARGETS": f"{HOME}:{REGION} {MEMBER}:{MEMBER_REGION}",
            "POWERTOOLS_LOG_LEVEL": "CRITICAL",
            "POWERTOOLS_METRICS_NAMESPACE": "BenchBurst",
            "POWERTOOLS_TRACE_DISABLED": "true",
        }
        canaries = SimulatedCanaries(latency_ms=CANARY_LATENCY_S * 1000, findings=findings)
        counter = CallCounter()
        # Counting from the start: clients copy the session's hooks when they are built.
        with canaries.routing(), environment_variables(settings), counter.counting(session):
            checker = load_handler(CHECKER_DIR)

            def one_change() -> float:
                queue.put(
                    forwarded_change(
                        "associate_dhcp_options",
                        account=MEMBER,
                        region=MEMBER_REGION,
                        vpcId=vpc_id,
                        dhcpOptionsId=option_set,
                    )
                )
                [batch] = list(queue.batches())
                context = FakeLambdaContext("vpc-dns-watchdog-checker", timeout_ms=120_000)
                started = time.perf_counter()
                response = checker(batch, context)
                elapsed = time.perf_counter() - started
                if response != {"batchItemFailures": []}:
                    raise RuntimeError(f"a change failed: {response}")
                return elapsed

            with contextlib.redirect_stdout(io.StringIO()):
                first = one_change()
                central.alerts()  # the first change's announcement: not the burst's steady state
                before = Counter(counter.calls)
                timings = [one_change() for _ in range(samples)]
                calls = counter.calls - before
        alerts = len(central.alerts())
    return Measured(
        first_s=first,
        per_event_s=timings,
        canary_runs=calls["lambda.Invoke"],
        alerts=alerts,
        reads=calls_of(calls, "dynamodb", _DYNAMODB_READS),
        writes=calls_of(calls, "dynamodb", _DYNAMODB_WRITES),
    )


@dataclass(frozen=True)
class Burst:
    """The model: `events` changes arriving within `window_s`, `concurrency` checked at once."""

    measured: Measured
    queue: QueueSettings
    events: int = EVENTS
    window_s: float = ARRIVAL_WINDOW_S
    concurrency: int | None = None

    @property
    def cap(self) -> int:
        return self.concurrency or self.queue.concurrency

    @property
    def drain_s(self) -> float:
        """From the first change's arrival to the last one checked: no sooner than the last one
        arrives; each of the `cap` environments starts with one first-change check."""
        work = math.ceil(self.events / self.cap) * self.measured.event_s
        return max(self.window_s, work) + (self.measured.first_s - self.measured.event_s)

    @property
    def longest_wait_s(self) -> float:
        """The last change's wait in the queue (the queue drains in order)."""
        return max(0.0, self.drain_s - self.window_s)

    @property
    def uncapped_concurrency(self) -> float:
        """Before the queue: every change its own asynchronous invoke, as they arrive."""
        arrivals_per_s = self.events / self.window_s
        return min(ACCOUNT_CONCURRENCY, arrivals_per_s * self.measured.first_s)

    @property
    def event_budget_s(self) -> float:
        """The longest check per change that still drains the burst before the age alarm."""
        return (self.queue.age_alarm_s + self.window_s) / math.ceil(self.events / self.cap)

    def per_event(self, count: int) -> float:
        return count / self.measured.samples

    @property
    def canary_runs(self) -> float:
        return self.events * self.per_event(self.measured.canary_runs)

    @property
    def alerts(self) -> float:
        return self.events * self.per_event(self.measured.alerts)

    def cost_usd(self) -> dict[str, float]:
        checker_gb_s = self.events * self.measured.event_s * cost.CHECKER_MEMORY_GB
        canary_gb_s = self.canary_runs * CANARY_LATENCY_S * cost.CANARY_MEMORY_GB
        reads = self.events * self.per_event(self.measured.reads)
        writes = self.events * self.per_event(self.measured.writes)
        return {
            "Lambda compute (arm64)": (checker_gb_s + canary_gb_s) * cost.LAMBDA_ARM_GB_S,
            "Lambda requests": (self.events + self.canary_runs) * cost.LAMBDA_REQUEST,
            # EventBridge's send, the mapping's receive and delete
            "SQS": 3 * self.events * SQS_REQUEST,
            "EventBridge (member -> central bus)": self.events * EVENTBRIDGE_EVENT,
            "DynamoDB": reads * cost.DYNAMODB_READ + writes * cost.DYNAMODB_WRITE,
            "SNS": self.alerts * SNS_PUBLISH,
        }


def report(burst: Burst) -> tuple[list[str], list[Row]]:
    measured, queue = burst.measured, burst.queue
    costs = burst.cost_usd()
    lines = [
        f"change burst model (python {sys.version.split()[0]}): inputs",
        f"  burst               {burst.events} changes of one member account within "
        f"{burst.window_s:.0f} s (AssociateDhcpOptions of its unchanged healthy set, each a new "
        "eventID)",
        f"  concurrency         {burst.cap} (ChangeMaxConcurrency; template default "
        f"{queue.concurrency})",
        f"  queue               retention {queue.retention_s} s, age alarm at "
        f"{queue.age_alarm_s} s (template.yaml)",
        f"  measured, per change  first in an environment {measured.first_s * 1000:.0f} ms; "
        f"then median {measured.event_s * 1000:.0f} ms (of {measured.samples}, "
        f"{min(measured.per_event_s) * 1000:.0f}-{max(measured.per_event_s) * 1000:.0f} ms), "
        f"canary {CANARY_LATENCY_S * 1000:.0f} ms included",
        f"  measured, per change  {burst.per_event(measured.canary_runs):.2f} canary runs, "
        f"{burst.per_event(measured.alerts):.2f} alerts, {burst.per_event(measured.reads):.1f} "
        f"DynamoDB reads + {burst.per_event(measured.writes):.1f} writes",
        "model (not measured):",
        f"  time to drain       {burst.drain_s:.0f} s ({burst.drain_s / 60:.1f} min); longest wait "
        f"in the queue {burst.longest_wait_s:.0f} s: the age alarm "
        + ("fires" if burst.longest_wait_s > queue.age_alarm_s else "stays quiet"),
        f"  checker             at most {burst.cap} at once (before the queue: about "
        f"{burst.uncapped_concurrency:.0f} at once, the account's unreserved concurrency, and as "
        "many canaries)",
        f"  canary runs         {burst.canary_runs:.0f} (at most {burst.cap} at once in the member "
        "account)",
        f"  alerts              {burst.alerts:.0f}",
        "  cost                "
        + ", ".join(f"{name} ${usd:.4f}" for name, usd in costs.items())
        + f": ${sum(costs.values()):.3f} in all",
    ]
    rows = [
        Row(
            f"change check from the queue, x{measured.samples}",
            measured.event_s * 1000,
            f"most that drains {burst.events} before the age alarm",
            burst.event_budget_s * 1000,
            "<= that",
            measured.event_s <= burst.event_budget_s,
        ),
        Row(
            f"{burst.events}-change burst drained (model)",
            burst.drain_s * 1000,
            "the change queue's retention",
            queue.retention_s * 1000,
            "<= retention",
            burst.drain_s <= queue.retention_s,
        ),
    ]
    return lines, rows


def bench_burst(runs: int) -> list[Row]:
    """`make bench`'s suite: prints the model's inputs and figures, returns its rows."""
    del runs  # the samples are the measurement's repetitions
    lines, rows = report(Burst(measure(SAMPLES), QueueSettings.from_template()))
    print("\n".join(lines))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=EVENTS)
    parser.add_argument("--samples", type=int, default=SAMPLES, help="changes timed (median)")
    parser.add_argument("--concurrency", type=int, help="default: ChangeMaxConcurrency's")
    args = parser.parse_args(argv)
    burst = Burst(
        measure(args.samples),
        QueueSettings.from_template(),
        events=args.events,
        concurrency=args.concurrency,
    )
    lines, rows = report(burst)
    print("\n".join(lines))
    for row in rows:
        print(row.render())
    return 0 if all(row.passed for row in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
