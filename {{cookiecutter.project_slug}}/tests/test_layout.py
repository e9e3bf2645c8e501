"""The server package and the deployment tooling stay apart: the scorer's image has only the server."""

from __future__ import annotations

import ast
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
SERVER = PROJECT / "src" / "{{ cookiecutter.package_name }}"
OPS = "{{ cookiecutter.package_name }}_ops"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    return names | {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}


def test_the_server_package_never_imports_the_deployment_tooling() -> None:
    for path in SERVER.rglob("*.py"):
        assert not any(name.split(".")[0] == OPS for name in imported_modules(path)), path


def test_the_image_leaves_the_deployment_tooling_out() -> None:
    ignored = (PROJECT / ".dockerignore").read_text().splitlines()
    assert "!src/" in ignored and "src/*_ops/" in ignored[ignored.index("!src/") :]
