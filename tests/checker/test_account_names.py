"""Account names for alerts: asked of Organizations once per account, never blocking a page."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from dns_watchdog.aws.organization import AccountNames

pytestmark = pytest.mark.unit


def test_a_name_is_asked_once_and_a_refusal_means_the_id_alone(
    aws_env: None, stub_session: boto3.session.Session
) -> None:
    client: Any = stub_session.client("organizations")
    with Stubber(client) as stub:
        stub.add_response(
            "describe_account",
            {"Account": {"Id": "222222222222", "Name": "payments-prod"}},
            {"AccountId": "222222222222"},
        )
        stub.add_client_error(
            "describe_account",
            service_error_code="AccessDeniedException",
            expected_params={"AccountId": "333333333333"},
        )
        names = AccountNames(client)

        assert names.name_of("222222222222") == "payments-prod"
        assert names.name_of("222222222222") == "payments-prod"  # cached: no second call
        assert names.name_of("333333333333") is None
        assert names.name_of("333333333333") is None  # not asked again
        stub.assert_no_pending_responses()
