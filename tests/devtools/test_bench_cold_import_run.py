"""The cold-import benchmark really imports the checker's handler in fresh interpreters (no
timing asserted: timing claims belong to `make bench`)."""

from __future__ import annotations

import pytest

from devtools.bench_cold_import import paired_imports
from devtools.lambdakit import CHECKER_DIR

pytestmark = pytest.mark.integration


def test_the_checker_handler_and_boto3_each_import_in_a_fresh_interpreter() -> None:
    measured = paired_imports(CHECKER_DIR, "app", 1)
    assert measured.subject_ms > 0
    assert measured.baseline_ms > 0
    assert measured.ratio == pytest.approx(measured.subject_ms / measured.baseline_ms)
