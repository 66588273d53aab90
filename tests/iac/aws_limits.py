"""AWS's own published limits, read from what is installed: the CloudFormation resource schemas
cfn-lint ships (pattern, length, enum and range of every resource property) and botocore's service
models (the same for every API parameter; often stricter than the schema, e.g. a Chatbot custom
action's command text: 5,000 characters in the schema, 100 in the API).

Both are checked on plain resolved values (what a deployment would send), leaf by leaf, with the
checks that decide whether AWS accepts a value: string pattern, length and enum; number range and
enum. Types are not checked: CloudFormation hands every parameter to a property as a string and
converts it, so "30" for an integer is what a real stack sends too.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import botocore.session
import regex as re  # what cfn-lint matches schema patterns with: \p{...} classes included
from botocore.model import ListShape, MapShape, Shape, StructureShape

SCHEMA_REGION = "us-east-1"


# ---------------------------------------------------------------- CloudFormation resource schemas


@functools.cache
def resource_schema(resource_type: str) -> dict[str, Any]:
    """The resource type's schema as cfn-lint ships it (SAM's types included)."""
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER  # heavy: only the tests that use it

    schema: dict[str, Any] = PROVIDER_SCHEMA_MANAGER.get_resource_schema(
        SCHEMA_REGION, resource_type
    ).schema
    return schema


def _ref(schema: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    while "$ref" in schema and str(schema["$ref"]).startswith("#/"):
        node: Any = root
        for part in str(schema["$ref"])[2:].split("/"):
            node = node[part]
        schema = {**node, **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def schema_problems(
    value: Any, schema: Mapping[str, Any], root: Mapping[str, Any], where: str
) -> list[str]:
    """Why AWS would refuse ``value`` for a property with this (sub)schema; [] when it would not."""
    schema = _ref(schema, root)
    for alternatives in ("anyOf", "oneOf"):
        if alternatives in schema:
            branches = [
                schema_problems(value, branch, root, where) for branch in schema[alternatives]
            ]
            if all(branches):
                return [f"{where}: no alternative accepts {value!r} ({branches[0][0]})"]
    if isinstance(value, dict):
        return _object_problems(value, schema, root, where)
    if isinstance(value, list):
        items = schema.get("items", {})
        problems = [
            p for i, v in enumerate(value) for p in schema_problems(v, items, root, f"{where}[{i}]")
        ]
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            problems.append(f"{where}: {len(value)} items, at most {schema['maxItems']}")
        return problems
    return _scalar_problems(value, schema, where)


def _object_problems(
    value: Mapping[str, Any], schema: Mapping[str, Any], root: Mapping[str, Any], where: str
) -> list[str]:
    problems: list[str] = []
    properties = schema.get("properties", {})
    patterns = schema.get("patternProperties", {})
    for key, item in value.items():
        sub: Mapping[str, Any] | None = properties.get(key)
        if sub is None:
            sub = next((s for p, s in patterns.items() if re.search(p, key)), None)
        if sub is None and isinstance(schema.get("additionalProperties"), dict):
            sub = schema["additionalProperties"]
        if sub is not None:
            problems += schema_problems(item, sub, root, f"{where}.{key}")
    if "maxProperties" in schema and len(value) > schema["maxProperties"]:
        problems.append(f"{where}: {len(value)} entries, at most {schema['maxProperties']}")
    return problems


def _scalar_problems(value: Any, schema: Mapping[str, Any], where: str) -> list[str]:
    problems = []
    text = str(value).lower() if isinstance(value, bool) else str(value)
    if "enum" in schema and text not in {str(v) for v in schema["enum"]}:
        problems.append(f"{where}: {text!r} is not one of {schema['enum']}")
    if "pattern" in schema and isinstance(value, str) and not re.search(schema["pattern"], value):
        problems.append(f"{where}: {value!r} does not match {schema['pattern']}")
    if isinstance(value, str) and "maxLength" in schema and len(value) > schema["maxLength"]:
        problems.append(f"{where}: {len(value)} characters, at most {schema['maxLength']}")
    if isinstance(value, str) and "minLength" in schema and len(value) < schema["minLength"]:
        problems.append(f"{where}: {len(value)} characters, at least {schema['minLength']}")
    number = _number(value) if schema.get("type") in ("integer", "number") else None
    if number is not None and "minimum" in schema and number < schema["minimum"]:
        problems.append(f"{where}: {value} is below {schema['minimum']}")
    if number is not None and "maximum" in schema and number > schema["maximum"]:
        problems.append(f"{where}: {value} is above {schema['maximum']}")
    return problems


def property_problems(resource_type: str, properties: Mapping[str, Any], where: str) -> list[str]:
    """What the resource schema says against these (resolved) properties."""
    schema = resource_schema(resource_type)
    return _object_problems(properties, schema, schema, where)


# ---------------------------------------------------------------- botocore service models


@functools.cache
def _session() -> botocore.session.Session:
    return botocore.session.get_session()


def api_shape(service: str, operation: str, *member_path: str) -> Shape:
    """The input shape of ``service``'s ``operation``, or the member at ``member_path`` in it."""
    shape: Shape = _session().get_service_model(service).operation_model(operation).input_shape
    for member in member_path:
        shape = _members(shape)[member]
    return shape


def _members(shape: Shape) -> Mapping[str, Shape]:
    assert isinstance(shape, StructureShape), f"{shape.name} is not a structure"
    members: Mapping[str, Shape] = shape.members
    return members


