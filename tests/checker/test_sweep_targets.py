"""The sweep target setting: (account, region) pairs, accounts x regions, every account (pure)."""

from __future__ import annotations

from random import Random

import pytest
from dns_watchdog.domain.place import Place
from dns_watchdog.domain.targets import (
    SweepPlan,
    SweepTargetError,
    parse_sweep_targets,
    partition_of,
)
from hypothesis import given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.unit

A = "111111111111"
B = "222222222222"
C = "333333333333"


def test_pairs_become_targets_in_account_then_region_order() -> None:
    plan = parse_sweep_targets(f"{B}:eu-west-1,{A}:us-east-1, {A}:eu-west-1")

    assert plan.targets == (
        Place(A, "eu-west-1"),
        Place(A, "us-east-1"),
        Place(B, "eu-west-1"),
    )
    assert [str(t) for t in plan.targets] == [f"{A}:eu-west-1", f"{A}:us-east-1", f"{B}:eu-west-1"]
    assert plan.every_account_regions == ()


def test_duplicates_collapse_and_order_does_not_depend_on_the_input_order() -> None:
    one = parse_sweep_targets(f"{A}:us-east-1,{B}:us-east-1,{A}:us-east-1")
    other = parse_sweep_targets(f"{B}:us-east-1\n{A}:us-east-1")

    assert one == other
    assert len(one.targets) == 2


def test_accounts_times_regions() -> None:
    plan = parse_sweep_targets(f"{A}|{B}:us-east-1|eu-west-1")

    assert plan.targets == (
        Place(A, "eu-west-1"),
        Place(A, "us-east-1"),
        Place(B, "eu-west-1"),
        Place(B, "us-east-1"),
    )


def test_every_account_entries_name_regions_and_expand_over_the_accounts_given() -> None:
    plan = parse_sweep_targets(f"*:us-east-1|eu-west-1, {C}:ap-southeast-2, *:us-east-1")

    assert plan.every_account_regions == ("eu-west-1", "us-east-1")
    assert plan.named_accounts == (C,)
    assert plan.expand([B, A, B]) == (
        Place(A, "eu-west-1"),
        Place(A, "us-east-1"),
        Place(B, "eu-west-1"),
        Place(B, "us-east-1"),
        Place(C, "ap-southeast-2"),
    )


def test_expanding_a_plan_without_every_account_entries_keeps_only_its_pairs() -> None:
    plan = parse_sweep_targets(f"{A}:us-east-1")

    assert plan.expand([B, C]) == (Place(A, "us-east-1"),)


@pytest.mark.parametrize("text", ["", "   ", " , ,\n"])
def test_an_empty_setting_is_an_empty_plan(text: str) -> None:
    assert parse_sweep_targets(text) == SweepPlan()


@pytest.mark.parametrize(
    ("entry", "says"),
    [
        ("11111111111:us-east-1", "has 11 digits; an account id has exactly 12"),
        ("1111-1111-1111:us-east-1", "without separators (111111111111)"),
        ("prod:us-east-1", "'prod' is not a 12-digit account id"),
        (f"{A}:us-east-1a", "'us-east-1a' is an Availability Zone, not a region"),
        (f"{A}:use1-az1", "'use1-az1' is an Availability Zone, not a region"),
        (f"{A}:US-EAST-1", "must be lower case (us-east-1)"),
        (f"{A}:virginia", "'virginia' is not an AWS region name"),
        (f"{A}:us-east", "'us-east' is not an AWS region name"),
        (f"{A}", "expected ACCOUNT:REGION"),
        (f"{A}:us-east-1:eu-west-1", "expected ACCOUNT:REGION"),
        (f"arn:aws:iam::{A}:role/watchdog", "is an ARN"),
        (":us-east-1", "an account is missing"),
        (f"{A}:", "a region is missing"),
        (f"{A}|:us-east-1", "an account is missing"),
        (f"*|{A}:us-east-1", "'*' already means every account"),
    ],
)
def test_a_malformed_entry_is_named_with_what_is_wrong(entry: str, says: str) -> None:
    with pytest.raises(SweepTargetError) as raised:
        parse_sweep_targets(f"{B}:us-east-1,{entry}")

    assert raised.value.problems[0].startswith(f"entry 2 {entry!r}: ")
    assert says in str(raised.value)
    assert str(raised.value).startswith("SWEEP_TARGETS: ")


def test_every_malformed_entry_is_reported_at_once() -> None:
    with pytest.raises(SweepTargetError) as raised:
        parse_sweep_targets(f"123:us-east-1, {A}:us-east-1, {A}:mars-1", setting="TARGETS")

    assert len(raised.value.problems) == 2
    assert raised.value.problems[0].startswith("entry 1 '123:us-east-1'")
    assert raised.value.problems[1].startswith(f"entry 3 '{A}:mars-1'")
    assert str(raised.value).startswith("TARGETS: ")


@pytest.mark.parametrize(
    ("region", "partition"),
    [
        ("us-east-1", "aws"),
        ("ap-southeast-5", "aws"),
        ("us-gov-west-1", "aws-us-gov"),
        ("cn-northwest-1", "aws-cn"),
        ("us-iso-east-1", "aws-iso"),
        ("us-isob-east-1", "aws-iso-b"),
        ("eusc-de-east-1", "aws-eusc"),
    ],
)
def test_regions_of_every_partition_have_a_valid_shape(region: str, partition: str) -> None:
    assert parse_sweep_targets(f"{A}:{region}").targets == (Place(A, region),)
    assert partition_of(region) == partition


def test_a_region_of_another_partition_is_refused_when_the_partition_is_known() -> None:
    with pytest.raises(SweepTargetError) as raised:
        parse_sweep_targets(f"{A}:us-east-1,{A}:cn-north-1", partition="aws")

    assert raised.value.problems == (
        f"entry 2 '{A}:cn-north-1': region 'cn-north-1' is in partition aws-cn; "
        "this watchdog runs in partition aws",
    )


accounts = st.from_regex(r"\d{12}", fullmatch=True)
regions = st.sampled_from(["us-east-1", "eu-west-1", "ap-southeast-2", "us-gov-west-1"])
pairs = st.lists(st.tuples(accounts, regions), max_size=20)


@settings(max_examples=40)  # the unit tier stays quick
@given(pairs, st.randoms(use_true_random=False), st.sampled_from([",", ", ", "\n", " "]))
def test_any_spelling_of_a_target_list_parses_to_the_same_ordered_set(
    given_pairs: list[tuple[str, str]], shuffler: Random, separator: str
) -> None:
    shuffled = given_pairs * 2
    shuffler.shuffle(shuffled)

    plan = parse_sweep_targets(separator.join(f"{a}:{r}" for a, r in shuffled))

    assert plan.targets == tuple(sorted({Place(a, r) for a, r in given_pairs}))
    assert parse_sweep_targets(",".join(map(str, plan.targets))) == plan
