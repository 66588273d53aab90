"""What the checker is asked to do: EventBridge/manual events parsed into check requests.

Kinds of event (docs/checker-contract.md): CloudTrail API calls delivered by EventBridge, the
scheduled sweep, and manual requests (`{"action": "check" | "preflight" | "sweep" | "rollback",
...}`). Anything else is an
`InvalidEvent`, whose message says what was wrong; the handler rejects such events without
raising, so garbage does not trigger Lambda/EventBridge retries.

Of a CloudTrail change, EventBridge vouches for the envelope only (`source`, `account`,
`region`): nobody can put an event with an `aws.*` source, and an event forwarded from another
account's bus keeps that account and region. Everything in `detail` was written by whoever
forwarded it. So the checker acts in the envelope's account and region, and rejects a record
that names another account or region than its envelope (docs/security.md).

The EventBridge envelope is declared here with pydantic rather than imported from the Powertools
parser: importing that package loads every AWS event model it knows (about 70 ms of the
checker's cold start) for the one envelope the checker reads. Its fields match Powertools'
`EventBridgeModel`.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal, TypeGuard, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from dns_watchdog.domain.request import (
    MANUAL_EVENT_NAME,
    OPTION_SET_CREATED,
    SWEEP_EVENT_NAME,
    ChangeContext,
    CheckRequest,
    IgnoredEvent,
    ParsedEvent,
    PreflightRequest,
    Resource,
    ResourceKind,
    RollbackRequest,
)
from dns_watchdog.domain.text import clip

CLOUDTRAIL_DETAIL_TYPE = "AWS API Call via CloudTrail"
SCHEDULED_DETAIL_TYPE = "Scheduled Event"

# Ids are matched in full (`re.fullmatch`): `$` alone would accept a trailing newline.
VPC_ID_PATTERN = r"vpc-[0-9a-f]{8,17}"
_ID_PATTERNS = {
    "vpc": re.compile(VPC_ID_PATTERN),
    "security_group": re.compile(r"sg-[0-9a-f]{8,17}"),
    "network_acl": re.compile(r"acl-[0-9a-f]{8,17}"),
}
# Shapes of the CloudTrail fields that reach people's alerts (who, from where, which event).
_EVENT_ID = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")
_ACCOUNT_ID = re.compile(r"\d{12}")
_ARN = re.compile(
    r"arn:aws[a-z-]{0,12}:[a-z0-9-]{1,32}:[a-z0-9-]{0,32}:(\d{12})?:[\w+=,.@/:-]{1,512}"
)
_SERVICE_HOST = re.compile(r"[a-z0-9-]{1,63}(\.[a-z0-9-]{1,63}){1,5}")
_PRINCIPAL_ID = re.compile(r"[\w+=,.@:-]{1,256}")
_OPTION_SET_ID = re.compile(r"dopt-[0-9a-f]{8,17}|default")
# An AWS service's event source (`aws.ec2`): only AWS services put events with these; partner
# sources (`aws.partner/...`) are not services.
_AWS_SOURCE = re.compile(r"aws\.[a-z0-9][a-z0-9.-]{0,63}")
MAX_REASON_LENGTH = 200

VpcId = Annotated[str, StringConstraints(pattern=f"^{VPC_ID_PATTERN}$")]
_M = TypeVar("_M", bound=BaseModel)


class InvalidEvent(ValueError):
    """The event is not one the checker understands; the message says which field and why."""


# --- event models (pydantic) --------------------------------------------------------------------


class EventBridgeEnvelope(BaseModel):
    """An EventBridge event (the fields of Powertools' `EventBridgeModel`)."""

    model_config = ConfigDict(populate_by_name=True)

    version: str
    id: str
    source: str
    account: str
    time: datetime
    region: str
    resources: list[str]
    detail_type: str = Field(alias="detail-type")
    detail: Any
    replay_name: str | None = Field(None, alias="replay-name")


class SessionIssuer(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: str | None = None
    arn: str | None = None
    userName: str | None = None


class SessionContext(BaseModel):
    model_config = ConfigDict(extra="ignore")

    sessionIssuer: SessionIssuer | None = None


class UserIdentity(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: str | None = None
    arn: str | None = None
    principalId: str | None = None
    invokedBy: str | None = None
    sessionContext: SessionContext | None = None


class CloudTrailRecord(BaseModel):
    """The CloudTrail record in `detail` (fields the checker uses; the rest is ignored)."""

    model_config = ConfigDict(extra="ignore")

    eventName: str = Field(min_length=1)
    eventSource: str = Field(min_length=1)
    eventID: str = Field(min_length=1)
    eventTime: datetime
    awsRegion: str = Field(min_length=1)
    sourceIPAddress: str | None = None
    recipientAccountId: str | None = None
    userIdentity: UserIdentity | None = None
    requestParameters: dict[str, Any] | None = None
    responseElements: dict[str, Any] | None = None
    errorCode: str | None = None
    errorMessage: str | None = None


class CloudTrailChangeEvent(EventBridgeEnvelope):
    detail_type: Literal["AWS API Call via CloudTrail"] = Field(alias="detail-type")
    detail: CloudTrailRecord


class ScheduledSweepEvent(EventBridgeEnvelope):
    detail_type: Literal["Scheduled Event"] = Field(alias="detail-type")
    source: Literal["aws.events"]


AccountId = Annotated[str, StringConstraints(pattern=r"^\d{12}$")]
Region = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")]


class ManualCheckEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["check"]
    vpc_ids: list[VpcId] = Field(min_length=1, max_length=100)
    reason: str = Field(default="", max_length=1000)
    # Organization mode: where the VPCs are (default: the checker's own account and region).
    account_id: AccountId | None = None
    region: Region | None = None


class SweepTargetEvent(BaseModel):
    """One (account, region) of an organization sweep, as the fan-out queue delivers it."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["sweep"]
    account_id: AccountId | None = None
    region: Region | None = None
    account_name: str | None = Field(default=None, max_length=200)


class SqsRecord(BaseModel):
    """One message of an SQS batch, as Lambda's event source mapping delivers it (the fields the
    checker reads; the rest is ignored)."""

    model_config = ConfigDict(extra="ignore")

    messageId: str = Field(min_length=1)
    body: str
    eventSource: Literal["aws:sqs"]
    eventSourceARN: str = Field(pattern=r"^arn:aws[a-z-]*:sqs:[a-z0-9-]+:\d{12}:[\w.-]{1,80}$")


class SqsBatchEvent(BaseModel):
    model_config = ConfigDict(extra="ignore")

    Records: list[SqsRecord] = Field(min_length=1)


# A created option set (never `default`).
_NEW_OPTION_SET_ID = re.compile(r"dopt-[0-9a-f]{8,17}")
OptionSetId = Annotated[str, StringConstraints(pattern=r"^dopt-[0-9a-f]{8,17}$")]


class ManualPreflightEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["preflight"]
    dhcp_options_id: OptionSetId
    vpc_ids: list[VpcId] = Field(default_factory=list, max_length=100)
    reason: str = Field(default="", max_length=1000)
    account_id: AccountId | None = None
    region: Region | None = None


# Who asked for a rollback (an ARN, an e-mail address, "chat", "cli"): shown in alerts, chat and
# logs as is, so it is held to characters no medium reads as markup or control.
REQUESTED_BY_MAX_LENGTH = 200
_REQUESTED_BY = re.compile(r"[A-Za-z0-9 _+=,.@:/-]+")


class ManualRollbackEvent(BaseModel):
    """Put the VPC's last option set verified healthy back (the chat button, the CLI)."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["rollback"]
    vpc_id: VpcId
    requested_by: str = Field(min_length=1, max_length=REQUESTED_BY_MAX_LENGTH)
    account_id: AccountId | None = None
    region: Region | None = None

    @field_validator("requested_by")
    @classmethod
    def _printable(cls, value: str) -> str:
        if not _REQUESTED_BY.fullmatch(value) or not value.strip():
            raise ValueError(
                "must name who asked in printable characters: letters, digits, spaces and "
                "+ = , . @ : / _ -"
            )
        return value


@dataclass(frozen=True)
class _CallSpec:
    """Where a CloudTrail call names what it touched: a resource of `kind` at `path` in the
    record, or (`kind` None) nothing inside one VPC: the call changed something VPCs share."""

    event_source: str
    kind: ResourceKind | None
    path: tuple[str, ...] = ()


_EC2 = "ec2.amazonaws.com"
_RESOLVER = "route53resolver.amazonaws.com"
_ROUTE53 = "route53.amazonaws.com"
_PROFILES = "route53profiles.amazonaws.com"
# A change to something VPCs share (a Resolver rule or endpoint, a DNS Firewall rule group or
# domain list, a Route 53 Profile's resources, an interface endpoint named by id): its record names
# no VPC, so every watched VPC of the account and region is checked, as a sweep of that place
# checks them (flap control included), with the change named in the alert. Any VPC can be using
# the shared resource; the check finds the ones it broke.
_SHARED = None

# CloudTrail calls that can change DNS for a VPC, and where the touched resource's id is.
CLOUDTRAIL_CALLS: dict[str, _CallSpec] = {
    "AssociateDhcpOptions": _CallSpec(_EC2, "vpc", ("requestParameters", "vpcId")),
    "ModifyVpcAttribute": _CallSpec(_EC2, "vpc", ("requestParameters", "vpcId")),
    "AssociateResolverRule": _CallSpec(_RESOLVER, "vpc", ("requestParameters", "vPCId")),
    "DisassociateResolverRule": _CallSpec(_RESOLVER, "vpc", ("requestParameters", "vPCId")),
    "AssociateVPCWithHostedZone": _CallSpec(_ROUTE53, "vpc", ("requestParameters", "vPC", "vPCId")),
    "DisassociateVPCFromHostedZone": _CallSpec(
        _ROUTE53, "vpc", ("requestParameters", "vPC", "vPCId")
    ),
    "AssociateFirewallRuleGroup": _CallSpec(_RESOLVER, "vpc", ("requestParameters", "vpcId")),
    "DisassociateFirewallRuleGroup": _CallSpec(
        _RESOLVER, "vpc", ("responseElements", "firewallRuleGroupAssociation", "vpcId")
    ),
    "UpdateFirewallRuleGroupAssociation": _CallSpec(
        _RESOLVER, "vpc", ("responseElements", "firewallRuleGroupAssociation", "vpcId")
    ),
    "AuthorizeSecurityGroupEgress": _CallSpec(
        _EC2, "security_group", ("requestParameters", "groupId")
    ),
    "RevokeSecurityGroupEgress": _CallSpec(
        _EC2, "security_group", ("requestParameters", "groupId")
    ),
    # Edits rules in place (egress included; the request names rules, not their direction).
    # CloudTrail keeps this call's request in the API's shape: {"ModifySecurityGroupRulesRequest":
    # {"GroupId": "sg-...", "SecurityGroupRule": {"SecurityGroupRuleId": "sgr-...", ...}}}.
    "ModifySecurityGroupRules": _CallSpec(
        _EC2,
        "security_group",
        ("requestParameters", "ModifySecurityGroupRulesRequest", "GroupId"),
    ),
    "CreateNetworkAclEntry": _CallSpec(_EC2, "network_acl", ("requestParameters", "networkAclId")),
    "ReplaceNetworkAclEntry": _CallSpec(_EC2, "network_acl", ("requestParameters", "networkAclId")),
    "DeleteNetworkAclEntry": _CallSpec(_EC2, "network_acl", ("requestParameters", "networkAclId")),
    "ReplaceNetworkAclAssociation": _CallSpec(
        _EC2, "network_acl", ("requestParameters", "networkAclId")
    ),
    # A forwarding rule's targets or endpoint; an outbound endpoint's addresses, or the endpoint
    # gone: every VPC whose rules forward through it.
    "UpdateResolverRule": _CallSpec(_RESOLVER, _SHARED),
    "UpdateResolverEndpoint": _CallSpec(_RESOLVER, _SHARED),
    "DisassociateResolverEndpointIpAddress": _CallSpec(_RESOLVER, _SHARED),
    "DeleteResolverEndpoint": _CallSpec(_RESOLVER, _SHARED),
    # DNSSEC validation of one VPC's resolver (bogus answers become SERVFAIL).
    "UpdateResolverDnssecConfig": _CallSpec(_RESOLVER, "vpc", ("requestParameters", "resourceId")),
    # DNS Firewall: a rule group's rules and domain lists are shared by every VPC associated with
    # the group; fail-open is one VPC's setting.
    "UpdateFirewallDomains": _CallSpec(_RESOLVER, _SHARED),
    "CreateFirewallRule": _CallSpec(_RESOLVER, _SHARED),
    "UpdateFirewallRule": _CallSpec(_RESOLVER, _SHARED),
    "DeleteFirewallRule": _CallSpec(_RESOLVER, _SHARED),
    "UpdateFirewallConfig": _CallSpec(_RESOLVER, "vpc", ("requestParameters", "resourceId")),
    # An interface endpoint whose private DNS now answers (or no longer answers) a public AWS
    # name inside the VPC. EC2 keeps these requests in the API's shape, like
    # ModifySecurityGroupRules; the endpoint modified is named by id only.
    "CreateVpcEndpoint": _CallSpec(
        _EC2, "vpc", ("requestParameters", "CreateVpcEndpointRequest", "VpcId")
    ),
    "ModifyVpcEndpoint": _CallSpec(_EC2, _SHARED),
    # Route 53 Profiles: a profile bundles hosted zones, Resolver rules and DNS Firewall groups
    # for the VPCs it is associated with.
    "AssociateProfile": _CallSpec(_PROFILES, "vpc", ("requestParameters", "resourceId")),
    "DisassociateProfile": _CallSpec(_PROFILES, "vpc", ("requestParameters", "resourceId")),
    "AssociateResourceToProfile": _CallSpec(_PROFILES, _SHARED),
    "DisassociateResourceFromProfile": _CallSpec(_PROFILES, _SHARED),
    "UpdateProfileResourceAssociation": _CallSpec(_PROFILES, _SHARED),
}


def is_queue_batch(event: object) -> TypeGuard[dict[str, Any]]:
    """Whether `event` claims to be an SQS batch (then `check_queue_batch` says if it is one)."""
    return isinstance(event, dict) and "Records" in event


def is_cloudtrail_event(body: object) -> TypeGuard[dict[str, Any]]:
    """Whether a queue message's body is a CloudTrail change as EventBridge delivers it."""
    return isinstance(body, dict) and body.get("detail-type") == CLOUDTRAIL_DETAIL_TYPE


def check_queue_batch(event: dict[str, Any]) -> None:
    """An SQS batch as the event source mapping delivers it: a non-empty list of SQS records,
    each with its id, body and queue; raise InvalidEvent naming what is wrong otherwise."""
    _validate(event, SqsBatchEvent, "SQS batch")


def parse_event(event: object) -> ParsedEvent:
    """Turn a Lambda event into a check request; raise InvalidEvent for anything else."""
    if not isinstance(event, dict):
        raise InvalidEvent(f"event must be a JSON object, got {type(event).__name__}")
    if "action" in event:
        return _parse_manual(event)
    detail_type = event.get("detail-type")
    if detail_type == CLOUDTRAIL_DETAIL_TYPE:
        return _parse_cloudtrail(event)
    if detail_type == SCHEDULED_DETAIL_TYPE:
        _validate(event, ScheduledSweepEvent, "scheduled event")
        return CheckRequest(trigger="sweep", event_name=SWEEP_EVENT_NAME, resources=())
    if detail_type is None:
        raise InvalidEvent(
            "unrecognised event: no 'detail-type' (EventBridge) and no 'action' (manual check); "
            'expected a CloudTrail API call, a scheduled event or {"action": "check", ...}'
        )
    raise InvalidEvent(
        f"unsupported detail-type {_show(detail_type)} from source {_show(event.get('source'))}; "
        f"expected {CLOUDTRAIL_DETAIL_TYPE!r} or {SCHEDULED_DETAIL_TYPE!r}"
    )


def _parse_manual(event: dict[str, Any]) -> CheckRequest | PreflightRequest | RollbackRequest:
    if event.get("action") == "rollback":
        rollback = _validate(event, ManualRollbackEvent, "rollback request")
        return RollbackRequest(
            vpc_id=rollback.vpc_id,
            requested_by=rollback.requested_by,
            account_id=rollback.account_id,
            region=rollback.region,
        )
    if event.get("action") == "preflight":
        preflight = _validate(event, ManualPreflightEvent, "preflight")
        return PreflightRequest(
            option_set_id=preflight.dhcp_options_id,
            vpc_ids=tuple(dict.fromkeys(preflight.vpc_ids)),
            reason=printable(preflight.reason, MAX_REASON_LENGTH),
            account_id=preflight.account_id,
            region=preflight.region,
        )
    if event.get("action") == "sweep":
        sweep = _validate(event, SweepTargetEvent, "sweep target")
        return CheckRequest(
            trigger="sweep",
            event_name=SWEEP_EVENT_NAME,
            resources=(),
            account_id=sweep.account_id,
            region=sweep.region,
            account_name=printable(sweep.account_name, 200) if sweep.account_name else None,
        )
    manual = _validate(event, ManualCheckEvent, "manual check")
    vpc_ids = tuple(dict.fromkeys(manual.vpc_ids))  # keep order, drop repeats
    return CheckRequest(
        trigger="manual",
        event_name=MANUAL_EVENT_NAME,
        resources=tuple(Resource("vpc", vpc_id) for vpc_id in vpc_ids),
        reason=printable(manual.reason, MAX_REASON_LENGTH),
        account_id=manual.account_id,
        region=manual.region,
    )


def printable(text: str, limit: int) -> str:
    """`text` as one line people can read safely: control characters (newlines, carriage
    returns, escape sequences) shown escaped, never acted on, and at most `limit` characters."""
    shown = "".join(
        char if char.isprintable() else char.encode("unicode_escape").decode("ascii")
        for char in text
    )
    return clip(shown, limit)


def _shaped(value: str | None, pattern: re.Pattern[str], what: str) -> str | None:
    """A CloudTrail value shown in alerts only when it has its documented shape."""
    if value is None:
        return None
    if pattern.fullmatch(value):
        return value
    return f"(not shown: not a valid {what})"


def _source(value: str | None) -> str | None:
    """sourceIPAddress: an IP address, an AWS service's host name, or 'AWS Internal'."""
    if value is None or value == "AWS Internal":
        return value
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return _shaped(value, _SERVICE_HOST, "IP address or AWS service name")


def _check_record(record: CloudTrailRecord) -> None:
    """Reject records whose identifying fields do not have CloudTrail's shapes."""
    if not _EVENT_ID.fullmatch(record.eventID):
        raise InvalidEvent(f"detail.eventID: {_show(record.eventID)} is not a CloudTrail event id")
    if not _REGION.fullmatch(record.awsRegion):
        raise InvalidEvent(f"detail.awsRegion: {_show(record.awsRegion)} is not an AWS region")
    account = record.recipientAccountId
    if account is not None and not _ACCOUNT_ID.fullmatch(account):
        raise InvalidEvent(f"detail.recipientAccountId: {_show(account)} is not an account id")


def _check_envelope(parsed: CloudTrailChangeEvent) -> None:
    """The record must agree with the envelope EventBridge vouches for: an AWS service's source,
    the same account (when the record names one) and the same region."""
    record = parsed.detail
    _check_record(record)
    if not _AWS_SOURCE.fullmatch(parsed.source):
        raise InvalidEvent(
            f"source {_show(parsed.source)} is not an AWS service's source (aws.<service>): "
            "only the AWS service that recorded a call puts its CloudTrail event"
        )
    account = _account(parsed.account)
    if not _REGION.fullmatch(parsed.region):
        raise InvalidEvent(f"region: {_show(parsed.region)} is not an AWS region")
    recipient = record.recipientAccountId
    if recipient is not None and recipient != account:
        raise InvalidEvent(
            f"detail.recipientAccountId {recipient!r} differs from the envelope account "
            f"{account!r}: the checker acts only in the account EventBridge vouches for"
        )
    if record.awsRegion != parsed.region:
        raise InvalidEvent(
            f"detail.awsRegion {record.awsRegion!r} differs from the envelope region "
            f"{parsed.region!r}: the checker acts only in the region EventBridge vouches for"
        )


def _parse_cloudtrail(event: dict[str, Any]) -> ParsedEvent:
    parsed = _validate(event, CloudTrailChangeEvent, "CloudTrail event")
    _check_envelope(parsed)
    record = parsed.detail
    if record.eventName == OPTION_SET_CREATED:
        return _parse_option_set_created(parsed)
    spec = CLOUDTRAIL_CALLS.get(record.eventName)
    if spec is None:
        raise InvalidEvent(
            f"detail.eventName: unsupported CloudTrail call {record.eventName!r}; "
            f"the checker handles {', '.join(sorted(CLOUDTRAIL_CALLS))}"
        )
    if record.eventSource != spec.event_source:
        raise InvalidEvent(
            f"detail.eventSource: {record.eventName} comes from {spec.event_source!r}, "
            f"not {record.eventSource!r}"
        )
    raw_id = _lookup(record, spec.path) if spec.kind is not None else None
    if record.errorCode:
        return IgnoredEvent(
            event_name=record.eventName,
            event_id=record.eventID,
            error_code=record.errorCode,
            error_message=record.errorMessage,
            vpc_id=raw_id if isinstance(raw_id, str) and spec.kind == "vpc" else None,
        )
    if spec.kind is None:
        return _shared_resource_changed(parsed)
    where = "detail." + ".".join(spec.path)
    if raw_id is None:
        raise InvalidEvent(
            f"{where}: missing (needed to know which VPC {record.eventName} touched)"
        )
    if not isinstance(raw_id, str) or not _ID_PATTERNS[spec.kind].fullmatch(raw_id):
        raise InvalidEvent(f"{where}: {_show(raw_id)} is not a valid {_KIND_NAMES[spec.kind]} id")
    change = _change_context(parsed)
    return CheckRequest(
        trigger="change",
        event_name=record.eventName,
        resources=(Resource(spec.kind, raw_id),),
        change=change,
        account_id=change.account_id,
        region=_vpc_region(parsed),
    )


def _shared_resource_changed(parsed: CloudTrailChangeEvent) -> CheckRequest:
    """A change to something VPCs share: every watched VPC of its account and region, checked
    as a sweep of that place checks them, the change named (see `_SHARED`)."""
    change = _change_context(parsed)
    return CheckRequest(
        trigger="sweep",
        event_name=parsed.detail.eventName,
        resources=(),
        change=change,
        account_id=change.account_id,
        region=parsed.detail.awsRegion,
    )


def _parse_option_set_created(parsed: CloudTrailChangeEvent) -> ParsedEvent:
    """CreateDhcpOptions: preflight the new set against every watched VPC (nothing changed yet)."""
    record = parsed.detail
    if record.eventSource != _EC2:
        raise InvalidEvent(
            f"detail.eventSource: {record.eventName} comes from {_EC2!r}, "
            f"not {record.eventSource!r}"
        )
    path = ("responseElements", "dhcpOptions", "dhcpOptionsId")
    raw_id = _lookup(record, path)
    if record.errorCode:
        return IgnoredEvent(
            event_name=record.eventName,
            event_id=record.eventID,
            error_code=record.errorCode,
            error_message=record.errorMessage,
            vpc_id=None,
        )
    where = "detail." + ".".join(path)
    if raw_id is None:
        raise InvalidEvent(f"{where}: missing (needed to know which option set was created)")
    if not isinstance(raw_id, str) or not _NEW_OPTION_SET_ID.fullmatch(raw_id):
        raise InvalidEvent(f"{where}: {_show(raw_id)} is not a valid option set id")
    change = _change_context(parsed)
    return PreflightRequest(
        option_set_id=raw_id,
        event_name=record.eventName,
        change=change,
        account_id=change.account_id,
        region=parsed.region,
    )


_KIND_NAMES = {"vpc": "VPC", "security_group": "security group", "network_acl": "network ACL"}


def _vpc_region(parsed: CloudTrailChangeEvent) -> str:
    """The VPC's region: Route 53 is global (its calls arrive with a us-east-1 envelope) and names
    the VPC's region in the request (same account); every other call happens in the envelope's
    region."""
    record = parsed.detail
    if record.eventSource == _ROUTE53:
        region = _lookup(record, ("requestParameters", "vPC", "vPCRegion"))
        if region is None:
            return parsed.region
        if not isinstance(region, str) or not _REGION.fullmatch(region):
            raise InvalidEvent(
                f"detail.requestParameters.vPC.vPCRegion: {_show(region)} is not an AWS region"
            )
        return region
    return parsed.region


def _change_context(parsed: CloudTrailChangeEvent) -> ChangeContext:
    record = parsed.detail
    identity = record.userIdentity or UserIdentity()
    issuer = identity.sessionContext.sessionIssuer if identity.sessionContext else None
    option_set = _lookup(record, ("requestParameters", "dhcpOptionsId"))
    return ChangeContext(
        event_id=record.eventID,
        event_name=record.eventName,
        event_source=record.eventSource,
        event_time=record.eventTime.isoformat().replace("+00:00", "Z"),
        # The envelope's (the record agrees: `_check_envelope`).
        region=parsed.region,
        account_id=parsed.account,
        actor_arn=_actor(identity),
        actor_type=printable(identity.type, 40) if identity.type else None,
        session_issuer_arn=_shaped(issuer.arn if issuer else None, _ARN, "ARN"),
        source_ip=_source(record.sourceIPAddress),
        requested_option_set_id=option_set
        if isinstance(option_set, str) and _OPTION_SET_ID.fullmatch(option_set)
        else None,
    )


def _account(value: str) -> str:
    if not _ACCOUNT_ID.fullmatch(value):
        raise InvalidEvent(f"account: {_show(value)} is not an account id")
    return value


def _actor(identity: UserIdentity) -> str | None:
    if identity.arn:
        return _shaped(identity.arn, _ARN, "ARN")
    if identity.invokedBy:
        return _shaped(identity.invokedBy, _SERVICE_HOST, "AWS service name")
    return _shaped(identity.principalId, _PRINCIPAL_ID, "principal id")


def _lookup(record: CloudTrailRecord, path: tuple[str, ...]) -> object:
    """Follow `path` through the record, matching keys case-insensitively (vpcId, vPCId, VpcId)."""
    current: object = {
        "requestparameters": record.requestParameters,
        "responseelements": record.responseElements,
    }
    for key in path:
        if not isinstance(current, dict):
            return None
        wanted = key.lower()
        current = next(
            (
                value
                for name, value in current.items()
                if isinstance(name, str) and name.lower() == wanted
            ),
            None,
        )
    return current


def _validate(event: dict[str, Any], model: type[_M], what: str) -> _M:
    try:
        return model.model_validate(event)
    except ValidationError as exc:
        raise InvalidEvent(f"invalid {what}: {_first_error(exc)}") from exc


def _first_error(exc: ValidationError) -> str:
    errors = exc.errors(include_url=False)
    parts = []
    for error in errors[:3]:
        location = ".".join(str(part) for part in error["loc"]) or "event"
        parts.append(f"{location}: {error['msg']}")
    more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
    return "; ".join(parts) + more


def _show(value: object) -> str:
    return clip(repr(value), 80)
