"""What a VPC's broken DNS hits: the workloads in it, counted from its network interfaces (pure).

Everything that resolves names through a VPC's DHCP option set has a network interface in the
VPC. One `DescribeNetworkInterfaces` (filter `vpc-id`) lists them; `classify` sorts each into a
kind by the fields AWS writes:

- `lambda`: `InterfaceType` `lambda`. Lambda shares one interface between the functions of an
  account with the same subnet and security groups, so the interfaces do not count functions:
  the functions attached to the VPC come from Lambda's `ListFunctions` (`VpcConfig.VpcId`).
  Interfaces of type `lambda` owned by another account (a shared VPC's participants, whose
  functions this account cannot list) are counted apart.
- `ecs_task`: an ECS task in `awsvpc` mode (its interface's description is the task's attachment
  ARN, `arn:<partition>:ecs:<region>:<account>:attachment/<id>`), or a `branch` interface
  (ENI trunking: ECS tasks, EKS pods with security groups of their own).
- `instance`: attached to an EC2 instance and not managed by a service (EKS pods on a node use
  the node's interfaces); counted once per instance.
- `other`: everything else (NAT gateways, VPC endpoints, load balancers, Resolver endpoints,
  databases): they do not run code that resolves names through the option set, or not code of
  the account's own; counted by `InterfaceType` (a plain interface as `service-managed` or
  `unattached`).

The watchdog's own canaries are in the VPC too and never count as workloads: their functions are
left out by name, and `lambda` interfaces whose description names a canary
("AWS Lambda VPC ENI-<function name>-<id>", written by Lambda) are counted as the canaries'.

A `Census` is cached with the VPC's state (`VpcState.workloads`) and read again when older than
the cache's time to live; `BlastRadius` is what an alert shows: a census, or why none could be
read. `prioritise` is the opt-in rule "page CRITICAL only when something besides the canaries is
hit".
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from dns_watchdog.domain.models import Severity

WorkloadKind = Literal["lambda", "ecs_task", "instance", "other"]

# The function names an alert lists (by name); the rest are counted.
MAX_FUNCTIONS_NAMED = 10
# Owners and other interface types kept in a census (most interfaces first; the rest counted).
MAX_OWNERS_KEPT = 5
MAX_OTHER_TYPES_KEPT = 8

_ECS_ATTACHMENT = re.compile(r"^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:attachment/")
_LAMBDA_DESCRIPTION = "AWS Lambda VPC ENI-"
_INSTANCE_TYPES = frozenset({"interface", "trunk", "efa", "efa-only"})


@dataclass(frozen=True)
class Interface:
    """One network interface in the VPC, as EC2 describes it (the fields classification reads)."""

    interface_id: str
    interface_type: str
    owner_id: str
    description: str = ""
    requester_managed: bool = False
    instance_id: str | None = None


def classify(interface: Interface) -> WorkloadKind:
    """The kind of workload behind `interface` (the module's docstring says how)."""
    kind = interface.interface_type
    if kind == "lambda":
        return "lambda"
    if kind == "branch" or _ECS_ATTACHMENT.match(interface.description):
        return "ecs_task"
    if interface.instance_id and not interface.requester_managed and kind in _INSTANCE_TYPES:
        return "instance"
    return "other"


def _other_label(interface: Interface) -> str:
    """How an interface that is not a workload is counted: its type, or for a plain interface
    whether a service manages it (a database, a load balancer) or nothing uses it."""
    if interface.interface_type != "interface":
        return interface.interface_type
    return "service-managed" if interface.requester_managed else "unattached"


def names_canary(interface: Interface, canaries: frozenset[str]) -> bool:
    """A Lambda interface whose description (written by Lambda) names one of `canaries`."""
    description = interface.description
    if not description.startswith(_LAMBDA_DESCRIPTION):
        return False
    rest = description[len(_LAMBDA_DESCRIPTION) :]
    return any(rest.startswith(f"{name}-") for name in canaries)


def function_name(arn_or_name: str) -> str:
    """A function's name from its ARN (or the name itself); a version or alias is dropped."""
    if arn_or_name.startswith("arn:"):
        parts = arn_or_name.split(":")
        return parts[6] if len(parts) > 6 else arn_or_name
    return arn_or_name


@dataclass(frozen=True)
class Census:
    """The workloads found in one VPC at `read_at`."""

    read_at: str
    functions: tuple[str, ...] = ()  # names, sorted, at most MAX_FUNCTIONS_NAMED
    functions_total: int = 0
    # Every page of the account's functions was read (False: at least `functions_total`).
    functions_complete: bool = True
    ecs_tasks: int = 0
    instances: int = 0
    # `lambda` interfaces of other accounts (a shared VPC), not a canary's.
    foreign_lambda_interfaces: int = 0
    other_interfaces: int = 0
    other_types: tuple[tuple[str, int], ...] = ()
    canary_interfaces: int = 0
    # Interfaces per owning account (the canaries' left out), most first.
    owners: tuple[tuple[str, int], ...] = ()

    @property
    def workloads(self) -> int:
        """What resolves names through the option set, besides the canaries."""
        return (
            self.functions_total + self.ecs_tasks + self.instances + self.foreign_lambda_interfaces
        )

    def fresh(self, now: str, ttl_s: float) -> bool:
        """Read less than `ttl_s` seconds before `now` (ISO times)."""
        try:
            age = _parse(now) - _parse(self.read_at)
        except ValueError:
            return False
        return timedelta(0) <= age < timedelta(seconds=ttl_s)

    def as_record(self) -> dict[str, Any]:
        """The census as stored with the VPC's state (plain strings, numbers and lists); its
        `workloads` total is stored too, for readers of the table (the CLI's status)."""
        return {
            "read_at": self.read_at,
            "workloads": self.workloads,
            "functions": list(self.functions),
            "functions_total": self.functions_total,
            "functions_complete": self.functions_complete,
            "ecs_tasks": self.ecs_tasks,
            "instances": self.instances,
            "foreign_lambda_interfaces": self.foreign_lambda_interfaces,
            "other_interfaces": self.other_interfaces,
            "other_types": {kind: count for kind, count in self.other_types},
            "canary_interfaces": self.canary_interfaces,
            "owners": {owner: count for owner, count in self.owners},
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Census:
        """A stored census; raises ValueError when the record is not one."""
        try:
            return cls(
                read_at=str(record["read_at"]),
                functions=tuple(str(name) for name in record.get("functions") or ()),
                functions_total=int(record.get("functions_total", 0)),
                functions_complete=bool(record.get("functions_complete", True)),
                ecs_tasks=int(record.get("ecs_tasks", 0)),
                instances=int(record.get("instances", 0)),
                foreign_lambda_interfaces=int(record.get("foreign_lambda_interfaces", 0)),
                other_interfaces=int(record.get("other_interfaces", 0)),
                other_types=_pairs(record.get("other_types")),
                canary_interfaces=int(record.get("canary_interfaces", 0)),
                owners=_pairs(record.get("owners")),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"not a stored workload census: {exc}") from exc


def take_census(
    *,
    read_at: str,
    interfaces: Iterable[Interface],
    functions: Iterable[str],
    functions_complete: bool,
    canaries: Iterable[str],
    account: str | None,
) -> Census:
    """Count `interfaces` (the VPC's) by kind and owner and name `functions` (the account's
    functions attached to the VPC), leaving out the `canaries` (names or ARNs)."""
    canary_names = frozenset(function_name(c) for c in canaries)
    names = sorted({f for f in functions if function_name(f) not in canary_names})
    kinds: Counter[str] = Counter()
    other_types: Counter[str] = Counter()
    owners: Counter[str] = Counter()
    instances: set[str] = set()
    for interface in interfaces:
        kind = classify(interface)
        if kind == "lambda" and names_canary(interface, canary_names):
            kinds["canary"] += 1
            continue
        owners[interface.owner_id] += 1
        if kind == "lambda" and account and interface.owner_id != account:
            kinds["foreign_lambda"] += 1
        elif kind == "instance" and interface.instance_id:
            instances.add(interface.instance_id)
        elif kind == "other":
            other_types[_other_label(interface)] += 1
        kinds[kind] += 1
    return Census(
        read_at=read_at,
        functions=tuple(names[:MAX_FUNCTIONS_NAMED]),
        functions_total=len(names),
        functions_complete=functions_complete,
        ecs_tasks=kinds["ecs_task"],
        instances=len(instances),
        foreign_lambda_interfaces=kinds["foreign_lambda"],
        other_interfaces=kinds["other"],
        other_types=tuple(other_types.most_common(MAX_OTHER_TYPES_KEPT)),
        canary_interfaces=kinds["canary"],
        owners=tuple(owners.most_common(MAX_OWNERS_KEPT)),
    )


BlastStatus = Literal["read", "cached", "unreadable"]


@dataclass(frozen=True)
class BlastRadius:
    """What an alert says is hit: a census (read now, or cached), or why none could be read."""

    status: BlastStatus
    census: Census | None = None
    error: str | None = None

    @property
    def workloads(self) -> int | None:
        """The workloads besides the canaries (None: not known)."""
        return self.census.workloads if self.census is not None else None


def unreadable(error: str) -> BlastRadius:
    return BlastRadius("unreadable", error=error)


@dataclass(frozen=True)
class Priority:
    """The severity an alert goes out with, and why it is lower than the verdict's (or None)."""

    severity: Severity
    lowered_from: Severity | None = None
    why: str | None = None


def prioritise(
    severity: Severity, blast: BlastRadius | None, *, from_impact: bool, vpc_id: str
) -> Priority:
    """With `from_impact` on, a CRITICAL whose VPC holds nothing but the canaries goes out as a
    WARNING that says why. Anything not known to be empty pages as decided: an unread blast
    radius, a census that could not list every function, or the setting off."""
    census = blast.census if blast is not None else None
    if (
        not from_impact
        or severity != Severity.CRITICAL
        or census is None
        or not census.functions_complete
        or census.workloads > 0
    ):
        return Priority(severity)
    return Priority(
        Severity.WARNING,
        lowered_from=severity,
        why=(
            f"nothing but the watchdog's canaries has a network interface in {vpc_id} "
            f"(workloads read {census.read_at}; PriorityFromImpact is on)"
        ),
    )


def total_workloads(blasts: Sequence[BlastRadius | None]) -> int | None:
    """The workloads of several VPCs together (None when any of them is not known)."""
    counts = [b.workloads if b is not None else None for b in blasts]
    if not counts or any(c is None for c in counts):
        return None
    return sum(c for c in counts if c is not None)


def _pairs(value: Any) -> tuple[tuple[str, int], ...]:
    if not value:
        return ()
    items = sorted(dict(value).items(), key=lambda item: (-int(item[1]), str(item[0])))
    return tuple((str(key), int(count)) for key, count in items)


def _parse(when: str) -> datetime:
    return datetime.fromisoformat(when.replace("Z", "+00:00"))
