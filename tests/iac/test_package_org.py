"""``make package-org`` (devtools/package_org.py): the canary's code in every region's bucket, one
plain-CloudFormation template that StackSets deploy in each of those regions.

The real ``sam package`` runs against a moto server on loopback (no AWS); it packages the source
template, whose code directory stands in for ``sam build``'s output.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from iac_template import (
    CANARY_TEMPLATE,
    CHECKOV,
    cfn_lint_findings,
    checkov_problems,
    load_template,
)

from devtools import package_org
from devtools.awsworld import MOTO_CREDENTIALS
from devtools.sam_local import moto_server

pytestmark = pytest.mark.iac

PREFIX = "acme-dns-watchdog"
REGIONS = ["us-east-1", "eu-west-1"]
SAM = str(Path(sys.executable).parent / "sam")


@dataclass
class Packaged:
    template_path: Path
    template: dict[str, Any]
    objects: dict[str, list[str]]  # bucket -> keys


def s3_client(endpoint: str, region: str) -> Any:
    return boto3.client(
        "s3",
        region_name=region,
        endpoint_url=endpoint,
        aws_access_key_id=MOTO_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=MOTO_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )


@pytest.fixture(scope="module")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> Packaged:
    output_dir = tmp_path_factory.mktemp("org")
    with moto_server("127.0.0.1") as endpoint:
        # Given one bucket per region (the organization's code buckets)
        for region in REGIONS:
            location = {} if region == "us-east-1" else {"LocationConstraint": region}
            s3_client(endpoint, region).create_bucket(
                Bucket=f"{PREFIX}-{region}", CreateBucketConfiguration=location
            )
        env = {
            **os.environ,
            **MOTO_CREDENTIALS,
            "AWS_ENDPOINT_URL": endpoint,
            "SAM_CLI_TELEMETRY": "0",
        }

        def run(command: list[str]) -> None:
            subprocess.run(command, check=True, env=env, capture_output=True, timeout=110)

        # When the canary is packaged for both regions
        target = package_org.package(
            PREFIX,
            REGIONS,
            built_template=CANARY_TEMPLATE,
            output_dir=output_dir,
            sam=SAM,
            run=run,
        )
        objects = {
            f"{PREFIX}-{region}": [
                item["Key"]
                for item in s3_client(endpoint, region)
                .list_objects_v2(Bucket=f"{PREFIX}-{region}")
                .get("Contents", [])
            ]
            for region in REGIONS
        }
    return Packaged(target, json.loads(target.read_text()), objects)


def test_the_code_is_in_every_regions_bucket_under_one_key(packaged: Packaged) -> None:
    keys = list(packaged.objects.values())
    assert all(len(found) == 1 for found in keys), packaged.objects
    assert keys[0] == keys[1]


def test_the_stackset_template_takes_the_code_from_the_bucket_of_its_region(
    packaged: Packaged,
) -> None:
    [key] = next(iter(packaged.objects.values()))
    functions = {
        logical_id: resource
        for logical_id, resource in packaged.template["Resources"].items()
        if resource["Type"] == "AWS::Lambda::Function"
    }
    assert set(functions) == {"CanaryFunction"}
    assert functions["CanaryFunction"]["Properties"]["Code"] == {
        "S3Bucket": {"Fn::Sub": f"{PREFIX}-${{AWS::Region}}"},
        "S3Key": key,
    }


def test_the_stackset_template_is_plain_cloudformation(packaged: Packaged) -> None:
    assert "Transform" not in packaged.template
    types = {resource["Type"] for resource in packaged.template["Resources"].values()}
    assert not {t for t in types if t.startswith("AWS::Serverless")}


def test_the_stackset_template_keeps_the_canary_identity_and_parameters(
    packaged: Packaged,
) -> None:
    canary = load_template(CANARY_TEMPLATE)
    assert packaged.template["Parameters"] == canary["Parameters"]
    function = packaged.template["Resources"]["CanaryFunction"]["Properties"]
    source = canary["Resources"]["CanaryFunction"]["Properties"]
    assert function["FunctionName"] == source["FunctionName"]
    tags = {tag["Key"]: tag["Value"] for tag in function["Tags"]}
    assert tags["dhcp-watchdog:vpc-id"] == {"Ref": "VpcId"}


def test_the_stackset_template_passes_cfn_lint(packaged: Packaged) -> None:
    assert cfn_lint_findings(packaged.template_path) == []


@pytest.mark.skipif(not CHECKOV.exists(), reason="checkov venv missing: run `make checkov`")
def test_the_stackset_template_passes_checkov(packaged: Packaged) -> None:
    assert checkov_problems(packaged.template_path) is None


# ---------------------------------------------------------------- bad input, clear errors


class Recorder:
    def __init__(self) -> None:
        self.commands: list[list[str]] = []

    def __call__(self, command: list[str]) -> None:
        self.commands.append(command)


@pytest.mark.parametrize(
    ("prefix", "regions", "message"),
    [
        (PREFIX, [], "no regions given"),
        (PREFIX, ["us-east-1", "us-east-1"], "regions given twice: us-east-1"),
        (PREFIX, ["Frankfurt"], "'Frankfurt' is not a region name"),
        (
            "Acme_Code",
            ["us-east-1"],
            "'Acme_Code-us-east-1' (bucket prefix + region) is not a valid",
        ),
        ("a" * 60, ["us-east-1"], "is not a valid S3 bucket name"),
    ],
)
def test_bad_input_is_refused_before_anything_is_uploaded(
    tmp_path: Path, prefix: str, regions: list[str], message: str
) -> None:
    run = Recorder()
    with pytest.raises(package_org.PackagingError, match=re.escape(message)):
        package_org.package(
            prefix, regions, built_template=CANARY_TEMPLATE, output_dir=tmp_path, run=run
        )
    assert run.commands == []


def test_a_missing_build_says_how_to_make_it(tmp_path: Path) -> None:
    run = Recorder()
    with pytest.raises(package_org.PackagingError, match="sam build --config-env canary"):
        package_org.package(
            PREFIX, REGIONS, built_template=tmp_path / "template.yaml", output_dir=tmp_path, run=run
        )
    assert run.commands == []


def test_the_command_line_reports_bad_input_and_exits_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert package_org.main(["--bucket-prefix", PREFIX, "--regions", "moon-1"]) == 2
    assert "'moon-1' is not a region name" in capsys.readouterr().err


def packaged_source(region: str, key: str) -> dict[str, Any]:
    template = copy.deepcopy(load_template(CANARY_TEMPLATE))
    uri = f"s3://{PREFIX}-{region}/{package_org.S3_PREFIX}/{key}"
    template["Resources"]["CanaryFunction"]["Properties"]["CodeUri"] = uri
    return template


def test_different_code_in_two_regions_is_an_error() -> None:
    # one template serves every region only if every bucket holds the same code
    packaged = {
        "us-east-1": packaged_source("us-east-1", "aaa"),
        "eu-west-1": packaged_source("eu-west-1", "bbb"),
    }
    with pytest.raises(package_org.PackagingError, match="different code in different regions"):
        package_org.stackset_template(packaged, PREFIX)


def test_code_in_another_bucket_than_the_regions_is_an_error() -> None:
    packaged = {"eu-west-1": packaged_source("us-east-1", "aaa")}
    with pytest.raises(package_org.PackagingError, match=f"packaged to {PREFIX}-us-east-1"):
        package_org.stackset_template(packaged, PREFIX)
