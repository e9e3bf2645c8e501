"""Bake every combination and check what comes out, up to its own test suite."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from baking import COMBOS, DEFAULT_FLASK, TRITON_COMBOS, Combo, bake, run

from local_extensions import load_rules

rules = load_rules()
EXPECTED_FILES = [
    ".dockerignore",
    ".gitignore",
    ".github/dependabot.yml",
    ".github/workflows/ci.yml",
    ".pre-commit-config.yaml",
    "Dockerfile",
    "Makefile",
    "README.md",
    "WALKTHROUGH.md",
    "build_spec.yaml",
    "deploy/deployment.toml",
    *(
        f"docs/{page}.md"
        for page in (
            *("batching", "deployment", "layout", "make", "models"),
            *("scaling", "scorer", "security", "team", "troubleshooting"),
        )
    ),
    "gunicorn.conf.py",
    "model_artifact/README.md",
    "pyproject.toml",
    "requirements-dev.in",
    "requirements-dev.txt",
    "requirements.in",
    "requirements.txt",
    "scripts/bench.py",
    "scripts/smoke.py",
    "scripts/train.py",
    "src/{package}/__init__.py",
    "src/{package}/app.py",
    "src/{package}/batching.py",
    "src/{package}/endpoints.py",
    "src/{package}/frame_input.py",
    "src/{package}/inline_budget.py",
    "src/{package}/model_input.py",
    "src/{package}/model_path.py",
    "src/{package}/npy_input.py",
    "src/{package}/oci_rules.py",
    "src/{package}/outputs.py",
    "src/{package}/payload.py",
    "src/{package}/processing.py",
    "src/{package}/request_log.py",
    "src/{package}/row_limit.py",
    "src/{package}/scorer.py",
    "src/{package}/settings.py",
    "src/{package}/signature.py",
    *(
        f"src/{{package}}_ops/{module}.py"
        for module in (
            *("__init__", "__main__", "artifact", "capacity", "catalog", "checkpoint", "cli", "deploy"),
            *("debug_job", "doctor", "errors", "failure_risks", "find_model", "samples", "teardown"),
            *("deploy_config", "deploy_local", "lifecycle", "lock", "oci_client", "oci_config_file"),
            *("oci_models", "oci_settings", "policies", "predict_remote", "scan"),
            *("project", "push_record", "registry", "remote_logs", "start_record", "update_plan"),
        )
    ),
    "tests/baked_settings.py",
    "tests/conftest.py",
    "tests/test_ads_envelope.py",
    "tests/test_app.py",
    "tests/test_batching.py",
    "tests/test_artifact.py",
    "tests/test_capacity.py",
    "tests/test_catalog.py",
    "tests/test_deploy.py",
    "tests/test_deploy_config.py",
    "tests/test_deploy_local.py",
    "tests/test_doctor.py",
    "tests/test_failure_risks.py",
    "tests/test_find_model.py",
    "tests/test_inline_budget.py",
    "tests/test_layout.py",
    "tests/test_limits.py",
    "tests/test_lifecycle.py",
    "tests/test_lock.py",
    "tests/test_methods.py",
    "tests/test_model_path.py",
    "tests/test_oci_config_file.py",
    "tests/test_oci_overrides.py",
    "tests/test_oci_settings.py",
    "tests/test_ops_inputs.py",
    "tests/test_payload.py",
    "tests/test_policies.py",
    "tests/test_predict_remote.py",
    "tests/test_processing.py",
    "tests/test_registry.py",
    "tests/test_remote_logs.py",
    "tests/test_request_log.py",
    "tests/test_scan.py",
    "tests/test_server_versions.py",
    "tests/test_settings.py",
    "tests/test_signature.py",
    "tests/test_smoke.py",
    "tests/test_teardown.py",
    "tests/test_typed_input.py",
    "tests/test_update_plan.py",
    "tests/test_walkthrough.py",
    "tests/settings_as_baked.toml",
    "tests/template_hooks.py",
    "tests/template_hooks_site/sitecustomize.py",
    "tests/test_your_processing.py",
]
FRAMEWORK_FILES = {
    "flask": [
        "src/{package}/gthread_worker.py",
        "src/{package}/request_framing.py",
        "tests/test_request_framing.py",
    ],
    "fastapi": ["src/{package}/uvicorn_limits.py"],
}
# What a Triton project adds (server=triton).
TRITON_FILES = [
    "docs/triton.md",
    "src/{package}_ops/triton_client.py",
    "src/{package}_ops/triton_repository.py",
    "tests/test_triton_client.py",
    "tests/test_triton_deploy_config.py",
    "tests/test_triton_repository.py",
]
MAKE_TARGETS = {
    *("help", "doctor", "checkpoint", "install", "lock", "lock-check", "train", "serve", "smoke"),
    *("bench", "capacity", "test", "lint", "format", "hooks", "clean"),
    *("build", "run", "health", "predict", "stop", "logs", "login", "tag", "push", "digest"),
    *("artifact", "deploy-config", "deploy-local", "update-plan", "deploy", "deploy-update", "catalog"),
    *("policies", "status", "activate", "deactivate", "delete", "teardown", "predict-remote"),
    *("sbom", "ci", "oci-config", "scan-setup", "scan-results", "scan", "settings"),
    *("logs-remote", "debug-job"),
}
TRITON_TARGETS = {"triton-push", "triton-run", "triton-health", "triton-predict", "triton-stop"}
# Jinja left in a file; a GitHub Actions expression (${{ github.ref }}) is the workflow's own.
UNRENDERED = re.compile(r"(?<!\$)\{\{|\{%|cookiecutter\.")


def files_of(project: Path) -> list[str]:
    return sorted(str(path.relative_to(project)) for path in project.rglob("*") if path.is_file())


@pytest.fixture(params=[combo.param() for combo in COMBOS])
def project(request: pytest.FixtureRequest, fresh, tmp_path: Path) -> tuple[Combo, Path]:
    combo = request.param
    return combo, fresh(combo, tmp_path)


def test_files_are_exactly_the_expected_ones(project: tuple[Combo, Path]) -> None:
    combo, path = project
    package = combo.answers.get("package_name", path.name.replace("-", "_"))
    expected = [*EXPECTED_FILES, *FRAMEWORK_FILES[combo.answers["framework"]]]
    expected += TRITON_FILES if combo.answers.get("server") == "triton" else []
    assert files_of(path) == sorted(name.format(package=package) for name in expected)


def test_nothing_is_left_unrendered(project: tuple[Combo, Path]) -> None:
    _, path = project
    leftovers = [
        f"{name}:{number}: {line.strip()}"
        for name in files_of(path)
        for number, line in enumerate((path / name).read_text().splitlines(), 1)
        if UNRENDERED.search(line)
    ]
    assert leftovers == []


def test_only_the_chosen_framework_is_in_the_project(project: tuple[Combo, Path]) -> None:
    combo, path = project
    framework = combo.answers["framework"]
    other = {"flask": "fastapi", "fastapi": "flask"}[framework]
    requirements = (path / "requirements.txt").read_text().lower()
    assert f"\n{framework}==" in requirements
    assert f"\n{other}==" not in requirements
    code = "\n".join(p.read_text() for p in (path / "src").rglob("*.py")).lower()
    assert f"from {framework}" in code and f"from {other}" not in code


def hooks_of(path: Path) -> dict[str, str]:
    """The preprocess and postprocess a module defines, as their syntax trees (docstrings included)."""
    tree = ast.parse(path.read_text())
    hooks = ("preprocess", "postprocess")
    return {node.name: ast.dump(node) for node in tree.body if getattr(node, "name", None) in hooks}


def test_the_tests_copies_of_what_is_yours_are_the_templates_as_baked(
    project: tuple[Combo, Path],
) -> None:
    """The project's tests start from copies of the files users edit, never from those files:
    tests/settings_as_baked.toml is deploy/deployment.toml as baked (one source renders both, byte
    for byte; copier's: test_copier.py compares), and tests/template_hooks.py's hooks are
    processing.py's as shipped."""
    combo, path = project
    settings = (path / "deploy" / "deployment.toml").read_bytes()
    assert (path / "tests" / "settings_as_baked.toml").read_bytes() == settings
    package = combo.answers.get("package_name", path.name.replace("-", "_"))
    shipped = hooks_of(path / "src" / package / "processing.py")
    assert len(shipped) == 2 and hooks_of(path / "tests" / "template_hooks.py") == shipped


def test_config_files_load_and_carry_the_answers(project: tuple[Combo, Path]) -> None:
    combo, path = project
    pyproject = tomllib.loads((path / "pyproject.toml").read_text())
    version = combo.answers["python_version"]
    assert pyproject["project"]["requires-python"] == f">={version}"
    assert pyproject["tool"]["ruff"]["target-version"] == "py" + version.replace(".", "")
    assert pyproject["project"]["version"] == "0.1.0"  # not the image tag: "latest" is no PEP 440 version
    gunicorn_conf = (path / "gunicorn.conf.py").read_text()
    assert f"os.environ.get('PORT', '{combo.answers.get('server_port', '8080')}')" in gunicorn_conf
    compile(gunicorn_conf, "gunicorn.conf.py", "exec")


def test_ruff_is_clean(project: tuple[Combo, Path]) -> None:
    _, path = project
    run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], path)
    run([sys.executable, "-m", "ruff", "format", "--check", "--no-cache", "."], path)


