"""`make doctor`: each check passes on a machine that is ready, and each fails, saying what to do,
on a made-up home folder that lacks what it checks."""

from __future__ import annotations

import json
import os
import socket
import stat
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import oci
import pytest
from conftest import TENANCY, USER, write_private_key

from {{ cookiecutter.package_name }}.oci_rules import ocir_host
from {{ cookiecutter.package_name }}_ops import doctor
from {{ cookiecutter.package_name }}_ops.cli import main

REGION = "{{ cookiecutter.oci_region }}"
OTHER_REGION = "eu-frankfurt-1" if REGION != "eu-frankfurt-1" else "us-ashburn-1"
REGISTRY = "{{ cookiecutter.__ocir_host }}"
NAMESPACE = "{{ cookiecutter.tenancy_namespace }}"
FINGERPRINT = ":".join(["ab"] * 16)
# A docker whose engine answers `info --format json` (with an amd64 machine's architecture), a
# podman on arm64, and a docker whose engine is not running.
ANSWERS = '#!/bin/sh\n[ "$1" = info ] && echo \'{"Architecture": "x86_64"}\' && exit 0\nexit 1\n'
PODMAN_ANSWERS = '#!/bin/sh\n[ "$1" = info ] && echo \'{"host": {"arch": "arm64"}}\' && exit 0\nexit 1\n'
NOT_RUNNING = '#!/bin/sh\necho "Cannot connect to the Docker daemon" >&2\nexit 1\n'


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A made-up home folder that is ready for every step: an OCI profile with its key (mode 600), a
    registry login, and a docker that answers; none of the machine's own settings is read."""
    home = tmp_path / "home"
    (home / ".oci").mkdir(parents=True)
    key = home / ".oci" / "key.pem"
    write_private_key(key)
    key.chmod(0o600)
    write_profile(home, f"[DEFAULT]\nuser={USER}\nfingerprint={FINGERPRINT}\nkey_file={key}\n")
    (home / ".docker").mkdir()
    (home / ".docker" / "config.json").write_text(json.dumps({"auths": {REGISTRY: {"auth": "eA=="}}}))
    tools = tmp_path / "bin"
    tools.mkdir()
    install_cli(tools / "docker", ANSWERS)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("PATH", f"{tools}{os.pathsep}{os.environ['PATH']}")
    for variable in ("DOCKER_CONFIG", "REGISTRY_AUTH_FILE", "XDG_RUNTIME_DIR", "CONTAINER_CLI", "PORT"):
        monkeypatch.delenv(variable, raising=False)
    for variable in ("OCI_CLI_PROFILE", "OCI_CLI_CONFIG_FILE", "OCI_DATA_SCIENCE_ENDPOINT"):
        monkeypatch.delenv(variable, raising=False)
    return home


def write_profile(home: Path, text: str, region: str = REGION) -> None:
    (home / ".oci" / "config").write_text(f"{text}tenancy={TENANCY}\nregion={region}\n")


def install_cli(path: Path, script: str) -> None:
    path.write_text(script)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def write_settings(path: Path, compartment_id: str = "") -> Path:
    """The settings the doctor reads, as a fresh project has them (not this project's own, which
    its owner fills in)."""
    path.write_text(
        f'region = "{REGION}"\ncompartment_id = "{compartment_id}"\n[instances]\nshape = "VM.Standard.E4.Flex"\n'
    )
    return path


def doctor_says(capsys: pytest.CaptureFixture[str], *options: str) -> tuple[int, dict[str, str]]:
    """The exit status, and each check's line (with its fix) by the check's name."""
    settings = ["--settings", str(write_settings(Path(os.environ["HOME"]).parent / "deployment.toml"))]
    status = main(["doctor", "--port", str(free_port()), *settings, *options])
    lines: dict[str, str] = {}
    name = ""
    for line in capsys.readouterr().out.splitlines():
        if line.startswith(("ok", "FAIL")):
            name = line[6:22].strip()
            lines[name] = line
        elif name and line.strip().startswith("fix:"):
            lines[name] += "\n" + line.strip()
    return status, lines


