"""The templates pass the infrastructure gates: cfn-lint, sam validate --lint, checkov, sam build.

Everything runs offline (checkov with --skip-download). checkov lives in its own venv
(``make checkov`` creates .venv/checkov); ``sam build`` needs the runtime's interpreter, python3.12.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from iac_template import (
    CANARY_TEMPLATE,
    CHECKOV,
    MAIN_TEMPLATE,
    REPO_ROOT,
    cfn_lint_findings,
    checkov_problems,
    checkov_suppressions,
)

pytestmark = pytest.mark.iac

TEMPLATES = [MAIN_TEMPLATE, CANARY_TEMPLATE]
VENV_BIN = Path(sys.executable).parent


def tool_env() -> dict[str, str]:
    return {**os.environ, "SAM_CLI_TELEMETRY": "0", "AWS_DEFAULT_REGION": "us-east-1"}


def python312_dir() -> str | None:
    found = shutil.which("python3.12")
    if found and subprocess.run([found, "-V"], capture_output=True, check=False).returncode == 0:
        return str(Path(found).parent)
    pyenv = shutil.which("pyenv")
    if pyenv is None:
        return None
    versions = subprocess.run(
        [pyenv, "versions", "--bare"], capture_output=True, text=True, check=False
    ).stdout.split()
    for version in sorted((v for v in versions if v.startswith("3.12")), reverse=True):
        prefix = subprocess.run(
            [pyenv, "prefix", version], capture_output=True, text=True, check=False
        ).stdout.strip()
        if prefix:
            return str(Path(prefix) / "bin")
    return None


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda path: path.name)
def test_cfn_lint_finds_nothing(template: Path) -> None:
    assert cfn_lint_findings(template) == []


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda path: path.name)
def test_sam_validate_lint_passes(template: Path) -> None:
    result = subprocess.run(
        [str(VENV_BIN / "sam"), "validate", "--lint", "--region", "us-east-1", "-t", str(template)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        env=tool_env(),
        check=False,
        timeout=110,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout


@pytest.mark.skipif(not CHECKOV.exists(), reason="checkov venv missing: run `make checkov`")
@pytest.mark.parametrize("template", TEMPLATES, ids=lambda path: path.name)
def test_checkov_finds_no_failed_check(template: Path) -> None:
    assert checkov_problems(template) is None


def test_every_checkov_suppression_gives_a_reason() -> None:
    for template_path in TEMPLATES:
        for logical_id, skip in checkov_suppressions(template_path):
            assert skip["id"].startswith("CKV_"), (template_path.name, logical_id, skip)
            assert len(skip.get("comment", "")) > 30, (template_path.name, logical_id, skip)


@pytest.mark.timeout(900)
@pytest.mark.skipif(python312_dir() is None, reason="sam build needs a python3.12 interpreter")
def test_sam_build_builds_both_functions_and_the_nested_canary(tmp_path: Path) -> None:
    env = tool_env()
    env["PATH"] = f"{python312_dir()}{os.pathsep}{env['PATH']}"
    build_dir = tmp_path / "build"
    result = subprocess.run(
        [
            str(VENV_BIN / "sam"),
            "build",
            "--build-dir",
            str(build_dir),
            "--cache-dir",
            str(tmp_path / "cache"),
            "--parameter-overrides",
            "Architecture=x86_64",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=850,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (build_dir / "CheckerFunction" / "dns_watchdog").is_dir()
    assert (build_dir / "CheckerFunction" / "aws_lambda_powertools").is_dir()
    assert (build_dir / "CanaryStack" / "template.yaml").is_file()
    assert (build_dir / "CanaryStack" / "CanaryFunction" / "dns_canary").is_dir()
    assert (build_dir / "CanaryStack" / "CanaryFunction" / "dns").is_dir()
