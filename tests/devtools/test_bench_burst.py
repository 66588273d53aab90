"""The change-burst benchmark: its measurement runs changes through the real checker from the
change queue (no timing asserted: timing claims belong to `make bench`), and its model's rows
follow the measured figures and the template, so each can fail."""

from __future__ import annotations

import pytest

from devtools.bench_burst import Burst, Measured, QueueSettings, measure, report

pytestmark = pytest.mark.integration

QUEUE = QueueSettings(concurrency=10, retention_s=14_400, age_alarm_s=1_800)


def measured(event_s: float) -> Measured:
    return Measured(
        first_s=2.0, per_event_s=[event_s] * 4, canary_runs=4, alerts=2, reads=8, writes=20
    )


def test_the_model_drains_the_burst_at_the_queues_concurrency() -> None:
    burst = Burst(measured(0.5), QUEUE)
    # 10,000 changes, 10 at a time, 0.5 s each: 1,000 waves of 0.5 s, plus one slower first check
    assert burst.drain_s == pytest.approx(500 + 1.5)
    assert burst.longest_wait_s == pytest.approx(500 + 1.5 - 60)
    assert burst.canary_runs == 10_000
    assert burst.alerts == 5_000
    assert Burst(measured(0.5), QUEUE, concurrency=100).drain_s == pytest.approx(60 + 1.5)


def test_every_row_passes_when_the_burst_drains_in_time() -> None:
    _, rows = report(Burst(measured(0.5), QUEUE))
    assert [row.passed for row in rows] == [True, True]


def test_the_rows_fail_when_checks_are_too_slow_for_the_queue() -> None:
    # 2 s a change: 2,000 s to drain, past the 30-minute age alarm
    _, rows = report(Burst(measured(2.0), QUEUE))
    assert [row.passed for row in rows] == [False, True]
    # 6 s a change: 6,000 s, past the age alarm and the queue's retention too
    _, rows = report(Burst(measured(6.0), QueueSettings(10, 3_600, 1_800)))
    assert [row.passed for row in rows] == [False, False]


def test_the_queue_settings_are_the_templates() -> None:
    settings = QueueSettings.from_template()
    assert settings.concurrency >= 2
    assert settings.age_alarm_s < settings.retention_s


def test_the_measurement_checks_each_change_through_the_queue() -> None:
    figures = measure(samples=2)
    assert len(figures.per_event_s) == 2
    assert figures.first_s > 0
    # each change was checked where it happened: the canary asked, the state written
    assert figures.canary_runs >= 1
    assert figures.writes >= 2
    lines, rows = report(Burst(figures, QueueSettings.from_template()))
    assert lines[0].startswith("change burst model")
    assert any(line.startswith("  cost ") for line in lines)
    assert len(rows) == 2
