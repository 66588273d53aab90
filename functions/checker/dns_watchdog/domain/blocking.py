"""What blocks DNS from a canary to a server: a Network Insights analysis made readable (pure).

Reachability Analyzer reads the network's configuration (it sends no packet) and answers a
path question, here "can this canary's network interface reach <server> on UDP/TCP 53?", with
`NetworkPathFound` and, when the answer is no, `Explanations`: each one an `ExplanationCode`
with the components it concerns (`SecurityGroup` / `SecurityGroups`, `Acl` and `AclRule`,
`RouteTable` and `RouteTableRoute`, `Component`, `Direction`, ...). This module turns one
`NetworkInsightsAnalysis` structure (as DescribeNetworkInsightsAnalyses returns it) into a
`BlockingFinding`: the kind of blocking component, its id, and one sentence for the alert.

The kind comes from the explanation code first (codes about ACLs, security groups, routes), then
from the components the explanation carries, so a code added to the service later still lands in
the right kind when it names a known component; anything else is `other`, quoting the code.

Hand-written: the shapes are the EC2 API's, and no library interprets them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from dns_watchdog.constants import DNS_PORT, MAX_SERVERS_ANALYSED
from dns_watchdog.domain.judge import CanaryReport, Judgement
from dns_watchdog.domain.models import Verdict
from dns_watchdog.domain.text import clip

Protocol = Literal["udp", "tcp"]
PROTOCOLS: tuple[Protocol, ...] = ("udp", "tcp")

# An explanation is text for an alert: ids and codes from EC2 are short; keep them so.
_MAX_FIELD_CHARS = 128
_MAX_REASON_CHARS = 300


class BlockingKind(StrEnum):
    """What the analysis found in the way (or that nothing is)."""

    SECURITY_GROUP = "security_group_rule"
    NETWORK_ACL = "network_acl_entry"
    ROUTE_TABLE = "route_table"
    OTHER = "other"
    REACHABLE = "reachable"
    NOT_ANALYSED = "not_analysed"


class BlockingFinding(BaseModel):
    """One protocol's answer: which component blocks port 53 to the server, and why, in words."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    protocol: Protocol
    server: str
    kind: BlockingKind
    # The blocking component (sg-..., acl-..., rtb-..., or whatever the analysis named).
    component_id: str | None = None
    explanation_code: str | None = None
    # Further explanation codes of the same analysis (there may be more than one obstacle).
    other_codes: tuple[str, ...] = ()
    text: str

    @property
    def blocked(self) -> bool:
        return self.kind not in (BlockingKind.REACHABLE, BlockingKind.NOT_ANALYSED)

    @property
    def path(self) -> str:
        """The path the finding is about, the way `text` starts: "UDP 53 to 10.1.1.10"."""
        return _label(self.protocol, self.server)

    @property
    def statement(self) -> str:
        """What `text` says about that path (`text` without the path it starts with)."""
        return self.text.removeprefix(self.path)


def _one_line(value: object, limit: int = _MAX_FIELD_CHARS) -> str:
    """An EC2 field as alert text: whitespace folded to single spaces, clipped to `limit`."""
    return clip(" ".join(str(value).split()), limit)


def _label(protocol: Protocol, server: str) -> str:
    return f"{protocol.upper()} {DNS_PORT} to {server}"


def _id(component: Any) -> str | None:
    """An AnalysisComponent's id (or name, or ARN), or None."""
    if not isinstance(component, Mapping):
        return None
    for key in ("Id", "Name", "Arn"):
        value = component.get(key)
        if isinstance(value, str) and value:
            return _one_line(value)
    return None


def _ids(components: Any) -> list[str]:
    if not isinstance(components, Sequence) or isinstance(components, str):
        return []
    return [found for found in (_id(c) for c in components) if found]


