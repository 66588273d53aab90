"""The layering rule (docs/architecture.md): pure domain modules import no AWS SDK, adapters are
the only boto3 users, renderers build on the domain alone, no checker module borrows another's
private names, and the canary never imports boto3.

Read from the source (the import statements, followed through each function's own package), so
the rule holds for every module, whatever a test process happens to have loaded already.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"
CHECKER = FUNCTIONS / "checker"
CANARY = FUNCTIONS / "canary"

# The checker's pure domain: plain data in, decisions out.
CHECKER_PURE = (
    *(
        f"{layer}.{path.stem}"
        for layer in ("domain", "render")
        for path in sorted((CHECKER / "dns_watchdog" / layer).glob("*.py"))
        if path.stem != "__init__"
    ),
    "config",
    "constants",
)
# The only checker modules allowed to import boto3 / botocore: the adapters, and the wiring that
# builds them.
CHECKER_ADAPTERS = {
    *(
        f"aws.{path.stem}"
        for path in (CHECKER / "dns_watchdog" / "aws").glob("*.py")
        if path.stem != "__init__"
    ),
    # The wiring: it builds the adapters' clients.
    "flow.runtime",
    "flow.places",
    "flow.fanout",
}
