"""Naming the blocking rule end to end: moto for AWS, the real canary against the DNS lab, and
Reachability Analyzer played by botocore hooks (moto has no Network Insights API).

The lab VPC's dead server sits behind a network ACL entry that denies DNS to it (in moto). With
NameBlockingRule on, the CRITICAL names that entry; with it off, no analysis is ever started.

`NetworkInsights` answers the checker's EC2 client the way the service would for this world: it
reads the subnet's network ACL from moto and applies its egress entries in rule order, so the
alert can only name the entry the world really holds. It also stands in for the Lambda network
interface (InterfaceType `lambda`), which moto does not create for VPC functions.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse, HTTPHeaders
from real_canary import CANARY, Invoke, LabVpc, change_event, handler_invoker, manual_check

from devtools.lambdakit import api_error

pytestmark = pytest.mark.integration

ANALYSIS_OPERATIONS = (
    "CreateNetworkInsightsPath",
    "StartNetworkInsightsAnalysis",
    "DescribeNetworkInsightsAnalyses",
    "DeleteNetworkInsightsAnalysis",
    "DeleteNetworkInsightsPath",
)
HOOKED = (*ANALYSIS_OPERATIONS, "DescribeNetworkInterfaces")
PROTOCOL_NUMBERS = {"udp": "17", "tcp": "6"}
DENY_RULE = 90


def _ok(parsed: dict[str, Any]) -> tuple[AWSResponse, dict[str, Any]]:
    return AWSResponse("local://ec2", 200, HTTPHeaders(), None), {
        **parsed,
        "ResponseMetadata": {"HTTPStatusCode": 200},
    }


class NetworkInsights:
    """Reachability Analyzer and Lambda's network interface, as botocore `before-call` hooks on
    the default session (so on every client the checker builds afterwards)."""

    def __init__(self, vpc: LabVpc, subnet_id: str, group_id: str, lambda_eni: str) -> None:
        self.ec2 = vpc.world.ec2  # moto, read directly (not through the hooks' session clients)
        self.subnet_id = subnet_id
        self.group_id = group_id
        self.lambda_eni = lambda_eni
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.paths: dict[str, dict[str, Any]] = {}
        self.analyses: dict[str, str] = {}
        self.refuse: str | None = None
        assert boto3.DEFAULT_SESSION is not None
        events = boto3.DEFAULT_SESSION.events
        for operation in HOOKED:
            events.register(f"before-parameter-build.ec2.{operation}", self._remember)
            events.register(f"before-call.ec2.{operation}", self._answer)

    def close(self) -> None:
        assert boto3.DEFAULT_SESSION is not None
        events = boto3.DEFAULT_SESSION.events
        for operation in HOOKED:
            events.unregister(f"before-parameter-build.ec2.{operation}", self._remember)
            events.unregister(f"before-call.ec2.{operation}", self._answer)

    @property
    def analyses_started(self) -> int:
        return sum(1 for name, _ in self.calls if name == "StartNetworkInsightsAnalysis")

    def operations(self) -> list[str]:
        return [name for name, _ in self.calls]

    @staticmethod
    def _remember(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["api_params"] = dict(params)

    def _answer(self, model: Any, context: dict[str, Any], **_: Any) -> Any:
        params = context.get("api_params", {})
        if model.name == "DescribeNetworkInterfaces":
            filters = {f["Name"]: f["Values"] for f in params.get("Filters", [])}
            if filters.get("interface-type") != ["lambda"]:
                return None  # moto answers every other interface lookup
            self.calls.append((model.name, params))
            return _ok({"NetworkInterfaces": self._lambda_interfaces(filters)})
        self.calls.append((model.name, params))
        if self.refuse is not None:
            return api_error(self.refuse, 403)
        return getattr(self, f"_{model.name}")(params)

    def _lambda_interfaces(self, filters: dict[str, list[str]]) -> list[dict[str, Any]]:
        [eni] = self.ec2.describe_network_interfaces(NetworkInterfaceIds=[self.lambda_eni])[
            "NetworkInterfaces"
        ]
        wanted = (
            eni["VpcId"] in filters.get("vpc-id", [])
            and eni["SubnetId"] in filters.get("subnet-id", [])
            and self.group_id in filters.get("group-id", [])
        )
        return [{**eni, "InterfaceType": "lambda"}] if wanted else []

    def _CreateNetworkInsightsPath(self, params: dict[str, Any]) -> Any:
        path_id = f"nip-{len(self.paths) + 1:017x}"
        self.paths[path_id] = params
        return _ok({"NetworkInsightsPath": {"NetworkInsightsPathId": path_id}})

    def _StartNetworkInsightsAnalysis(self, params: dict[str, Any]) -> Any:
        analysis_id = f"nia-{len(self.analyses) + 1:017x}"
        self.analyses[analysis_id] = params["NetworkInsightsPathId"]
        return _ok(
            {
                "NetworkInsightsAnalysis": {
                    "NetworkInsightsAnalysisId": analysis_id,
                    "Status": "running",
                }
            }
        )

    def _DescribeNetworkInsightsAnalyses(self, params: dict[str, Any]) -> Any:
        return _ok(
            {
                "NetworkInsightsAnalyses": [
                    self._result(i, self.paths[self.analyses[i]])
                    for i in params["NetworkInsightsAnalysisIds"]
                ]
            }
        )

    def _DeleteNetworkInsightsAnalysis(self, params: dict[str, Any]) -> Any:
        return _ok({"NetworkInsightsAnalysisId": params["NetworkInsightsAnalysisId"]})

    def _DeleteNetworkInsightsPath(self, params: dict[str, Any]) -> Any:
        return _ok({"NetworkInsightsPathId": params["NetworkInsightsPathId"]})

    def _result(self, analysis_id: str, path: dict[str, Any]) -> dict[str, Any]:
        """The subnet's network ACL, egress entries in rule order: the first match decides."""
        server = path.get("DestinationIp") or path["FilterAtSource"]["DestinationAddress"]
        protocol = PROTOCOL_NUMBERS[path["Protocol"]]
        [acl] = self.ec2.describe_network_acls(
            Filters=[{"Name": "association.subnet-id", "Values": [self.subnet_id]}]
        )["NetworkAcls"]
        entries = sorted((e for e in acl["Entries"] if e["Egress"]), key=lambda e: e["RuleNumber"])
        for entry in entries:
            ports = entry.get("PortRange") or {"From": 0, "To": 65535}
            if (
                entry["Protocol"] in ("-1", protocol)
                and ports["From"] <= 53 <= ports["To"]
                and ipaddress.ip_address(server) in ipaddress.ip_network(entry["CidrBlock"])
            ):
                break
        else:
            entry = None
        done = {"NetworkInsightsAnalysisId": analysis_id, "Status": "succeeded"}
        if entry is not None and entry["RuleAction"] == "allow":
            return {**done, "NetworkPathFound": True, "Explanations": []}
        explanation: dict[str, Any] = {
            "ExplanationCode": "SUBNET_ACL_RESTRICTION",
            "Direction": "egress",
            "Acl": {"Id": acl["NetworkAclId"]},
            "Subnet": {"Id": self.subnet_id},
        }
        if entry is not None:
            explanation["AclRule"] = {
                "Egress": True,
                "RuleAction": entry["RuleAction"],
                "RuleNumber": entry["RuleNumber"],
                "Cidr": entry["CidrBlock"],
                "Protocol": entry["Protocol"],
            }
        return {**done, "NetworkPathFound": False, "Explanations": [explanation]}


