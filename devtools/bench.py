"""Benchmarks: medians and ratios, each measured side by side with its baseline in one run.

    make bench     # or: python -m devtools.bench [--runs N] [--only canary|checker|import|burst]

Everything talks to the DNS lab on loopback or to moto in this process; nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dns.message
import dns.query

from devtools.bench_burst import bench_burst
from devtools.bench_canary_tcp import report as report_real_servers
from devtools.bench_cold_import import bench_cold_imports
from devtools.benchkit import Row
from devtools.dnslab import DnsLab
from devtools.lambdakit import CANARY_DIR, REPO_ROOT, FakeLambdaContext, load_handler

NAMES = [f"svc{i:02d}.corp.example" for i in range(20)]
RECORDS = {name: {"A": [f"10.20.0.{i + 1}"]} for i, name in enumerate(NAMES)}


def median_ms(runs: int, action: Callable[[], object]) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def _plan(deadline_ms: int, max_latency_ms: int = 1000) -> dict[str, Any]:
    return {
        "probes": [{"name": name, "max_latency_ms": max_latency_ms} for name in NAMES],
        "deadline_ms": deadline_ms,
    }


def _stub_lookup_seconds(resolv_conf: Path, name: str) -> float:
    """How long glibc's getaddrinfo blocks with this resolv.conf (what an application sees).

    Runs in a private mount namespace where the lab's resolv.conf is bind-mounted over
    /etc/resolv.conf, so the machine's own resolver configuration is never touched.
    """
    probe = (
        "import socket,time\n"
        "t=time.perf_counter()\n"
        "try:\n"
        f"    socket.getaddrinfo({name!r}, 443)\n"
        "except OSError:\n"
        "    pass\n"
        "print(time.perf_counter()-t)\n"
    )
    script = f'mount --bind "{resolv_conf}" /etc/resolv.conf && exec "{sys.executable}" -c "$0"'
    out = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, probe],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return float(out.stdout.strip())


def canary_worker() -> None:
    """Runs in a child process so the canary never shares a GIL with the lab's servers.

    Reads {"env", "plan", "runs", "single": [address, port, name] | null} on stdin and prints
    {"canary_ms": [...], "single_ms": [...], "ok": [...]}: medians are taken by the parent.
    """
    spec = json.loads(sys.stdin.read())
    os.environ.update(spec["env"])
    handler = load_handler(CANARY_DIR)
    plan, runs = spec["plan"], spec["runs"]
    handler(plan, FakeLambdaContext("canary", timeout_ms=5000))  # warm: module state, first sockets
    canary_ms, ok = [], []
    for _ in range(runs):
        started = time.perf_counter()
        result = handler(plan, FakeLambdaContext("canary", timeout_ms=5000))
        canary_ms.append((time.perf_counter() - started) * 1000)
        ok.append(result["ok"])
    single_ms = []
    if spec["single"]:
        address, port, name = spec["single"]
        query = dns.message.make_query(name, "A")
        for _ in range(runs):
            started = time.perf_counter()
            dns.query.udp(query, address, port=port, timeout=2)
            single_ms.append((time.perf_counter() - started) * 1000)
    print(json.dumps({"canary_ms": canary_ms, "single_ms": single_ms, "ok": ok}))


def _run_canary_worker(spec: dict[str, Any]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", "from devtools.bench import canary_worker; canary_worker()"],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
        cwd=REPO_ROOT,
        env={**os.environ, "POWERTOOLS_LOG_LEVEL": "ERROR"},
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def bench_canary_blackholed(runs: int) -> list[Row]:
    deadline_ms = 1500
    with DnsLab() as lab:
        amazon = lab.add_server("amazon", behaviour="blackhole", host=2)
        dead = lab.add_server("dead", behaviour="blackhole")
        lab.add_forwarder([dead.address])
        resolv_conf = lab.write_resolv_conf(configured=[dead.address])
        spec = {
            "env": lab.canary_env(amazon=amazon),
            "plan": _plan(deadline_ms),
            "runs": runs,
            "single": None,
        }
        timings = _run_canary_worker(spec)
        assert not any(timings["ok"]), "a black-holed VPC must never be judged healthy"
        canary_ms = statistics.median(timings["canary_ms"])
        can_unshare = os.geteuid() == 0 and shutil.which("unshare") is not None
        stub_ms = _stub_lookup_seconds(resolv_conf, NAMES[0]) * 1000 if can_unshare else 0.0
    rows = [
        Row(
            f"canary verdict, 20 names black-holed, D={deadline_ms}",
            canary_ms,
            "deadline D",
            deadline_ms,
            "<= 1.10 x D",
            canary_ms <= 1.10 * deadline_ms,
        )
    ]
    if stub_ms:
        rows.append(
            Row(
                "canary verdict, 20 names black-holed",
                canary_ms,
                "glibc getaddrinfo, ONE name (timeout:2 attempts:5)",
                stub_ms,
                "(baseline)",
                canary_ms < stub_ms,
            )
        )
    return rows


def bench_canary_healthy(runs: int) -> list[Row]:
    with DnsLab() as lab:
        amazon = lab.add_server("amazon", records=RECORDS, host=2)
        corp = lab.add_server("corp", records=RECORDS, delay_ms=20)
        forwarder = lab.add_forwarder([corp.address])
        lab.write_resolv_conf(configured=[corp.address])
        spec = {
            "env": lab.canary_env(amazon=amazon),
            "plan": _plan(1500),
            "runs": runs,
            "single": [forwarder.address, lab.port, NAMES[0]],
        }
        timings = _run_canary_worker(spec)
    assert all(timings["ok"]), "a healthy VPC must be judged healthy"
    canary_ms = statistics.median(timings["canary_ms"])
    single_ms = statistics.median(timings["single_ms"])
    return [
        Row(
            "canary, 20 healthy names (upstream +20 ms)",
            canary_ms,
            "one lookup through the forwarder",
            single_ms,
            "<= 3 x one lookup",
            canary_ms <= 3 * single_ms,
        )
    ]


def bench_checker_fanout(runs: int) -> list[Row]:
    from devtools.fanout import fanout_wall_ms

    canaries, latency_ms = 100, 300
    with contextlib.redirect_stdout(io.StringIO()):  # the handler's metric documents
        overhead_ms = statistics.median(
            fanout_wall_ms(canaries, 0, concurrency=canaries) for _ in range(runs)
        )
        concurrent_ms = statistics.median(
            fanout_wall_ms(canaries, latency_ms, concurrency=canaries) for _ in range(runs)
        )
        sequential_ms = fanout_wall_ms(canaries, latency_ms, concurrency=1)
    return [
        Row(
            f"checker overhead, {canaries} canaries answering at once",
            overhead_ms,
            "(its own work: moto calls, judging, state)",
            overhead_ms,
            "(reported)",
            True,
        ),
        Row(
            f"checker, {canaries} canaries x {latency_ms} ms, concurrent",
            concurrent_ms,
            "same, invoked one after another",
            sequential_ms,
            "<= 1.5 x 300 + overhead",
            concurrent_ms <= 1.5 * latency_ms + overhead_ms,
        ),
    ]


SUITES: dict[str, Callable[[int], list[Row]]] = {
    "canary": lambda runs: bench_canary_blackholed(runs) + bench_canary_healthy(runs),
    "import": bench_cold_imports,
    "checker": bench_checker_fanout,
    # A 10,000-change burst through the change queue: modelled from one measured change check.
    "burst": bench_burst,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="runs per measurement (median)")
    parser.add_argument("--only", choices=sorted(SUITES), action="append")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = parser.parse_args(argv)
    # Quiet handlers: their structured logs would drown the report.
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
    rows: list[Row] = []
    for suite in args.only or list(SUITES):
        rows += SUITES[suite](args.runs)
    print(
        f"vpc-dns-watchdog benchmarks (median of {args.runs} runs, python {sys.version.split()[0]})"
    )
    for row in rows:
        print(row.render())
    if args.json:
        args.json.write_text(json.dumps([row.__dict__ for row in rows], indent=2))
    # Always run: the real-server rows (real DNS servers, CPU quota; as root) are reported even
    # when an earlier row missed its target.
    real_servers_passed = report_real_servers(args.runs, args.only)
    return 0 if all(row.passed for row in rows) and real_servers_passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
