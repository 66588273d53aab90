"""A canary is what canary-template.yaml deploys: a function with the template's name AND tag.

The checker's discovery (dns_watchdog.aws.canaries) must find a canary named the way the template
names it, and keep aside a function that only carries the tag. AWS is moto.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator

import boto3
import pytest
from dns_watchdog.aws.canaries import CanaryDirectory, function_name, is_canary_name
from dns_watchdog.constants import CANARY_FUNCTION_NAME_PREFIX, CANARY_TAG_KEY
from iac_template import CANARY_TEMPLATE, SAMPLE_REGION, SAMPLE_VPC_ID, Resolver, load_template
from moto import mock_aws

pytestmark = pytest.mark.iac

OTHER_VPC_ID = "vpc-0fedcba9876543210"


def template_canary_name(vpc_id: str, stack_uuid: str) -> str:
    """The canary's FunctionName as CloudFormation would resolve it for this VPC and stack."""
    template = load_template(CANARY_TEMPLATE)
    stack_id = f"arn:aws:cloudformation:{SAMPLE_REGION}:123456789012:stack/canary/{stack_uuid}"
    name = template["Resources"]["CanaryFunction"]["Properties"]["FunctionName"]
    return str(Resolver(template, {"VpcId": vpc_id, "AWS::StackId": stack_id}).resolve(name))


class Account:
    """moto Lambda with a role, and a Tagging API client for discovery."""

    def __init__(self) -> None:
        iam = boto3.client("iam", region_name=SAMPLE_REGION)
        self.role_arn = iam.create_role(RoleName="canary", AssumeRolePolicyDocument="{}")["Role"][
            "Arn"
        ]
        self.lambda_ = boto3.client("lambda", region_name=SAMPLE_REGION)
        self.tagging = boto3.client("resourcegroupstaggingapi", region_name=SAMPLE_REGION)

    def function(self, name: str, tags: dict[str, str]) -> str:
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as zipped:
            zipped.writestr("app.py", "def lambda_handler(event, context):\n    return {}\n")
        arn: str = self.lambda_.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=self.role_arn,
            Handler="app.lambda_handler",
            Code={"ZipFile": archive.getvalue()},
            Tags=tags,
        )["FunctionArn"]
        return arn


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch) -> Iterator[Account]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", SAMPLE_REGION)
    with mock_aws():
        yield Account()


def test_two_canary_stacks_in_one_vpc_get_distinct_names_with_the_prefix() -> None:
    first = template_canary_name(SAMPLE_VPC_ID, "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b")
    second = template_canary_name(SAMPLE_VPC_ID, "9a8b7c6d-1e2f-4a3b-8c4d-5e6f7a8b9c0d")
    assert first != second
    assert is_canary_name(first)
    assert is_canary_name(second)


def test_discovery_finds_template_canaries_and_sets_aside_tag_only_functions(
    account: Account,
) -> None:
    # Given two canaries deployed by the template (one per stack) in one VPC, one in another,
    canary_a = account.function(
        template_canary_name(SAMPLE_VPC_ID, "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"),
        {CANARY_TAG_KEY: SAMPLE_VPC_ID},
    )
    canary_b = account.function(
        template_canary_name(SAMPLE_VPC_ID, "9a8b7c6d-1e2f-4a3b-8c4d-5e6f7a8b9c0d"),
        {CANARY_TAG_KEY: SAMPLE_VPC_ID},
    )
    other = account.function(
        template_canary_name(OTHER_VPC_ID, "11111111-2222-4333-8444-555555555555"),
        {CANARY_TAG_KEY: OTHER_VPC_ID},
    )
    # a function that only carries the tag, one that only has the name, and an unrelated one
    impostor = account.function("payments-fake-ok", {CANARY_TAG_KEY: SAMPLE_VPC_ID})
    account.function(f"{CANARY_FUNCTION_NAME_PREFIX}untagged", {"team": "network"})
    account.function("unrelated", {})
    directory = CanaryDirectory(client=account.tagging)

    # When the checker looks for canaries, Then only the template's functions are canaries
    assert directory.for_vpc(SAMPLE_VPC_ID) == tuple(sorted((canary_a, canary_b)))
    assert directory.all_by_vpc() == {
        SAMPLE_VPC_ID: tuple(sorted((canary_a, canary_b))),
        OTHER_VPC_ID: (other,),
    }
    # and the tag-only function is reported apart, never as a canary
    assert directory.rejected_for_vpc(SAMPLE_VPC_ID) == (impostor,)
    assert directory.rejected_for_vpc(OTHER_VPC_ID) == ()
    assert directory.rejected_by_vpc() == {SAMPLE_VPC_ID: (impostor,)}


def test_a_function_named_only_the_prefix_is_not_a_canary() -> None:
    assert not is_canary_name(CANARY_FUNCTION_NAME_PREFIX)
    assert not is_canary_name("my-vpc-dns-canary-x")
    assert is_canary_name(f"{CANARY_FUNCTION_NAME_PREFIX}{SAMPLE_VPC_ID}-0f1e2d3c")


@pytest.mark.parametrize(
    ("arn", "name"),
    [
        ("arn:aws:lambda:us-east-1:123456789012:function:vpc-dns-canary-x", "vpc-dns-canary-x"),
        ("arn:aws:lambda:us-east-1:123456789012:function:vpc-dns-canary-x:7", "vpc-dns-canary-x"),
        ("arn:aws-cn:lambda:cn-north-1:123456789012:function:f", "f"),
        ("arn:aws:lambda:us-east-1:123456789012:layer:vpc-dns-canary-x:1", ""),
        ("not an arn", ""),
    ],
)
def test_function_name_comes_from_the_arn(arn: str, name: str) -> None:
    assert function_name(arn) == name
