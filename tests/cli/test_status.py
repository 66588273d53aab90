"""`vpc-dns-watchdog status` against moto: the state items the checker writes, as a table."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from dns_watchdog.aws.state import StateStore
from dns_watchdog.domain.history import VpcState
from dns_watchdog.domain.models import Verdict
from dns_watchdog.domain.place import Place
from dns_watchdog.domain.workloads import Census
from vpc_dns_watchdog_cli.main import main

from devtools.awsworld import MOTO_CREDENTIALS, AwsWorld, local_aws

pytestmark = pytest.mark.integration

TABLE = "vpc-dns-watchdog-state"


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsWorld]:
    for variable, value in MOTO_CREDENTIALS.items():
        monkeypatch.setenv(variable, value)
    with local_aws():
        world = AwsWorld(region="us-east-1")
        world.create_state_table(TABLE)
        yield world


def state(
    vpc_id: str, verdict: Verdict, *, incident: str | None = None, workloads: Census | None = None
) -> VpcState:
    return VpcState(
        vpc_id=vpc_id,
        verdict=verdict,
        option_set_id=f"dopt-{vpc_id[-4:]}",
        previous_option_set_id=None,
        incident_open=incident is not None,
        incident_started_at=incident,
        last_checked_at="2024-05-14T09:20:00Z",
        last_event_id=None,
        unverified_alerted_for=None,
        last_good_option_set_id="dopt-good" if verdict == Verdict.OK else "dopt-0old",
        last_good_verified_at="2024-05-14T09:00:00Z",
        workloads=workloads,
    )


def test_status_prints_one_row_per_vpc_failing_first(
    world: AwsWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the checker stored two VPCs, one of them in an open incident whose page read the
    # workloads in it
    store = StateStore(TABLE, world.dynamodb)
    store.put(state("vpc-000000000000aaaa", Verdict.OK))
    hit = Census(read_at="2024-05-14T09:16:01Z", functions=("orders-api",), functions_total=1)
    store.put(
        state(
            "vpc-000000000000bbbb",
            Verdict.FAILED,
            incident="2024-05-14T09:16:00Z",
            workloads=hit,
        )
    )
    # and an idempotency record shares the table
    world.dynamodb.put_item(
        TableName=TABLE, Item={"pk": {"S": "vpc-dns-watchdog-checker#abc"}, "status": {"S": "x"}}
    )
    # When the operator asks for the status
    assert main(["status", "--table", TABLE, "--region", "us-east-1"]) == 0
    lines = capsys.readouterr().out.splitlines()

    # Then a header and one row per VPC, the failing one first
    assert lines[0].split() == [
        "account", "region", "VPC", "verdict", "workloads", "option", "set", "last", "good",
        "last", "checked", "open", "incident",
    ]  # fmt: skip
    assert len(lines) == 3
    failing, healthy = lines[1], lines[2]
    # next to its verdict, the workloads as cached when the page went out ("-": never read)
    assert failing.split()[:7] == [
        "123456789012", "us-east-1", "vpc-000000000000bbbb", "FAILED", "1",
        "(2024-05-14T09:16:01Z)", "dopt-bbbb",
    ]  # fmt: skip
    assert healthy.split()[3:5] == ["OK", "-"]
    assert "dopt-0old (2024-05-14T09:00:00Z)" in failing
    assert failing.endswith("since 2024-05-14T09:16:00Z")
    assert healthy.split()[2:4] == ["vpc-000000000000aaaa", "OK"]
    assert healthy.endswith("no")


def test_status_of_an_empty_table_says_so(
    world: AwsWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["status", "--table", TABLE, "--region", "us-east-1"]) == 0
    assert capsys.readouterr().out == f"No VPC state in {TABLE} yet.\n"


def test_status_names_the_account_and_region_of_organization_vpcs(
    world: AwsWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the central checker stored a VPC at home and one in a member account's region
    StateStore(TABLE, world.dynamodb).put(state("vpc-000000000000aaaa", Verdict.OK))
    member = StateStore(TABLE, world.dynamodb, place=Place("222222222222", "eu-west-1"))
    member.put(state("vpc-000000000000bbbb", Verdict.FAILED, incident="2024-05-14T09:16:00Z"))

    assert main(["status", "--table", TABLE, "--region", "us-east-1"]) == 0
    rows = [line.split()[:4] for line in capsys.readouterr().out.splitlines()[1:]]

    assert rows == [
        ["222222222222", "eu-west-1", "vpc-000000000000bbbb", "FAILED"],
        ["123456789012", "us-east-1", "vpc-000000000000aaaa", "OK"],
    ]
