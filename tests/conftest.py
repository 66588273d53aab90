"""Fixtures shared by every test, over the Lambda stand-in kit (devtools/lambdakit.py)."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import pytest

from devtools.lambdakit import FUNCTIONS_DIR, FakeLambdaContext, import_handler_module


@pytest.fixture
def lambda_context_factory() -> Callable[..., FakeLambdaContext]:
    """Build contexts with overrides, e.g. ``lambda_context_factory(timeout_ms=600)``."""
    return FakeLambdaContext


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


@pytest.fixture
def load_handler() -> Callable[[str], ModuleType]:
    """``app = load_handler("canary"); app.lambda_handler(event, lambda_context)``: a fresh
    module of ``functions/<name>/app.py`` each call."""
    return lambda name: import_handler_module(FUNCTIONS_DIR / name)
