"""`make oci-config`: CI's secrets become an OCI config the SDK accepts, readable by the user only."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

import oci
import pytest
from conftest import write_private_key
from cryptography.hazmat.primitives import serialization

PROJECT = Path(__file__).resolve().parent.parent
FINGERPRINT = ":".join(["ab"] * 16)


@pytest.fixture
def secrets(tmp_path: Path) -> dict[str, str]:
    key = write_private_key(tmp_path / "source.pem")
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return {
        "OCI_USER_OCID": "ocid1.user.oc1..aaaa",
        "OCI_TENANCY_OCID": "ocid1.tenancy.oc1..aaaa",
        "OCI_FINGERPRINT": FINGERPRINT,
        "OCI_PRIVATE_KEY": pem,
    }


def oci_config(config: Path, secrets: dict[str, str], *arguments: str) -> subprocess.CompletedProcess:
    command = [
        sys.executable,
        "-m",
        "{{ cookiecutter.package_name }}_ops",
        "oci-config",
        "--config",
        str(config),
    ]
    env = {**os.environ, **secrets}
    return subprocess.run([*command, *arguments], cwd=PROJECT, capture_output=True, text=True, env=env)


def test_the_config_is_what_the_sdk_reads_and_only_the_user_can(
    tmp_path: Path, secrets: dict[str, str]
) -> None:
    config = tmp_path / "oci" / "config"
    result = oci_config(config, secrets)
    assert result.returncode == 0, result.stderr
    loaded = oci.config.from_file(str(config), "DEFAULT")
    oci.config.validate_config(loaded)
    assert (loaded["user"], loaded["fingerprint"]) == ("ocid1.user.oc1..aaaa", FINGERPRINT)
    assert loaded["region"] == tomllib.loads((PROJECT / "deploy" / "deployment.toml").read_text())["region"]
    for path in (config, Path(loaded["key_file"])):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert Path(loaded["key_file"]).read_text().strip() == secrets["OCI_PRIVATE_KEY"].strip()
    assert "PRIVATE KEY" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("OCI_USER_OCID", "", "OCI_USER_OCID is not set"),
        ("OCI_FINGERPRINT", "ab:cd", "OCI_FINGERPRINT does not look like one"),
        ("OCI_PRIVATE_KEY", "not a key", "OCI_PRIVATE_KEY is not a PEM private key"),
    ],
)
def test_a_missing_or_wrong_secret_writes_nothing_and_says_which(
    tmp_path: Path, secrets: dict[str, str], variable: str, value: str, message: str
) -> None:
    config = tmp_path / "config"
    result = oci_config(config, {**secrets, variable: value})
    assert result.returncode == 1 and message in result.stderr
    assert not config.exists() and list(tmp_path.iterdir()) == [tmp_path / "source.pem"]


def test_an_existing_config_is_kept_unless_forced(tmp_path: Path, secrets: dict[str, str]) -> None:
    config = tmp_path / "config"
    config.write_text("[DEFAULT]\nuser=mine\n")
    refused = oci_config(config, secrets)
    assert refused.returncode == 1 and "--force replaces it" in refused.stderr
    assert config.read_text() == "[DEFAULT]\nuser=mine\n"
    assert oci_config(config, secrets, "--force").returncode == 0
    assert "ocid1.user.oc1..aaaa" in config.read_text()
