"""The OCI settings live in deploy/deployment.toml alone: the Makefile and the ops commands read them
there, so changing the region (or the namespace, repository, tag) is one edit of that file. The tests
edit copies of the settings as baked (tests/settings_as_baked.toml), never the project's own."""

from __future__ import annotations

import os
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
from baked_settings import AS_BAKED, baked_text, with_values

from {{ cookiecutter.package_name }}_ops.cli import main

PROJECT = Path(__file__).resolve().parent.parent


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """The Makefile, the packages and the settings as baked (as deploy/deployment.toml) in a folder of
    their own, where a test may edit the settings (this project's own file is its owner's)."""
    copy = tmp_path / "project"
    shutil.copytree(PROJECT / "src", copy / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    shutil.copy(PROJECT / "Makefile", copy / "Makefile")
    (copy / "deploy").mkdir()
    shutil.copy(AS_BAKED, copy / "deploy" / "deployment.toml")
    return copy


def make(folder: Path, *arguments: str, **environment: str) -> subprocess.CompletedProcess:
    """make, dry run (-n), in ``folder`` without a .venv: the settings are read with PYTHON."""
    command = ["make", "--no-print-directory", "-n", *arguments, "CONTAINER_CLI=docker"]
    env = {**os.environ, **environment}
    return subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=60, env=env)


def test_changing_the_region_is_one_edit(project_copy: Path) -> None:
    settings = project_copy / "deploy" / "deployment.toml"
    settings.write_text(
        with_values(settings.read_text(), region="eu-frankfurt-1", namespace="acme01", tag="2.0.0")
    )
    result = make(project_copy, "tag")
    assert result.returncode == 0, result.stderr
    repository = tomllib.loads(settings.read_text())["registry"]["repository"]
    assert f"docker tag {repository}:2.0.0 fra.ocir.io/acme01/{repository}:2.0.0" in result.stdout
    login = make(project_copy, "login", "OCI_USER=jane")
    assert "--username 'acme01/jane' --password-stdin fra.ocir.io" in login.stdout


def test_make_s_command_line_overrides_one_run(project_copy: Path) -> None:
    result = make(project_copy, "tag", "IMAGE_TAG=9.9.9", "NAMESPACE=other")
    assert result.returncode == 0, result.stderr
    repository = tomllib.loads(baked_text())["registry"]["repository"]
    assert result.stdout.split()[-1].endswith(f"/other/{repository}:9.9.9")


def test_of_the_environment_only_image_tag_is_taken(project_copy: Path) -> None:
    """CI tags its builds through IMAGE_TAG; a NAMESPACE or REGISTRY another tool exported (kubectl
    setups do) must not send the image elsewhere than deployment.toml says."""
    result = make(project_copy, "tag", NAMESPACE="kube-system", REGISTRY="example.com", IMAGE_TAG="ci-7")
    assert result.returncode == 0, result.stderr
    pushed = result.stdout.split()[-1]
    assert pushed.startswith("{{ cookiecutter.__ocir_host }}/") and pushed.endswith(":ci-7")
    assert "kube-system" not in pushed


def test_settings_shows_what_make_s_command_line_changes(project_copy: Path) -> None:
    result = subprocess.run(
        ["make", "--no-print-directory", "settings", "NAMESPACE=other", "IMAGE_TAG=2.0"],
        cwd=project_copy,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "other (given to make; deployment.toml: " in result.stdout
    assert "2.0 (given to make; deployment.toml: " in result.stdout
    assert "/other/" in result.stdout and ":2.0\n" in result.stdout


def test_a_broken_setting_stops_make_naming_the_key(project_copy: Path) -> None:
    settings = project_copy / "deploy" / "deployment.toml"
    settings.write_text(with_values(settings.read_text(), tag="bad tag"))
    result = make(project_copy, "tag")
    assert result.returncode != 0
    assert "registry.tag: 'bad tag' is not a valid image tag" in result.stderr
    assert "docker tag" not in result.stdout


def test_settings_prints_what_make_uses(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = tmp_path / "deployment.toml"
    settings.write_text(with_values(baked_text(), region="ap-tokyo-1", repository="ml/fraud"))
    assert main(["settings", "--make", "--settings", str(settings)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "REGISTRY=nrt.ocir.io" and lines[2] == "IMAGE_NAME=ml/fraud"
    assert lines[4] == "PLATFORM=linux/amd64"  # the shape as baked, an x86 one
    assert main(["settings", "--settings", str(settings)]) == 0
    shown = capsys.readouterr().out
    assert "nrt.ocir.io (OCIR of ap-tokyo-1)" in shown and "compartment_id   (not set yet)" in shown


@pytest.mark.parametrize(("namespace", "named"), [("mytenancy", True), ("acme01", False)])
def test_settings_names_the_template_s_example_namespace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], namespace: str, named: bool
) -> None:
    """mytenancy, the bake's default, is nobody's namespace: make settings says so beside it."""
    settings = tmp_path / "deployment.toml"
    settings.write_text(with_values(baked_text(), namespace=namespace))
    assert main(["settings", "--settings", str(settings)]) == 0
    line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("  namespace"))
    note = "<- the template's example, not yours: set it here; `oci os ns get` prints your tenancy's"
    note += " (or the console's Tenancy details)"
    assert line == f"  namespace        {namespace}" + (f"  {note}" if named else "")


def test_make_build_reads_the_shape_as_toml_does(project_copy: Path) -> None:
    """The image's platform follows the shape however TOML spells it (a literal string, a comment)."""
    settings = project_copy / "deploy" / "deployment.toml"
    text = settings.read_text()
    baked_shape = tomllib.loads(text)["instances"]["shape"]
    settings.write_text(text.replace(f'shape = "{baked_shape}"', "shape='VM.Standard.A1.Flex' # Ampere"))
    assert "build --platform linux/arm64 " in make(project_copy, "build").stdout
    settings.write_text(text.replace(f'shape = "{baked_shape}"', ""))
    result = make(project_copy, "build")
    assert result.returncode != 0 and "build --platform" not in result.stdout
    assert "deploy/deployment.toml gives no [instances] shape: the image's platform" in result.stderr
    tag = make(project_copy, "tag")  # what needs no platform works without a shape
    assert tag.returncode == 0 and "shape" not in tag.stderr


def test_an_unknown_region_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = tmp_path / "deployment.toml"
    settings.write_text(with_values(baked_text(), region="mars-1"))
    assert main(["settings", "--make", "--settings", str(settings)]) == 2
    assert "region: 'mars-1' is not a known OCI region identifier" in capsys.readouterr().err
