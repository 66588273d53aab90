"""`make sam-local`: the real `sam build` and `sam local invoke` of both functions, asserted.

Needs a Docker engine that has the Lambda Python images (``--skip-pull-image`` is used) and whose
default bridge gateway is reachable from containers. Everything stays on that host:

- a moto server (a local AWS) listens on the bridge gateway address only, seeded with a VPC whose
  option set names the container's own loopback as DNS server, the canary registered with its tag,
  the alert topic with a queue subscribed, and the state table;
- `sam local start-lambda` listens on the same address and runs the canary when the checker
  invokes it, so the whole chain runs in real SAM containers;
- the canary reads a resolv.conf added to its local build, naming only the container's loopback:
  nothing answers DNS there, so its verdict is a structured failure, never a hang or a crash.

Each invocation's output is checked; any surprise exits non-zero.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dns_watchdog.constants import CANARY_FUNCTION_NAME_PREFIX
from moto.server import ThreadedMotoServer

from devtools.awsworld import MOTO_CREDENTIALS, AwsWorld, CheckerResources, DeliveredAlert
from devtools.lambdakit import EVENTS_DIR, REPO_ROOT, cloudtrail_event, load_event

BUILD_DIR = REPO_ROOT / ".aws-sam" / "local"
SAM = Path(sys.executable).parent / "sam"
CONTAINER_LOOPBACK = "127.0.0.1"  # the container's own loopback: nothing listens on port 53
LOCAL_VPC_ID = "vpc-0a1b2c3d4e5f60718"
LOCAL_PARAMETERS = f"Architecture=x86_64 VpcId={LOCAL_VPC_ID} SubnetIds=subnet-0a1b2c3d4e5f60001"
# The canary's FunctionName as `sam local` resolves it: canary-template.yaml names it
# <prefix><VpcId>-<first 8 hex digits of the stack id>, and SAM's placeholder stack id is
# arn:aws:cloudformation:us-east-1:123456789012:stack/local/51af3dc0-da77-11e4-872e-1234567db123.
LOCAL_CANARY_NAME = f"{CANARY_FUNCTION_NAME_PREFIX}{LOCAL_VPC_ID}-51af3dc0"
CREDENTIALS = {**MOTO_CREDENTIALS, "SAM_CLI_TELEMETRY": "0"}


class Surprise(AssertionError):
    """An invocation did not produce what it should have."""


CHECKS_PASSED = [0]


def check(condition: bool, message: str) -> None:
    if not condition:
        raise Surprise(message)
    CHECKS_PASSED[0] += 1


def bridge_gateway() -> str:
    out = subprocess.run(
        [
            "docker",
            "network",
            "inspect",
            "bridge",
            "--format",
            "{{(index .IPAM.Config 0).Gateway}}",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def free_port(address: str) -> int:
    with socket.socket() as sock:
        sock.bind((address, 0))
        port: int = sock.getsockname()[1]
        return port


def sam(*args: str, timeout: int = 600, env: dict[str, str] | None = None) -> str:
    """Run the SAM CLI; its stdout (the function's result for `local invoke`)."""
    command = [str(SAM), *args]
    out = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO_ROOT,
        env={**os.environ, **CREDENTIALS, **(env or {})},
        check=False,
    )
    if out.returncode != 0:
        raise Surprise(f"{' '.join(command)} failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return out.stdout


def last_json(text: str) -> dict[str, Any]:
    for line in reversed(text.strip().splitlines()):
        if line.strip().startswith("{"):
            document: dict[str, Any] = json.loads(line)
            return document
    raise Surprise(f"no JSON result in the output:\n{text[-2000:]}")


@dataclass
class LocalAws:
    """The moto server's seeded resources."""

    world: AwsWorld
    vpc_id: str
    option_set_id: str
    resources: CheckerResources

    @property
    def endpoint(self) -> str:
        assert self.world.endpoint_url is not None
        return self.world.endpoint_url

    def alerts(self) -> list[DeliveredAlert]:
        # The server delivers to the queue on its own threads: give it a few seconds.
        return self.world.alerts(wait_s=1, empty_polls=5)


def seed(endpoint: str) -> LocalAws:
    world = AwsWorld(endpoint_url=endpoint)
    vpc_id = world.create_vpc("10.0.0.0/16")
    subnet = world.create_subnet(vpc_id, "10.0.1.0/24")
    option_set_id = world.option_set(CONTAINER_LOOPBACK)
    world.associate(vpc_id, option_set_id)
    # Registered under the name `sam local start-lambda` knows, with the canary tag.
    world.add_canary(vpc_id, LOCAL_CANARY_NAME, subnet_ids=[subnet])
    return LocalAws(world, vpc_id, option_set_id, world.checker_resources())


@contextmanager
def moto_server(address: str) -> Iterator[str]:
    port = free_port(address)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address=address, port=port, verbose=False)
    server.start()
    try:
        yield f"http://{address}:{port}"
    finally:
        server.stop()


