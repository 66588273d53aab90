"""What the checker is asked to do, whatever the event it came from (pure).

`events.py` turns Lambda events into these; the rest of the checker only sees these.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

SWEEP_EVENT_NAME = "ScheduledSweep"
MANUAL_EVENT_NAME = "ManualCheck"
# The only change whose every occurrence is announced, whatever the verdict.
OPTION_SET_CHANGE = "AssociateDhcpOptions"

ResourceKind = Literal["vpc", "security_group", "network_acl"]
Trigger = Literal["change", "sweep", "manual"]


@dataclass(frozen=True)
class Resource:
    """A resource an event touched: a VPC, or a security group / network ACL inside one."""

    kind: ResourceKind
    resource_id: str


@dataclass(frozen=True)
class ChangeContext:
    """Who changed what, when and from where (from the CloudTrail record)."""

    event_id: str
    event_name: str
    event_source: str
    event_time: str
    region: str
    account_id: str | None
    actor_arn: str | None
    actor_type: str | None
    session_issuer_arn: str | None
    source_ip: str | None
    requested_option_set_id: str | None


@dataclass(frozen=True)
class CheckRequest:
    """Check these resources (all VPCs with canaries when `resources` is empty and it is a sweep).

    `account_id` and `region` say where (None: the checker's own account / region); in
    organization mode a change in a member account is checked there through its member role.
    """

    trigger: Trigger
    event_name: str
    resources: tuple[Resource, ...]
    change: ChangeContext | None = None
    reason: str = ""
    account_id: str | None = None
    region: str | None = None
    # The account's name, when the sweep learned it from Organizations (alerts show it).
    account_name: str | None = None

    @property
    def announces_option_set(self) -> bool:
        """Every option-set change is announced, whatever the verdict."""
        return self.trigger == "change" and self.event_name == OPTION_SET_CHANGE

    @property
    def event_id(self) -> str | None:
        return self.change.event_id if self.change else None


@dataclass(frozen=True)
class IgnoredEvent:
    """A CloudTrail record of a failed call: nothing changed, nothing to check."""

    event_name: str
    event_id: str
    error_code: str
    error_message: str | None
    vpc_id: str | None

    @property
    def reason(self) -> str:
        return f"the {self.event_name} call failed ({self.error_code}): nothing changed"


PREFLIGHT_EVENT_NAME = "Preflight"
# A new option set: preflighted against every watched VPC before anyone associates it.
OPTION_SET_CREATED = "CreateDhcpOptions"


@dataclass(frozen=True)
class PreflightRequest:
    """Predict what associating `option_set_id` would do to Lambda DNS in these VPCs (all
    watched VPCs when `vpc_ids` is empty). Nothing is associated, stored or published."""

    option_set_id: str
    vpc_ids: tuple[str, ...] = ()
    reason: str = ""
    event_name: str = PREFLIGHT_EVENT_NAME
    # Set for the automatic preflight of a CreateDhcpOptions call: it warns when a VPC would break.
    change: ChangeContext | None = None
    account_id: str | None = None
    region: str | None = None
    account_name: str | None = None

    @property
    def automatic(self) -> bool:
        return self.change is not None

    @property
    def event_id(self) -> str | None:
        return self.change.event_id if self.change else None


ROLLBACK_EVENT_NAME = "Rollback"


@dataclass(frozen=True)
class RollbackRequest:
    """Put the VPC's last option set verified healthy back, asked by `requested_by` (the chat
    button or a person at a terminal): the checker applies self-healing's guard rails
    (domain/rollback.py), associates, verifies and records who asked.

    `via_chat`: the request came through the chat channel's alias of the checker.
    """

    vpc_id: str
    requested_by: str
    account_id: str | None = None
    region: str | None = None
    via_chat: bool = False
    event_name: str = ROLLBACK_EVENT_NAME


ParsedEvent = CheckRequest | IgnoredEvent | PreflightRequest | RollbackRequest