@pytest.fixture
def insights(lab_vpc: LabVpc) -> Iterator[NetworkInsights]:
    """The lab VPC's dead server behind a NACL deny entry; Reachability Analyzer hooked."""
    ec2 = lab_vpc.world.ec2
    config = lab_vpc.world.lambda_.get_function_configuration(FunctionName=CANARY)["VpcConfig"]
    [subnet_id], [group_id] = config["SubnetIds"], config["SecurityGroupIds"]
    # Lambda's network interface for the canary's subnet and group (an address the lab leaves
    # free, so it never stands for a DNS server).
    prefix = lab_vpc.dead.address.rsplit(".", 1)[0]
    eni = ec2.create_network_interface(
        SubnetId=subnet_id, Groups=[group_id], PrivateIpAddress=f"{prefix}.250"
    )["NetworkInterface"]["NetworkInterfaceId"]
    [acl] = ec2.describe_network_acls(
        Filters=[{"Name": "association.subnet-id", "Values": [subnet_id]}]
    )["NetworkAcls"]
    for protocol in PROTOCOL_NUMBERS.values():
        ec2.create_network_acl_entry(
            NetworkAclId=acl["NetworkAclId"],
            RuleNumber=DENY_RULE + int(protocol == "6"),
            Protocol=protocol,
            RuleAction="deny",
            Egress=True,
            CidrBlock=f"{lab_vpc.dead.address}/32",
            PortRange={"From": 53, "To": 53},
        )
    hooks = NetworkInsights(lab_vpc, subnet_id, group_id, eni)
    yield hooks
    hooks.close()


def _checker(
    load_handler: Callable[[str], ModuleType],
    lambda_context: Any,
    monkeypatch: pytest.MonkeyPatch,
    setting: str,
) -> Invoke:
    monkeypatch.setenv("NAME_BLOCKING_RULE", setting)
    return handler_invoker(load_handler, lambda_context)


def _break(vpc: LabVpc) -> None:
    vpc.associate(vpc.bad)
    vpc.platform.recycle(CANARY)


def _acl_id(insights: NetworkInsights) -> str:
    [acl] = insights.ec2.describe_network_acls(
        Filters=[{"Name": "association.subnet-id", "Values": [insights.subnet_id]}]
    )["NetworkAcls"]
    return str(acl["NetworkAclId"])


