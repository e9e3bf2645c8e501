"""The server package and the deployment tooling stay apart: the scorer's image has only the server.
And the tooling's cleaning leaves what is yours."""

from __future__ import annotations

import ast
import shlex
import subprocess
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


def test_make_clean_leaves_your_model_and_your_request() -> None:
    """Git ignores the model and sample_request.json: what make clean removed would be gone."""
    shown = subprocess.run(["make", "-n", "clean"], cwd=PROJECT, capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0, shown.stderr
    (removal,) = [shlex.split(line) for line in shown.stdout.splitlines() if line.startswith("rm ")]
    assert {".venv", "dist", "build"} <= set(removal)
    yours = ("model_artifact", "model_repository", "sample_request.json", "scripts", "deploy", "src")
    assert not [path for path in removal if path.split("/")[0] in yours], removal
