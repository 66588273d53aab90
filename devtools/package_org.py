"""Package the canary for organization mode: its code once per region, one StackSet template.

Lambda takes code only from an S3 bucket in the function's own region, and a StackSet has one
template for all its regions. So, after ``sam build --config-env canary`` (``make package-org``):

1. ``sam package`` uploads the built canary to ``<bucket prefix>-<region>`` for every region. The
   object key is the MD5 of the code, so it is the same in every bucket;
2. the packaged template is translated to plain CloudFormation with the SAM translator (offline):
   service-managed StackSets reject templates that use macros, the SAM transform included;
3. the function's ``Code.S3Bucket`` becomes ``<bucket prefix>-${AWS::Region}``: the one template
   (``.aws-sam/org/canary-stackset.yaml``) deploys in every packaged region.

The buckets must exist, one per region, readable by the organization (docs/deploy.md has the
bucket policy). Hand-written orchestration because SAM has no multi-region package; the SAM
translator does the translation.

    python -m devtools.package_org --bucket-prefix my-org-dns-watchdog --regions us-east-1 eu-west-1
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from devtools.lambdakit import REPO_ROOT

BUILT_TEMPLATE = REPO_ROOT / ".aws-sam" / "canary" / "template.yaml"
OUTPUT_DIR = REPO_ROOT / ".aws-sam" / "org"
STACKSET_TEMPLATE_NAME = "canary-stackset.yaml"
S3_PREFIX = "vpc-dns-watchdog-canary"
LAMBDA_FUNCTION = "AWS::Lambda::Function"

_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
# S3 bucket names: 3-63 characters, lower-case letters, digits, hyphens and dots.
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")

Runner = Callable[[list[str]], None]


class PackagingError(Exception):
    """Bad input or a packaged result the StackSet template cannot be made from."""


def bucket_for(bucket_prefix: str, region: str) -> str:
    return f"{bucket_prefix}-{region}"


def packaged_template_path(output_dir: Path, region: str) -> Path:
    return output_dir / f"canary-packaged-{region}.yaml"


def validate(bucket_prefix: str, regions: Sequence[str]) -> None:
    if not regions:
        raise PackagingError("no regions given: name every region the canaries run in")
    if duplicates := sorted({r for r in regions if list(regions).count(r) > 1}):
        raise PackagingError(f"regions given twice: {', '.join(duplicates)}")
    for region in regions:
        if not _REGION.match(region):
            raise PackagingError(f"{region!r} is not a region name such as eu-west-1")
        bucket = bucket_for(bucket_prefix, region)
        if not _BUCKET.match(bucket) or ".." in bucket:
            raise PackagingError(
                f"{bucket!r} (bucket prefix + region) is not a valid S3 bucket name: 3 to 63 "
                "lower-case letters, digits, hyphens or dots"
            )


def package_commands(
    sam: str, built_template: Path, bucket_prefix: str, regions: Sequence[str], output_dir: Path
) -> list[list[str]]:
    """One ``sam package`` per region, into that region's bucket."""
    return [
        [
            sam,
            "package",
            "--template-file",
            str(built_template),
            "--s3-bucket",
            bucket_for(bucket_prefix, region),
            "--s3-prefix",
            S3_PREFIX,
            "--region",
            region,
            "--output-template-file",
            str(packaged_template_path(output_dir, region)),
            "--no-progressbar",
        ]
        for region in regions
    ]


def _code_locations(template: dict[str, Any]) -> dict[str, str]:
    """Function logical id -> its packaged ``s3://bucket/key``."""
    locations = {}
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            code_uri = resource["Properties"].get("CodeUri")
            if not isinstance(code_uri, str) or not code_uri.startswith("s3://"):
                raise PackagingError(f"{logical_id} was not packaged (CodeUri {code_uri!r})")
            locations[logical_id] = code_uri
    if not locations:
        raise PackagingError("the packaged template has no function")
    return locations


def stackset_template(packaged: dict[str, dict[str, Any]], bucket_prefix: str) -> dict[str, Any]:
    """The plain CloudFormation template for every region of ``packaged`` (region -> packaged
    template): translated from SAM, code taken from ``<bucket_prefix>-${AWS::Region}``."""
    keys: dict[str, dict[str, str]] = {}
    for region, template in packaged.items():
        bucket = bucket_for(bucket_prefix, region)
        for logical_id, uri in _code_locations(template).items():
            found_bucket, _, key = uri.removeprefix("s3://").partition("/")
            if found_bucket != bucket:
                raise PackagingError(f"{logical_id} in {region} was packaged to {found_bucket}")
            keys.setdefault(logical_id, {})[region] = key
    for logical_id, by_region in keys.items():
        if len(set(by_region.values())) != 1:
            raise PackagingError(
                f"{logical_id} has different code in different regions "
                f"({json.dumps(by_region, sort_keys=True)}): package them from one build"
            )
    first_region, first = next(iter(packaged.items()))
    translated = _translate(first, first_region)
    for logical_id, resource in translated["Resources"].items():
        if resource["Type"] == LAMBDA_FUNCTION and logical_id in keys:
            resource["Properties"]["Code"]["S3Bucket"] = {
                "Fn::Sub": f"{bucket_prefix}-${{AWS::Region}}"
            }
    return translated


def _translate(sam_template: dict[str, Any], region: str) -> dict[str, Any]:
    import boto3  # a Session makes no call: the translator only wants a region (and partition)
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    def no_managed_policies() -> dict[str, str]:
        raise PackagingError("the canary template names managed policies; translate it with sam")

    session = boto3.session.Session(region_name=region)
    translator = Translator(None, Parser(), boto_session=session)
    translated: dict[str, Any] = translator.translate(
        json.loads(json.dumps(sam_template)), {}, get_managed_policy_map=no_managed_policies
    )
    return translated


def _run(command: list[str]) -> None:
    subprocess.run(command, check=True)


def package(
    bucket_prefix: str,
    regions: Sequence[str],
    *,
    built_template: Path = BUILT_TEMPLATE,
    output_dir: Path = OUTPUT_DIR,
    sam: str = "sam",
    run: Runner = _run,
) -> Path:
    """Package the built canary into every region's bucket; return the StackSet template's path."""
    validate(bucket_prefix, regions)
    if not built_template.is_file():
        raise PackagingError(f"{built_template} is missing: run `sam build --config-env canary`")
    output_dir.mkdir(parents=True, exist_ok=True)
    for command in package_commands(sam, built_template, bucket_prefix, regions, output_dir):
        run(command)
    from samtranslator.yaml_helper import yaml_parse

    packaged = {
        region: yaml_parse(packaged_template_path(output_dir, region).read_text())
        for region in regions
    }
    template = stackset_template(packaged, bucket_prefix)
    target = output_dir / STACKSET_TEMPLATE_NAME
    # JSON is YAML; CloudFormation reads either.
    target.write_text(json.dumps(template, indent=1) + "\n")
    return target


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bucket-prefix", required=True, help="buckets are <prefix>-<region>")
    parser.add_argument("--regions", nargs="+", required=True, help="regions of the canaries")
    parser.add_argument("--sam", default=str(Path(sys.executable).parent / "sam"))
    args = parser.parse_args(argv)
    try:
        target = package(args.bucket_prefix, args.regions, sam=args.sam)
    except PackagingError as exc:
        print(f"package-org: {exc}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as exc:
        print(f"package-org: {' '.join(exc.cmd)} failed ({exc.returncode})", file=sys.stderr)
        return 1
    print(f"StackSet template for {', '.join(args.regions)}: {target.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