def test_the_critical_names_the_network_acl_entry_and_cleans_up(
    lab_vpc: LabVpc,
    insights: NetworkInsights,
    load_handler: Callable[[str], ModuleType],
    lambda_context: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given NameBlockingRule is on and the VPC was verified healthy
    checker = _checker(load_handler, lambda_context, monkeypatch, "true")
    checker(manual_check([lab_vpc.vpc_id]))
    assert insights.calls == []  # nothing to analyse while DNS works

    # When the dead-server option set is associated and the change is checked
    _break(lab_vpc)
    result = checker(change_event(lab_vpc, lab_vpc.bad))

    # Then the CRITICAL names the deny entry of the subnet's network ACL for UDP and for TCP
    assert result["vpcs"][0]["verdict"] == "FAILED"
    [critical] = lab_vpc.world.alerts()
    assert critical.severity == "CRITICAL"
    dead, acl = lab_vpc.dead.address, _acl_id(insights)
    lines = critical.text.splitlines()
    assert (
        lines.count(
            f"Blocking rule: UDP 53 to {dead} is blocked by egress entry #{DENY_RULE} (deny) of "
            f"network ACL {acl} of subnet {insights.subnet_id} (SUBNET_ACL_RESTRICTION)."
        )
        == 1
    )
    assert (
        lines.count(
            f"Blocking rule: TCP 53 to {dead} is blocked by egress entry #{DENY_RULE + 1} "
            f"(deny) of network ACL {acl} of subnet {insights.subnet_id} "
            "(SUBNET_ACL_RESTRICTION)."
        )
        == 1
    )
    rules = critical.document["blocking_rules"]
    assert [(r["protocol"], r["kind"], r["component_id"]) for r in rules] == [
        ("udp", "network_acl_entry", acl),
        ("tcp", "network_acl_entry", acl),
    ]

    # And the paths started from the canary's (Lambda) interface, tagged, to the dead server
    assert [p["Source"] for p in insights.paths.values()] == [insights.lambda_eni] * 2
    assert {p["FilterAtSource"]["DestinationAddress"] for p in insights.paths.values()} == {dead}
    tags = [p["TagSpecifications"][0]["Tags"] for p in insights.paths.values()]
    assert tags == [[{"Key": "dhcp-watchdog:reachability", "Value": lab_vpc.vpc_id}]] * 2
    # And everything it created was deleted, analyses before paths
    deleted = [n for n in insights.operations() if n.startswith("Delete")]
    assert deleted == ["DeleteNetworkInsightsAnalysis"] * 2 + ["DeleteNetworkInsightsPath"] * 2


def test_once_per_incident_and_server(
    lab_vpc: LabVpc,
    insights: NetworkInsights,
    load_handler: Callable[[str], ModuleType],
    lambda_context: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    checker = _checker(load_handler, lambda_context, monkeypatch, "true")
    checker(manual_check([lab_vpc.vpc_id]))
    _break(lab_vpc)
    checker(change_event(lab_vpc, lab_vpc.bad))
    assert insights.analyses_started == 2
    lab_vpc.world.alerts()

    # When the same dead set is associated again within the open incident (announced again)
    _break(lab_vpc)
    checker(change_event(lab_vpc, lab_vpc.bad))

    # Then the announcement pages without a second, billed analysis of the same server
    [again] = lab_vpc.world.alerts()
    assert again.severity == "CRITICAL"
    assert insights.analyses_started == 2
    assert again.document["blocking_rules"] == []


def test_a_denied_analysis_still_pages_and_says_why(
    lab_vpc: LabVpc,
    insights: NetworkInsights,
    load_handler: Callable[[str], ModuleType],
    lambda_context: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given the checker's role lacks the Network Insights permissions (an SCP, say)
    insights.refuse = "UnauthorizedOperation"
    checker = _checker(load_handler, lambda_context, monkeypatch, "true")
    checker(manual_check([lab_vpc.vpc_id]))

    _break(lab_vpc)
    checker(change_event(lab_vpc, lab_vpc.bad))

    [critical] = lab_vpc.world.alerts()
    assert critical.severity == "CRITICAL"
    assert (
        f"Blocking rule: UDP 53 to {lab_vpc.dead.address}: could not analyse: the checker may "
        "not call CreateNetworkInsightsPath (UnauthorizedOperation)"
    ) in critical.text.splitlines()
    assert [r["kind"] for r in critical.document["blocking_rules"]] == ["not_analysed"] * 2


def test_with_the_setting_off_no_analysis_is_made(
    lab_vpc: LabVpc,
    insights: NetworkInsights,
    load_handler: Callable[[str], ModuleType],
    lambda_context: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    checker = _checker(load_handler, lambda_context, monkeypatch, "false")
    checker(manual_check([lab_vpc.vpc_id]))

    _break(lab_vpc)
    checker(change_event(lab_vpc, lab_vpc.bad))

    [critical] = lab_vpc.world.alerts()
    assert critical.severity == "CRITICAL"
    assert insights.calls == []
    assert "Blocking rule" not in critical.text
    assert critical.document["blocking_rules"] == []
