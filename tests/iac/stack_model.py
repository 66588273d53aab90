"""A template as the deployed stack would hold it: every resource that a set of parameter values
creates, its properties resolved, with stand-in values for what only a deployment knows (the ids
and ARNs of the stack's own resources), and the EventBridge rules SAM generates from a function's
``Events`` named as SAM names them (``<function logical id><event name>``).

The contract tests (dead-letter queues, API limits, permissions) read the templates through this.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from iac_template import SAMPLE_ACCOUNT, SAMPLE_REGION, Resolver

# What Ref and Fn::GetAtt give for a resource of the stack, by resource type: a value of the
# right shape (an ARN, a URL, a name), so that it passes the same checks a real one would.
_REF_SHAPES = {
    "AWS::SNS::Topic": "arn:aws:sns:{region}:{account}:{name}",
    "AWS::SQS::Queue": "https://sqs.{region}.amazonaws.com/{account}/{name}",
    "AWS::IAM::ManagedPolicy": "arn:aws:iam::{account}:policy/{name}",
    "AWS::Chatbot::CustomAction": "arn:aws:chatbot::{account}:custom-action/{name}",
    "AWS::KMS::Key": "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b",
    "AWS::EC2::SecurityGroup": "sg-0123456789abcdef0",
}
_ATTRIBUTE_SHAPES = {
    ("AWS::EC2::SecurityGroup", "GroupId"): "sg-0123456789abcdef0",
    ("AWS::SQS::Queue", "QueueName"): "{name}",
}
_ARN_SHAPES = {
    "AWS::IAM::Role": "arn:aws:iam::{account}:role/{name}",
    "AWS::SQS::Queue": "arn:aws:sqs:{region}:{account}:{name}",
    "AWS::Events::Rule": "arn:aws:events:{region}:{account}:rule/{name}",
    "AWS::Events::EventBus": "arn:aws:events:{region}:{account}:event-bus/{name}",
    "AWS::KMS::Key": "arn:aws:kms:{region}:{account}:key/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b",
    "AWS::DynamoDB::Table": "arn:aws:dynamodb:{region}:{account}:table/{name}",
    "AWS::Logs::LogGroup": "arn:aws:logs:{region}:{account}:log-group:{name}:*",
    "AWS::Serverless::Function": "arn:aws:lambda:{region}:{account}:function:{name}",
    "AWS::Lambda::Function": "arn:aws:lambda:{region}:{account}:function:{name}",
}
STACK_ID = (
    f"arn:aws:cloudformation:{SAMPLE_REGION}:{SAMPLE_ACCOUNT}:stack/"
    "vpc-dns-watchdog/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
)


def physical_name(logical_id: str) -> str:
    """A name CloudFormation would generate: the stack name, the logical id, a suffix."""
    return f"vpc-dns-watchdog-{logical_id}-ABCDEF123456"


@dataclass(frozen=True)
class Rule:
    """An EventBridge rule the stack creates: its logical id and targets (resolved)."""

    logical_id: str
    targets: list[dict[str, Any]]


class StackResolver(Resolver):
    """A Resolver that also knows every resource of the template, and SAM's generated rules."""

    def __init__(
        self,
        template: dict[str, Any],
        values: dict[str, Any],
        *,
        region: str = SAMPLE_REGION,
        account: str = SAMPLE_ACCOUNT,
    ) -> None:
        super().__init__(template, dict(values))
        self.region = region
        self.account = account
        self.values.setdefault("AWS::Region", region)
        self.values.setdefault("AWS::AccountId", account)
        self.values.setdefault("AWS::StackId", STACK_ID)
        self.values.setdefault("AWS::URLSuffix", "amazonaws.com")

    def value_of(self, name: str) -> Any:
        if name in self.values or name in self.template.get("Parameters", {}):
            return super().value_of(name)
        logical_id, _, attribute = name.partition(".")
        resource_type = self._resource_type(logical_id)
        if resource_type is None:
            return super().value_of(name)
        fields = {"region": self.region, "account": self.account, "name": physical_name(logical_id)}
        if attribute == "Arn":
            shape = _ARN_SHAPES.get(resource_type, "arn:aws:{service}:{region}:{account}:{name}")
            return shape.format(service=resource_type.split("::")[1].lower(), **fields)
        if (resource_type, attribute) in _ATTRIBUTE_SHAPES:
            return _ATTRIBUTE_SHAPES[resource_type, attribute].format(**fields)
        if attribute:
            return f"{physical_name(logical_id)}-{attribute}"
        return _REF_SHAPES.get(resource_type, "{name}").format(**fields)

    def _resource_type(self, logical_id: str) -> str | None:
        resources = self.template["Resources"]
        if logical_id in resources:
            return str(resources[logical_id]["Type"])
        if logical_id in sam_rule_ids(self.template):
            return "AWS::Events::Rule"
        return None

    def created(self, logical_id: str) -> bool:
        resource = self.template["Resources"][logical_id]
        return "Condition" not in resource or self.condition(resource["Condition"])

    def resources(self, resource_type: str | None = None) -> dict[str, dict[str, Any]]:
        """The resources this stack creates (of ``resource_type``), properties resolved."""
        return {
            logical_id: self.resolve(resource.get("Properties", {}))
            for logical_id, resource in self.template["Resources"].items()
            if (resource_type is None or resource["Type"] == resource_type)
            and self.created(logical_id)
        }

    def rules(self) -> list[Rule]:
        """Every EventBridge rule the stack creates, SAM's generated ones included."""
        rules = [
            Rule(logical_id, properties.get("Targets", []))
            for logical_id, properties in self.resources("AWS::Events::Rule").items()
        ]
        for function_id, function in self.template["Resources"].items():
            if function["Type"] != "AWS::Serverless::Function" or not self.created(function_id):
                continue
            for event_name, event in function["Properties"].get("Events", {}).items():
                if event["Type"] != "EventBridgeRule":
                    continue
                properties = self.resolve(event["Properties"])
                target = {"Arn": self.value_of(f"{function_id}.Arn")}
                for key in ("RetryPolicy", "DeadLetterConfig"):
                    if key in properties:
                        target[key] = properties[key]
                rules.append(Rule(function_id + event_name, [target]))
        return rules


def sam_rule_ids(template: dict[str, Any]) -> set[str]:
    """The logical ids of the rules SAM generates from functions' EventBridgeRule events."""
    return {
        function_id + event_name
        for function_id, function in template["Resources"].items()
        if function["Type"] == "AWS::Serverless::Function"
        for event_name, event in function["Properties"].get("Events", {}).items()
        if event["Type"] == "EventBridgeRule"
    }


def listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
