"""Reachability analyses have a daily budget per VPC and per account: the counting rules, what
the state keeps of them, and how a spent budget reads in the page (pure)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from dns_watchdog.domain.analysis_budget import (
    ANALYSES_PER_SERVER,
    BudgetSpent,
    day_of,
    within_budget,
)
from dns_watchdog.render.alert import build_alert
from dns_watchdog.render.chat import build_chat_notification
from test_blocking_alerts import SERVER, VPC, _context, _outcome
from test_outcome import AMAZON, DEAD, SWEEP, Vpc, associate, evidence

pytestmark = pytest.mark.unit

OTHER_SERVER = "10.1.1.11"


@pytest.mark.parametrize(
    ("used", "limit", "fits"),
    [
        (0, 4, (SERVER, OTHER_SERVER)),
        (2, 4, (SERVER,)),
        (3, 4, ()),  # one analysis left: not enough for UDP and TCP
        (4, 4, ()),
        (9, 4, ()),  # counted beyond a budget lowered since
        (0, 2, (SERVER,)),
    ],
)
def test_servers_are_analysed_while_both_their_analyses_fit(
    used: int, limit: int, fits: tuple[str, ...]
) -> None:
    servers = (SERVER, OTHER_SERVER)
    allowed, spent = within_budget(servers, used=used, limit=limit, scope="vpc", owner=VPC)

    assert allowed == fits
    left_out = servers[len(fits) :]
    assert spent == (BudgetSpent("vpc", VPC, limit, left_out) if left_out else None)


def test_a_day_is_the_utc_date_of_the_checker_s_timestamps() -> None:
    assert day_of("2024-05-14T23:59:59Z") == "2024-05-14"
    assert day_of("2024-05-15T00:00:00.123Z") == "2024-05-15"
    assert ANALYSES_PER_SERVER == 2  # UDP and TCP


def test_the_state_counts_a_vpc_s_analyses_per_day() -> None:
    state = _outcome().state
    assert state.analyses_on("2024-05-14") == 0

    counted = state.with_analyses("2024-05-14", 2).with_analyses("2024-05-14", 2)
    assert counted.analyses_on("2024-05-14") == 4
    # Another day starts from nothing
    assert counted.analyses_on("2024-05-15") == 0
    assert counted.with_analyses("2024-05-15", 2).analyses_on("2024-05-15") == 2


def test_the_count_outlives_incidents_so_flips_share_one_budget() -> None:
    # Given a VPC whose analyses were counted in an incident
    vpc = Vpc()
    vpc.check(SWEEP, evidence(AMAZON))
    broken = vpc.check(associate(DEAD), evidence(DEAD, dead=True))
    vpc.stored = broken.state.with_analyses("2024-05-14", 2)

    # When it recovers and breaks again (a new incident)
    recovered = vpc.check(associate(AMAZON, "e-2"), evidence(AMAZON))
    again = vpc.check(associate(DEAD, "e-3"), evidence(DEAD, dead=True))

    # Then the day's count is still there (the servers analysed per incident are not)
    assert recovered.state.analyses_on("2024-05-14") == 2
    assert again.state.analyses_on("2024-05-14") == 2
    assert again.state.servers_analysed(again.decision.incident_started_at) == frozenset()


def test_a_spent_budget_reads_in_the_text_the_document_and_chat() -> None:
    spent = (
        BudgetSpent("vpc", VPC, 4, (SERVER,)),
        BudgetSpent("account", "account 123456789012", 20, (OTHER_SERVER,)),
    )
    context = replace(_context(), blocking_spent=spent)

    alert = build_alert(_outcome(), {"dopt-old": None}, context)
    chat = build_chat_notification(_outcome(), {"dopt-old": None}, context)

    vpc_line = (
        f"Blocking rule: not analysed for {SERVER}: today's budget of 4 analyses for {VPC} "
        "is spent."
    )
    account_line = (
        f"Blocking rule: not analysed for {OTHER_SERVER}: today's budget of 20 analyses for "
        "account 123456789012 is spent."
    )
    lines = alert.text.splitlines()
    assert vpc_line in lines
    assert account_line in lines
    assert alert.document["blocking_budget_spent"] == [
        {"scope": "vpc", "owner": VPC, "limit": 4, "servers": [SERVER], "text": vpc_line},
        {
            "scope": "account",
            "owner": "account 123456789012",
            "limit": 20,
            "servers": [OTHER_SERVER],
            "text": account_line,
        },
    ]
    description = chat.document["content"]["description"].splitlines()
    assert vpc_line.replace("Blocking rule:", "*Blocking rule:*") in description


def test_no_spent_budget_no_line() -> None:
    alert = build_alert(_outcome(), {"dopt-old": None}, _context())
    assert "budget" not in alert.text
    assert alert.document["blocking_budget_spent"] == []
