"""The organization benchmark sweeps every target through the real checker (no timing asserted:
timing claims belong to `make bench`)."""

from __future__ import annotations

import re

import pytest

from devtools.bench_org import measure, report

pytestmark = pytest.mark.integration


def test_a_small_organization_sweep_checks_every_target_through_the_queue() -> None:
    # Given 3 member accounts x 2 regions, a pool of 2 workers
    figures = measure(targets=6, concurrency=2, runs=1)

    # Then every timed sweep fanned out and checked all 6 targets, one canary each, assuming
    # each member role once per sweep (credentials are kept per account)
    for sweep in [*figures.slow, *figures.instant]:
        assert len(sweep.durations_s) == 6
        assert sweep.calls["lambda.Invoke"] == 6
        assert sweep.calls["sts.AssumeRole"] == 3
        assert sweep.calls["sqs.SendMessageBatch"] == 1
        assert sweep.calls["dynamodb.PutItem"] == 6
    lines = report(figures)
    assert lines[0].startswith("organization sweep benchmark (median of 1 runs; 6 targets = 3 ")
    assert re.search(r"ideal 6 x 0\.3 s / 2 = 0\.90 s \| ratio +\d+\.\d\d", "\n".join(lines))
    assert any(line.startswith("  total    $") for line in lines)
