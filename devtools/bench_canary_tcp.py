"""Canary benchmarks against real servers and under Lambda's CPU share (part of ``make bench``).

    python -m devtools.bench_canary_tcp [--runs N]

1. Truncated answers: 20 and 50 names whose answers need TCP, through dnsmasq (the forwarder)
   to a real BIND 9 upstream, in the realdns network namespace (devtools/realdns.py). The canary's
   run is set side by side with one lookup of one such name (UDP, truncated, then TCP: what a
   client does) and with glibc's ``getaddrinfo`` of the same names, one after the other, as an
   application resolves them.
2. The healthy path under the CPU a 256 MB function gets: Lambda allocates CPU in proportion to
   memory (1,769 MB = one vCPU), so 256 MB is about 0.145 vCPU. The canary process runs in a
   cgroup with that CPU quota (``cpu.cfs_quota_us`` / ``cpu.max``); 20 healthy names through the
   DNS lab's 20 ms upstream are set against one lookup measured in the same throttled process.

Both need root (network namespace, cgroup); without it they say so and report nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import dns.message
import dns.query

from devtools.benchkit import Row
from devtools.dnslab import DnsLab
from devtools.realdns import BIG_NAMES, BIND_FORWARDING, REPO_ROOT, RealDnsWorld, why_unavailable

LAMBDA_MB_PER_VCPU = 1769
TEMPLATE_MEMORY_MB = 256
CPU_PERIOD_US = 100_000
ALL_HEALTHY_NAMES = [f"svc{i:02d}.corp.example" for i in range(50)]
HEALTHY_NAMES = ALL_HEALTHY_NAMES[:20]
HEALTHY_RECORDS = {name: {"A": [f"10.20.0.{i + 1}"]} for i, name in enumerate(ALL_HEALTHY_NAMES)}
UPSTREAM_DELAY_MS = 20
_CGROUP_CPU_ROOTS = (Path("/sys/fs/cgroup/cpu"), Path("/sys/fs/cgroup"))


def cpu_share(memory_mb: int) -> float:
    """The vCPU share Lambda gives a function of this memory size."""
    return memory_mb / LAMBDA_MB_PER_VCPU


# --- the worker: runs in a child process (in the namespace, or in the cgroup) -----------------


def worker() -> None:
    """Spec on stdin: env, plans {label: plan}, runs, single [address, name], getaddrinfo names.

    Prints {"canary": {label: [ms...]}, "healthy": {label: [bool...]}, "slow": {label: [int]},
    "single": [ms...], "getaddrinfo": {label: [ms...]}}: medians are taken by the parent.
    """
    spec = json.loads(sys.stdin.read())
    os.environ.update(spec["env"])
    from devtools.lambdakit import CANARY_DIR, FakeLambdaContext, load_handler

    handler = load_handler(CANARY_DIR)
    out: dict[str, Any] = {"canary": {}, "healthy": {}, "slow": {}, "getaddrinfo": {}}
    for label, plan in spec["plans"].items():
        handler(plan, FakeLambdaContext("canary", timeout_ms=10_000))  # warm: caches, first sockets
        times, healthy, slow, cpu = [], [], [], []
        for _ in range(spec["runs"]):
            # Lambda invokes a canary once per check, not back to back: each run starts with the
            # CPU quota of a fresh period, as an invocation after an idle gap does.
            time.sleep(spec.get("gap_s", 0))
            cpu_started = time.process_time()
            started = time.perf_counter()
            result = handler(plan, FakeLambdaContext("canary", timeout_ms=10_000))
            times.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - cpu_started) * 1000)
            healthy.append(result["diagnosis"]["code"] == "HEALTHY")
            slow.append(sum(entry["outcome"] == "SLOW" for entry in result["probes"]))
        out["canary"][label], out["healthy"][label], out["slow"][label] = times, healthy, slow
        out.setdefault("cpu", {})[label] = cpu
    address, name = spec["single"]
    query = dns.message.make_query(name, "A")
    single = []
    for _ in range(spec["runs"]):
        time.sleep(spec.get("gap_s", 0))
        started = time.perf_counter()
        dns.query.udp_with_fallback(query, address, timeout=2)
        single.append((time.perf_counter() - started) * 1000)
    out["single"] = single
    for label, names in spec.get("getaddrinfo", {}).items():
        samples = []
        for _ in range(spec["runs"]):
            started = time.perf_counter()
            for each in names:
                socket.getaddrinfo(each, 443, socket.AF_INET, socket.SOCK_STREAM)
            samples.append((time.perf_counter() - started) * 1000)
        out["getaddrinfo"][label] = samples
    print(json.dumps(out))


def _run_worker(argv_prefix: Sequence[str], spec: dict[str, Any]) -> dict[str, Any]:
    completed = subprocess.run(
        [*argv_prefix, sys.executable, "-m", "devtools.bench_canary_tcp", "--worker"],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT), "POWERTOOLS_LOG_LEVEL": "ERROR"},
    )
    if completed.returncode != 0:
        raise RuntimeError(f"benchmark worker failed:\n{completed.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


# --- 1. truncated answers through real servers ------------------------------------------------


def bench_truncated(runs: int) -> list[Row]:
    reason = why_unavailable()
    if reason is not None:
        print(f"bench_canary_tcp: truncated-answer benchmark skipped: {reason}")
        return []
    rows: list[Row] = []
    with RealDnsWorld() as world:
        forwarder = world.add_forwarder([BIND_FORWARDING])
        resolv_conf = world.resolv_conf(forwarder, [BIND_FORWARDING])
        names = {"20": list(BIG_NAMES[:20]), "50": list(BIG_NAMES)}
        spec = {
            "env": world.canary_env(resolv_conf),
            "plans": {
                label: {"probes": [{"name": n} for n in chosen], "deadline_ms": 3000}
                for label, chosen in names.items()
            },
            "runs": runs,
            "single": [forwarder, BIG_NAMES[0]],
            "getaddrinfo": names,
        }
        # glibc reads /etc/resolv.conf: a private mount namespace puts the generated one there.
        script = f'mount --bind "{resolv_conf}" /etc/resolv.conf && exec "$0" "$@"'
        prefix = [
            *world.command("unshare", "--mount", "--propagation", "private"),
            "sh",
            "-c",
            script,
        ]
        timings = _run_worker(prefix, spec)
    single = statistics.median(timings["single"])
    for label in ("20", "50"):
        canary = statistics.median(timings["canary"][label])
        glibc = statistics.median(timings["getaddrinfo"][label])
        healthy = all(timings["healthy"][label]) and not any(timings["slow"][label])
        rows += [
            Row(
                f"canary, {label} names needing TCP (real BIND)",
                canary,
                "one lookup (UDP truncated, then TCP)",
                single,
                "HEALTHY, none SLOW",
                healthy,
            ),
            Row(
                f"canary, {label} names needing TCP (real BIND)",
                canary,
                f"glibc getaddrinfo, the same {label} names",
                glibc,
                "(reported)",
                True,
            ),
        ]
    return rows


# --- 2. the healthy path under the CPU share of the template's memory size -------------------


@contextlib.contextmanager
def cpu_quota_cgroup(share: float) -> Iterator[Path]:
    """A cgroup (v1 cpu controller or v2 cpu.max) limiting its processes to ``share`` vCPU."""
    root = next((path for path in _CGROUP_CPU_ROOTS if _quota_file(path) is not None), None)
    if root is None:
        raise RuntimeError("no writable cgroup cpu controller")
    group = root / f"vdw-bench-{uuid.uuid4().hex[:8]}"
    group.mkdir()
    try:
        quota_us = round(share * CPU_PERIOD_US)
        if (group / "cpu.max").exists():
            (group / "cpu.max").write_text(f"{quota_us} {CPU_PERIOD_US}\n")
        else:
            (group / "cpu.cfs_period_us").write_text(f"{CPU_PERIOD_US}\n")
            (group / "cpu.cfs_quota_us").write_text(f"{quota_us}\n")
        yield group
    finally:
        with contextlib.suppress(OSError):
            group.rmdir()  # empty once the worker has exited


def _quota_file(root: Path) -> Path | None:
    for name in ("cpu.cfs_quota_us", "cpu.max"):
        if (root / name).exists() and os.access(root, os.W_OK):
            return root / name
    return None


def bench_healthy_under_quota(runs: int, memory_mb: int = TEMPLATE_MEMORY_MB) -> list[Row]:
    if os.geteuid() != 0:
        print("bench_canary_tcp: CPU-quota benchmark skipped: cgroups need root")
        return []
    share = cpu_share(memory_mb)
    with DnsLab() as lab:
        amazon = lab.add_server("amazon", records=HEALTHY_RECORDS, host=2)
        corp = lab.add_server("corp", records=HEALTHY_RECORDS, delay_ms=UPSTREAM_DELAY_MS)
        forwarder = lab.add_forwarder([corp.address])
        lab.write_resolv_conf(configured=[corp.address])
        spec = {
            "env": {**lab.canary_env(amazon=amazon), "AWS_REGION": "us-east-1"},
            "plans": {
                label: {
                    "probes": [{"name": n, "max_latency_ms": 500} for n in names],
                    "deadline_ms": 1500,
                }
                for label, names in (("20", HEALTHY_NAMES), ("50", ALL_HEALTHY_NAMES))
            },
            "runs": runs,
            "single": [forwarder.address, HEALTHY_NAMES[0]],
            "gap_s": 2 * CPU_PERIOD_US / 1_000_000,
        }
        if lab.port != 53:
            raise RuntimeError("the CPU-quota benchmark needs the lab on port 53 (root)")
        with cpu_quota_cgroup(share) as group:
            enter = f'echo $$ > "{group}/cgroup.procs" && exec "$0" "$@"'
            throttled = _run_worker(["sh", "-c", enter], spec)
        free = _run_worker([], spec)
    rows = []
    for label, timings in (
        (f"{share:.3f} vCPU ({memory_mb} MB)", throttled),
        ("unthrottled", free),
    ):
        canary = statistics.median(timings["canary"]["20"])
        single = statistics.median(timings["single"])
        cpu_ms = statistics.median(timings["cpu"]["20"])
        healthy = all(timings["healthy"]["20"]) and not any(timings["slow"]["20"])
        target = "<= 3 x one lookup" if "vCPU" in label else "(reported)"
        rows.append(
            Row(
                f"canary, 20 healthy names, {label}, CPU {cpu_ms:.0f} ms",
                canary,
                f"one lookup (+{UPSTREAM_DELAY_MS} ms), same process",
                single,
                target,
                healthy and (canary <= 3 * single or target == "(reported)"),
            )
        )
        slow = max(timings["slow"]["50"])
        rows.append(
            Row(
                f"canary, 50 healthy names, {label}: {slow} SLOW",
                statistics.median(timings["canary"]["50"]),
                f"one lookup (+{UPSTREAM_DELAY_MS} ms), same process",
                single,
                "HEALTHY, none SLOW",
                all(timings["healthy"]["50"]) and slow == 0,
            )
        )
    return rows


def report(runs: int, only: Sequence[str] | None = None) -> bool:
    """Print this module's rows (``make bench`` calls it); True when every target is met."""
    if only and "canary" not in only:
        return True
    rows = bench_truncated(runs) + bench_healthy_under_quota(runs)
    for row in rows:
        print(row.render())
    return all(row.passed for row in rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--memory-mb", type=int, default=TEMPLATE_MEMORY_MB)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker()
        return 0
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
    rows = bench_truncated(args.runs) + bench_healthy_under_quota(args.runs, args.memory_mb)
    print(f"canary benchmarks (median of {args.runs} runs)")
    for row in rows:
        print(row.render())
    return 0 if all(row.passed for row in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
