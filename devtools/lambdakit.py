"""Stand-ins for the Lambda platform, shared by the tests, the demo, the benchmarks and sam_local.

One of each: the handler loader (a function's ``Handler`` imported from its CodeUri the way the
runtime does, as a fresh module every time), the fake ``LambdaContext``, ``load_event`` for the
sample events in ``events/``, and the ``lambda.Invoke`` router (botocore hooks that answer Invoke
in this process, without HTTP). Pure Python and botocore; nothing here opens a socket, and
botocore is imported only when Invoke is routed.

Hand-written because the shapes are the Lambda runtime's own: Powertools ships no public fake
context, and a router must return botocore's (http, parsed) pair from a ``before-call`` hook.
"""

from __future__ import annotations

import copy
import importlib.util
import io
import itertools
import json
import os
import sys
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

if TYPE_CHECKING:
    import boto3
    from botocore.awsrequest import AWSResponse

REPO_ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS_DIR = REPO_ROOT / "functions"
CANARY_DIR = FUNCTIONS_DIR / "canary"
CHECKER_DIR = FUNCTIONS_DIR / "checker"
EVENTS_DIR = REPO_ROOT / "events"
DEFAULT_HANDLER = "app.lambda_handler"
REGION = "us-east-1"
ACCOUNT = "123456789012"

LambdaHandler = Callable[[Any, Any], Any]
_module_numbers = itertools.count(1)
_import_lock = threading.Lock()


# --- handlers ------------------------------------------------------------------------------------


def import_handler_module(code_dir: Path, module: str = "app") -> ModuleType:
    """Import ``<code_dir>/<module>.py`` as the runtime would, under a new unique module name.

    ``code_dir`` goes on ``sys.path`` (the runtime's ``/var/task``) so the function's own packages
    import. Both functions have an ``app.py``: a fresh name per call keeps them apart, and
    module-level state (settings read once, clients) starts anew, as in a new execution
    environment.
    """
    source = code_dir / (module.replace(".", "/") + ".py")
    if not source.is_file():
        raise FileNotFoundError(f"no handler module at {source}")
    with _import_lock:
        if str(code_dir) not in sys.path:
            sys.path.insert(0, str(code_dir))
        module_name = f"{code_dir.name}_{module.replace('.', '_')}_{next(_module_numbers)}"
        spec = importlib.util.spec_from_file_location(module_name, source)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {source}")
        loaded = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = loaded
    spec.loader.exec_module(loaded)
    return loaded


def load_handler(code_dir: Path, handler: str = DEFAULT_HANDLER) -> LambdaHandler:
    """The function ``handler`` (``module.function``, as in the template) of a fresh module."""
    module, _, function = handler.rpartition(".")
    loaded: LambdaHandler = getattr(import_handler_module(code_dir, module or "app"), function)
    return loaded


# --- the context ---------------------------------------------------------------------------------


@dataclass
class FakeLambdaContext:
    """The Lambda context object as handlers and Powertools read it.

    ``get_remaining_time_in_millis`` counts down from ``timeout_ms`` like the real one.
    """

    function_name: str = "test-function"
    timeout_ms: int = 30_000
    memory_limit_in_mb: int = 128
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_stream_name: str = "2024/01/01/[$LATEST]0123456789abcdef"
    # The alias or version the caller named (None: the function itself, unqualified).
    qualifier: str | None = None
    _started: float = field(default_factory=time.monotonic, repr=False)

    @property
    def invoked_function_arn(self) -> str:
        arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.function_name}"
        return f"{arn}:{self.qualifier}" if self.qualifier else arn

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        elapsed_ms = (time.monotonic() - self._started) * 1000
        return max(0, int(self.timeout_ms - elapsed_ms))


# --- sample events -------------------------------------------------------------------------------


def load_event(name: str) -> dict[str, Any]:
    """A sample event from ``events/``, by file name (``.json`` may be left off)."""
    file_name = name if name.endswith(".json") else f"{name}.json"
    event: dict[str, Any] = json.loads((EVENTS_DIR / file_name).read_text())
    return event


def cloudtrail_event(
    name: str, *, event_id: str | None = None, **request_parameters: Any
) -> dict[str, Any]:
    """A sample CloudTrail event, as a new delivery: a new ``eventID`` (unless given) and its
    request parameters rewritten (e.g. to the ids moto picked)."""
    event = copy.deepcopy(load_event(name))
    event["detail"]["eventID"] = event_id or str(uuid.uuid4())
    event["detail"]["requestParameters"].update(request_parameters)
    return event


# --- the process environment ---------------------------------------------------------------------


@contextmanager
def environment_variables(variables: Mapping[str, str]) -> Iterator[None]:
    """Set process environment variables for the block, then restore the environment."""
    saved = dict(os.environ)
    os.environ.update(variables)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