# Explanation-code fragments by kind, checked in this order ("ELB_ACL_..." is an ACL's doing).
_CODE_FRAGMENTS = (
    (BlockingKind.NETWORK_ACL, ("ACL",)),
    (BlockingKind.SECURITY_GROUP, ("_SG_", "SECURITY_GROUP")),
    (BlockingKind.ROUTE_TABLE, ("ROUTE", "_RTB_")),
)
# The explanation's components by kind, for codes none of the fragments match.
_COMPONENT_FIELDS = (
    (BlockingKind.NETWORK_ACL, ("Acl", "AclRule")),
    (BlockingKind.SECURITY_GROUP, ("SecurityGroup", "SecurityGroups", "SecurityGroupRule")),
    (BlockingKind.ROUTE_TABLE, ("RouteTable", "RouteTableRoute")),
)


def _kind(explanation: Mapping[str, Any]) -> BlockingKind:
    code = f"_{str(explanation.get('ExplanationCode') or '').upper()}_"
    for kind, fragments in _CODE_FRAGMENTS:
        if any(fragment in code for fragment in fragments):
            return kind
    for kind, fields in _COMPONENT_FIELDS:
        if any(explanation.get(field) for field in fields):
            return kind
    return BlockingKind.OTHER


def _direction(explanation: Mapping[str, Any], fallback: str = "") -> str:
    direction = explanation.get("Direction")
    return _one_line(direction).lower() if isinstance(direction, str) and direction else fallback


def _security_group(
    explanation: Mapping[str, Any], label: str, code: str
) -> tuple[str | None, str]:
    rule = explanation.get("SecurityGroupRule") or {}
    groups = _ids(explanation.get("SecurityGroups"))
    single = _id(explanation.get("SecurityGroup")) or (
        _one_line(rule["SecurityGroupId"]) if rule.get("SecurityGroupId") else None
    )
    if single and single not in groups:
        groups.insert(0, single)
    direction = _direction(explanation) or _direction(rule)
    where = _id(explanation.get("Component")) or _id(explanation.get("NetworkInterface"))
    on = f" on {where}" if where else ""
    named = ", ".join(groups) if groups else "its security groups"
    noun = "security group" if len(groups) == 1 else "security groups"
    rule_kind = f"{direction} rule" if direction else "rule"
    text = f"{label} is blocked: no {rule_kind} of {noun} {named}{on} allows it ({code})."
    return (groups[0] if groups else where), text


def _network_acl(explanation: Mapping[str, Any], label: str, code: str) -> tuple[str | None, str]:
    acl = _id(explanation.get("Acl"))
    rule = explanation.get("AclRule") or {}
    subnet = _id(explanation.get("Subnet"))
    direction = _direction(explanation)
    if not direction and isinstance(rule.get("Egress"), bool):
        direction = "egress" if rule["Egress"] else "ingress"
    of_subnet = f" of subnet {subnet}" if subnet else ""
    named = f"network ACL {acl}" if acl else "a network ACL"
    if isinstance(rule.get("RuleNumber"), int):
        action = _one_line(rule.get("RuleAction") or "deny").lower()
        way = f"{direction} " if direction else ""
        entry = f"{way}entry #{rule['RuleNumber']} ({action})"
        text = f"{label} is blocked by {entry} of {named}{of_subnet} ({code})."
    else:
        way = f"{direction} " if direction else ""
        text = f"{label} is blocked: no {way}entry of {named}{of_subnet} allows it ({code})."
    return acl, text


def _route_table(explanation: Mapping[str, Any], label: str, code: str) -> tuple[str | None, str]:
    table = _id(explanation.get("RouteTable")) or _id(explanation.get("TransitGatewayRouteTable"))
    route = explanation.get("RouteTableRoute") or {}
    named = f"route table {table}" if table else "a route table"
    destination = route.get("DestinationCidr") or route.get("DestinationPrefixListId")
    if destination:
        state = route.get("State")
        how = f" is {_one_line(state)}" if state else " cannot carry it"
        text = f"{label} is blocked: route {_one_line(destination)} in {named}{how} ({code})."
    else:
        text = f"{label} is blocked: {named} has no usable route to it ({code})."
    return table, text


