"""Where a change may make the checker act: regions of its partition and, in organization mode,
the regions it sweeps (domain/origins.py, from the settings in config.py)."""

from __future__ import annotations

from typing import Any

import pytest
from dns_watchdog.config import load_config
from dns_watchdog.domain.events import parse_event
from dns_watchdog.domain.origins import ChangeOrigins
from dns_watchdog.domain.request import CheckRequest, PreflightRequest

from devtools.lambdakit import load_event

pytestmark = pytest.mark.unit

REQUIRED = {
    "ALERT_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:alerts",
    "STATE_TABLE_NAME": "state",
    "AWS_REGION": "us-east-1",
}
ORGANIZATION = {**REQUIRED, "MEMBER_ROLE_NAME": "vpc-dns-watchdog-member"}
ORGANIZATION["HOME_ACCOUNT_ID"] = "123456789012"


def change_in(region: str, sample: str = "associate_dhcp_options") -> Any:
    event = load_event(sample)
    event["region"] = region
    event["detail"]["awsRegion"] = region
    request = parse_event(event)
    assert isinstance(request, (CheckRequest, PreflightRequest))
    return request


def test_a_single_account_watchdog_accepts_changes_from_its_partitions_regions() -> None:
    origins = load_config(REQUIRED).change_origins()
    assert origins == ChangeOrigins("aws")
    assert origins.problem(change_in("ap-southeast-2")) is None
    assert origins.problem(change_in("cn-north-1")) == (
        "envelope region: region 'cn-north-1' is in partition aws-cn; this watchdog runs in "
        "partition aws"
    )


@pytest.mark.parametrize(
    ("targets", "regions"),
    [
        ("", ("us-east-1",)),
        ("*:eu-west-1|eu-central-1", ("eu-central-1", "eu-west-1")),
        ("111111111111:eu-west-1 222222222222:ap-southeast-2", ("ap-southeast-2", "eu-west-1")),
        ("111111111111:eu-west-1 *:us-west-2", ("eu-west-1", "us-west-2")),
    ],
)
def test_an_organization_watchdog_accepts_changes_from_the_regions_it_sweeps(
    targets: str, regions: tuple[str, ...]
) -> None:
    origins = load_config({**ORGANIZATION, "SWEEP_TARGETS": targets}).change_origins()
    assert origins == ChangeOrigins("aws", regions)
    for region in regions:
        assert origins.problem(change_in(region)) is None
    assert origins.problem(change_in("sa-east-1")) == (
        "region 'sa-east-1' of account 123456789012 is not watched: this watchdog acts in "
        f"{', '.join(regions)} (SWEEP_TARGETS)"
    )


def test_a_new_option_set_elsewhere_is_not_preflighted() -> None:
    origins = ChangeOrigins("aws", ("eu-west-1",))
    assert origins.problem(change_in("eu-west-1", "create_dhcp_options")) is None
    assert "not watched" in str(origins.problem(change_in("us-east-1", "create_dhcp_options")))


def test_a_hosted_zone_change_counts_in_the_vpcs_region_not_route_53s() -> None:
    # Route 53 is global: its envelope says us-east-1, which the watchdog need not sweep
    event = load_event("associate_vpc_with_hosted_zone")
    event["detail"]["requestParameters"]["vPC"]["vPCRegion"] = "eu-west-1"
    request = parse_event(event)
    assert isinstance(request, CheckRequest)
    assert ChangeOrigins("aws", ("eu-west-1",)).problem(request) is None
    assert ChangeOrigins("aws", ("eu-central-1",)).problem(request) is not None
    # but the VPC's region must be in the partition too
    event["detail"]["requestParameters"]["vPC"]["vPCRegion"] = "us-gov-west-1"
    request = parse_event(event)
    assert isinstance(request, CheckRequest)
    assert ChangeOrigins("aws").problem(request) == (
        "region: region 'us-gov-west-1' is in partition aws-us-gov; this watchdog runs in "
        "partition aws"
    )


def test_manual_checks_and_sweep_messages_are_not_changes() -> None:
    # whoever may invoke the checker or write its sweep queue names any place
    origins = ChangeOrigins("aws", ("eu-west-1",))
    manual = parse_event(
        {"action": "check", "vpc_ids": ["vpc-0a1b2c3d4e5f60718"], "region": "us-west-2"}
    )
    sweep = parse_event({"action": "sweep", "account_id": "222222222222", "region": "us-west-2"})
    assert isinstance(manual, CheckRequest)
    assert isinstance(sweep, CheckRequest)
    assert origins.problem(manual) is None
    assert origins.problem(sweep) is None