# Powertools' Metrics warns (UserWarning) whenever an invocation flushes no metric. The checker
# publishes only alarmed metrics unless DETAILED_METRICS is on, so most invocations have none by
# design: for the tools that drive it many times in one process, the warning is noise.
EMPTY_METRICS_WARNING = "No application metrics to publish"


@contextmanager
def quiet_empty_metrics() -> Iterator[None]:
    """Keep Powertools' empty-metrics warning out of a demo's or benchmark's output (only it)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=EMPTY_METRICS_WARNING, category=UserWarning)
        yield


# --- lambda.Invoke -------------------------------------------------------------------------------


@dataclass(frozen=True)
class InvokeReply:
    """What Lambda answers to Invoke: the function's payload (a JSON document, or raw bytes sent
    as they are) and ``FunctionError`` when the function failed."""

    payload: object
    function_error: str | None = None


class LambdaApiError(Exception):
    """Raised by :meth:`InvokeRouter.invoke` to answer with an API error (the caller's boto3
    client raises ``ClientError`` with this code), e.g. throttling or a missing function."""

    def __init__(self, code: str, status: int) -> None:
        super().__init__(code)
        self.code = code
        self.status = status


def function_name_of(target: str) -> str:
    """The function name in an Invoke ``FunctionName`` (a name or an ARN, maybe qualified)."""
    if ":function:" in target:
        return target.split(":function:", 1)[1].split(":", maxsplit=1)[0]
    return target


class InvokeRouter:
    """Answers ``lambda.Invoke`` of boto3 clients with :meth:`invoke`, in this process.

    A ``before-call`` hook on a session's events returns botocore's (http, parsed) pair, so the
    call never reaches HTTP. Clients copy their session's hooks when created: build them inside
    :meth:`routing`. Exceptions other than :class:`LambdaApiError` propagate to the caller.
    """

    def invoke(self, function: str, event: Any) -> InvokeReply:
        """Run one invocation of ``function`` (its name) with the decoded payload."""
        raise NotImplementedError

    def close(self) -> None:
        """Release what the router started."""

    @contextmanager
    def routing(self, session: boto3.session.Session | None = None) -> Iterator[InvokeRouter]:
        """Route Invoke of clients built from ``session`` (boto3's default session if None)."""
        try:
            with hooked(session, [("before-call.lambda.Invoke", self._answer)]):
                yield self
        finally:
            self.close()

    def _answer(self, params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        from botocore.response import StreamingBody  # botocore only when routing: pure tests

        target = unquote(params["url_path"].split("/functions/", 1)[1].split("/", 1)[0])
        body = params.get("body") or b"{}"
        event = json.loads(body.read() if hasattr(body, "read") else body)
        try:
            reply = self.invoke(function_name_of(target), event)
        except LambdaApiError as error:
            return api_error(error.code, error.status, "local Lambda")
        payload = reply.payload
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        parsed: dict[str, Any] = {
            "StatusCode": 200,
            "ExecutedVersion": "$LATEST",
            "Payload": StreamingBody(io.BytesIO(data), len(data)),
            "ResponseMetadata": {"HTTPStatusCode": 200, "HTTPHeaders": {}},
        }
        if reply.function_error:
            parsed["FunctionError"] = reply.function_error
        return _http(200), parsed


@dataclass
class SimulatedCanaries(InvokeRouter):
    """Every canary takes `latency_ms` and answers with the same recorded findings (the
    benchmarks' canaries: devtools/fanout.py records the findings from a real canary run)."""

    latency_ms: float
    findings: dict[str, Any]

    def invoke(self, function: str, event: Any) -> InvokeReply:
        time.sleep(self.latency_ms / 1000)
        return InvokeReply(self.findings)


def api_error(
    code: str, status: int, where: str = "injected fault"
) -> tuple[AWSResponse, dict[str, Any]]:
    """What a `before-call` hook returns to answer an AWS call with an error, as the service
    would: the caller's botocore raises ClientError with this code."""
    return _http(status), {
        "Error": {"Code": code, "Message": f"{code} ({where})"},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }


def _http(status: int) -> AWSResponse:
    from botocore.awsrequest import AWSResponse, HTTPHeaders

    return AWSResponse("local://lambda/invoke", status, HTTPHeaders(), None)


@contextmanager
def hooked(
    session: boto3.session.Session | None, hooks: Sequence[tuple[str, Callable[..., Any]]]
) -> Iterator[None]:
    """botocore event ``hooks`` registered on ``session`` (boto3's default session if None) for
    the ``with`` block: how the test kit's stand-ins answer calls before they leave the process
    (a ``before-call`` handler that returns the (http, parsed) pair answers the call)."""
    if session is None:
        import boto3  # only when hooking: pure tests load the kit without it

        if boto3.DEFAULT_SESSION is None:
            boto3.setup_default_session()
        session = boto3.DEFAULT_SESSION
    assert session is not None
    events = session.events
    for name, hook in hooks:
        events.register(name, hook)
    try:
        yield
    finally:
        for name, hook in hooks:
            events.unregister(name, hook)
