"""Renderers and the self-healing plan stay readable: no function longer than 60 lines, none with
a cyclomatic complexity above 10 (ruff's C901), so a reader sees each piece of an alert, and each
guard rail, under its own name."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "functions" / "checker" / "dns_watchdog"
HELD = [*sorted((PACKAGE / "render").glob("*.py")), PACKAGE / "domain" / "healing.py"]
MAX_LINES = 60
MAX_COMPLEXITY = 10


@pytest.mark.parametrize("path", HELD, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_function_is_longer_than_60_lines(path: Path) -> None:
    tree = ast.parse(path.read_text(), filename=str(path))
    long = {
        node.name: (node.end_lineno or node.lineno) - node.lineno + 1
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and (node.end_lineno or node.lineno) - node.lineno + 1 > MAX_LINES
    }
    assert not long, f"{path.name}: {long}"


def test_no_function_is_more_complex_than_10() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--no-cache",
            "--select",
            "C901",
            "--config",
            f"lint.mccabe.max-complexity={MAX_COMPLEXITY}",
            "--output-format",
            "concise",
            *map(str, HELD),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
