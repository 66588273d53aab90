"""Every template parameter, with the example values its description documents, is accepted by
AWS wherever it flows.

cfn-lint checks literal property values against the CloudFormation resource schemas, but it
cannot see a value that comes in through a parameter: a parameter whose AllowedPattern and
examples tell users one form while the resource wants another (a Teams channel id entered
URL-decoded where the schema requires ``%3a`` and ``%40``) passes every gate here and fails the
deploy. So, for each template and each parameter (and the pseudo parameter ``AWS::StackName``,
at its shortest and longest), the stack is resolved with each documented value: the examples in
its Description / ConstraintDescription ("such as ...", "e.g. ..."), its Default, its
AllowedValues and its MinValue / MaxValue. Every resource the stack then creates is checked
against its resource schema (pattern, length, enum, range) and, where the creating API is stricter
than the schema, against botocore's model of that API (aws_limits.API_OF). A value passed on to the
nested canary stack is held to the canary template's own parameter constraints.

Each value is checked in two shapes of the stack: defaults only, and every optional feature on
(both chat channels, the Roll back button, organization mode, self-healing, the blocking rule,
the dashboard...), so that the resources a parameter feeds exist.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from aws_limits import API_OF, property_problems
from iac_template import CANARY_TEMPLATE, MAIN_TEMPLATE, MEMBER_TEMPLATE, load_template
from stack_model import StackResolver

pytestmark = pytest.mark.iac

TEMPLATES = {path.name: path for path in (MAIN_TEMPLATE, MEMBER_TEMPLATE, CANARY_TEMPLATE)}
LOADED = {name: load_template(path) for name, path in TEMPLATES.items()}

# "such as X", "e.g. X", "for example X": one documented example each.
_EXAMPLE = re.compile(r"(?:such as|e\.g\.|for example)\s+\"?([^\s\"]+)")
# CloudFormation stack names: a letter, then letters, digits and hyphens, at most 128.
STACK_NAMES = ["vpc-dns-watchdog", "v" + "-watchdog" * 13 + "-123456789"]

# The stack with every optional feature on: the values that switch each one on (the rest come
# from each parameter's first documented example).
FEATURES_ON: dict[str, dict[str, Any]] = {
    "template.yaml": {
        "ChatRollbackAction": "true",
        "CreateDashboard": "true",
        "NameBlockingRule": "true",
        "SelfHealing": "on",
        "EncryptOperationsTopic": "true",
        "DetailedMetrics": "true",
        # A topic of one's own replaces the one the stack creates: checked on its own below.
        "OperationsTopicArn": "",
    },
    "member-template.yaml": {"SelfHealing": "on", "NameBlockingRule": "true"},
    "canary-template.yaml": {},
}
# Stand-ins for what only the parent stack knows (the nested canary's outputs).
DEPLOYED = {"CanaryStack.Outputs.CanarySecurityGroupIds": "sg-0a1b2c3d4e5f60053"}


def parameter_names(template: str) -> list[str]:
    return sorted(LOADED[template]["Parameters"])


def examples(parameter: dict[str, Any]) -> list[str]:
    """The example values a parameter's description and constraint description document."""
    text = f"{parameter.get('Description', '')} {parameter.get('ConstraintDescription', '')}"
    return [match.rstrip(".,;)") for match in _EXAMPLE.findall(text)]


def documented_values(parameter: dict[str, Any]) -> list[Any]:
    """Every value a parameter's documentation and constraints name as acceptable."""
    values: list[Any] = [*examples(parameter)]
    values += list(parameter.get("AllowedValues", []))
    for key in ("Default", "MinValue", "MaxValue"):
        if key in parameter:
            values.append(parameter[key])
    unique = []
    for value in values:
        if str(value) not in {str(v) for v in unique}:
            unique.append(value)
    return unique


def as_parameter_value(parameter: dict[str, Any], value: Any) -> Any:
    """What CloudFormation hands the template for ``value``: a list for a CommaDelimitedList."""
    if parameter["Type"] == "CommaDelimitedList":
        return str(value).split(",")
    return value


def base_values(template: str, features_on: bool) -> dict[str, Any]:
    """Required parameters at their first example; with ``features_on``, every parameter at its
    first example or the value that switches its feature on."""
    values: dict[str, Any] = dict(DEPLOYED)
    for name, parameter in LOADED[template]["Parameters"].items():
        documented = examples(parameter)
        if "Default" not in parameter or (features_on and documented):
            assert documented, f"{template}: {name} has no default and documents no example"
            values[name] = as_parameter_value(parameter, documented[0])
    if features_on:
        values.update(FEATURES_ON[template])
    return values


