"""Each invocation's run budget comes from its own Lambda context, never from an earlier one.

The checker's clients are cached per execution environment; the time one invocation may spend
must not be: a preflight after a short check in the same warm environment still refreshes a
stale canary (regression: the deadline was kept on the cached checker, and preflights never set
their own).
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import pytest
from checker_doubles import FakeCanary, World

from devtools.lambdakit import FakeLambdaContext

pytestmark = pytest.mark.integration

CHECKER = "vpc-dns-watchdog-checker"


def test_preflight_in_a_warm_environment_gets_its_own_time(
    world: World, load_handler: Callable[[str], ModuleType]
) -> None:
    # Given a watched VPC and a warm checker whose last invocation had only 15 s left
    vpc_id = world.create_vpc("10.0.0.0/16")
    world.associate(vpc_id, world.option_set("AmazonProvidedDNS"))
    world.add_canary(vpc_id, "vpc-dns-canary-a", FakeCanary())
    app = load_handler("checker")
    short = FakeLambdaContext(CHECKER, timeout_ms=15_000)
    assert app.lambda_handler({"action": "check", "vpc_ids": [vpc_id]}, short)["status"] == (
        "checked"
    )
    # and a canary whose warm environment still sees the VPC's old server
    world.add_canary(vpc_id, "vpc-dns-canary-stale", FakeCanary(stale_servers=["10.0.0.99"]))
    candidate = world.option_set("10.0.0.2")

    # When a preflight arrives with the checker's full time
    result = app.lambda_handler(
        {"action": "preflight", "dhcp_options_id": candidate, "vpc_ids": [vpc_id]},
        FakeLambdaContext(CHECKER, timeout_ms=120_000),
    )

    # Then the stale canary is refreshed and asked again within this invocation's budget
    assert world.function_environment("vpc-dns-canary-stale").get("WATCHDOG_OPTION_SET")
    assert len(world.router.invocations("vpc-dns-canary-stale")) == 2
    [prediction] = result["vpcs"]
    assert prediction["verdict"] == "OK", prediction


def test_preflight_in_a_cold_environment_is_bounded_by_its_context(
    world: World, load_handler: Callable[[str], ModuleType]
) -> None:
    # Given a cold checker whose preflight invocation has little time left
    vpc_id = world.create_vpc("10.0.0.0/16")
    world.associate(vpc_id, world.option_set("AmazonProvidedDNS"))
    world.add_canary(vpc_id, "vpc-dns-canary-stale", FakeCanary(stale_servers=["10.0.0.99"]))
    candidate = world.option_set("10.0.0.2")
    app = load_handler("checker")

    # When the preflight runs with 12 s left (less than a refresh and a second Invoke need)
    result = app.lambda_handler(
        {"action": "preflight", "dhcp_options_id": candidate, "vpc_ids": [vpc_id]},
        FakeLambdaContext(CHECKER, timeout_ms=12_000),
    )

    # Then it does not start a refresh it cannot finish, and says the canary was not verified
    assert "WATCHDOG_OPTION_SET" not in world.function_environment("vpc-dns-canary-stale")
    assert len(world.router.invocations("vpc-dns-canary-stale")) == 1
    [prediction] = result["vpcs"]
    assert prediction["verdict"] != "OK", prediction
