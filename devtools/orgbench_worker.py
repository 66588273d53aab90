"""One checker execution environment of the organization benchmark, in a process of its own.

    python -m devtools.orgbench_worker --report-fd N     (devtools/bench_org.py starts it)

The parent puts the process in a cgroup with the CPU quota of the checker's memory size, so it
runs at Lambda's CPU share; AWS is a moto server in the parent process (loopback HTTP), so the
CPU this process spends is the checker's own, with moto's left out. The first stdin line is the
spec (JSON: environment, queue, the recorded canary findings, a warm-up target); each later
line is a command, answered with one JSON line on the report file descriptor:

    {"do": "fresh"}                       a new handler module, as in a new execution
                                          environment (no runtime, clients, credentials or
                                          state read yet, nothing frozen out of the garbage
                                          collector's reach), then one warm-up target, untimed
    {"do": "drain", "latency_ms": 300}    take the sweep queue's messages one at a time, each
                                          handed to the handler as a one-record SQS batch (the
                                          event source mapping with BatchSize 1) and deleted,
                                          until the queue is empty: one record per target
    {"do": "fan_out"}                     the schedule's event (the sweep's fan-out)
    {"do": "quit"}

Per target: wall time, CPU time (this process's, all threads), the wall time spent waiting on
HTTP answers from AWS (moto), the AWS calls made (Invoke answered here by the canary double,
which sleeps the canary latency), and the bytes the checker logged. The first report also
gives the cold start: importing the handler, and its first target.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import IO, Any

# The most messages one drain takes (a bound on the loop: the benchmark queues far fewer).
MAX_MESSAGES = 10_000
# How long an empty queue is polled again while delayed messages remain (DelaySeconds).
EMPTY_POLL_S = 0.05


class CountingSink(io.TextIOBase):
    """Stands in for stdout: counts what the checker logs and keeps none of it."""

    def __init__(self) -> None:
        self.chars = 0

    def write(self, text: str) -> int:
        self.chars += len(text)
        return len(text)

    def writable(self) -> bool:
        return True


@dataclass
class AwsCalls:
    """Counts the AWS calls the checker's clients complete, and the wall time spent waiting on
    HTTP answers (from the request sent to the answer read, before parsing it; Invoke never
    goes out)."""

    calls: Counter[str] = field(default_factory=Counter)
    waited_s: float = 0.0
    _sent: threading.local = field(default_factory=threading.local)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def before_send(self, **_: Any) -> None:
        self._sent.at = time.perf_counter()

    def before_parse(self, **_: Any) -> None:
        sent = getattr(self._sent, "at", None)
        self._sent.at = None
        if sent is not None:
            with self._lock:
                self.waited_s += time.perf_counter() - sent

    def after_call(self, model: Any, **_: Any) -> None:
        with self._lock:
            self.calls[f"{model.service_model.service_name}.{model.name}"] += 1


class Worker:
    def __init__(self, spec: dict[str, Any], report: IO[str], sink: CountingSink) -> None:
        # boto3 first and timed: the checker imports it on its first check, so it belongs to
        # the cold start; the kit's own modules after it, untimed (stdlib and boto3 only).
        started, cpu_started = time.perf_counter(), time.process_time()
        import boto3

        boto3.setup_default_session()
        self.boto3_import = (time.perf_counter() - started, time.process_time() - cpu_started)
        from devtools.lambdakit import (
            CHECKER_DIR,
            FakeLambdaContext,
            SimulatedCanaries,
            load_handler,
        )
        from devtools.orgworld import scheduled_sweep, sqs_batch_event

        self.kit = (CHECKER_DIR, load_handler, FakeLambdaContext, sqs_batch_event, scheduled_sweep)
        self.spec = spec
        self.report = report
        self.sink = sink
        self.aws = AwsCalls()
        session = boto3.DEFAULT_SESSION
        assert session is not None
        session.events.register("before-send", self.aws.before_send)
        session.events.register("before-parse", self.aws.before_parse)
        session.events.register("after-call", self.aws.after_call)
        self.canaries = SimulatedCanaries(latency_ms=0, findings=spec["findings"])
        self.routing = self.canaries.routing(session)
        self.routing.__enter__()
        # The event source mapping's own client: not the checker's, so not counted.
        self.sqs: Any = boto3.session.Session().client("sqs")
        self.handler: Any = None
        self.cold = True

    def fresh(self) -> dict[str, Any]:
        checker_dir, load_handler, *_ = self.kit
        # A new execution environment has nothing frozen out of the garbage collector's reach
        # (the checker freezes its heap once per process) and no garbage of a runtime before.
        gc.unfreeze()
        gc.collect()
        started, cpu_started = time.perf_counter(), time.process_time()
        self.handler = load_handler(checker_dir)
        imported = [time.perf_counter() - started, time.process_time() - cpu_started]
        if self.cold:  # the first handler of this process: boto3's import was its own too
            imported = [imported[0] + self.boto3_import[0], imported[1] + self.boto3_import[1]]
            self.cold = False
        account, region = self.spec["warmup"]
        body = json.dumps({"action": "sweep", "account_id": account, "region": region})
        first = self.target({"MessageId": "warm-up", "ReceiptHandle": "-", "Body": body})
        return {"import_s": imported[0], "import_cpu_s": imported[1], "first": first}

    def target(self, message: dict[str, Any]) -> dict[str, Any]:
        """One queue message through the handler, measured."""
        _, _, FakeLambdaContext, sqs_batch_event, _ = self.kit
        event = sqs_batch_event([{**message, "MD5OfBody": ""}], self.spec["queue_arn"])
        context = FakeLambdaContext("vpc-dns-watchdog-checker", timeout_ms=120_000)
        calls, waited, logged = Counter(self.aws.calls), self.aws.waited_s, self.sink.chars
        cpu_started, started = time.process_time(), time.perf_counter()
        response = self.handler(event, context)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        if response.get("batchItemFailures"):
            raise RuntimeError(f"target failed: {message['Body']}")
        return {
            "wall_s": wall,
            "cpu_s": cpu,
            "aws_wait_s": self.aws.waited_s - waited,
            "calls": dict(self.aws.calls - calls),
            "log_chars": self.sink.chars - logged,
        }

    def drain(self, latency_ms: float) -> dict[str, Any]:
        self.canaries.latency_ms = latency_ms
        queue_url = self.spec["queue_url"]
        records: list[dict[str, Any]] = []
        started = time.perf_counter()
        for _ in range(MAX_MESSAGES):
            messages = self.sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1).get(
                "Messages", []
            )
            if not messages:
                if self._queue_empty(queue_url):
                    break
                time.sleep(EMPTY_POLL_S)
                continue
            records.append(self.target(messages[0]))
            self.sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=messages[0]["ReceiptHandle"])
        return {"records": records, "loop_s": time.perf_counter() - started}

    def _queue_empty(self, queue_url: str) -> bool:
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed"]
        attributes = self.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=names)
        return all(int(attributes["Attributes"].get(name, 0)) == 0 for name in names)

    def fan_out(self) -> dict[str, Any]:
        _, _, FakeLambdaContext, _, scheduled_sweep = self.kit
        calls = Counter(self.aws.calls)
        cpu_started, started = time.process_time(), time.perf_counter()
        result = self.handler(scheduled_sweep(), FakeLambdaContext("vpc-dns-watchdog-checker"))
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        return {
            "wall_s": wall,
            "cpu_s": cpu,
            "targets": result.get("targets"),
            "calls": dict(self.aws.calls - calls),
        }

    def serve(self) -> None:
        commands = {"fresh": lambda _: self.fresh(), "fan_out": lambda _: self.fan_out()}
        commands["drain"] = lambda command: self.drain(float(command["latency_ms"]))
        for line in sys.stdin:
            command = json.loads(line)
            if command["do"] == "quit":
                return
            answer = commands[command["do"]](command)
            self.report.write(json.dumps(answer) + "\n")
            self.report.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report-fd", type=int, required=True)
    args = parser.parse_args(argv)
    spec = json.loads(sys.stdin.readline())
    os.environ.update(spec["env"])
    # The checker's logger writes to stdout, which it takes when its module is imported.
    sink = CountingSink()
    sys.stdout = sink
    with os.fdopen(args.report_fd, "w") as report:
        from devtools.lambdakit import quiet_empty_metrics

        with quiet_empty_metrics():
            Worker(spec, report, sink).serve()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