def _other(explanation: Mapping[str, Any], label: str, code: str) -> tuple[str | None, str]:
    where = _id(explanation.get("Component"))
    at = f" at {where}" if where else ""
    return where, f"{label} is blocked{at} ({code})."


# Explanation codes that say the analysis could not follow the path (its configuration or query
# was outside what Reachability Analyzer models), not that something blocks it: the explanation
# codes' "Configuration" and "Search filter" groups. Such an answer names nothing to fix.
_CANNOT_ANALYSE_CODES = frozenset(
    {
        "NO_PATH",
        "UNSUPPORTED_COMPONENT",
        "UNKNOWN_RESOURCE",
        "UNASSOCIATED_COMPONENT",
        "NO_SOURCE_OR_DESTINATION",
        "DISCONNECTED_VPCS",
        "INVALID_NETWORK_PATH",
    }
)
_CANNOT_ANALYSE_PREFIXES = ("FILTER_AT_",)


def cannot_analyse(code: str) -> bool:
    """The explanation code says the path could not be analysed (not that it is blocked)."""
    code = code.upper()
    return code in _CANNOT_ANALYSE_CODES or code.startswith(_CANNOT_ANALYSE_PREFIXES)


def _code_of(explanation: Mapping[str, Any]) -> str:
    return str(explanation.get("ExplanationCode") or "")


_DESCRIBE = {
    BlockingKind.SECURITY_GROUP: _security_group,
    BlockingKind.NETWORK_ACL: _network_acl,
    BlockingKind.ROUTE_TABLE: _route_table,
    BlockingKind.OTHER: _other,
}


def unanalysable(server: str) -> str | None:
    """Why no path analysis can say anything about `server`, or None when one can.

    Reachability Analyzer takes IPv4 addresses only, and link-local servers (the Amazon
    resolver's 169.254.169.253, Lambda's forwarder) are reached without crossing a security
    group, network ACL or route table, so nothing on a path to them can block DNS.
    """
    try:
        address = ipaddress.ip_address(server)
    except ValueError:
        return f"{_one_line(server)!r} is not an IP address"
    if address.version != 4:
        return "Reachability Analyzer analyses IPv4 addresses only"
    if address.is_link_local:
        return "a link-local server is not behind security groups, network ACLs or routes"
    return None


def not_analysed(reason: str, *, protocol: Protocol, server: str) -> BlockingFinding:
    """The answer when no analysis result is at hand (denied, throttled, out of time, failed)."""
    reason = _one_line(reason, _MAX_REASON_CHARS)
    return BlockingFinding(
        protocol=protocol,
        server=server,
        kind=BlockingKind.NOT_ANALYSED,
        text=f"{_label(protocol, server)}: could not analyse: {reason}",
    )


def blocking_finding(
    analysis: Mapping[str, Any], *, protocol: Protocol, server: str
) -> BlockingFinding:
    """One finished `NetworkInsightsAnalysis` as a finding for `protocol` port 53 to `server`."""
    label = _label(protocol, server)
    status = analysis.get("Status")
    if status == "failed":
        message = analysis.get("StatusMessage") or "no reason given"
        return not_analysed(f"the analysis failed: {message}", protocol=protocol, server=server)
    if status != "succeeded":
        return not_analysed(
            f"the analysis has not finished (status {status!r})", protocol=protocol, server=server
        )
    if analysis.get("NetworkPathFound") is True:
        return BlockingFinding(
            protocol=protocol,
            server=server,
            kind=BlockingKind.REACHABLE,
            text=(
                f"{label} is reachable (security groups, network ACLs and routes allow it): "
                "look at the server."
            ),
        )
    explanations = [e for e in analysis.get("Explanations") or [] if isinstance(e, Mapping)]
    return _explained(explanations, protocol=protocol, server=server)


