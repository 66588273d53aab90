"""EC2 and Lambda adapter: the network interfaces of one VPC and the functions attached to it.

Read only when an alert is about to go out (never per sweep target): one paginated
`DescribeNetworkInterfaces` with a `vpc-id` filter, and Lambda's `ListFunctions` (every function
of the account in the region, 50 a page, at most `MAX_FUNCTION_PAGES` pages) kept where
`VpcConfig.VpcId` is the VPC. Both run with the place's clients (organization mode: the member
role). A failure raises `WorkloadsUnreadable` naming the call and AWS's error code; the caller
pages without the blast radius, saying why.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from dns_watchdog.aws.calls import read_error
from dns_watchdog.domain.errors import AwsCallFailed
from dns_watchdog.domain.workloads import Interface, function_name

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_lambda import LambdaClient

# The operations this adapter calls (member clients are built with only the declared ones).
WORKLOAD_EC2_OPERATIONS = frozenset({"DescribeNetworkInterfaces"})
WORKLOAD_LAMBDA_OPERATIONS = frozenset({"ListFunctions"})
# ListFunctions returns at most 50 functions a page: 10 pages list 500 functions. Beyond that
# the census says "at least" and never lowers a page's priority.
MAX_FUNCTION_PAGES = 10
FUNCTIONS_PER_PAGE = 50
# DescribeNetworkInterfaces' largest page (botocore model: MaxResults 5..1000).
INTERFACES_PER_PAGE = 1000


class WorkloadsUnreadable(AwsCallFailed):
    """The VPC's interfaces or functions could not be read; the message says which and why."""


class WorkloadDirectory:
    """Reads what runs in a VPC (clients injectable; the place's own)."""

    def __init__(self, ec2: EC2Client, lambda_client: LambdaClient) -> None:
        self._ec2 = ec2
        self._lambda = lambda_client

    def interfaces(self, vpc_id: str) -> list[Interface]:
        """Every network interface in the VPC."""
        paginator = self._ec2.get_paginator("describe_network_interfaces")
        found: list[Interface] = []
        try:
            for page in paginator.paginate(
                Filters=[{"Name": "vpc-id", "Values": [vpc_id]}],
                PaginationConfig={"PageSize": INTERFACES_PER_PAGE},
            ):
                found += [_interface(raw) for raw in page.get("NetworkInterfaces", [])]
        except (ClientError, BotoCoreError) as exc:
            raise WorkloadsUnreadable(_why("ec2:DescribeNetworkInterfaces", exc)) from exc
        return found

    def functions_in(self, vpc_id: str) -> tuple[list[str], bool]:
        """The names of the account's functions attached to the VPC, and whether every function
        was read (False: more than `MAX_FUNCTION_PAGES` pages of them)."""
        paginator = self._lambda.get_paginator("list_functions")
        pages = paginator.paginate(
            PaginationConfig={
                "PageSize": FUNCTIONS_PER_PAGE,
                "MaxItems": FUNCTIONS_PER_PAGE * MAX_FUNCTION_PAGES,
            }
        )
        names: list[str] = []
        try:
            for page in pages:
                names += [
                    function_name(str(f.get("FunctionName") or f.get("FunctionArn") or ""))
                    for f in page.get("Functions", [])
                    if (f.get("VpcConfig") or {}).get("VpcId") == vpc_id
                ]
        except (ClientError, BotoCoreError) as exc:
            raise WorkloadsUnreadable(_why("lambda:ListFunctions", exc)) from exc
        return names, pages.resume_token is None


def _interface(raw: Any) -> Interface:
    attachment = raw.get("Attachment") or {}
    return Interface(
        interface_id=str(raw.get("NetworkInterfaceId", "")),
        interface_type=str(raw.get("InterfaceType") or "interface"),
        owner_id=str(raw.get("OwnerId", "")),
        description=str(raw.get("Description") or ""),
        requester_managed=bool(raw.get("RequesterManaged", False)),
        instance_id=attachment.get("InstanceId"),
    )


def _why(call: str, exc: ClientError | BotoCoreError) -> str:
    error = read_error(exc)
    message = f": {error.message}" if error.message and error.answered else ""
    return f"{call} failed ({error.code}{message})"
