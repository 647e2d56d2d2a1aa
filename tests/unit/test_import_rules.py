"""The import rules of the architecture (shared/design/architecture.md), checked on the AST."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("write_side", "read_side", "projections", "streams", "api", "infra")

# package → the project packages it may import (besides itself).
ALLOWED: dict[str, set[str]] = {
    "write_side": set(),
    "read_side": set(),
    "streams": {"write_side"},
    "projections": {"streams", "read_side"},
    "api": {"write_side", "read_side", "projections", "streams", "infra.wiring"},
    "infra": {"write_side", "read_side", "streams", "projections"},
}


def imported_modules(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def violations(package: str, allowed: set[str]) -> list[str]:
    bad = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for line, module in imported_modules(path):
            top = module.split(".")[0]
            if top not in PACKAGES or top == package:
                continue
            if not any(module == rule or module.startswith(rule + ".") for rule in allowed):
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    return bad


@pytest.mark.parametrize("package", PACKAGES)
def test_each_package_imports_only_what_the_architecture_allows(package: str) -> None:
    assert violations(package, ALLOWED[package]) == []


def test_the_checker_catches_a_forbidden_import(tmp_path: Path, monkeypatch) -> None:
    fake_root = tmp_path
    (fake_root / "read_side").mkdir()
    (fake_root / "read_side" / "leak.py").write_text("from write_side.errors import DomainError\n")
    (fake_root / "api").mkdir()
    (fake_root / "api" / "leak.py").write_text(
        "import infra.settings\nfrom infra.wiring import X\n"
    )
    monkeypatch.setattr(__import__(__name__, fromlist=["ROOT"]), "ROOT", fake_root)
    assert violations("read_side", ALLOWED["read_side"]) == [
        "read_side/leak.py:1 imports write_side.errors"
    ]
    assert violations("api", ALLOWED["api"]) == ["api/leak.py:1 imports infra.settings"]
