"""Failures the orchestration tells apart (pure): adapters raise these from AWS errors."""

from __future__ import annotations


class AwsCallFailed(RuntimeError):
    """An AWS call the check needed failed after the SDK's retries (the message names it).

    For one VPC it stops that VPC's conclusion, not the others'; the run then fails so the
    event is retried.
    """
