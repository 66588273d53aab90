"""The sweep model and the benchmarks' statistics: plain arithmetic, checked on cases worked by
hand."""

from __future__ import annotations

import pytest

from devtools.benchkit import mean_interval, median_interval, shift_interval
from devtools.org_model import (
    QUOTAS,
    README_RUN,
    RELEASE_PER_S,
    Release,
    Scenario,
    assume_role_share,
    first_quota_reached,
    run_scenario,
    simulate_sweep,
)

pytestmark = pytest.mark.unit


def test_a_sweep_takes_its_waves_and_waits_for_its_releases_and_ramp() -> None:
    # 10 targets of 1 s on 5 environments: two waves
    assert simulate_sweep(10, 5, [1.0], sweeps=3).value == 2.0
    # released one a second: the last one starts at 9 s, whatever the concurrency
    assert simulate_sweep(10, 100, [1.0], release=Release(per_s=1.0), sweeps=3).value == 10.0
    # sent in batches of 10, 0.5 s each after a 2 s listing: the second batch is out at 3 s
    sent = Release(listing_s=2.0, batch_send_s=0.5)
    assert simulate_sweep(20, 100, [1.0], release=sent, sweeps=3).value == 4.0
    # the event source mapping starts 5 and adds 5 a second: 10 targets of 1 s on 10
    # environments end when the last environment, opened at 1 s, is done
    assert simulate_sweep(10, 10, [1.0], ramp=True, sweeps=3).value == 2.0
    # an environment's first target pays the cold start
    assert simulate_sweep(10, 5, [1.0], cold=[0.5], sweeps=3).value == 2.5


def test_the_median_and_shift_intervals_hold_the_truth_on_known_samples() -> None:
    ten = [float(x) for x in range(10)]
    # n = 10: the 95% interval of the median is [x(2), x(9)] (binomial tables)
    assert (median_interval(ten).low, median_interval(ten).high) == (1.0, 8.0)
    assert median_interval([1.0, 2.0, 3.0]).how == "range of 3"
    shifted = shift_interval([x + 0.3 for x in ten * 5], ten * 5)
    assert shifted.low <= 0.3 <= shifted.high
    assert shifted.value == pytest.approx(0.3)
    assert mean_interval([1.0, 3.0]).value == 2.0


def test_the_release_rate_bounds_assume_role_at_any_concurrency() -> None:
    capped = run_scenario(README_RUN, Scenario(1000, 4, 200, RELEASE_PER_S))
    free = run_scenario(README_RUN, Scenario(1000, 4, 200, None))
    assert capped.peak_targets_per_s == RELEASE_PER_S
    assert capped.rates["sts.AssumeRole"] <= RELEASE_PER_S
    assert free.rates["sts.AssumeRole"] > capped.rates["sts.AssumeRole"]
    # more containers share an account's targets less: more AssumeRole per target
    assert assume_role_share(50, 4) < assume_role_share(200, 4) < 1


def test_the_first_quota_reached_is_the_central_accounts_sts() -> None:
    quota, concurrency = first_quota_reached(README_RUN, 1000, 4)
    assert quota == QUOTAS["sts.AssumeRole"].api
    assert 200 < concurrency < 1000