def test_make_n_login_never_shows_the_token(project: tuple[Combo, Path]) -> None:
    _, path = project
    env = {**os.environ, "OCIR_AUTH_TOKEN": "s3cr3t-auth-token"}
    result = subprocess.run(
        ["make", "-n", "login", "OCI_USER=jane"], cwd=path, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "s3cr3t-auth-token" not in result.stdout + result.stderr


def test_derived_defaults(tmp_path: Path) -> None:
    path = bake(tmp_path, {"project_name": "Churn Model v2"})
    assert path.name == "churn-model-v2"
    assert (path / "src" / "churn_model_v2" / "app.py").is_file()
    registry = tomllib.loads((path / "deploy" / "deployment.toml").read_text())["registry"]
    assert registry == {"namespace": "mytenancy", "repository": "churn-model-v2", "tag": "1.0.0"}
    makefile = (path / "Makefile").read_text()
    assert "mytenancy" not in makefile and "iad.ocir.io" not in makefile  # deployment.toml's alone


def test_an_owner_names_the_slug_image_display_name_and_tags(tmp_path: Path) -> None:
    path = bake(tmp_path, {"owner": "ana"})
    assert path.name == "my-model-service-ana"
    assert (path / "src" / "my_model_service_ana" / "app.py").is_file()
    deployment = tomllib.loads((path / "deploy" / "deployment.toml").read_text())
    assert deployment["registry"]["repository"] == "my-model-service-ana"
    assert deployment["registry"]["tag"] == "1.0.0-ana"
    assert deployment["display_name"] == "My Model Service (ana)"
    assert deployment["freeform_tags"] == {"service": "my-model-service-ana", "owner": "ana"}
    assert (path / "tests" / "settings_as_baked.toml").read_bytes() == (
        path / "deploy" / "deployment.toml"
    ).read_bytes()
    alone = tomllib.loads((bake(tmp_path / "none", {}) / "deploy" / "deployment.toml").read_text())
    assert alone["display_name"] == "My Model Service"
    assert alone["freeform_tags"] == {"service": "my-model-service"}


# The project's tests of its ops tooling (src/<pkg>_ops) that never start or import the scorer's
# framework: what they check depends on the names, owner, region, port, server and Python version
# (all in the answers), not on Flask or FastAPI. Here a combo whose answers are another's but for the
# framework (its "twin", earlier in COMBOS: fastapi with python 3.11 and 3.13, today) leaves them to
# that twin; every other combo, and a user's `make test`, runs them all. Not here, though also ops:
# test_lock (the locks differ by framework), test_artifact, test_capacity, test_deploy_config,
# test_deploy_local, test_doctor, test_find_model (they read the framework's files or start the scorer).
OPS_TESTS = [
    *("test_catalog.py", "test_deploy.py", "test_failure_risks.py", "test_lifecycle.py"),
    *("test_oci_config_file.py", "test_oci_settings.py", "test_ops_inputs.py", "test_policies.py"),
    *("test_predict_remote.py", "test_registry.py", "test_remote_logs.py", "test_scan.py"),
    *("test_teardown.py", "test_update_plan.py"),
]


def framework_twin(combo: Combo) -> Combo | None:
    """The combo before ``combo`` in COMBOS with the same answers but the framework, if any."""

    def but_framework(answers: dict[str, str]) -> dict[str, str]:
        return {name: value for name, value in answers.items() if name != "framework"}

    earlier = COMBOS[: COMBOS.index(combo)]
    return next(
        (other for other in earlier if but_framework(other.answers) == but_framework(combo.answers)), None
    )


def test_twins_are_the_fastapi_defaults_of_a_flask_combo(fresh, tmp_path: Path) -> None:
    """What the project test below leaves out, where: only the ops tests, only in fastapi combos,
    and only while they and the ops package render byte for byte as in the twin that runs them."""
    twins = [(combo, twin) for combo in COMBOS if (twin := framework_twin(combo))]
    assert {combo.id: twin.id for combo, twin in twins} == {
        "framework:fastapi-python:3.11": "framework:flask-python:3.11",
        "framework:fastapi-python:3.13": "framework:flask-python:3.13",
    }
    for combo, twin in twins:
        rendered = [fresh(each, tmp_path / each.id.replace(":", "-")) for each in (combo, twin)]
        left, right = (
            {path.relative_to(project): path.read_bytes() for path in ops_files(project)}
            for project in rendered
        )
        assert left == right and len(left) > len(OPS_TESTS), combo.id


@pytest.mark.xdist_group(DEFAULT_FLASK.id)
def test_xdist_keeps_a_combos_tests_on_one_worker(request: pytest.FixtureRequest) -> None:
    """`make test` (-n 2 --dist loadgroup) runs a combo's tests on one worker, which bakes and
    installs it once, only while xdist's group reaches the test's id (pytest 9.2 lost it:
    requirements-dev.txt pins the pytest that keeps it)."""
    if hasattr(request.config, "workerinput"):  # a worker of pytest-xdist, as under make test
        assert request.node.nodeid.endswith(f"@{DEFAULT_FLASK.id}"), request.node.nodeid


def ops_files(project: Path) -> list[Path]:
    """The files of the ops tests a twin leaves out, and of the ops package they test."""
    package = [path for path in project.glob("src/*_ops/**/*") if path.is_file()]
    return [*(project / "tests" / name for name in OPS_TESTS), *package]


@pytest.mark.parametrize("combo", [combo.param() for combo in COMBOS])
def test_the_projects_own_tests_and_lint_pass(baked, combo: Combo) -> None:
    path = baked(combo)
    assert sorted(name for name in OPS_TESTS if (path / "tests" / name).is_file()) == sorted(OPS_TESTS)
    # A twin's ops tests ran in its twin (OPS_TESTS); PYTEST_ADDOPTS adds to the project's own options.
    skipped = [f"--ignore=tests/{name}" for name in OPS_TESTS] if framework_twin(combo) else []
    addopts = " ".join([os.environ.get("PYTEST_ADDOPTS", ""), *skipped]).strip()
    result = run(["make", "test"], path, PYTEST_ADDOPTS=addopts)
    assert re.search(r"\b\d+ passed\b", result.stdout), result.stdout
    assert " failed" not in result.stdout
    assert " skipped" not in result.stdout  # test_your_processing.py too: make train wrote the model
    run(["make", "lint"], path)
    interpreter = subprocess.run(
        [str(path / ".venv/bin/python"), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert interpreter.stdout.strip() == combo.answers["python_version"]


@pytest.mark.parametrize("combo", [combo.param() for combo in COMBOS])
def test_no_module_the_project_installs_can_be_its_package_name(baked, combo: Combo) -> None:
    """A package named like one it imports (``flask``, ``yaml``) would shadow it: the rule
    refuses every top-level module of the project's environment but its own."""
    path = baked(combo)
    code = "import importlib.metadata as m, json; print(json.dumps(list(m.packages_distributions())))"
    modules = json.loads(run([str(path / ".venv/bin/python"), "-c", code], path).stdout)
    server = next(
        init.parent.name for init in path.glob("src/*/__init__.py") if not init.parent.name.endswith("_ops")
    )
    ours = (server, f"{server}_ops")  # the server package and the deployment tooling
    allowed = [name for name in modules if name not in ours and not rules.check_package_name(name)]
    assert allowed == [], "add these to TAKEN_MODULES in oci_rules.py"


@pytest.mark.parametrize("combo", [DEFAULT_FLASK.param(), TRITON_COMBOS[0].param()])
def test_make_help_lists_every_target(baked, combo: Combo) -> None:
    path = baked(combo)
    help_text = run(["make", "help"], path).stdout
    lines = [line for line in help_text.splitlines() if line.strip()]
    sections = [line.split(":")[0] for line in lines if not line.startswith(" ")]
    assert sections == ["Local", "Image", "OCI", "Team", *(["Triton"] if combo in TRITON_COMBOS else [])]
    targets = [line.split(maxsplit=1) for line in lines if line.startswith(" ")]
    listed = [words[0] for words in targets]
    assert len(listed) == len(set(listed))
    assert set(listed) == MAKE_TARGETS | (TRITON_TARGETS if combo in TRITON_COMBOS else set())
    assert all(len(words) == 2 for words in targets)


SHAPES = ["VM.Standard.E4.Flex", "VM.Standard.E5.Flex", "VM.Standard3.Flex", "VM.Standard.A1.Flex"]
SHAPES += ["VM.Standard.A2.Flex", "BM.Standard.A1.160", "VM.GPU.A10.1", "BM.GPU.A100-v2.8"]


@pytest.mark.xdist_group(DEFAULT_FLASK.id)
def test_make_build_builds_for_the_cpu_of_the_shape_as_the_rules_say(baked) -> None:
    """An image built on an Apple-silicon laptop must still run on an E-series shape, and the reverse."""
    project = baked(DEFAULT_FLASK)
    default = run(["make", "-n", "build"], project).stdout
    assert "--platform linux/amd64 " in default  # the default shape, VM.Standard.E4.Flex
    settings = project / "deploy" / "deployment.toml"
    as_baked = settings.read_text()
    try:
        for shape in SHAPES:  # written as TOML allows, not only as baked
            written = f"shape='{shape}'  # {shape}"
            settings.write_text(as_baked.replace('shape = "VM.Standard.E4.Flex"', written))
            shown = run(["make", "-n", "build"], project).stdout
            assert f"--platform {rules.platform_of_shape(shape)} " in shown, shape
    finally:
        settings.write_text(as_baked)
    assert {rules.platform_of_shape(shape) for shape in SHAPES} == {"linux/amd64", "linux/arm64"}
    one_run = run(["make", "-n", "build", "PLATFORM=linux/arm64"], project).stdout
    assert "--platform linux/arm64 " in one_run
