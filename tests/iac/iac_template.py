"""Reading the templates the way the tests need them: parsed, nested stacks followed, the few
intrinsic functions the tests care about resolved against sample values; the EventBridge rules on a
moto bus; the cfn-lint and checkov gates, shared by every template's tests."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import boto3
from samtranslator.yaml_helper import yaml_parse

# EVENTS_DIR and load_event are the kit's, re-exported for the IaC tests.
from devtools.lambdakit import EVENTS_DIR, REPO_ROOT, load_event  # noqa: F401

MAIN_TEMPLATE = REPO_ROOT / "template.yaml"
CANARY_TEMPLATE = REPO_ROOT / "canary-template.yaml"
MEMBER_TEMPLATE = REPO_ROOT / "member-template.yaml"

# checkov lives in its own venv (`make checkov` creates it).
CHECKOV = REPO_ROOT / ".venv" / "checkov" / "bin" / "checkov"
# cfn-lint checks resource types and values against these regions' specifications.
LINT_REGIONS = ["us-east-1", "eu-west-1"]

# The ids the sample events use (events/*.json).
SAMPLE_ACCOUNT = "123456789012"
SAMPLE_REGION = "us-east-1"
SAMPLE_VPC_ID = "vpc-0a1b2c3d4e5f60718"
SAMPLE_CANARY_SG_ID = "sg-0a1b2c3d4e5f60053"


def load_template(path: Path) -> dict[str, Any]:
    template: dict[str, Any] = yaml_parse(path.read_text())
    return template


# What a Ref to AWS::NoValue resolves to: the list item or property it stands for is left out.
NO_VALUE = object()


class UnresolvedIntrinsic(ValueError):
    """The template uses an intrinsic function or reference the sample values do not cover."""


class _NoValue:
    """What ``Ref: AWS::NoValue`` resolves to: the list item or property is left out."""


NO_VALUE: Final = _NoValue()


@dataclass
class Resolver:
    """Resolves Ref, Fn::GetAtt, Fn::If, Fn::Equals, Fn::Not, Fn::And, Fn::Or, Condition,
    Fn::Join, Fn::Split, Fn::Select, Fn::FindInMap and Fn::Sub.

    ``values`` maps a parameter or resource logical id (or ``Resource.Attribute``) to its value;
    parameters not in ``values`` take their template default.
    """

    template: dict[str, Any]
    values: dict[str, Any]

    def value_of(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        parameter = self.template.get("Parameters", {}).get(name)
        if name in self.values:
            value = self.values[name]
            # CloudFormation hands a Number parameter to intrinsic functions as a string
            is_number = parameter is not None and parameter["Type"] == "Number"
            return str(value) if is_number else value
        if parameter is not None and "Default" in parameter:
            default = parameter["Default"]
            if parameter["Type"] == "CommaDelimitedList":
                return str(default).split(",")
            if parameter["Type"] == "Number":
                return str(default)
            return default
        pseudo = {
            "AWS::Region": SAMPLE_REGION,
            "AWS::AccountId": SAMPLE_ACCOUNT,
            "AWS::Partition": "aws",
            "AWS::StackName": "vpc-dns-watchdog",
        }
        if name in pseudo:
            return pseudo[name]
        raise UnresolvedIntrinsic(f"no sample value for {name!r}")

    def condition(self, name: str) -> bool:
        return bool(self.resolve(self.template["Conditions"][name]))

    def resolve(self, node: Any) -> Any:
        """The node resolved; a list item or property that is AWS::NoValue is left out."""
        if isinstance(node, list):
            return [item for item in map(self.resolve, node) if item is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, arg),) = node.items()
            if key == "Condition" and isinstance(arg, str):
                return self.condition(arg)
            if key == "Ref":
                return NO_VALUE if arg == "AWS::NoValue" else self.value_of(arg)
            if key.startswith("Fn::"):
                handler = getattr(self, "fn_" + key.removeprefix("Fn::"), None)
                if handler is None:
                    raise UnresolvedIntrinsic(f"{key} is not supported here")
                return handler(arg)
        resolved = {key: self.resolve(value) for key, value in node.items()}
        return {key: value for key, value in resolved.items() if value is not NO_VALUE}

    def fn_GetAtt(self, arg: list[str]) -> Any:
        return self.value_of(".".join(arg))

    def fn_If(self, arg: list[Any]) -> Any:
        name, if_true, if_false = arg
        return self.resolve(if_true if self.condition(name) else if_false)

    def fn_Equals(self, arg: list[Any]) -> bool:
        left, right = (self.resolve(item) for item in arg)
        return bool(left == right)

    def fn_Not(self, arg: list[Any]) -> bool:
        return not self.resolve(arg[0])

    def fn_And(self, arg: list[Any]) -> bool:
        return all(self.resolve(item) for item in arg)

    def fn_Or(self, arg: list[Any]) -> bool:
        return any(self.resolve(item) for item in arg)

    def fn_Join(self, arg: list[Any]) -> str:
        separator, items = arg
        return str(separator).join(str(item) for item in self.resolve(items))

    def fn_Split(self, arg: list[Any]) -> list[str]:
        separator, text = arg
        return str(self.resolve(text)).split(separator)

    def fn_FindInMap(self, arg: list[Any]) -> Any:
        name, key, attribute = (str(self.resolve(item)) for item in arg)
        return self.template["Mappings"][name][key][attribute]

    def fn_Select(self, arg: list[Any]) -> Any:
        index, items = arg
        return self.resolve(items)[int(self.resolve(index))]

    def fn_Sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
        out, rest = "", text
        while "${" in rest:
            before, _, after = rest.partition("${")
            name, _, rest = after.partition("}")
            value = self.resolve(variables[name]) if name in variables else self.value_of(name)
            out += before + str(value)
        return out + rest


def serverless_functions(template_path: Path) -> dict[str, tuple[Path, dict[str, Any], Path]]:
    """Logical id -> (template path, function resource, code directory), nested stacks included.

    A nested application with a local ``Location`` is followed, the way ``sam build`` does.
    """
    template = load_template(template_path)
    found: dict[str, tuple[Path, dict[str, Any], Path]] = {}
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            code_dir = (template_path.parent / resource["Properties"]["CodeUri"]).resolve()
            found[logical_id] = (template_path, resource, code_dir)
        elif resource["Type"] == "AWS::Serverless::Application":
            location = resource["Properties"]["Location"]
            if isinstance(location, str) and not location.startswith(("s3://", "https://")):
                found.update(serverless_functions(template_path.parent / location))
    return found


def eventbridge_rules(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The checker's EventBridge event sources (SAM events), by event name."""
    events = template["Resources"]["CheckerFunction"]["Properties"]["Events"]
    return {
        name: event["Properties"]
        for name, event in events.items()
        if event["Type"] == "EventBridgeRule"
    }


