"""The handler as Lambda runs it: errors Lambda reports, and what the canary must never import."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from canary_lab import CanaryLab

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_invalid_plan_raises_invalid_probe_plan_through_the_handler(canary_lab: CanaryLab) -> None:
    # Lambda reports the exception class name as errorType
    with pytest.raises(ValueError, match=r"^probes\[0\]\.type: unsupported record type") as raised:
        canary_lab.invoke({"probes": [{"name": "db.corp.example", "type": "AAA"}]})

    assert type(raised.value).__name__ == "InvalidProbePlan"


def test_handler_logs_the_verdict_with_structured_keys(
    canary_lab: CanaryLab, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("INFO"):
        canary_lab.invoke({})

    finished = [record for record in caplog.records if record.getMessage() == "canary finished"]
    assert len(finished) == 1
    assert finished[0].__dict__["diagnosis"] == "HEALTHY"
    assert finished[0].__dict__["ok"] is True
    assert finished[0].__dict__["option_set_at_fault"] is False
    assert finished[0].__dict__["configured_nameservers"] == [canary_lab.corp.address]


def test_canary_never_imports_boto3() -> None:
    # Given a fresh interpreter, as on a Lambda cold start
    script = textwrap.dedent(
        f"""
        import importlib.util, json, sys
        sys.path.insert(0, {str(REPO_ROOT / "functions" / "canary")!r})
        spec = importlib.util.spec_from_file_location(
            "canary_app", {str(REPO_ROOT / "functions" / "canary" / "app.py")!r}
        )
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        assert callable(module.lambda_handler)
        print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in
                                ("boto3", "botocore", "pydantic"))))
        """
    )

    # When only the handler module is imported
    completed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )

    # Then neither boto3 nor pydantic was loaded. Powertools' Logger only checks that the bare
    # botocore package exists (for its user-agent hook); no SDK client or session code loads.
    loaded = json.loads(completed.stdout.strip().splitlines()[-1])
    assert [module for module in loaded if module != "botocore"] == []
