"""IAM's identity-policy evaluation, as much of it as the templates' roles use: Allow and Deny
statements, Action / NotAction and Resource wildcards, the condition operators the templates
write (String*, Arn*, Null, Bool, their IfExists forms) with policy variables, and an explicit
Deny winning over any Allow. Enough to ask "may this role make this call on this resource, with
these request and resource tags?" of a template, offline.

A role's statements are gathered the way IAM attaches them: its inline ``Policies``, every
``AWS::IAM::RolePolicy`` naming it, and its ``ManagedPolicyArns`` (customer managed policies of the
template, and the AWS managed policies this project uses, from copies in ``data/``).

Not modelled (none of the roles uses them): permission boundaries, session policies, SCPs,
``ForAnyValue`` / ``ForAllValues``, numeric and date operators.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stack_model import StackResolver, listed

DATA_DIR = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class Request:
    """One authorization IAM makes: an action on a resource, with the request's context keys
    (``aws:ResourceTag/...``, ``aws:RequestTag/...``, ``lambda:Layer``...), keys matched without
    regard to case as IAM does."""

    action: str
    resource: str
    context: Mapping[str, str | list[str]] = field(default_factory=dict)

    def value(self, key: str) -> list[str] | None:
        for name, value in self.context.items():
            if name.lower() == key.lower():
                return listed(value)
        return None


def aws_managed_policy(name: str) -> dict[str, Any]:
    """The document of an AWS managed policy this project attaches (a copy in data/)."""
    document: dict[str, Any] = json.loads((DATA_DIR / f"{name}.json").read_text())["Document"]
    return document


def role_statements(stack: StackResolver, role_id: str) -> list[dict[str, Any]]:
    """Every statement that applies to the role ``role_id`` in this stack."""
    role = stack.resources("AWS::IAM::Role")[role_id]
    statements: list[dict[str, Any]] = []
    for policy in role.get("Policies", []):
        statements += listed(policy["PolicyDocument"]["Statement"])
    role_name = stack.value_of(role_id)
    for policy in stack.resources("AWS::IAM::RolePolicy").values():
        if policy["RoleName"] == role_name:
            statements += listed(policy["PolicyDocument"]["Statement"])
    customer = {
        stack.value_of(logical_id): policy
        for logical_id, policy in stack.resources("AWS::IAM::ManagedPolicy").items()
    }
    for arn in role.get("ManagedPolicyArns", []):
        if arn in customer:
            statements += listed(customer[arn]["PolicyDocument"]["Statement"])
        else:
            name = arn.rsplit("/", 1)[1]
            assert arn.startswith("arn:aws:iam::aws:policy/"), arn
            statements += listed(aws_managed_policy(name)["Statement"])
    return statements


def decide(statements: list[dict[str, Any]], request: Request) -> str:
    """ "Allow", "Deny" (an explicit deny) or "ImplicitDeny"."""
    allowed = False
    for statement in statements:
        if not _applies(statement, request):
            continue
        if statement["Effect"] == "Deny":
            return "Deny"
        allowed = True
    return "Allow" if allowed else "ImplicitDeny"


def allowed(statements: list[dict[str, Any]], request: Request) -> bool:
    return decide(statements, request) == "Allow"


def _applies(statement: Mapping[str, Any], request: Request) -> bool:
    if "Action" in statement:
        if not any(_action_matches(p, request.action) for p in listed(statement["Action"])):
            return False
    elif any(_action_matches(p, request.action) for p in listed(statement["NotAction"])):
        return False
    if "Resource" in statement:
        if not any(_glob(p, request.resource) for p in listed(statement["Resource"])):
            return False
    elif any(_glob(p, request.resource) for p in listed(statement["NotResource"])):
        return False
    return all(
        _condition(operator, key, expected, request)
        for operator, entries in statement.get("Condition", {}).items()
        for key, expected in entries.items()
    )


def _action_matches(pattern: str, action: str) -> bool:
    return fnmatch.fnmatchcase(action.lower(), pattern.lower())


def _glob(pattern: str, text: str) -> bool:
    regex = "".join(
        ".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern
    )
    return re.fullmatch(regex, text, re.S) is not None


_VARIABLE = re.compile(r"\$\{([^}]+)\}")


def _substitute(value: str, request: Request) -> str | None:
    """A policy variable replaced by its value; None when the variable has no value."""
    missing = False

    def replace(match: re.Match[str]) -> str:
        nonlocal missing
        found = request.value(match[1])
        if not found:
            missing = True
            return ""
        return found[0]

    substituted = _VARIABLE.sub(replace, value)
    return None if missing else substituted


def _condition(operator: str, key: str, expected: Any, request: Request) -> bool:
    actual = request.value(key)
    base = operator.removesuffix("IfExists")
    if_exists = base != operator
    if base == "Null":
        return (actual is None) == (str(expected).lower() == "true")
    if actual is None:
        # A missing key matches nothing: negated operators are then true, others false
        return if_exists or base.startswith(("StringNot", "ArnNot"))
    patterns = [_substitute(str(v), request) for v in listed(expected)]
    values = [p for p in patterns if p is not None]
    negated = "Not" in base
    plain = base.replace("Not", "")
    if plain == "Bool":
        hit = any(a.lower() == v.lower() for a in actual for v in values)
    elif plain in ("StringEquals", "ArnEquals"):
        hit = any(a == v for a in actual for v in values)
    elif plain == "StringEqualsIgnoreCase":
        hit = any(a.lower() == v.lower() for a in actual for v in values)
    elif plain in ("StringLike", "ArnLike"):
        hit = any(_glob(v, a) for a in actual for v in values)
    else:
        raise NotImplementedError(f"condition operator {operator} is not modelled")
    return not hit if negated else hit
