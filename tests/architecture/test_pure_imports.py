"""Importing the pure modules of both functions in a fresh interpreter loads no AWS SDK."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from test_layering import CHECKER_PURE

pytestmark = pytest.mark.integration

FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"
CANARY_PURE = (
    "canary",
    "diagnose",
    "names",
    "plan",
    "probe",
    "resolv_conf",
    "findings",
    "settings",
)


def test_pure_modules_of_both_functions_load_neither_boto3_nor_botocore() -> None:
    imports = [f"dns_watchdog.{m}" for m in CHECKER_PURE] + [f"dns_canary.{m}" for m in CANARY_PURE]
    code = (
        "import importlib, sys\n"
        f"sys.path[:0] = [{str(FUNCTIONS / 'checker')!r}, {str(FUNCTIONS / 'canary')!r}]\n"
        f"for name in {imports!r}: importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"