def _explained(
    explanations: Sequence[Mapping[str, Any]], *, protocol: Protocol, server: str
) -> BlockingFinding:
    """An unreachable path's finding from its explanations (the first naming a component)."""
    label = _label(protocol, server)
    unanswered = [e for e in explanations if cannot_analyse(_code_of(e))]
    explanations = [e for e in explanations if not cannot_analyse(_code_of(e))]
    if unanswered and not explanations:
        codes = ", ".join(dict.fromkeys(_one_line(_code_of(e)) for e in unanswered))
        return not_analysed(
            f"Reachability Analyzer could not follow this path ({codes}): the answer names "
            "nothing that blocks it",
            protocol=protocol,
            server=server,
        )
    if not explanations:
        return BlockingFinding(
            protocol=protocol,
            server=server,
            kind=BlockingKind.OTHER,
            text=f"{label} is not reachable, and the analysis named no component.",
        )
    kinds = [_kind(e) for e in explanations]
    # The first explanation naming a security group, ACL or route; else the first one.
    index = next((i for i, k in enumerate(kinds) if k is not BlockingKind.OTHER), 0)
    chosen, kind = explanations[index], kinds[index]
    code = _one_line(chosen.get("ExplanationCode") or "no explanation code")
    component_id, text = _DESCRIBE[kind](chosen, label, code)
    others = tuple(
        dict.fromkeys(
            _one_line(e["ExplanationCode"])
            for i, e in enumerate(explanations)
            if i != index and e.get("ExplanationCode")
        )
    )
    if others:
        text = f"{text[:-1]}; also {', '.join(others)}."
    return BlockingFinding(
        protocol=protocol,
        server=server,
        kind=kind,
        component_id=component_id,
        explanation_code=code if chosen.get("ExplanationCode") else None,
        other_codes=others,
        text=text,
    )


# --- when to analyse (the check asks before a page goes out) ------------------------------------

# Diagnoses that say a configured server does not answer the canary at all (or not over TCP):
# what a security group, network ACL or route can explain. A canary that timed out hangs the
# same way (judge.HANG_CAUSES).
UNREACHABLE_DIAGNOSES = frozenset(
    {
        "CONFIGURED_SERVER_UNREACHABLE",
        "CONFIGURED_SERVER_NO_TCP",
        "REDUNDANCY_LOST",
        "CANARY_TIMED_OUT",
    }
)
# Direct lookups that got nothing back (canary contract: TIMEOUT, NETWORK_ERROR).
_SILENT_OUTCOMES = frozenset({"TIMEOUT", "NETWORK_ERROR"})


@dataclass(frozen=True)
class AnalysisPlan:
    """What to analyse for one alert: from this canary's placement to these servers."""

    canary_arn: str
    servers: tuple[str, ...]


def _silent_servers(report: CanaryReport) -> list[str]:
    return list(
        dict.fromkeys(
            probe.server
            for probe in report.direct
            if probe.role == "configured" and probe.outcome in _SILENT_OUTCOMES and probe.server
        )
    )


def analysis_plan(
    judgement: Judgement,
    custom_servers: Sequence[str],
    *,
    already_analysed: Collection[str] = (),
    limit: int = MAX_SERVERS_ANALYSED,
) -> AnalysisPlan | None:
    """The canary and the servers to analyse for this judgement, or None when there are none.

    `custom_servers` are the option set's own DNS servers (not AmazonProvidedDNS): only those
    are analysed, as the canary reported them silent (or all of them when the canary timed out
    before it could say). `already_analysed` are servers named earlier in the same incident.
    """
    if judgement.verdict not in (Verdict.FAILED, Verdict.DEGRADED):
        return None
    candidates = sorted(
        (
            r
            for r in judgement.canaries
            if r.status != "gone"
            and r.severity != Verdict.OK
            and r.diagnosis.code in UNREACHABLE_DIAGNOSES
        ),
        key=lambda r: (r.severity != judgement.verdict, not r.from_findings, r.name),
    )
    for report in candidates:
        silent = _silent_servers(report)
        if not silent and report.diagnosis.code == "CANARY_TIMED_OUT":
            silent = list(custom_servers)
        servers = [
            s
            for s in silent
            if s in custom_servers and s not in already_analysed and unanalysable(s) is None
        ]
        if servers:
            return AnalysisPlan(report.function_arn, tuple(servers[:limit]))
    return None
