"""Canary discovery: Lambda functions tagged `<CANARY_TAG_KEY>=<vpc id>` (Tagging API)."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

import boto3

if TYPE_CHECKING:
    from mypy_boto3_resourcegroupstaggingapi import ResourceGroupsTaggingAPIClient
    from mypy_boto3_resourcegroupstaggingapi.type_defs import TagFilterTypeDef

LAMBDA_FUNCTION = "lambda:function"


class CanaryDirectory:
    """Finds the canaries watching each VPC (client injectable for tests)."""

    def __init__(self, tag_key: str, client: ResourceGroupsTaggingAPIClient | None = None) -> None:
        self._tag_key = tag_key
        self._tagging = client or boto3.client("resourcegroupstaggingapi")

    @property
    def tag_key(self) -> str:
        return self._tag_key

    def for_vpc(self, vpc_id: str) -> tuple[str, ...]:
        """ARNs of the canaries tagged with this VPC id."""
        return self._find([{"Key": self._tag_key, "Values": [vpc_id]}]).get(vpc_id, ())

    def all_by_vpc(self) -> dict[str, tuple[str, ...]]:
        """Every tagged canary, grouped by the VPC id in its tag (the scheduled sweep's scope)."""
        return self._find([{"Key": self._tag_key}])

    def _find(self, tag_filters: list[TagFilterTypeDef]) -> dict[str, tuple[str, ...]]:
        found: dict[str, set[str]] = defaultdict(set)
        paginator = self._tagging.get_paginator("get_resources")
        pages = paginator.paginate(TagFilters=tag_filters, ResourceTypeFilters=[LAMBDA_FUNCTION])
        for page in pages:
            for mapping in page.get("ResourceTagMappingList", []):
                for tag in mapping.get("Tags", []):
                    if tag.get("Key") == self._tag_key and tag.get("Value"):
                        found[tag["Value"]].add(mapping["ResourceARN"])
        return {vpc_id: tuple(sorted(arns)) for vpc_id, arns in sorted(found.items())}
