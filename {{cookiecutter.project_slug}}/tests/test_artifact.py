"""The model artifact zip: deterministic, clean, files at the root, refused when broken."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from train import train_model

from {{ cookiecutter.package_name }}_ops.artifact import (
    ZIP_TIME,
    ArtifactError,
    make_artifact,
)

MODEL_FILE = "{{ cookiecutter.model_file }}"
SIGNATURE = ["input_example.json", "input_schema.json", "output_schema.json"]
PROJECT = Path(__file__).resolve().parent.parent


@pytest.fixture
def source(tmp_path: Path, model_dir: Path) -> Path:
    folder = tmp_path / "model_artifact"
    shutil.copytree(model_dir, folder)
    (folder / "README.md").write_text("notes\n")
    (folder / "extra").mkdir()
    (folder / "extra" / "labels.txt").write_text("setosa\n")
    return folder


def test_same_inputs_give_a_byte_identical_zip(source: Path, tmp_path: Path) -> None:
    first = make_artifact(source, tmp_path / "one.zip", MODEL_FILE)
    for path in source.rglob("*"):
        os.utime(path, (1_700_000_000, 1_700_000_000))  # other times, same contents
    second = make_artifact(source, tmp_path / "two.zip", MODEL_FILE)
    assert first == second == hashlib.sha256((tmp_path / "one.zip").read_bytes()).hexdigest()
    assert (tmp_path / "one.zip").read_bytes() == (tmp_path / "two.zip").read_bytes()


def test_files_sit_at_the_root_sorted_with_fixed_times_and_modes(source: Path, tmp_path: Path) -> None:
    make_artifact(source, tmp_path / "a.zip", MODEL_FILE)
    with zipfile.ZipFile(tmp_path / "a.zip") as archive:
        entries = archive.infolist()
    assert [entry.filename for entry in entries] == sorted(
        ["README.md", "extra/labels.txt", MODEL_FILE, *SIGNATURE]
    )
    assert {entry.date_time for entry in entries} == {ZIP_TIME}
    assert {entry.external_attr >> 16 for entry in entries} == {0o100644}


def test_caches_litter_venvs_and_secrets_stay_out(source: Path, tmp_path: Path) -> None:
    unwanted = [
        ".DS_Store",
        "__pycache__/m.cpython-311.pyc",
        ".env",
        "deploy.pem",
        ".venv/lib/x.py",
        "id_rsa",
    ]
    for name in unwanted:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_text("x")
    make_artifact(source, tmp_path / "a.zip", MODEL_FILE)
    with zipfile.ZipFile(tmp_path / "a.zip") as archive:
        assert sorted(archive.namelist()) == sorted(["README.md", "extra/labels.txt", MODEL_FILE, *SIGNATURE])


def make_artifact_command(source: Path, output: Path) -> subprocess.CompletedProcess:
    """`make artifact`'s command, on ``source``."""
    command = [
        "-m",
        "{{ cookiecutter.package_name }}_ops",
        "artifact",
        "--source",
        str(source),
        "--output",
        str(output),
    ]
    return subprocess.run([sys.executable, *command], cwd=PROJECT, capture_output=True, text=True)


def test_credentials_are_left_out_and_named(source: Path, tmp_path: Path) -> None:
    secrets = [".oci/config", ".ssh/id_ecdsa", ".env.local", ".npmrc", ".pypirc", "extra/id_ed25519.pub"]
    for name in secrets:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_text("secret")
    output = tmp_path / "dist" / "model_artifact.zip"
    result = make_artifact_command(source, output)
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(output) as archive:
        assert sorted(archive.namelist()) == sorted(["README.md", "extra/labels.txt", MODEL_FILE, *SIGNATURE])
    assert (
        "left out, as credentials: .env.local, .npmrc, .oci/, .pypirc, .ssh/, extra/id_ed25519.pub"
        in result.stderr
    )


@pytest.mark.parametrize("linked", ["file", "folder"])
def test_a_symbolic_link_is_refused(source: Path, tmp_path: Path, linked: str) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("from elsewhere on the machine")
    target = outside / "secret.txt" if linked == "file" else outside
    (source / "extra" / "link").symlink_to(target)
    with pytest.raises(ArtifactError, match="extra/link is a symbolic link"):
        make_artifact(source, tmp_path / "a.zip", MODEL_FILE)
    assert not (tmp_path / "a.zip").exists()


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        pytest.param("missing", "is missing", id="missing-model"),
        pytest.param("corrupt", "does not load", id="corrupt-model"),
        pytest.param("too-big", "over the limit", id="over-size-limit"),
    ],
)
def test_a_broken_artifact_is_refused_and_leaves_no_zip(
    source: Path, tmp_path: Path, breakage: str, message: str
) -> None:
    limit = 10**12
    if breakage == "missing":
        (source / MODEL_FILE).unlink()
    elif breakage == "corrupt":
        (source / MODEL_FILE).write_bytes(b"not a model")
    else:
        limit = 100
    with pytest.raises(ArtifactError, match=message):
        make_artifact(source, tmp_path / "out" / "a.zip", MODEL_FILE, limit)
    out = tmp_path / "out"
    assert not out.exists() or not any(out.iterdir()), "nothing may be left behind"


def test_the_command_prints_container_paths_size_and_sha256(tmp_path: Path) -> None:
    source = tmp_path / "model_artifact"
    train_model(source, MODEL_FILE)
    output = tmp_path / "dist" / "model_artifact.zip"
    result = make_artifact_command(source, output)
    assert result.returncode == 0, result.stderr
    sha256 = hashlib.sha256(output.read_bytes()).hexdigest()
    assert f"/opt/ds/model/deployed_model/{MODEL_FILE}" in result.stdout
    assert f"{output.stat().st_size} bytes sha256:{sha256}" in result.stdout
    assert (tmp_path / "dist" / "model_artifact.zip.sha256").read_text().split()[0] == sha256

    (source / MODEL_FILE).unlink()
    failed = make_artifact_command(source, output)
    assert failed.returncode == 1 and "artifact refused" in failed.stderr
    assert not output.exists(), "a refused artifact must not leave the previous zip behind"


def test_zip_slip_entries_stay_inside_the_folder_deploy_local_unzips_into(tmp_path: Path) -> None:
    from {{ cookiecutter.package_name }}_ops.deploy_local import unpack

    artifact = tmp_path / "hostile.zip"
    with zipfile.ZipFile(artifact, "w") as archive:
        archive.writestr("../escaped.txt", "x")
        archive.writestr("/absolute.txt", "x")
        archive.writestr("deep/../../escaped-too.txt", "x")
    folder = tmp_path / "mount" / "deployed_model"
    folder.mkdir(parents=True)
    unpack(artifact, folder)
    written = {path.relative_to(tmp_path).as_posix() for path in tmp_path.rglob("*.txt")}
    assert written and all(name.startswith("mount/deployed_model/") for name in written), written