def shape_problems(value: Any, shape: Shape, where: str) -> list[str]:
    """Why the API would refuse ``value`` for a parameter of this shape; [] when it would not."""
    if isinstance(shape, StructureShape) and isinstance(value, Mapping):
        return [
            p
            for key, item in value.items()
            if key in shape.members
            for p in shape_problems(item, shape.members[key], f"{where}.{key}")
        ]
    if isinstance(shape, ListShape) and isinstance(value, list):
        problems = [
            p for i, v in enumerate(value) for p in shape_problems(v, shape.member, f"{where}[{i}]")
        ]
        return problems + _bounds(len(value), shape, where, "items")
    if isinstance(shape, MapShape) and isinstance(value, Mapping):
        problems = _bounds(len(value), shape, where, "entries")
        for key, item in value.items():
            problems += shape_problems(key, shape.key, f"{where} key {key!r}")
            problems += shape_problems(item, shape.value, f"{where}[{key!r}]")
        return problems
    return _scalar_shape_problems(value, shape, where)


def _bounds(count: int, shape: Shape, where: str, what: str) -> list[str]:
    metadata = shape.metadata
    if "max" in metadata and count > metadata["max"]:
        return [f"{where}: {count} {what}, at most {metadata['max']} ({shape.name})"]
    if "min" in metadata and count < metadata["min"]:
        return [f"{where}: {count} {what}, at least {metadata['min']} ({shape.name})"]
    return []


def _scalar_shape_problems(value: Any, shape: Shape, where: str) -> list[str]:
    metadata = shape.metadata
    if shape.type_name == "string":
        text = str(value)
        problems = _bounds(len(text), shape, where, "characters")
        if "pattern" in metadata and not re.fullmatch(metadata["pattern"], text):
            problems.append(
                f"{where}: {text!r} does not match {metadata['pattern']} ({shape.name})"
            )
        enum = shape.enum
        if enum and text not in enum:
            problems.append(f"{where}: {text!r} is not one of {enum} ({shape.name})")
        return problems
    if shape.type_name in ("integer", "long", "double", "float"):
        number = _number(value)
        if number is None:
            return []
        if "max" in metadata and number > metadata["max"]:
            return [f"{where}: {value} is above {metadata['max']} ({shape.name})"]
        if "min" in metadata and number < metadata["min"]:
            return [f"{where}: {value} is below {metadata['min']} ({shape.name})"]
    return []


@dataclass(frozen=True)
class ApiOf:
    """The API call that creates a resource type: CloudFormation property -> API member."""

    service: str
    operation: str
    renames: Mapping[str, str]

    def request(self, properties: Mapping[str, Any]) -> dict[str, Any]:
        """The resolved properties as that call's parameters (properties it lacks left out)."""
        members = _members(api_shape(self.service, self.operation))
        request = {}
        for key, value in properties.items():
            member = self.renames.get(key, key)
            if member in members:
                request[member] = value
        return request

    def problems(self, properties: Mapping[str, Any], where: str) -> list[str]:
        shape = api_shape(self.service, self.operation)
        return shape_problems(self.request(properties), shape, where)


# The resource types this project creates whose creating API is stricter than (or as strict as)
# their schema, and how their property names map to the API's.
API_OF: dict[str, ApiOf] = {
    "AWS::Chatbot::CustomAction": ApiOf("chatbot", "CreateCustomAction", {}),
    "AWS::Chatbot::SlackChannelConfiguration": ApiOf(
        "chatbot",
        "CreateSlackChannelConfiguration",
        {
            "SlackWorkspaceId": "SlackTeamId",
            "GuardrailPolicies": "GuardrailPolicyArns",
            "UserRoleRequired": "UserAuthorizationRequired",
        },
    ),
    "AWS::Chatbot::MicrosoftTeamsChannelConfiguration": ApiOf(
        "chatbot",
        "CreateMicrosoftTeamsChannelConfiguration",
        {
            "TeamsChannelId": "ChannelId",
            "TeamsTenantId": "TenantId",
            "GuardrailPolicies": "GuardrailPolicyArns",
            "UserRoleRequired": "UserAuthorizationRequired",
        },
    ),
    "AWS::IAM::Role": ApiOf("iam", "CreateRole", {}),
    "AWS::IAM::ManagedPolicy": ApiOf("iam", "CreatePolicy", {}),
    "AWS::IAM::RolePolicy": ApiOf("iam", "PutRolePolicy", {}),
    "AWS::Events::Rule": ApiOf("events", "PutRule", {}),
    "AWS::Events::EventBus": ApiOf("events", "CreateEventBus", {}),
    "AWS::CloudWatch::Alarm": ApiOf("cloudwatch", "PutMetricAlarm", {}),
    "AWS::CloudWatch::Dashboard": ApiOf("cloudwatch", "PutDashboard", {}),
    "AWS::KMS::Key": ApiOf("kms", "CreateKey", {}),
    "AWS::KMS::Alias": ApiOf("kms", "CreateAlias", {}),
    "AWS::Logs::LogGroup": ApiOf(
        "logs", "CreateLogGroup", {"LogGroupName": "logGroupName", "KmsKeyId": "kmsKeyId"}
    ),
    "AWS::Lambda::EventSourceMapping": ApiOf("lambda", "CreateEventSourceMapping", {}),
    "AWS::Lambda::Function": ApiOf("lambda", "CreateFunction", {}),
    "AWS::Serverless::Function": ApiOf("lambda", "CreateFunction", {}),
    "AWS::SNS::Subscription": ApiOf("sns", "Subscribe", {}),
    "AWS::EC2::SecurityGroup": ApiOf(
        "ec2", "CreateSecurityGroup", {"GroupDescription": "Description"}
    ),
}


def leaves(value: Any, where: str = "") -> Iterator[tuple[str, Any]]:
    """Every scalar in a resolved value, with its path."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from leaves(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from leaves(item, f"{where}[{index}]")
    else:
        yield where, value
