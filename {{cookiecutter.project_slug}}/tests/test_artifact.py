"""The model artifact zip: deterministic, clean, files at the root, refused when broken."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from template_hooks import server_environment

from {{ cookiecutter.package_name }}_ops.artifact import (
    SCAN_HEAD,
    SCAN_MAX_FILE,
    ZIP_TIME,
    ArtifactError,
    make_artifact,
    secret_sign,
)
from {{ cookiecutter.package_name }}_ops.samples import train_sample

MODEL_FILE = "{{ cookiecutter.__model_file }}"
SIGNATURE = ["input_example.json", "input_schema.json", "output_schema.json"]
PROJECT = Path(__file__).resolve().parent.parent
OCI_CONFIG = (
    "[DEFAULT]\nuser=ocid1.user.oc1..aaaa\nfingerprint=12:34:56:78:9a:bc:de:f0:12:34:56:78:9a:bc:de:f0\n"
    "key_file=~/.oci/oci_api_key.pem\ntenancy=ocid1.tenancy.oc1..aaaa\nregion=us-ashburn-1\n"
)
KUBECONFIG = (
    "apiVersion: v1\nkind: Config\nusers:\n- name: admin\n  user:\n    client-key-data: TFMwdExTMUNSVWRK\n"
)
PRIVATE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU=\n-----END OPENSSH PRIVATE KEY-----\n"
# What the second security review (issue 27) found zipped, and the other names its brief lists.
CREDENTIALS = [
    (".envrc", "export OCI_CLI_AUTH=api_key"),
    ("prod.env", "DB_PASSWORD=x"),
    (".env.production", "DB_PASSWORD=x"),
    ("key.ppk", "PuTTY-User-Key-File-3: ssh-ed25519"),
    (".bash_history", "export TOKEN=x"),
    (".python_history", "token = 'x'"),
    ("terraform.tfstate", "{}"),
    ("terraform.tfstate.backup", "{}"),
    ("prod.tfvars", "api_key = x"),
    ("service-account.json", "{}"),
    ("gcp-credentials.json", "{}"),
    ("credentials", "[default]"),
    (".aws/credentials", "[default]"),
    ("config", OCI_CONFIG),
    ("extra/config", KUBECONFIG),
    ("auth_token.txt", "x"),
    (".netrc", "machine x login y password z"),
    (".pgpass", "host:5432:db:user:password"),
    (".npmrc", "//registry.npmjs.org/:_authToken=x"),
    (".pypirc", "[pypi]"),
    ("id_rsa", PRIVATE_KEY),
    ("id_ed25519", PRIVATE_KEY),
    ("deploy.pem", PRIVATE_KEY),
    ("tls.key", PRIVATE_KEY),
    ("keystore.p12", "x"),
    ("keystore.pfx", "x"),
    ("keystore.jks", "x"),
    (".git-credentials", "https://u:t@github.com"),
    (".htpasswd", "u:$apr1$x"),
    (".docker/config.json", '{"auths": {}}'),
    (".kube/config", KUBECONFIG),
    (".oci/config", OCI_CONFIG),
]


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
    """`make artifact`'s command, on ``source`` (with the template's hooks: it warms the model up)."""
    command = [
        "-m",
        "{{ cookiecutter.package_name }}_ops",
        "artifact",
        "--source",
        str(source),
        "--output",
        str(output),
    ]
    env = server_environment(os.environ)
    return subprocess.run([sys.executable, *command], cwd=PROJECT, capture_output=True, text=True, env=env)


@pytest.mark.parametrize(("name", "content"), CREDENTIALS, ids=[name for name, _ in CREDENTIALS])
def test_each_credential_is_left_out_of_the_zip(
    source: Path, tmp_path: Path, name: str, content: str
) -> None:
    (source / name).parent.mkdir(parents=True, exist_ok=True)
    (source / name).write_text(content)
    make_artifact(source, tmp_path / "a.zip", MODEL_FILE)
    with zipfile.ZipFile(tmp_path / "a.zip") as archive:
        assert sorted(archive.namelist()) == sorted(["README.md", "extra/labels.txt", MODEL_FILE, *SIGNATURE])


def test_a_file_named_config_stays_when_it_holds_no_key(source: Path, tmp_path: Path) -> None:
    (source / "extra" / "config").write_text("n_estimators = 100\n")
    make_artifact(source, tmp_path / "a.zip", MODEL_FILE)
    with zipfile.ZipFile(tmp_path / "a.zip") as archive:
        assert "extra/config" in archive.namelist()


def test_a_model_file_named_like_a_credential_is_refused(source: Path, tmp_path: Path) -> None:
    (source / MODEL_FILE).rename(source / "model.key")
    with pytest.raises(ArtifactError, match=r"the model model\.key would be left out"):
        make_artifact(source, tmp_path / "a.zip", "model.key")
    assert not (tmp_path / "a.zip").exists()


@pytest.mark.parametrize(
    ("content", "kind"),
    [
        (PRIVATE_KEY, "a private key"),
        ("-----BEGIN ENCRYPTED PRIVATE KEY-----\n", "a private key"),
        ("PuTTY-User-Key-File-2: ssh-rsa\n", "a private key"),
        ("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ user@host\n", "an SSH public key"),
        ("[default]\naws_secret_access_key = wJalrXUtnFEMI\n", "AWS credentials"),
        ("AWS_KEY=AKIAIOSFODNN7EXAMPLE\n", "AWS credentials"),
        ('{"type": "service_account", "private_key": "x"}', "a GCP service account key"),
        (OCI_CONFIG, "an OCI CLI config"),
        (KUBECONFIG, "a kubeconfig"),
        ("ghp_" + "a1" * 18 + "\n", "a GitHub or Hugging Face token"),
        ("z5M2X:_-ho1>G+T2H5yL\n", "an OCI auth token"),
        ("setosa\nversicolor\nvirginica\n", None),
        ('{"features": ["age", "income"], "rows": 2}', None),
        ("abcdefghijklmnopqrst\n", None),
    ],
)
def test_what_a_key_or_token_looks_like(tmp_path: Path, content: str, kind: str | None) -> None:
    (tmp_path / "file").write_text(content)
    assert secret_sign(tmp_path / "file") == kind


def test_only_the_start_of_small_files_is_read_for_keys(tmp_path: Path) -> None:
    large = tmp_path / "large.bin"
    large.write_bytes(PRIVATE_KEY.encode() + bytes(SCAN_MAX_FILE))
    deep = tmp_path / "deep.txt"
    deep.write_bytes(bytes(SCAN_HEAD) + PRIVATE_KEY.encode())
    assert secret_sign(large) is None and secret_sign(deep) is None
    assert secret_sign(tmp_path.joinpath("small.txt")) is None  # missing: nothing to say
    tmp_path.joinpath("small.txt").write_text(PRIVATE_KEY)
    assert secret_sign(tmp_path / "small.txt") == "a private key"


def test_a_key_under_an_innocent_name_is_zipped_with_a_warning(source: Path, tmp_path: Path) -> None:
    (source / "extra" / "notes.txt").write_text(PRIVATE_KEY)
    output = tmp_path / "dist" / "model_artifact.zip"
    result = make_artifact_command(source, output)
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(output) as archive:
        assert "extra/notes.txt" in archive.namelist()
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert warnings == [
        f"warning: extra/notes.txt is zipped but looks like a private key: if it is a secret, move it out of "
        f"{source} and run again; if the model needs it, it can stay"
    ]


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
    train_sample(source, MODEL_FILE)
    output = tmp_path / "dist" / "model_artifact.zip"
    result = make_artifact_command(source, output)
    assert result.returncode == 0, result.stderr
    sha256 = hashlib.sha256(output.read_bytes()).hexdigest()
    assert f"/opt/ds/model/deployed_model/{MODEL_FILE}" in result.stdout
    assert f"{output.stat().st_size} bytes sha256:{sha256}" in result.stdout
    assert (tmp_path / "dist" / "model_artifact.zip.sha256").read_text().split()[0] == sha256
    sizes = json.loads((tmp_path / "dist" / "model_artifact.zip.json").read_text())
    with zipfile.ZipFile(output) as archive:
        unpacked = sum(entry.file_size for entry in archive.infolist())
    assert sizes == {
        "artifact": "model_artifact.zip",
        "sha256": sha256,
        "zip_bytes": output.stat().st_size,
        "unpacked_bytes": unpacked,
        "files": len(archive.infolist()),
    }
    assert f"unpacks to {unpacked} bytes in {sizes['files']} files" in result.stdout
    assert result.stderr.count("note: loading") == 1, result.stderr  # once, before the model is loaded
    assert f"note: loading {MODEL_FILE} runs code it holds (joblib/pickle)" in result.stderr
    assert "warning:" not in result.stderr, "the model and its signature look like no key"

    (source / MODEL_FILE).unlink()
    failed = make_artifact_command(source, output)
    assert failed.returncode == 1 and "artifact refused" in failed.stderr
    assert not output.exists(), "a refused artifact must not leave the previous zip behind"
    assert not (tmp_path / "dist" / "model_artifact.zip.json").exists(), "nor its sizes"
