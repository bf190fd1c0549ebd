"""The layering rules of ARCHITECTURE.md, checked on every module's imports (also the ones
inside functions): the web layer sits on top, the domain core at the bottom."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "lbaas"

BELOW_THE_WEB = ("core", "schemas", "services", "providers", "rpc", "agent", "drivers", "db",
                 "observability")
"""Packages that must not know the API (``lbaas.api``) or the CLI (``lbaas.cli``)."""


def imported_modules(path: Path) -> set[str]:
    """Every ``lbaas.*`` module ``path`` imports, at any depth of the file."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return {name for name in found if name == "lbaas" or name.startswith("lbaas.")}


def modules_of(package: str) -> list[Path]:
    return sorted((PACKAGE / package).rglob("*.py"))


@pytest.mark.parametrize("package", BELOW_THE_WEB)
def test_no_web_or_cli_imports_below_the_api(package: str) -> None:
    offenders = {
        f"{path.relative_to(PACKAGE.parent)} imports {module}"
        for path in modules_of(package)
        for module in imported_modules(path)
        if module.startswith(("lbaas.api", "lbaas.cli"))
    }
    assert not offenders, sorted(offenders)


ALLOWED = {
    "core": set(), "schemas": {"core"}, "db": {"core"},
    "services": {"core", "schemas", "db"},
    "providers": {"core", "schemas", "db", "rpc", "services"},
    "rpc": {"core", "db", "services"}, "agent": {"core", "rpc", "drivers"},
    "drivers": {"core"}, "observability": {"core", "db"},
}
"""Package -> the lbaas packages it may import (the table of ARCHITECTURE.md)."""


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_each_package_imports_only_what_the_architecture_allows(package: str) -> None:
    offenders = set()
    for path in modules_of(package):
        for module in imported_modules(path):
            parts = module.split(".")
            used = parts[1] if len(parts) > 1 else ""
            if used != package and used not in ALLOWED[package]:
                offenders.add(f"{path.relative_to(PACKAGE.parent)} imports {module}")
    assert not offenders, sorted(offenders)


def test_core_imports_only_core() -> None:
    offenders = {
        f"{path.relative_to(PACKAGE.parent)} imports {module}"
        for path in modules_of("core")
        for module in imported_modules(path)
        if not module.startswith("lbaas.core")
    }
    assert not offenders, sorted(offenders)


def test_nothing_below_the_web_loads_fastapi() -> None:
    offenders = set()
    for package in BELOW_THE_WEB:
        for path in modules_of(package):
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                         else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
                offenders.update(f"{path.relative_to(PACKAGE.parent)} imports {n}"
                                 for n in names if n.split(".")[0] in ("fastapi", "starlette"))
    assert not offenders, sorted(offenders)


def test_the_checker_sees_imports_inside_functions(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from lbaas.api.app import create_app\n")
    assert imported_modules(sample) == {"lbaas.api.app"}
