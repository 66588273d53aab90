"""The organization benchmark sweeps every target through the real checker in worker processes
(no timing asserted: timing claims belong to `make bench-org`)."""

from __future__ import annotations

import re

import pytest

from devtools.bench_org import measure, report

pytestmark = pytest.mark.integration


def test_a_small_organization_sweep_checks_every_target_through_the_queue() -> None:
    # Given 3 accounts (the management account and 2 members) x 2 regions, 2 workers
    figures = measure(targets=6, concurrency=2, runs=1, workers=2, quota=False)

    # Then every timed sweep fanned out and checked all 6 targets, one canary each, assuming a
    # member role at most once per member account and worker (the home account needs none)
    for sweep in [*figures.slow, *figures.instant]:
        assert len(sweep.records) == 6
        assert sweep.calls["lambda.Invoke"] == 6
        assert 2 <= sweep.calls["sts.AssumeRole"] <= 4
        assert sweep.calls["sqs.SendMessageBatch"] == 1
        assert sweep.calls["organizations.ListAccounts"] == 1
        assert sweep.calls["dynamodb.GetItem"] == sweep.calls["dynamodb.PutItem"] == 6
        assert "organizations.DescribeAccount" not in sweep.calls
    lines, _ = report(figures)
    text = "\n".join(lines)
    assert lines[0].startswith("organization sweep benchmark: 6 targets = 3 accounts x 2 ")
    assert "NOT under the CPU quota" in lines[0]
    assert re.search(r"checker CPU per target +\d+\.\d ms \[", text)
    assert re.search(r"model: the sweep in Lambda, C = 2 +\d+\.\d\d s \[", text)
    assert "first quota reached without the release rate: " in text
