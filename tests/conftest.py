"""Fixtures shared by every test: a fake Lambda context and a handler loader.

Both functions have an ``app.py``, so a handler is never imported as ``app``: ``load_handler``
imports ``functions/<name>/app.py`` under a unique module name, with ``functions/<name>`` on
``sys.path`` the way the Lambda runtime finds ``app.lambda_handler``. Every call returns a fresh
module, so per-module state (settings read once, clients) never leaks between tests.
"""

from __future__ import annotations

import importlib.util
import itertools
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS_DIR = REPO_ROOT / "functions"
EVENTS_DIR = REPO_ROOT / "events"
_module_numbers = itertools.count(1)


@dataclass
class FakeLambdaContext:
    """The attributes of the Lambda runtime's context object that code and Powertools read.

    The remaining time counts down from ``timeout_ms`` like the real one.
    """

    function_name: str = "test-function"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 128
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/test-function"
    log_stream_name: str = "2024/01/01/[$LATEST]0123456789abcdef"
    timeout_ms: int = 30_000
    _started: float = field(default_factory=time.monotonic, repr=False)

    def get_remaining_time_in_millis(self) -> int:
        elapsed_ms = (time.monotonic() - self._started) * 1000
        return max(0, int(self.timeout_ms - elapsed_ms))


@pytest.fixture
def lambda_context_factory() -> Callable[..., FakeLambdaContext]:
    """Build contexts with overrides, e.g. ``lambda_context_factory(timeout_ms=600)``."""
    return FakeLambdaContext


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


def load_handler_module(function_dir_name: str) -> ModuleType:
    """Import functions/<function_dir_name>/app.py as a new module with a unique name."""
    function_dir = FUNCTIONS_DIR / function_dir_name
    app_path = function_dir / "app.py"
    if not app_path.is_file():
        raise FileNotFoundError(f"no handler at {app_path}")
    if str(function_dir) not in sys.path:
        sys.path.insert(0, str(function_dir))
    module_name = f"{function_dir_name}_app_{next(_module_numbers)}"
    spec = importlib.util.spec_from_file_location(module_name, app_path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {app_path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def load_handler() -> Callable[[str], ModuleType]:
    """``app = load_handler("canary"); app.lambda_handler(event, lambda_context)``."""
    return load_handler_module
