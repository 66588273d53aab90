"""Failures the orchestration tells apart (pure): adapters raise these from AWS errors."""

from __future__ import annotations

from enum import StrEnum


class AwsCallFailed(RuntimeError):
    """An AWS call the check needed failed after the SDK's retries (the message names it).

    For one VPC it stops that VPC's conclusion, not the others'; the run then fails so the
    event is retried.
    """


class AccessProblem(StrEnum):
    """Why the checker could not enter a member account (the likely cause, for on-call)."""

    ROLE_MISSING_OR_UNTRUSTED = "role missing or trust policy wrong"
    ORGANIZATION_POLICY_DENY = "SCP deny"
    CHECKER_POLICY = "checker policy does not allow it"
    REGION_DISABLED = "region disabled"
    THROTTLED = "throttled"
    UNREACHABLE = "STS unreachable"
    SINGLE_ACCOUNT_MODE = "single-account mode"
    OTHER = "AssumeRole failed"


# Problems that may pass by themselves: a later attempt (an SQS redelivery) may succeed.
TRANSIENT_ACCESS_PROBLEMS = frozenset({AccessProblem.THROTTLED, AccessProblem.UNREACHABLE})


class MemberAccessDenied(RuntimeError):
    """The checker cannot act in `account`: that target's evidence (UNVERIFIED with `reason`),
    never the run's crash.

    `problem` classifies the likely cause; `reason` says it in words on-call can act on.
    """

    def __init__(
        self,
        account: str,
        reason: str,
        *,
        problem: AccessProblem = AccessProblem.OTHER,
        role_arn: str = "",
    ) -> None:
        self.account = account
        self.reason = reason
        self.problem = problem
        self.role_arn = role_arn
        super().__init__(f"account {account}: {reason}")

    @property
    def transient(self) -> bool:
        """True when retrying later may succeed (throttling, STS unreachable)."""
        return self.problem in TRANSIENT_ACCESS_PROBLEMS
