"""The rollback request (`{"action": "rollback", ...}`) as the checker parses it: ids by pattern,
`requested_by` printable and bounded, nothing else accepted (pure)."""

from __future__ import annotations

from typing import Any

import pytest
from dns_watchdog.domain.events import InvalidEvent, parse_event
from dns_watchdog.domain.request import RollbackRequest

pytestmark = pytest.mark.unit

VPC = "vpc-0a1b2c3d4e5f60718"
WHO = "arn:aws:sts::123456789012:assumed-role/NetworkAdmin/alice"


def test_a_rollback_request_names_the_vpc_and_who_asked() -> None:
    parsed = parse_event({"action": "rollback", "vpc_id": VPC, "requested_by": WHO})
    assert parsed == RollbackRequest(vpc_id=VPC, requested_by=WHO)
    assert not parsed.via_chat  # only the handler knows the chat alias


def test_a_rollback_request_may_name_an_account_and_region() -> None:
    parsed = parse_event(
        {
            "action": "rollback",
            "vpc_id": VPC,
            "account_id": "222222222222",
            "region": "eu-west-1",
            "requested_by": "chat",
        }
    )
    assert parsed == RollbackRequest(VPC, "chat", account_id="222222222222", region="eu-west-1")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"vpc_id": "vpc-nothex!"}, "invalid rollback request: vpc_id: String should match"),
        ({"vpc_id": f"{VPC}\n"}, "invalid rollback request: vpc_id: String should match"),
        ({"vpc_id": None}, "invalid rollback request: vpc_id"),
        ({"account_id": "2222"}, "invalid rollback request: account_id: String should match"),
        ({"region": "mars-1"}, "invalid rollback request: region: String should match"),
        ({"requested_by": ""}, "requested_by: String should have at least 1 character"),
        ({"requested_by": "x" * 201}, "requested_by: String should have at most 200 characters"),
        ({"requested_by": "alice\n[CRITICAL] all good"}, "requested_by: Value error, must name"),
        ({"requested_by": "<!channel> <https://evil.example|Roll back>"}, "requested_by: Value"),
        ({"requested_by": "\x1b[2Jroot"}, "requested_by: Value error, must name who asked"),
        ({"requested_by": "   "}, "requested_by: Value error, must name who asked"),
        ({"requested_by": 42}, "requested_by: Input should be a valid string"),
        ({"dhcp_options_id": "dopt-0123456789abcdef0"}, "dhcp_options_id: Extra inputs"),
    ],
)
def test_malformed_rollback_requests_name_the_field(change: dict[str, Any], message: str) -> None:
    event = {"action": "rollback", "vpc_id": VPC, "requested_by": WHO, **change}
    with pytest.raises(InvalidEvent, match=message.replace("[", r"\[").replace("|", r"\|")):
        parse_event(event)


def test_a_rollback_request_without_who_asked_is_rejected() -> None:
    with pytest.raises(InvalidEvent, match="requested_by: Field required"):
        parse_event({"action": "rollback", "vpc_id": VPC})
