"""The checker's budgets in the template agree with its constants and configuration: the daily
Reachability analyses per VPC and per account, and the window in which a re-association of an
unchanged option set is coalesced (template parameters passed to the checker's environment,
their defaults and bounds the constants' and the configuration's)."""

from __future__ import annotations

from typing import Any

import pytest
from dns_watchdog import constants
from dns_watchdog.config import CheckerConfig
from iac_template import MAIN_TEMPLATE, load_template

pytestmark = pytest.mark.iac

MAIN = load_template(MAIN_TEMPLATE)
CHECKER_ENV: dict[str, Any] = MAIN["Resources"]["CheckerFunction"]["Properties"]["Environment"][
    "Variables"
]

# (parameter, environment variable, configuration field, default)
BUDGETS = [
    (
        "BlockingAnalysesPerVpcPerDay",
        constants.BLOCKING_ANALYSES_PER_VPC_PER_DAY_ENV,
        "blocking_analyses_per_vpc_per_day",
        constants.DEFAULT_BLOCKING_ANALYSES_PER_VPC_PER_DAY,
    ),
    (
        "BlockingAnalysesPerAccountPerDay",
        constants.BLOCKING_ANALYSES_PER_ACCOUNT_PER_DAY_ENV,
        "blocking_analyses_per_account_per_day",
        constants.DEFAULT_BLOCKING_ANALYSES_PER_ACCOUNT_PER_DAY,
    ),
    (
        "ChangeCoalesceSeconds",
        constants.CHANGE_COALESCE_WINDOW_S_ENV,
        "change_coalesce_window_s",
        constants.DEFAULT_CHANGE_COALESCE_WINDOW_S,
    ),
]


def _bounds(field: str) -> tuple[float, float]:
    metadata = CheckerConfig.model_fields[field].metadata
    low = next(m.ge for m in metadata if hasattr(m, "ge"))
    high = next(m.le for m in metadata if hasattr(m, "le"))
    return low, high


@pytest.mark.parametrize(("parameter", "variable", "field", "default"), BUDGETS)
def test_each_budget_is_a_parameter_passed_to_the_checker(
    parameter: str, variable: str, field: str, default: int
) -> None:
    declared = MAIN["Parameters"][parameter]
    assert declared["Type"] == "Number"
    assert CHECKER_ENV[variable] == {"Ref": parameter}
    # The template's default and bounds are the checker's
    assert int(declared["Default"]) == default == CheckerConfig.model_fields[field].default
    assert (declared["MinValue"], declared["MaxValue"]) == _bounds(field)


def test_the_budgets_sit_with_the_blocking_rule_in_the_console() -> None:
    groups = MAIN["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
    [group] = [g for g in groups if "NameBlockingRule" in g["Parameters"]]
    daily = {"BlockingAnalysesPerVpcPerDay", "BlockingAnalysesPerAccountPerDay"}
    assert daily <= set(group["Parameters"])
