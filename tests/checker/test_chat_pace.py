"""Chat posts are paced across every checker running at once: Amazon Q Developer drops what a
channel gets above 10 notifications a second, so each post first claims a slot of the current
second in the state table (moto's DynamoDB here), and a full second means waiting for the next.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from checker_doubles import FakeCanary, World
from dns_watchdog.aws.chat_pace import CHAT_POSTS_PER_SECOND, ChatPace
from dns_watchdog.constants import CHAT_TOPIC_ARN_ENV

from devtools.lambdakit import load_event

pytestmark = pytest.mark.integration

Invoke = Callable[[Any], dict[str, Any]]


class Clock:
    """A wall clock and its sleep: sleeping moves the wall clock on."""

    def __init__(self, start: float) -> None:
        self.now = start
        self.slept: list[float] = []

    def wall(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def pace(world: World, clock: Clock, per_second: int = CHAT_POSTS_PER_SECOND) -> ChatPace:
    return ChatPace(
        world.table_name,
        world.dynamodb,
        per_second=per_second,
        wall=clock.wall,
        sleep=clock.sleep,
        monotonic=clock.wall,
    )


def test_a_burst_of_posts_takes_at_most_the_channels_rate_each_second(
    moto_world: World,
) -> None:
    # Given two checkers posting to the same channel in the same second
    clock = Clock(1_700_000_000.25)
    first, second = pace(moto_world, clock), pace(moto_world, clock)
    # When 20 posts claim slots, alternating between them
    seconds = []
    for n in range(20):
        assert (first if n % 2 else second).claim(deadline=clock.now + 60) is None
        seconds.append(int(clock.now))
    # Then no second got more than the limit, and the waits were to the next second
    counts = {s: seconds.count(s) for s in set(seconds)}
    assert max(counts.values()) <= CHAT_POSTS_PER_SECOND
    assert len(counts) == 3
    assert all(0 < wait <= 1 for wait in clock.slept)


def test_a_post_past_the_runs_deadline_goes_out_unpaced_and_says_why(moto_world: World) -> None:
    clock = Clock(1_700_000_000.5)
    gate = pace(moto_world, clock, per_second=1)
    assert gate.claim(deadline=clock.now + 5) is None
    assert gate.claim(deadline=clock.now + 0.1) == (
        "no time left in this run to wait for a chat slot"
    )


def test_a_table_that_cannot_be_written_never_holds_up_the_post(moto_world: World) -> None:
    clock = Clock(1_700_000_000.0)
    gate = ChatPace("no-such-table", moto_world.dynamodb, wall=clock.wall, sleep=clock.sleep)
    reason = gate.claim(deadline=clock.now + 5)
    assert reason is not None
    assert "ResourceNotFoundException" in reason


def test_each_chat_post_of_a_sweep_claims_a_slot(
    world: World, checker_app: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a chat topic and three VPCs whose option set's server does not answer
    topic = world.sns.create_topic(Name="vpc-dns-watchdog-chat")["TopicArn"]
    monkeypatch.setenv(CHAT_TOPIC_ARN_ENV, topic)
    for n in range(3):
        vpc_id = world.create_vpc(f"10.{n}.0.0/16")
        world.associate(vpc_id, world.option_set("10.9.9.9"))
        world.add_canary(vpc_id, f"vpc-dns-canary-{n}", FakeCanary(dead={"10.9.9.9"}))
    # When a sweep pages all three
    result = checker_app(load_event("scheduled_sweep"))
    assert result["alerts_published"] == 3
    # Then three chat slots were claimed in the state table
    items = world.dynamodb.scan(TableName=world.table_name)["Items"]
    claimed = sum(int(i["posts"]["N"]) for i in items if i["pk"]["S"].startswith("chat-rate#"))
    assert claimed == 3