def checker_rule_patterns(watched_security_groups: str = "") -> dict[str, dict[str, Any]]:
    """The patterns of template.yaml's checker rules, by event name, with the sample canary's
    security group and ``watched_security_groups`` (comma separated) as the watched groups."""
    template = load_template(MAIN_TEMPLATE)
    resolver = Resolver(
        template,
        {
            "CanaryStack.Outputs.CanarySecurityGroupIds": SAMPLE_CANARY_SG_ID,
            "WatchedSecurityGroupIds": watched_security_groups.split(","),
        },
    )
    return {
        name: resolver.resolve(properties["Pattern"])
        for name, properties in eventbridge_rules(template).items()
    }


class Bus:
    """moto EventBridge (inside ``mock_aws``) with one SQS queue per rule: put sample events on
    the bus, then ask which rules they triggered."""

    def __init__(self, patterns: dict[str, dict[str, Any]]) -> None:
        self.events = boto3.client("events", region_name=SAMPLE_REGION)
        self.sqs = boto3.client("sqs", region_name=SAMPLE_REGION)
        self.queues: dict[str, str] = {}
        for name, pattern in patterns.items():
            self.events.put_rule(Name=name, EventPattern=json.dumps(pattern), State="ENABLED")
            url = self.sqs.create_queue(QueueName=f"rule-{name}")["QueueUrl"]
            arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
                "Attributes"
            ]["QueueArn"]
            self.events.put_targets(Rule=name, Targets=[{"Id": "queue", "Arn": arn}])
            self.queues[name] = url

    def put(self, event: dict[str, Any]) -> None:
        if "detail-type" in event:
            entry = {
                "Source": event["source"],
                "DetailType": event["detail-type"],
                "Detail": json.dumps(event["detail"]),
                "Resources": event.get("resources", []),
            }
        else:  # a bare payload (manual check): what it would look like if put on the bus
            entry = {
                "Source": "vpc-dns-watchdog.manual",
                "DetailType": "Manual check",
                "Detail": json.dumps(event),
            }
        response = self.events.put_events(Entries=[entry])  # type: ignore[list-item]
        assert response["FailedEntryCount"] == 0, response

    def triggered(self) -> set[str]:
        hit = set()
        for name, url in self.queues.items():
            messages = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
            for message in messages.get("Messages", []):
                hit.add(name)
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return hit


def cfn_lint_findings(template: Path) -> list[str]:
    """What cfn-lint reports for ``template`` (nothing, for a clean one)."""
    from cfnlint.api import ManualArgs, lint_file  # heavy: only the modules that lint load it

    return [str(match) for match in lint_file(template, ManualArgs(regions=LINT_REGIONS))]


def checkov_problems(template: Path) -> str | None:
    """Why checkov does not pass ``template`` (its output), or None when it passes: no failed
    check, no parsing error, and some checks did run. Offline (--skip-download)."""
    result = subprocess.run(
        [
            str(CHECKOV),
            "--quiet",
            "--compact",
            "--skip-download",
            "--framework",
            "cloudformation",
            "-f",
            str(template),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=110,
    )
    output = result.stdout + result.stderr
    passed = (
        result.returncode == 0
        and "Failed checks: 0," in result.stdout
        and "Parsing errors" not in result.stdout
        and "Passed checks: 0," not in result.stdout  # the template was read and checked
    )
    return None if passed else output


def checkov_suppressions(template: Path) -> list[tuple[str, dict[str, Any]]]:
    """Every checkov skip in the template's resource metadata, with its resource's logical id."""
    return [
        (logical_id, skip)
        for logical_id, resource in load_template(template)["Resources"].items()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]
