"""The checker's design, held by tests (docs/architecture.md): folders are layers and imports go
one way, no module reaches into another's private names, adapters stand alone, functions stay
short, and no package imports itself in a circle.

Read from the source with `ast` (import statements anywhere in a module, TYPE_CHECKING blocks
and imports inside functions included), so a rule holds whatever a test process loaded.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = ROOT / "functions"
CHECKER = FUNCTIONS / "checker" / "dns_watchdog"
CANARY = FUNCTIONS / "canary" / "dns_canary"
PACKAGES = {"dns_watchdog": CHECKER, "dns_canary": CANARY, "devtools": ROOT / "devtools"}
MAX_FUNCTION_LINES = 60

# What each part of the checker may import of the checker (besides itself): the layering rule.
ALLOWED = {
    "domain": {"domain", "constants"},
    "render": {"render", "domain", "constants"},
    "aws": {"aws", "domain", "constants", "observability"},
    "flow": {"flow", "aws", "render", "domain", "constants", "config", "observability"},
    "config": {"domain", "constants"},
    "observability": {"constants"},
    "constants": set(),
}
# The adapters every other adapter may use: the shared AWS error / retry reader.
SHARED_ADAPTERS = {"aws.calls"}


def _modules(package: str) -> Iterator[tuple[str, Path]]:
    root = PACKAGES[package]
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield ".".join((package, *parts)), path


def _imports(path: Path, module: str) -> Iterator[tuple[str, list[str]]]:
    """(imported module, names taken from it) for every import in the file, relative ones
    resolved against `module`."""
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".")[: -node.level]
                base = ".".join([*package, *([base] if base else [])])
            yield base, [alias.name for alias in node.names]


def _is_module(name: str) -> bool:
    package, _, rest = name.partition(".")
    if package not in PACKAGES:
        return False
    path = PACKAGES[package].joinpath(*rest.split(".")) if rest else PACKAGES[package]
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def _targets(path: Path, module: str, package: str) -> Iterator[tuple[str, list[str]]]:
    """Modules of `package` this file imports (`from pkg import module` counts as a module)."""
    for imported, names in _imports(path, module):
        if imported != package and not imported.startswith(f"{package}."):
            continue
        submodules = [f"{imported}.{n}" for n in names if _is_module(f"{imported}.{n}")]
        if submodules:
            yield from ((sub, []) for sub in submodules)
        else:
            yield imported, names


def _part(module: str) -> str:
    """The layer of a checker module: its first folder, or its own name at the top."""
    return module.split(".")[1] if "." in module else ""


@pytest.mark.parametrize(("module", "path"), list(_modules("dns_watchdog")), ids=str)
def test_checker_imports_follow_the_layers(module: str, path: Path) -> None:
    layer = _part(module)
    if layer == "":  # the package itself
        return
    allowed = ALLOWED[layer]
    wrong = sorted(
        target
        for target, _ in _targets(path, module, "dns_watchdog")
        if target != "dns_watchdog" and _part(target) not in allowed
    )
    assert not wrong, f"{module} ({layer}) may import only {sorted(allowed)}, not {wrong}"


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_no_module_imports_another_modules_private_names(package: str) -> None:
    reached = [
        f"{module} takes {name} from {target}"
        for module, path in _modules(package)
        for target, names in _targets(path, module, package)
        for name in names
        if name.startswith("_") and not name.startswith("__") and target != module
    ]
    assert not reached


def test_adapters_import_no_other_adapter_but_the_shared_helpers() -> None:
    reached = [
        f"{module} imports {target}"
        for module, path in _modules("dns_watchdog")
        if _part(module) == "aws"
        for target, _ in _targets(path, module, "dns_watchdog")
        if _part(target) == "aws"
        and target not in ("dns_watchdog.aws", module)
        and target.removeprefix("dns_watchdog.") not in SHARED_ADAPTERS
    ]
    assert not reached


@pytest.mark.parametrize("package", ["dns_watchdog", "dns_canary"])
def test_no_function_is_longer_than_sixty_lines(package: str) -> None:
    long = [
        f"{module}.{node.name}: {node.end_lineno - node.lineno + 1} lines"
        for module, path in _modules(package)
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert not long


def test_the_handlers_are_short_too() -> None:
    for handler in (FUNCTIONS / "checker" / "app.py", FUNCTIONS / "canary" / "app.py"):
        for node in ast.walk(ast.parse(handler.read_text())):
            if isinstance(node, ast.FunctionDef):
                assert node.end_lineno is not None
                assert node.end_lineno - node.lineno + 1 <= MAX_FUNCTION_LINES, node.name


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_no_import_circles(package: str) -> None:
    graph = {
        module: {t for t, _ in _targets(path, module, package) if t != module}
        for module, path in _modules(package)
    }
    circles: list[list[str]] = []
    done: set[str] = set()

    def visit(node: str, trail: list[str]) -> None:
        for nxt in sorted(graph.get(node, set())):
            if nxt in trail:
                circles.append([*trail[trail.index(nxt) :], nxt])
            elif nxt not in done:
                visit(nxt, [*trail, nxt])
        done.add(node)

    for module in sorted(graph):
        if module not in done:
            visit(module, [module])
    assert not circles, circles


def test_complexity_is_capped_in_the_lint_configuration() -> None:
    # ruff's C901 (mccabe) runs in `make lint`; this keeps the cap from being dropped quietly.
    text = (ROOT / "pyproject.toml").read_text()
    assert '"C90"' in text
    assert "max-complexity = 10" in text
