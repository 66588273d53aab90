"""DynamoDB adapter for per-VPC state (docs/checker-contract.md).

Items are keyed `pk = "vpc#<vpc-id>"` for VPCs in the checker's own account and region (the key
single-account deployments have always used) and `pk = "vpc#<account>#<region>#<vpc-id>"`
elsewhere (organization mode); those items also carry `account_id` and `region`.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from typing import TYPE_CHECKING, Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from dns_watchdog.aws.calls import read_error
from dns_watchdog.domain.errors import AwsCallFailed
from dns_watchdog.domain.history import VpcState
from dns_watchdog.domain.models import Verdict
from dns_watchdog.domain.place import Place
from dns_watchdog.domain.workloads import Census
from dns_watchdog.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


class StateStoreError(AwsCallFailed):
    """DynamoDB did not read or write the VPC's state."""


class StateConflict(RuntimeError):
    """Another check wrote the VPC's state between this check's read and its write."""


def _census(vpc_id: str, record: Any) -> Census | None:
    """The cached workload census of a stored item (None: none, or one this version cannot read:
    it is only a cache, read again when needed)."""
    if not record:
        return None
    try:
        return Census.from_record(record)
    except ValueError as exc:
        logger.warning("Stored workloads ignored", extra={"vpc_id": vpc_id, "error": str(exc)})
        return None


def state_key(vpc_id: str, place: Place | None = None) -> str:
    """The item key of a VPC's state; `place` is given outside the home place."""
    return f"vpc#{place.account or ''}#{place.region}#{vpc_id}" if place else f"vpc#{vpc_id}"


class StateStore:
    """Reads and writes VpcState items (client injectable for tests).

    `place` is where the VPCs this store keeps are; None for the checker's own place.
    """

    def __init__(
        self,
        table_name: str,
        client: DynamoDBClient | None = None,
        *,
        place: Place | None = None,
    ) -> None:
        self._table_name = table_name
        self._dynamodb = client or boto3.client("dynamodb")
        self._place = place

    def get(self, vpc_id: str) -> VpcState | None:
        try:
            response = self._dynamodb.get_item(
                TableName=self._table_name,
                Key={"pk": {"S": state_key(vpc_id, self._place)}},
                ConsistentRead=True,
            )
        except (ClientError, BotoCoreError) as exc:
            raise StateStoreError(f"could not read the state of {vpc_id}: {exc}") from exc
        item = response.get("Item")
        if not item:
            return None
        plain: dict[str, Any] = {k: _deserializer.deserialize(v) for k, v in item.items()}
        return VpcState(
            vpc_id=vpc_id,
            verdict=Verdict(plain["verdict"]),
            option_set_id=str(plain["option_set_id"]),
            previous_option_set_id=plain.get("previous_option_set_id"),
            incident_open=bool(plain.get("incident_open", False)),
            incident_started_at=plain.get("incident_started_at"),
            last_checked_at=str(plain.get("last_checked_at", "")),
            last_event_id=plain.get("last_event_id"),
            unverified_alerted_for=plain.get("unverified_alerted_for"),
            last_good_option_set_id=plain.get("last_good_option_set_id"),
            last_good_verified_at=plain.get("last_good_verified_at"),
            observed_at=plain.get("observed_at"),
            option_set_since=plain.get("option_set_since"),
            # Items written before versions existed count as version 0.
            version=int(plain.get("version", 0)),
            healed_incident=plain.get("healed_incident"),
            blocking_analysed=tuple(str(k) for k in plain.get("blocking_analysed") or ()),
            analyses_day=plain.get("analyses_day"),
            analyses_started=int(plain.get("analyses_started", 0)),
            discovery=plain.get("discovery"),
            workloads=_census(vpc_id, plain.get("workloads")),
        )

    def put(self, state: VpcState) -> VpcState:
        """Store `state` if the item is still at `state.version`; return it as stored.

        Raises StateConflict when another check wrote the item since it was read.
        """
        stored = replace(state, version=state.version + 1)
        fields = asdict(stored)
        fields["verdict"] = stored.verdict.value
        fields["workloads"] = stored.workloads.as_record() if stored.workloads else None
        item = {"pk": _serializer.serialize(state_key(stored.vpc_id, self._place))}
        item.update({key: _serializer.serialize(value) for key, value in fields.items()})
        if self._place is not None:
            item["account_id"] = _serializer.serialize(self._place.account or "")
            item["region"] = _serializer.serialize(self._place.region)
        try:
            # Version 0: the item does not exist yet, or was written before versions existed.
            self._dynamodb.put_item(
                TableName=self._table_name,
                Item=item,
                ConditionExpression=(
                    "attribute_not_exists(pk) OR attribute_not_exists(version) OR version = :read"
                ),
                ExpressionAttributeValues={":read": {"N": str(state.version)}},
            )
        except ClientError as exc:
            if read_error(exc).code == "ConditionalCheckFailedException":
                raise StateConflict(
                    f"the state of {state.vpc_id} changed since it was read (version "
                    f"{state.version})"
                ) from exc
            raise StateStoreError(f"could not store the state of {state.vpc_id}: {exc}") from exc
        except BotoCoreError as exc:
            raise StateStoreError(f"could not store the state of {state.vpc_id}: {exc}") from exc
        return stored

    def remember_workloads(self, vpc_id: str, census: Census) -> None:
        """Cache `census` with a VPC's stored state without deciding anything (a preflight): the
        item's version stays, so no check's conditional write conflicts with it. Nothing is
        written for a VPC with no state yet."""
        try:
            self._dynamodb.update_item(
                TableName=self._table_name,
                Key={"pk": {"S": state_key(vpc_id, self._place)}},
                UpdateExpression="SET workloads = :census",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":census": _serializer.serialize(census.as_record())},
            )
        except ClientError as exc:
            if read_error(exc).code == "ConditionalCheckFailedException":
                return
            raise StateStoreError(f"could not cache the workloads of {vpc_id}: {exc}") from exc
        except BotoCoreError as exc:
            raise StateStoreError(f"could not cache the workloads of {vpc_id}: {exc}") from exc
