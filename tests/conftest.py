"""Fixtures shared by every test, over the Lambda stand-in kit (devtools/lambdakit.py), and the
rule that every test module names its tier.

Tiers (``pytestmark = pytest.mark.<tier>`` at module level, exactly one): ``unit`` (pure code:
no moto, no sockets, no subprocesses, no tools), ``integration`` (moto, the DNS lab on loopback,
the real canary behind the checker), ``iac`` (template gates and contracts) and ``realdns`` (real
DNS server software). ``make unit`` runs the first with sockets disabled.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable
from pathlib import Path
from types import ModuleType

import pytest

from devtools.lambdakit import FUNCTIONS_DIR, FakeLambdaContext, import_handler_module

TIERS = ("unit", "integration", "iac", "realdns")
TESTS_DIR = Path(__file__).resolve().parent


class TieredModule(pytest.Module):
    """A test module that fails to collect unless it carries exactly one tier marker."""

    def collect(self) -> Iterable[pytest.Item | pytest.Collector]:
        marks = getattr(self.obj, "pytestmark", [])
        marks = marks if isinstance(marks, list) else [marks]
        tiers = [mark.name for mark in marks if mark.name in TIERS]
        if len(tiers) != 1:
            raise self.CollectError(
                f"{len(tiers)} tier markers ({', '.join(tiers) or 'none'}): a test module needs "
                f"exactly one, `pytestmark = pytest.mark.<{'|'.join(TIERS)}>`"
            )
        return super().collect()


def pytest_pycollect_makemodule(module_path: Path, parent: pytest.Collector) -> pytest.Module:
    return TieredModule.from_parent(parent, path=module_path)


def declared_tiers(source: str) -> list[str]:
    """The tier markers a module's top-level ``pytestmark = ...`` names, read without importing."""
    tiers = []
    for statement in ast.parse(source).body:
        if isinstance(statement, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "pytestmark"
            for target in statement.targets
        ):
            tiers += [
                node.attr
                for node in ast.walk(statement.value)
                if isinstance(node, ast.Attribute) and node.attr in TIERS
            ]
    return tiers


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """With ``-m <tier>``, skip importing modules of other tiers: the quick loop stays quick
    (``make unit`` imports neither moto nor cfn-lint). Modules of no clear tier are collected, and
    checked, as usual."""
    wanted = config.getoption("markexpr")
    if wanted not in TIERS or not collection_path.name.startswith("test_"):
        return None
    if collection_path.suffix != ".py" or TESTS_DIR not in collection_path.resolve().parents:
        return None
    tiers = declared_tiers(collection_path.read_text())
    return True if len(tiers) == 1 and tiers[0] in TIERS and tiers[0] != wanted else None


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