@contextmanager
def start_lambda(address: str, template: Path, env_vars: Path) -> Iterator[str]:
    port = free_port(address)
    process = subprocess.Popen(
        [
            str(SAM), "local", "start-lambda", "--host", address, "--port", str(port),
            "--template", str(template), "--env-vars", str(env_vars), "--skip-pull-image",
            "--parameter-overrides", LOCAL_PARAMETERS,
        ],
        cwd=REPO_ROOT,
        env={**os.environ, **CREDENTIALS},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((address, port), timeout=1):
                    break
            except OSError:
                time.sleep(0.5)
        else:
            raise Surprise("sam local start-lambda did not start listening within 60 s")
        yield f"http://{address}:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def build() -> Path:
    sam(
        "build", "--build-dir", str(BUILD_DIR), "--parameter-overrides", LOCAL_PARAMETERS,
        "--config-file", str(REPO_ROOT / "samconfig.toml"),
    )  # fmt: skip
    canary_code = next(BUILD_DIR.rglob("CanaryFunction/app.py")).parent
    # The canary's own resolv.conf for this run: only the container's loopback, like a VPC whose
    # option set points at a server that is not there.
    (canary_code / "local-resolv.conf").write_text(
        "options timeout:2 attempts:5\n"
        f"; configured nameserver {CONTAINER_LOOPBACK}\n"
        f"nameserver {CONTAINER_LOOPBACK}\n"
    )
    return BUILD_DIR / "template.yaml"


def env_vars_file(aws: LocalAws | None, lambda_endpoint: str | None, into: Path) -> Path:
    base: dict[str, Any] = load_event("env.json")
    base["CanaryFunction"].update(
        {
            "RESOLV_CONF_PATH": "/var/task/local-resolv.conf",
            "AMAZON_DNS_SERVER": CONTAINER_LOOPBACK,
            "AMAZON_DNS_SERVER_IPV6": "::1",
        }
    )
    if aws is not None:
        base["CheckerFunction"].update(
            {
                "AWS_ENDPOINT_URL": aws.endpoint,
                "AWS_ENDPOINT_URL_LAMBDA": lambda_endpoint or aws.endpoint,
                **aws.resources.settings,
                "POWERTOOLS_LOG_LEVEL": "INFO",
            }
        )
    path = into / f"env-{uuid.uuid4().hex[:8]}.json"
    path.write_text(json.dumps(base, indent=2))
    return path


def event_file(name: str, into: Path, **replace: Any) -> Path:
    if "request" in replace:
        event = cloudtrail_event(name, **replace["request"])
    else:
        event = load_event(name)
    if "vpc_ids" in replace:
        event["vpc_ids"] = replace["vpc_ids"]
    path = into / f"{name}-{uuid.uuid4().hex[:8]}.json"
    path.write_text(json.dumps(event))
    return path


def invoke(template: Path, function: str, event: Path, env_vars: Path) -> dict[str, Any]:
    started = time.monotonic()
    out = sam(
        "local", "invoke", function, "--template", str(template), "--event", str(event),
        "--env-vars", str(env_vars), "--skip-pull-image", "--parameter-overrides", LOCAL_PARAMETERS,
    )  # fmt: skip
    result = last_json(out)
    print(f"  sam local invoke {function} -e {event.name}: {time.monotonic() - started:.1f} s")
    return result


def run() -> None:
    os.environ.update(CREDENTIALS)  # fake credentials for moto, never sent anywhere else
    gateway = bridge_gateway()
    print(f"Docker bridge gateway {gateway}: moto and start-lambda listen there only")
    template = build()
    scratch = BUILD_DIR / "run"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)

    # 1. The canary alone, with the shared sample plan and with its defaults.
    env_canary = env_vars_file(None, None, scratch)
    for plan in ("canary_probe", None):
        event = EVENTS_DIR / f"{plan}.json" if plan else scratch / "empty.json"
        if plan is None:
            event.write_text("{}")
        findings = invoke(template, "CanaryFunction", event, env_canary)
        deadline = findings.get("deadline_ms", 0)
        check(findings.get("ok") is False, f"nothing answers DNS, yet ok: {findings}")
        check(bool(findings.get("diagnosis", {}).get("code")), f"no diagnosis: {findings}")
        check(
            findings["elapsed_ms"] <= deadline + 250,
            f"answered after {findings['elapsed_ms']} ms, deadline {deadline} ms",
        )
        print(f"    verdict {findings['diagnosis']['code']} in {findings['elapsed_ms']:.0f} ms")

    # 2. The checker against a local AWS, its canary invocations run by start-lambda.
    with moto_server(gateway) as endpoint:
        aws = seed(endpoint)
        env_lambda = env_vars_file(aws, None, scratch)
        with start_lambda(gateway, template, env_lambda) as lambda_endpoint:
            env_checker = env_vars_file(aws, lambda_endpoint, scratch)
            manual = invoke(
                template,
                "CheckerFunction",
                event_file("manual_check", scratch, vpc_ids=[aws.vpc_id]),
                env_checker,
            )
            vpc = manual["vpcs"][0]
            check(vpc["verdict"] == "FAILED", f"manual check: {manual}")
            check(vpc["diagnosis"] == "CONFIGURED_SERVER_UNREACHABLE", f"manual check: {manual}")
            alerts = aws.alerts()
            check(len(alerts) == 1, f"expected one alert, got {alerts}")
            attributes = alerts[0].attributes
            check(attributes.get("severity") == "CRITICAL", f"alert attributes {attributes}")
            check(aws.vpc_id in alerts[0].subject, f"subject {alerts[0].subject}")
            print(f"    alert received by the queue: {alerts[0].subject}")

            sweep = invoke(
                template,
                "CheckerFunction",
                EVENTS_DIR / "scheduled_sweep.json",
                env_checker,
            )
            check(sweep["vpcs"][0]["verdict"] == "FAILED", f"sweep: {sweep}")
            check(aws.alerts() == [], "a sweep of an open incident must not page again")
            print("    sweep: same incident, no second alert")

            change = invoke(
                template,
                "CheckerFunction",
                event_file(
                    "associate_dhcp_options",
                    scratch,
                    request={"vpcId": aws.vpc_id, "dhcpOptionsId": aws.option_set_id},
                ),
                env_checker,
            )
            check(change["vpcs"][0]["verdict"] == "FAILED", f"change: {change}")
            announced = aws.alerts()
            check(
                len(announced) == 1
                and announced[0].attributes.get("event_name") == "AssociateDhcpOptions",
                f"the option-set change must be announced once: {announced}",
            )
            print(f"    change announced: {announced[0].subject}")
    print("sam local: every function answered as expected")


def main() -> int:
    try:
        run()
    except Surprise as exc:
        print(f"sam local: FAILED: {exc}", file=sys.stderr)
        print(f"sam-local: {CHECKS_PASSED[0]} passed, 1 failed")
        return 1
    print(f"sam-local: {CHECKS_PASSED[0]} passed, 0 failed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
