"""The benchmarks' one report row and their statistics, shared by every ``devtools/bench*.py``.

Its own module so the benchmark modules all import it from here and never each other's rows:
``bench.py`` runs the others (``bench_canary_tcp.report``), they never import ``bench.py``.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction


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


@dataclass(frozen=True)
class Estimate:
    """A figure with the interval it is judged on (`low`, `high`) and how that was made."""

    value: float
    low: float
    high: float
    how: str

    def render(self, unit: str = "ms", scale: float = 1000.0, digits: int = 1) -> str:
        fmt = f"{{:.{digits}f}}"
        value, low, high = (fmt.format(x * scale) for x in (self.value, self.low, self.high))
        return f"{value} {unit} [{low}, {high}]"


def median_interval(samples: Sequence[float], confidence: float = 0.95) -> Estimate:
    """The median and a distribution-free confidence interval for it: the order statistics
    x(l) and x(n-l+1) with l the largest rank whose binomial(n, 1/2) tail stays within the
    error (with fewer than 6 samples no rank does, and the interval is the whole range)."""
    ordered = sorted(samples)
    n = len(ordered)
    if n == 0:
        raise ValueError("no samples")
    error = Fraction(1 - confidence).limit_denominator(1000) / 2
    rank, term, tail = 0, 1, 1  # P(X <= rank - 1) * 2**n, term = comb(n, rank)
    while rank + 1 <= n // 2 and Fraction(tail, 2**n) <= error:
        rank += 1
        term = term * (n - rank + 1) // rank
        tail += term
    low, high = ordered[max(rank - 1, 0)], ordered[n - max(rank, 1)]
    how = f"{confidence:.0%} interval of the median of {n}" if rank else f"range of {n}"
    return Estimate(float(statistics.median(ordered)), low, high, how)


def mean_interval(samples: Sequence[float], confidence_z: float = 1.96) -> Estimate:
    """The mean and its normal-approximation 95% interval (many samples: the mean is what a
    total divides into, rare long ones included)."""
    n = len(samples)
    mean = statistics.fmean(samples)
    half = confidence_z * statistics.stdev(samples) / math.sqrt(n) if n > 1 else 0.0
    return Estimate(mean, mean - half, mean + half, f"mean of {n}, 95% interval")


def shift_interval(larger: Sequence[float], smaller: Sequence[float], z: float = 1.96) -> Estimate:
    """How much `larger` exceeds `smaller`: the median of every pairwise difference
    (Hodges-Lehmann) and its 95% interval (Moses: the pairwise differences at the ranks the
    Mann-Whitney statistic's normal approximation gives; the whole range for tiny samples)."""
    pairs = sorted(a - b for a in larger for b in smaller)
    n, m = len(larger), len(smaller)
    rank = math.floor(n * m / 2 - z * math.sqrt(n * m * (n + m + 1) / 12))
    if rank < 1:
        return Estimate(float(statistics.median(pairs)), pairs[0], pairs[-1], "range")
    how = f"median of the {n} x {m} pairwise differences, 95% interval"
    return Estimate(float(statistics.median(pairs)), pairs[rank - 1], pairs[-rank], how)


def percentile(ordered: Sequence[float], fraction: float) -> float:
    """The `fraction` quantile of sorted values (nearest rank)."""
    index = min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))
    return ordered[index]
