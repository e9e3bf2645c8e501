"""Bad answers stop cookiecutter with a one-line message and leave nothing behind."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from baking import TEMPLATE, hook_scratch

from local_extensions import cookiecutter_key

BAD_ANSWERS = [
    ("server_port", "24224", "server_port: 24224 is reserved by OCI Model Deployment"),
    ("server_port", "8446", "server_port: 8446 is reserved by OCI Model Deployment"),
    ("server_port", "8447", "server_port: 8447 is reserved by OCI Model Deployment"),
    ("server_port", "1023", "server_port: 1023 is outside 1024..65535"),
    ("server_port", "65536", "server_port: 65536 is outside 1024..65535"),
    ("server_port", "abc", "server_port: 'abc' is not a number"),
    ("project_slug", "my service", "project_slug: 'my service' must start with a lower-case letter"),
    ("project_slug", "MyService", "project_slug: 'MyService' must start with a lower-case letter"),
    ("package_name", "my-service", "package_name: 'my-service' is not a valid Python identifier"),
    ("package_name", "2fast", "package_name: '2fast' is not a valid Python identifier"),
    ("package_name", "class", "package_name: 'class' is not a valid Python identifier"),
    ("package_name", "MyPkg", "package_name: 'MyPkg' must be lower case"),
    ("oci_region", "us-nowhere-1", "oci_region: 'us-nowhere-1' is not a known OCI region identifier"),
    ("image_tag", "bad tag", "image_tag: 'bad tag' is not a valid image tag"),
    ("image_tag", ".hidden", "image_tag: '.hidden' is not a valid image tag"),
    ("image_tag", "v" * 129, "is not a valid image tag"),
    ("tenancy_namespace", "My-Tenancy", "tenancy_namespace: 'My-Tenancy' must hold only lower-case letters"),
    ("ocir_repository", "Bad_Repo", "ocir_repository: 'Bad_Repo' is not a valid repository name"),
    ("workers", "0", "workers: '0' must be a whole number from 1 to 256"),
    ("model_file", "models/m.joblib", "model_file: 'models/m.joblib' must be a file name without a path"),
    # Found by a review: each passed once and baked a broken or dangerous project.
    ("project_name", "x" * 300, "xxxx...' must be one line of 1 to 100 characters"),
    ("project_name", "Model\nall:\n\tid", "project_name: 'Model\\nall:\\n\\tid' must be one line"),
    ("model_file", "$(shell id > PWNED.txt)x.joblib", "model_file: '$(shell id > PWNED.txt)x.joblib'"),
    ("model_file", 'x"y', "model_file: 'x\"y' must be a file name"),
    ("model_file", " ", "model_file: ' ' must be a file name"),
    ("model_file", "*", "model_file: '*' must be a file name"),
    ("image_tag", "abc\n", "image_tag: 'abc\\n' is not a valid image tag"),
    ("tenancy_namespace", "abc\n", "tenancy_namespace: 'abc\\n' must hold only"),
    ("ocir_repository", "abc\n", "ocir_repository: 'abc\\n' is not a valid repository name"),
    ("project_slug", "abc\n", "project_slug: 'abc\\n' must start with a lower-case letter"),
    ("project_slug", "s" * 64, "at most 63 characters"),
    ("server_port", "8_080", "server_port: '8_080' is not a number"),
    ("server_port", "+8080", "server_port: '+8080' is not a number"),
    ("server_port", " 8080", "server_port: ' 8080' is not a number"),
    ("server_port", "\u0668\u0660\u0668\u0660", "server_port: '\u0668\u0660\u0668\u0660' is not a number"),
    ("workers", "\u00b2", "workers: '\u00b2' must be a whole number"),
    ("package_name", "flask", "package_name: 'flask' is the name of a module the project imports"),
    ("package_name", "json", "package_name: 'json' is the name of a module the project imports"),
    ("owner", "Ana", "owner: 'Ana' must be empty or a short name"),
    ("owner", "ana smith", "owner: 'ana smith' must be empty or a short name"),
    ("owner", "o" * 17, "at most 16 characters"),
]


def cookiecutter_run(output_dir: Path, *arguments: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "cookiecutter", "--no-input", "-o", str(output_dir), str(TEMPLATE)]
    env = {**os.environ, "TMPDIR": str(hook_scratch(output_dir))}
    return subprocess.run([*command, *arguments], capture_output=True, text=True, timeout=120, env=env)


def cookiecutter_cli(output_dir: Path, *answers: str) -> subprocess.CompletedProcess:
    """Cookiecutter's command line with ``option=value`` answers, spelled as it takes them."""
    pairs = (answer.split("=", 1) for answer in answers)
    spelled = [f"{cookiecutter_key(name)}={value}" for name, value in pairs]
    return cookiecutter_run(output_dir, *spelled)


def output_lines(result: subprocess.CompletedProcess) -> list[str]:
    """Cookiecutter prints a refusal on stdout (checked before the project folder is made)
    or, from the pre-generation hook, on stderr."""
    return (result.stdout + result.stderr).splitlines()


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [pytest.param(*bad, id=f"{bad[0]}={bad[1][:12]}") for bad in BAD_ANSWERS],
)
def test_bad_answer_is_refused_with_its_rule(tmp_path: Path, option: str, value: str, message: str) -> None:
    result = cookiecutter_cli(tmp_path, f"{option}={value}")
    assert result.returncode != 0
    errors = [line for line in output_lines(result) if line.startswith("ERROR: ")]
    # The option's own rule comes first; options derived from it may follow.
    assert errors and message in errors[0], result.stderr
    assert list(tmp_path.iterdir()) == [], "the hook left files behind"


def test_every_broken_rule_is_reported_at_once(tmp_path: Path) -> None:
    result = cookiecutter_cli(tmp_path, "server_port=8446", "oci_region=mars-1")
    errors = [line for line in output_lines(result) if line.startswith("ERROR: ")]
    assert [error.split(":")[1].strip() for error in errors] == ["server_port", "oci_region"]
    assert list(tmp_path.iterdir()) == []


def test_an_option_not_asked_given_by_its_plain_name_is_refused_naming_its_spelling(tmp_path: Path) -> None:
    """cookiecutter drops a key it does not know without a word: the region would stay us-ashburn-1."""
    result = cookiecutter_run(tmp_path, "oci_region=eu-frankfurt-1", "owner=ana")
    assert result.returncode != 0
    errors = [line for line in output_lines(result) if line.startswith("ERROR: ")]
    assert len(errors) == 1 and "__oci_region=<value>" in errors[0] and "deploy/deployment.toml" in errors[0]
    assert list(tmp_path.iterdir()) == []


def test_options_not_asked_are_taken_from_the_command_line(tmp_path: Path) -> None:
    result = cookiecutter_run(tmp_path, "__oci_region=eu-frankfurt-1", "__tenancy_namespace=acme01")
    assert result.returncode == 0, result.stderr
    settings = tomllib.loads((tmp_path / "my-model-service" / "deploy" / "deployment.toml").read_text())
    assert settings["region"] == "eu-frankfurt-1" and settings["registry"]["namespace"] == "acme01"


def test_good_answers_print_the_next_steps(tmp_path: Path) -> None:
    result = cookiecutter_cli(tmp_path, "server_port=9090")
    assert result.returncode == 0, result.stderr
    assert "make install" in result.stdout and "http://127.0.0.1:9090" in result.stdout
    assert [path.name for path in tmp_path.iterdir()] == ["my-model-service"]
