"""Cold imports: each handler imported in a fresh interpreter, side by side with ``import boto3``.

    python -m devtools.bench_cold_import [--runs N]     # ``make bench`` prints these rows too

A cold start pays for the handler's imports before the first event. Each measurement is one fresh
interpreter timing one import statement (interpreter start-up, the same for both, is left out).
The handler and boto3 take turns, so a busy machine weighs on both alike; a row gives both medians
and the median of the per-pair ratios, which its target is held to.

- The canary, as ``sam build`` ships it (bytecode compiled ahead, checked by hash), must stay well
  under boto3: it never imports it. From source (no bytecode shipped, none written, as in a
  read-only /var/task) is reported beside it.
- The checker, as deployed: the venv's interpreter, which holds the dependencies the function
  ships (``functions/checker/requirements.txt``); ``functions/checker`` first on ``sys.path``, as
  the runtime puts /var/task; bytecode caches warm (an untimed import first, with
  PYTHONDONTWRITEBYTECODE unset). The handler reads its settings on the first event, so no
  environment variable is needed at import. It imports the check machinery (boto3, the
  adapters, the run) with the runtime, on the first event that needs it: the last row adds that
  import, what a cold start that runs a check pays before its first AWS call.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from devtools.benchkit import Row
from devtools.lambdakit import CANARY_DIR, CHECKER_DIR

CANARY_BUILT_GOAL = 0.5  # x import boto3
CHECKER_GOAL = 1.5  # x import boto3
# Settings that would change what a cold import costs: dropped from the children's environment.
_IMPORT_SETTINGS = ("PYTHONDONTWRITEBYTECODE", "PYTHONPROFILEIMPORTTIME", "PYTHONPATH")


@dataclass(frozen=True)
class Paired:
    """Alternated cold imports of a subject and its baseline: both medians, the pairs' ratio."""

    subject_ms: float
    baseline_ms: float
    ratio: float  # median of subject / baseline, pair by pair


def cold_import_ms(code_dir: Path, module: str, *, write_bytecode: bool = True) -> float:
    """Milliseconds one fresh interpreter takes to import ``module``, ``code_dir`` first on its
    path (the runtime's /var/task). ``write_bytecode`` False: no .pyc written (read-only code)."""
    code = (
        "import sys, time\n"
        f"sys.path.insert(0, {str(code_dir)!r})\n"
        "started = time.perf_counter()\n"
        f"import {module}\n"
        "print((time.perf_counter() - started) * 1000)\n"
    )
    env = {key: value for key, value in os.environ.items() if key not in _IMPORT_SETTINGS}
    if not write_bytecode:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        cwd=code_dir,
        env=env,
    )
    return float(done.stdout.strip().splitlines()[-1])


def paired_imports(
    code_dir: Path, module: str, runs: int, *, baseline: str = "boto3", write_bytecode: bool = True
) -> Paired:
    """``module`` and ``baseline`` imported in turn, ``runs`` times each, after one untimed import
    of each (it writes the bytecode caches, unless ``write_bytecode`` is False)."""
    for name in (module, baseline):
        cold_import_ms(code_dir, name, write_bytecode=write_bytecode)
    subject_ms, baseline_ms = [], []
    for _ in range(runs):
        subject_ms.append(cold_import_ms(code_dir, module, write_bytecode=write_bytecode))
        baseline_ms.append(cold_import_ms(code_dir, baseline, write_bytecode=write_bytecode))
    return Paired(
        subject_ms=statistics.median(subject_ms),
        baseline_ms=statistics.median(baseline_ms),
        ratio=statistics.median(s / b for s, b in zip(subject_ms, baseline_ms, strict=True)),
    )


def _copy_without_bytecode(function_dir: Path, into: Path) -> Path:
    target = into / f"{function_dir.name}-source"
    shutil.copytree(function_dir, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def _as_built(function_dir: Path, into: Path) -> Path:
    """The function's code as ``sam build`` ships it: bytecode compiled ahead, checked by hash."""
    target = into / f"{function_dir.name}-built"
    shutil.copytree(function_dir, target, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "--invalidation-mode", "unchecked-hash", target],
        check=True,
    )
    return target


def _row(name: str, measured: Paired, goal: float | None) -> Row:
    return Row(
        name,
        measured.subject_ms,
        "cold import: boto3 (in turn with it)",
        measured.baseline_ms,
        f"<= {goal:g} x import boto3" if goal is not None else "(reported)",
        goal is None or measured.ratio <= goal,
        ratio=measured.ratio,
    )


def bench_cold_imports(runs: int) -> list[Row]:
    """The canary's and the checker's cold imports, each against ``import boto3``."""
    with tempfile.TemporaryDirectory() as scratch:
        built = paired_imports(_as_built(CANARY_DIR, Path(scratch)), "app", runs)
        source = paired_imports(
            _copy_without_bytecode(CANARY_DIR, Path(scratch)), "app", runs, write_bytecode=False
        )
    checker = paired_imports(CHECKER_DIR, "app", runs)
    # The handler imports the check machinery (boto3, adapters, the run) on the first event
    # that needs it: a cold start that checks pays for both, reported beside the handler alone.
    first_check = paired_imports(CHECKER_DIR, "app, dns_watchdog.flow.runtime", runs)
    return [
        _row("cold import: canary handler, as built", built, CANARY_BUILT_GOAL),
        _row("cold import: canary handler, from source", source, None),
        _row("cold import: checker handler, as deployed", checker, CHECKER_GOAL),
        _row("cold import: checker handler + check machinery", first_check, None),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="imports of each, in turn (median)")
    args = parser.parse_args(argv)
    rows = bench_cold_imports(args.runs)
    print(f"cold imports (median of {args.runs} runs each, python {sys.version.split()[0]})")
    for row in rows:
        print(row.render())
    return 0 if all(row.passed for row in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
