"""The benchmarks' one report row, shared by every ``devtools/bench*.py`` module.

Its own module so the benchmark modules all import it from here and never each other's rows:
``bench.py`` runs the others (``bench_canary_tcp.report``), they never import ``bench.py``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Row:
    """One line of the report: a measurement, its baseline and the target it must meet."""

    name: str
    value_ms: float
    baseline_name: str
    baseline_ms: float
    target: str
    passed: bool
    # Given when the ratio is not that of the medians (e.g. the median of per-pair ratios).
    ratio: float | None = None

    def render(self) -> str:
        ratio = self.ratio
        if ratio is None:
            ratio = self.value_ms / self.baseline_ms if self.baseline_ms else float("nan")
        verdict = "PASS" if self.passed else "FAIL"
        return (
            f"{self.name:<44} {self.value_ms:>9.1f} ms | {self.baseline_name:<38} "
            f"{self.baseline_ms:>9.1f} ms | ratio {ratio:5.2f} | {self.target:<22} {verdict}"
        )
