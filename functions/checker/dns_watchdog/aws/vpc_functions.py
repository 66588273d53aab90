"""Lambda adapter: the names of the functions attached to a VPC (besides the canaries).

The workload evidence's source of function names until a discovery of the VPC's workloads
supplies them: one paginated ListFunctions, kept where `VpcConfig.VpcId` is the VPC. One small
function, so it can be replaced by that discovery without touching the evidence itself.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from dns_watchdog.constants import CANARY_FUNCTION_NAME_PREFIX
from dns_watchdog.domain.errors import AwsCallFailed

# The Lambda operations this adapter calls (aws/sessions.py cuts member clients' models to them).
LIST_FUNCTIONS_OPERATIONS = frozenset({"ListFunctions"})


def functions_in_vpc(client: Any, vpc_id: str) -> tuple[str, ...]:
    """The VPC's functions by name, the canaries left out. Raises AwsCallFailed."""
    names: list[str] = []
    try:
        for page in client.get_paginator("list_functions").paginate():
            for function in page.get("Functions", []):
                attached = (function.get("VpcConfig") or {}).get("VpcId")
                name = function.get("FunctionName", "")
                if attached == vpc_id and not name.startswith(CANARY_FUNCTION_NAME_PREFIX):
                    names.append(name)
    except (ClientError, BotoCoreError) as exc:
        raise AwsCallFailed(f"could not list the functions of {vpc_id}: {exc}") from exc
    return tuple(sorted(names))