def test_a_ready_machine_passes_every_check(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, lines = doctor_says(capsys)
    assert status == 0, lines
    assert list(lines) == [
        "python", "make", "container", "oci config", "oci profile", "api key", "region",
        "registry login", "disk", "port",
    ]  # fmt: skip
    assert all(line.startswith("ok") for line in lines.values())
    assert "builds linux/amd64 for VM.Standard.E4.Flex natively" in lines["container"]
    assert f"{REGION} in deployment.toml, the profile, registry {REGISTRY}" in lines["region"]


@pytest.mark.parametrize(
    ("change", "check", "says"),
    [
        (lambda home: (home / ".oci" / "config").unlink(), "oci config", "fix: oci setup config"),
        (lambda home: write_profile(home, "[OTHER]\nuser=x\n"), "oci config", "profiles: OTHER"),
        (
            lambda home: write_profile(home, f"[DEFAULT]\nuser={USER}\nfingerprint=ab:cd\nkey_file=k\n"),
            "oci profile",
            "fingerprint 'ab:cd' is not well-formed",
        ),
        (
            lambda home: write_profile(home, f"[DEFAULT]\nuser={USER}\n"),
            "oci profile",
            "fingerprint is missing",
        ),
        (lambda home: (home / ".oci" / "key.pem").chmod(0o644), "api key", "fix: chmod 600"),
        (lambda home: (home / ".oci" / "key.pem").unlink(), "api key", "is missing"),
        (
            lambda home: (home / ".oci" / "key.pem").write_text("ssh-rsa AAAA"),
            "api key",
            "not a PEM private key",
        ),
        (
            lambda home: (home / ".docker" / "config.json").unlink(),
            "registry login",
            f"docker login {REGISTRY}",
        ),
        (
            lambda home: write_profile(
                home,
                f"[DEFAULT]\nuser={USER}\nfingerprint={FINGERPRINT}\nkey_file={home}/.oci/key.pem\n",
                region=OTHER_REGION,
            ),
            "region",
            f"deployment.toml: {REGION}, the profile: {OTHER_REGION}",
        ),
    ],
    ids=[
        "no config",
        "no profile",
        "bad fingerprint",
        "missing key",
        "key mode",
        "no key",
        "not a key",
        "no login",
        "other region",
    ],
)
def test_each_failing_check_says_what_to_do(
    home: Path, capsys: pytest.CaptureFixture[str], change: Callable[[Path], Any], check: str, says: str
) -> None:
    change(home)
    status, lines = doctor_says(capsys)
    assert status == 1
    failed = [name for name, line in lines.items() if line.startswith("FAIL")]
    assert failed == [check], lines
    assert says in lines[check]


def test_the_registry_must_be_the_region_s_and_the_login_for_it(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = ocir_host(OTHER_REGION)
    status, lines = doctor_says(capsys, "--registry", other)
    assert status == 1
    assert f"registry {other}: {OTHER_REGION}" in lines["region"]
    assert f"no login for {other}" in lines["registry login"]


def test_the_container_cli_must_answer(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    install_cli(tmp_path / "bin" / "docker", NOT_RUNNING)
    _, lines = doctor_says(capsys)
    assert "its engine is not running" in lines["container"]
    status, lines = doctor_says(capsys, "--container-cli", "no-such-cli")
    assert status == 1 and "no-such-cli is not installed" in lines["container"]


def test_podman_logins_and_emulated_builds(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    install_cli(tmp_path / "bin" / "podman", PODMAN_ANSWERS)
    (home / ".docker" / "config.json").unlink()
    runtime = tmp_path / "run"
    (runtime / "containers").mkdir(parents=True)
    (runtime / "containers" / "auth.json").write_text(json.dumps({"auths": {f"https://{REGISTRY}/": {}}}))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    status, lines = doctor_says(capsys, "--container-cli", "podman")
    assert status == 0, lines
    assert "under emulation from linux/arm64" in lines["container"]
    assert str(runtime / "containers" / "auth.json") in lines["registry login"]


def test_a_taken_port_and_a_full_disk_fail(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = write_settings(home.parent / "deployment.toml")
        status = main(["doctor", "--port", str(port), "--min-free-gb", "1e9", "--settings", str(settings)])
    out = capsys.readouterr().out
    assert status == 1
    assert f"{port} is taken by another program" in out and f"PORT={port + 1} make run" in out
    assert "an image needs 1e+09" in out


def test_another_python_fails() -> None:
    check = doctor.python_check("3.0")
    assert not check.ok and "make doctor PYTHON=/path/to/python3.0" in check.fix


class OciStandIn(BaseHTTPRequestHandler):
    """Object Storage's namespace and Data Science's projects, as the SDK asks for them."""

    script: dict[str, Any]
    serialize: Callable[[Any], Any]

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        self.script["calls"].append(path)
        status, answer = self.script.get(path, (404, {"code": "NotAuthorizedOrNotFound", "message": path}))
        payload = json.dumps(self.serialize(answer)).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        pass


def test_online_asks_oci_for_the_namespace_and_the_compartment(
    home: Path,
    tmp_path: Path,
    oci_config: Path,
    start_stand_in: Callable[..., str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    (oci_config.parent / "key.pem").chmod(0o600)
    projects = "/20190101/projects"
    script: dict[str, Any] = {"calls": [], "/n": (200, "othertenancy"), projects: (200, [])}
    url = start_stand_in(OciStandIn, oci.data_science.DataScienceClient, script)
    online = ["--online", "--config", str(oci_config), "--profile", "TEST", "--endpoint", url]
    online += ["--object-storage-endpoint", url]
    status, lines = doctor_says(capsys, *online)
    assert status == 1
    assert f"the tenancy's is othertenancy, NAMESPACE is {NAMESPACE}" in lines["namespace"]
    assert "NAMESPACE=othertenancy" in lines["namespace"]
    assert "compartment_id is empty" in lines["compartment"]
    assert script["calls"] == ["/n"]  # no compartment to ask about

    settings = write_settings(tmp_path / "filled.toml", "ocid1.compartment.oc1..x")
    status, lines = doctor_says(capsys, *online, "--namespace", "othertenancy", "--settings", str(settings))
    assert status == 0, lines
    assert lines["compartment"].startswith("ok") and script["calls"][-1] == projects

    script[projects] = (404, {"code": "NotAuthorizedOrNotFound", "message": "Authorization failed"})
    status, lines = doctor_says(capsys, *online, "--namespace", "othertenancy", "--settings", str(settings))
    assert status == 1
    assert (
        "OCI refused to list its Data Science projects (404 NotAuthorizedOrNotFound)" in lines["compartment"]
    )
    assert "make policies" in lines["compartment"]
