"""The cold-import rows: alternated imports, the median of per-pair ratios, a goal that can fail
(timings scripted here; real timing claims belong to `make bench`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools import bench_cold_import
from devtools.bench_cold_import import CHECKER_GOAL, paired_imports

pytestmark = pytest.mark.unit


def _scripted(monkeypatch: pytest.MonkeyPatch, timings: dict[str, list[float]]) -> list[str]:
    """Each module's import takes the next of its timings; returns the order they were asked."""
    remaining: dict[str, Iterator[float]] = {name: iter(ms) for name, ms in timings.items()}
    asked: list[str] = []

    def fake_cold_import_ms(code_dir: Path, module: str, *, write_bytecode: bool = True) -> float:
        asked.append(module)
        return next(remaining[module])

    monkeypatch.setattr(bench_cold_import, "cold_import_ms", fake_cold_import_ms)
    return asked


def test_imports_take_turns_after_one_untimed_import_of_each(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked = _scripted(monkeypatch, {"app": [999, 1, 1, 1], "boto3": [999, 1, 1, 1]})
    paired_imports(Path("functions/checker"), "app", 3)
    assert asked == ["app", "boto3", "app", "boto3", "app", "boto3", "app", "boto3"]


def test_the_ratio_is_the_median_of_the_pairs_not_the_ratio_of_the_medians(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a machine that slows down for one pair (both imports of the pair alike)
    _scripted(
        monkeypatch,
        {"app": [0, 300, 900, 330, 320, 310], "boto3": [0, 200, 600, 200, 200, 200]},
    )
    measured = paired_imports(Path("functions/checker"), "app", 5)
    # Then both medians are reported, and the ratio is the pairs' median (1.55, not 320/200)
    assert (measured.subject_ms, measured.baseline_ms) == (320, 200)
    assert measured.ratio == pytest.approx(1.55)


@pytest.mark.parametrize(("app_ms", "passed"), [(290.0, True), (300.0, True), (310.0, False)])
def test_the_checker_row_fails_above_its_goal(
    monkeypatch: pytest.MonkeyPatch, app_ms: float, passed: bool
) -> None:
    _scripted(monkeypatch, {"app": [0, app_ms], "boto3": [0, 200.0]})
    measured = paired_imports(Path("functions/checker"), "app", 1)
    row = bench_cold_import._row("cold import: checker handler", measured, CHECKER_GOAL)
    assert row.passed is passed
    assert row.target == "<= 1.5 x import boto3"
    assert f"ratio {app_ms / 200:5.2f}" in row.render()
    assert row.render().endswith("PASS" if passed else "FAIL")
