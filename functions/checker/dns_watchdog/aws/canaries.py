"""Canary discovery: Lambda functions tagged `<CANARY_TAG_KEY>=<vpc id>` (Tagging API) whose
name carries the canary prefix that canary-template.yaml gives them.

A tag alone is not proof: anyone allowed to tag a function could otherwise make the checker invoke
it and count its answer. A tagged function without the prefix is not a canary; it is kept aside
(`rejected_for_vpc` / `rejected_by_vpc`) so the checker can report it, and never invoked (the
checker's IAM policy would refuse it anyway).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

import boto3

from dns_watchdog.constants import CANARY_FUNCTION_NAME_PREFIX, CANARY_TAG_KEY
from dns_watchdog.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_resourcegroupstaggingapi import ResourceGroupsTaggingAPIClient
    from mypy_boto3_resourcegroupstaggingapi.type_defs import TagFilterTypeDef

LAMBDA_FUNCTION = "lambda:function"
# The Resource Groups Tagging operations this adapter calls (aws/vpcs.py says why).
TAGGING_OPERATIONS = frozenset({"GetResources"})


def function_name(arn: str) -> str:
    """`arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]` -> `<name>`."""
    parts = arn.split(":")
    return parts[6] if len(parts) >= 7 and parts[5] == "function" else ""


def is_canary_name(name: str, prefix: str = CANARY_FUNCTION_NAME_PREFIX) -> bool:
    """A canary's name is the prefix followed by something (canary-template.yaml's naming)."""
    return name.startswith(prefix) and len(name) > len(prefix)


@dataclass(frozen=True)
class _Found:
    canaries: dict[str, tuple[str, ...]]
    rejected: dict[str, tuple[str, ...]]


class CanaryDirectory:
    """Finds the canaries watching each VPC (client injectable for tests)."""

    def __init__(
        self,
        tag_key: str = CANARY_TAG_KEY,
        client: ResourceGroupsTaggingAPIClient | None = None,
        *,
        name_prefix: str = CANARY_FUNCTION_NAME_PREFIX,
    ) -> None:
        self._tag_key = tag_key
        self._name_prefix = name_prefix
        self._tagging = client or boto3.client("resourcegroupstaggingapi")

    @property
    def tag_key(self) -> str:
        return self._tag_key

    @property
    def name_prefix(self) -> str:
        return self._name_prefix

    def for_vpc(self, vpc_id: str) -> tuple[str, ...]:
        """ARNs of the canaries tagged with this VPC id."""
        return self._find_vpc(vpc_id).canaries.get(vpc_id, ())

    def all_by_vpc(self) -> dict[str, tuple[str, ...]]:
        """Every tagged canary, grouped by the VPC id in its tag (the scheduled sweep's scope)."""
        return self._find_all().canaries

    def rejected_for_vpc(self, vpc_id: str) -> tuple[str, ...]:
        """Functions tagged with this VPC id whose name lacks the canary prefix: not canaries."""
        return self._find_vpc(vpc_id).rejected.get(vpc_id, ())

    def rejected_by_vpc(self) -> dict[str, tuple[str, ...]]:
        """Every tagged function without the canary prefix, grouped by the VPC id in its tag."""
        return self._find_all().rejected

    def _find_vpc(self, vpc_id: str) -> _Found:
        return self._find([{"Key": self._tag_key, "Values": [vpc_id]}])

    def _find_all(self) -> _Found:
        return self._find([{"Key": self._tag_key}])

    def _find(self, tag_filters: list[TagFilterTypeDef]) -> _Found:
        canaries: dict[str, set[str]] = defaultdict(set)
        rejected: dict[str, set[str]] = defaultdict(set)
        paginator = self._tagging.get_paginator("get_resources")
        pages = paginator.paginate(TagFilters=tag_filters, ResourceTypeFilters=[LAMBDA_FUNCTION])
        for page in pages:
            for mapping in page.get("ResourceTagMappingList", []):
                arn = mapping["ResourceARN"]
                for tag in mapping.get("Tags", []):
                    if tag.get("Key") == self._tag_key and tag.get("Value"):
                        named = is_canary_name(function_name(arn), self._name_prefix)
                        (canaries if named else rejected)[tag["Value"]].add(arn)
        if rejected:
            logger.warning(
                "Ignoring tagged functions that are not canaries",
                extra={
                    "reason": f"tagged {self._tag_key} but not named {self._name_prefix}*",
                    "functions": sorted(arn for arns in rejected.values() for arn in arns),
                },
            )
        return _Found(_sorted(canaries), _sorted(rejected))


def _sorted(found: dict[str, set[str]]) -> dict[str, tuple[str, ...]]:
    return {vpc_id: tuple(sorted(arns)) for vpc_id, arns in sorted(found.items())}