def stack(template: str, values: dict[str, Any]) -> StackResolver:
    region = str(values.get("AWS::Region", "us-east-1"))
    return StackResolver(LOADED[template], values, region=region)


def problems(template: str, values: dict[str, Any]) -> set[str]:
    """Everything AWS would refuse in the stack these values make."""
    resolver = stack(template, values)
    found: set[str] = set()
    for logical_id, resource in LOADED[template]["Resources"].items():
        if not resolver.created(logical_id):
            continue
        properties = resolver.resolve(resource.get("Properties", {}))
        resource_type = resource["Type"]
        if resource_type == "AWS::Serverless::Application":
            found.update(nested_parameter_problems(logical_id, properties))
            continue
        found.update(property_problems(resource_type, properties, logical_id))
        if resource_type in API_OF:
            found.update(API_OF[resource_type].problems(properties, logical_id))
    return found


def nested_parameter_problems(logical_id: str, properties: dict[str, Any]) -> list[str]:
    """A value handed to the nested canary stack against the canary template's constraints."""
    nested = load_template(MAIN_TEMPLATE.parent / properties["Location"])["Parameters"]
    found = []
    for name, value in properties.get("Parameters", {}).items():
        constraint = nested[name]
        where = f"{logical_id}.Parameters.{name}"
        text = str(value)
        pattern = constraint.get("AllowedPattern")
        if pattern is not None and not re.fullmatch(pattern, text):
            found.append(f"{where}: {text!r} does not match the canary's {pattern}")
        allowed = constraint.get("AllowedValues")
        if allowed is not None and text not in {str(v) for v in allowed}:
            found.append(f"{where}: {text!r} is not one of the canary's {allowed}")
        for bound, below in (("MinValue", True), ("MaxValue", False)):
            if bound in constraint and (
                float(text) < constraint[bound] if below else float(text) > constraint[bound]
            ):
                found.append(f"{where}: {text} is outside the canary's {bound} {constraint[bound]}")
    return found


CASES = [
    (template, name, value)
    for template in TEMPLATES
    for name in parameter_names(template)
    for value in documented_values(LOADED[template]["Parameters"][name])
] + [(template, "AWS::StackName", name) for template in TEMPLATES for name in STACK_NAMES]


@pytest.mark.parametrize("template", TEMPLATES)
@pytest.mark.parametrize("features_on", [False, True], ids=["defaults", "features-on"])
def test_the_stack_with_documented_values_is_accepted(template: str, features_on: bool) -> None:
    assert sorted(problems(template, base_values(template, features_on))) == []


@pytest.mark.parametrize(
    ("template", "parameter", "value"), CASES, ids=[f"{t}:{p}={v}" for t, p, v in CASES]
)
def test_every_documented_value_is_accepted_wherever_it_flows(
    template: str, parameter: str, value: Any
) -> None:
    declared = LOADED[template]["Parameters"].get(parameter, {"Type": "String"})
    for features_on in (False, True):
        base = base_values(template, features_on)
        values = {**base, parameter: as_parameter_value(declared, value)}
        introduced = problems(template, values) - problems(template, base)
        assert sorted(introduced) == [], (
            f"{parameter}={value!r} ({'features on' if features_on else 'defaults'})"
        )


@pytest.mark.parametrize("template", TEMPLATES)
def test_every_free_text_parameter_documents_an_example(template: str) -> None:
    # (without one, the test above checks nothing but the default for it)
    undocumented = [
        name
        for name, parameter in LOADED[template]["Parameters"].items()
        if parameter["Type"] in ("String", "CommaDelimitedList")
        and "AllowedValues" not in parameter
        and not examples(parameter)
    ]
    assert undocumented == []


@pytest.mark.parametrize("template", TEMPLATES)
def test_documented_examples_pass_the_parameters_own_constraint(template: str) -> None:
    for name, parameter in LOADED[template]["Parameters"].items():
        pattern = parameter.get("AllowedPattern")
        for example in examples(parameter):
            assert pattern is None or re.fullmatch(pattern, example), (name, example, pattern)


def test_a_parameter_passed_to_the_canary_stack_has_the_canarys_constraints() -> None:
    # The console and `sam deploy` check the parent's constraint; the nested stack, created
    # later, checks its own: they must agree, or a value the parent takes fails half-way.
    main = LOADED["template.yaml"]
    nested = load_template(CANARY_TEMPLATE)["Parameters"]
    passed = main["Resources"]["CanaryStack"]["Properties"]["Parameters"]
    keys = ("AllowedPattern", "AllowedValues", "MinValue", "MaxValue")
    for name, value in passed.items():
        if isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] in main["Parameters"]:
            parent = main["Parameters"][value["Ref"]]
            assert {k: parent.get(k) for k in keys} == {k: nested[name].get(k) for k in keys}, name
