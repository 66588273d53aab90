"""The layering rule (docs/architecture.md): pure domain modules import no AWS SDK, adapters are
the only boto3 users, renderers build on the domain alone, no checker module borrows another's
private names, and the canary never imports boto3.

Read from the source (the import statements, followed through each function's own package), so
the rule holds for every module, whatever a test process happens to have loaded already.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"
CHECKER = FUNCTIONS / "checker"
CANARY = FUNCTIONS / "canary"

# The checker's pure domain: plain data in, decisions out.
CHECKER_PURE = (
    *(
        f"{layer}.{path.stem}"
        for layer in ("domain", "render")
        for path in sorted((CHECKER / "dns_watchdog" / layer).glob("*.py"))
        if path.stem != "__init__"
    ),
    "config",
    "constants",
)
# The only checker modules allowed to import boto3 / botocore: the adapters, and the wiring that
# builds them.
CHECKER_ADAPTERS = {
    *(
        f"aws.{path.stem}"
        for path in (CHECKER / "dns_watchdog" / "aws").glob("*.py")
        if path.stem != "__init__"
    ),
    "flow.runtime",
}
# What the renderers (facts into words) may build on: the domain, the constants, each other.
RENDER_MAY_IMPORT = ("dns_watchdog.domain", "dns_watchdog.constants", "dns_watchdog.render")
# Third-party packages a pure module may use: none of them loads an AWS SDK.
PURE_THIRD_PARTY = {"pydantic", "dns"}
AWS_SDK = {"boto3", "botocore"}


def _imports(path: Path) -> set[str]:
    """Absolute module names imported anywhere in the file (TYPE_CHECKING blocks excluded)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            # `from package import module` imports a module too.
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return names


def _closure(root: Path, package: str, module: str) -> set[str]:
    """Every module `package.module` imports, following imports inside the package."""
    seen: set[str] = set()
    todo = [f"{package}.{module}"]
    outside: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        path = root / (name.replace(".", "/") + ".py")
        if not path.exists():  # a name imported from a module, not a module
            continue
        for imported in _imports(path):
            if imported == package:
                continue
            if imported.startswith(f"{package}."):
                todo.append(imported)
            else:
                outside.add(imported)
    return outside


def _third_party(modules: set[str]) -> set[str]:
    tops = {name.split(".")[0] for name in modules}
    return {top for top in tops if top not in sys.stdlib_module_names and top != "__future__"}


@pytest.mark.parametrize("module", CHECKER_PURE)
def test_checker_domain_modules_load_no_aws_sdk(module: str) -> None:
    third_party = _third_party(_closure(CHECKER, "dns_watchdog", module))
    assert third_party <= PURE_THIRD_PARTY, f"dns_watchdog.{module} pulls in {third_party}"


def test_only_adapters_import_boto3_in_the_checker() -> None:
    package = CHECKER / "dns_watchdog"
    users = {
        ".".join(path.relative_to(package).with_suffix("").parts)
        for path in package.rglob("*.py")
        if _third_party(_imports(path)) & AWS_SDK
    }
    assert users <= CHECKER_ADAPTERS


def test_the_canary_never_imports_an_aws_sdk() -> None:
    modules = [CANARY / "app.py", *(CANARY / "dns_canary").glob("*.py")]
    for path in modules:
        assert not (_third_party(_imports(path)) & AWS_SDK), path.name


def _own_imports(path: Path) -> list[tuple[str, str | None]]:
    """(module, name) for every `dns_watchdog` import in the file (name None: `import module`)."""
    found: list[tuple[str, str | None]] = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(a.name, None) for a in node.names if a.name.startswith("dns_watchdog")]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("dns_watchdog"):
            found += [(node.module or "", alias.name) for alias in node.names]
    return found


def test_renderers_build_on_the_domain_alone() -> None:
    for path in sorted((CHECKER / "dns_watchdog" / "render").glob("*.py")):
        for module, _ in _own_imports(path):
            assert module.startswith(RENDER_MAY_IMPORT), f"render/{path.name} imports {module}"


def test_no_checker_module_imports_another_modules_private_names() -> None:
    for path in sorted((CHECKER / "dns_watchdog").rglob("*.py")):
        private = [f"{m}.{n}" for m, n in _own_imports(path) if n and n.startswith("_")]
        assert not private, f"{path.relative_to(CHECKER)} imports {private}"
