"""The blast radius in words (pure): "Hit: 3 Lambda functions (orders-api, ...), 1 instance".

One phrase for every medium (e-mail text, chat, the preflight WARNING); function names were
written by whoever created the functions, so each medium passes its own escape rule. The JSON
document's part comes from here too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dns_watchdog.domain.workloads import BlastRadius, Census, Priority

# Function names in one line of text (the document lists up to MAX_FUNCTIONS_NAMED).
NAMES_IN_LINE = 5
NOTHING_BUT_CANARIES = "nothing but the watchdog's canaries"


def _as_written(text: str) -> str:
    return text


def _counted(count: int, singular: str, plural: str | None = None) -> str:
    return f"{count} {singular if count == 1 else plural or singular + 's'}"


def hit_phrase(census: Census, escape: Callable[[str], str] = _as_written) -> str:
    """What is hit, most important first: "3 Lambda functions (a, b, c), 2 ECS tasks"."""
    parts = []
    if census.functions_total:
        shown = census.functions[:NAMES_IN_LINE]
        names = ", ".join(escape(name) for name in shown)
        more = ", ..." if census.functions_total > len(shown) else ""
        at_least = "" if census.functions_complete else "at least "
        functions = _counted(census.functions_total, "Lambda function")
        parts.append(f"{at_least}{functions} ({names}{more})")
    elif not census.functions_complete:
        parts.append("Lambda functions not all listed")
    if census.ecs_tasks:
        parts.append(_counted(census.ecs_tasks, "ECS task"))
    if census.instances:
        parts.append(_counted(census.instances, "instance"))
    if census.foreign_lambda_interfaces:
        interfaces = _counted(census.foreign_lambda_interfaces, "Lambda interface")
        parts.append(f"{interfaces} of other accounts")
    return ", ".join(parts) or NOTHING_BUT_CANARIES


def hit_line(blast: BlastRadius, vpc_id: str, escape: Callable[[str], str] = _as_written) -> str:
    """The one line every alert with a blast radius shows."""
    census = blast.census
    if census is None:
        why = escape(blast.error or "no reason given")
        return f"Hit: unknown, the workloads in {vpc_id} could not be read ({why})"
    cached = f" (as of {census.read_at})" if blast.status == "cached" else ""
    return f"Hit: {hit_phrase(census, escape)}{cached}"


def beside_line(census: Census) -> str | None:
    """What else has an interface in the VPC and is not counted (None: nothing)."""
    parts = []
    if census.canary_interfaces:
        parts.append(f"{_counted(census.canary_interfaces, 'canary interface')} (not counted)")
    if census.other_interfaces:
        kinds = ", ".join(f"{kind} {count}" for kind, count in census.other_types)
        other = _counted(census.other_interfaces, "other interface")
        verb = "resolves" if census.other_interfaces == 1 else "resolve"
        parts.append(f"{other} that {verb} nothing through the option set ({kinds})")
    return f"Also in the VPC: {'; '.join(parts)}." if parts else None


def owners_line(census: Census, account: str | None) -> str | None:
    """The interfaces' owners, when some are not the VPC's own account (a shared VPC)."""
    if not census.owners or all(owner == account for owner, _ in census.owners):
        return None
    owners = ", ".join(f"{owner} ({count})" for owner, count in census.owners)
    return f"Interfaces by owner: {owners}"


def priority_line(priority: Priority | None) -> str | None:
    """Why an alert goes out lower than its verdict says (None: it does not)."""
    if priority is None or priority.lowered_from is None:
        return None
    return (
        f"Priority: sent as {priority.severity.value}, not {priority.lowered_from.value}: "
        f"{priority.why}."
    )


def blast_document(blast: BlastRadius | None) -> dict[str, Any] | None:
    """The JSON document's `blast_radius` (None: not read for this alert)."""
    if blast is None:
        return None
    census = blast.census
    document: dict[str, Any] = {
        "status": blast.status,
        "error": blast.error,
        "workloads": blast.workloads,
    }
    if census is not None:
        document |= {
            "read_at": census.read_at,
            "lambda_functions": {
                "total": census.functions_total,
                "names": list(census.functions),
                "complete": census.functions_complete,
            },
            "ecs_tasks": census.ecs_tasks,
            "instances": census.instances,
            "other_account_lambda_interfaces": census.foreign_lambda_interfaces,
            "other_interfaces": census.other_interfaces,
            "other_interfaces_by_type": dict(census.other_types),
            "canary_interfaces": census.canary_interfaces,
            "interfaces_by_owner": dict(census.owners),
        }
    return document


def priority_document(priority: Priority | None) -> dict[str, Any] | None:
    """The JSON document's `priority` (None: sent as the verdict decided)."""
    if priority is None or priority.lowered_from is None:
        return None
    return {
        "severity": priority.severity.value,
        "lowered_from": priority.lowered_from.value,
        "why": priority.why,
    }
