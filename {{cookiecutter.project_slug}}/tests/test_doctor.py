"""`make doctor`: each check passes on a machine that is ready, and each fails, saying what to do,
on a made-up home folder that lacks what it checks; the checks come by stage (local, image, oci),
and the exit status is that of the stages asked."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import oci
import pytest
from conftest import TENANCY, USER, JsonStandIn, free_port, write_private_key

from {{ cookiecutter.package_name }}.oci_rules import (
    EXAMPLE_NAMESPACE,
    ocir_host,
)
from {{ cookiecutter.package_name }}_ops import doctor
from {{ cookiecutter.package_name }}_ops.cli import main

REGION = "{{ cookiecutter.__oci_region }}"
OTHER_REGION = "eu-frankfurt-1" if REGION != "eu-frankfurt-1" else "us-ashburn-1"
REGISTRY = "{{ cookiecutter.__ocir_host }}"
NAMESPACE = "axq1bd4mzzkp"  # a tenancy's: the template's example (mytenancy) fails its own check
FINGERPRINT = ":".join(["ab"] * 16)
# A docker whose engine answers `info --format json` (with an amd64 machine's architecture), a
# podman on arm64, and a docker whose engine is not running.
ANSWERS = '#!/bin/sh\n[ "$1" = info ] && echo \'{"Architecture": "x86_64"}\' && exit 0\nexit 1\n'
PODMAN_ANSWERS = '#!/bin/sh\n[ "$1" = info ] && echo \'{"host": {"arch": "arm64"}}\' && exit 0\nexit 1\n'
NOT_RUNNING = '#!/bin/sh\necho "Cannot connect to the Docker daemon" >&2\nexit 1\n'
STAGE_CHECKS = {
    "local": ["python", "make", "disk", "port"],
    "image": ["container", "image disk"],
    "oci": ["oci config", "oci profile", "api key", "region", "namespace", "registry login"],
}
WALKTHROUGH = Path(__file__).resolve().parent.parent / "WALKTHROUGH.md"


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
    make = shutil.which("make")
    assert make, "the tests need make"
    (tools / "make").symlink_to(make)
    monkeypatch.setenv("HOME", str(home))
    # Only the made-up tools and make: this machine's oci, docker or podman is not seen.
    monkeypatch.setenv("PATH", str(tools))
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


def write_settings(path: Path, compartment_id: str = "", namespace: str = NAMESPACE) -> Path:
    """The settings the doctor reads, as a fresh project has them once its namespace is set (not
    this project's own, which its owner fills in)."""
    path.write_text(
        f'region = "{REGION}"\ncompartment_id = "{compartment_id}"\n[instances]\nshape = "VM.Standard.E4.Flex"\n'
        f'[registry]\nnamespace = "{namespace}"\nrepository = "scorer"\ntag = "1.0.0"\n'
    )
    return path


def doctor_says(capsys: pytest.CaptureFixture[str], *options: str) -> tuple[int, dict[str, str]]:
    """The exit status, and each check's line (with its fix) by the check's name."""
    status, out = doctor_prints(capsys, *options)
    return status, checks_in(out)


def doctor_prints(capsys: pytest.CaptureFixture[str], *options: str) -> tuple[int, str]:
    """The exit status and the report of `doctor` on the made-up home folder."""
    settings = ["--settings", str(write_settings(Path(os.environ["HOME"]).parent / "deployment.toml"))]
    status = main(["doctor", "--port", str(free_port()), *settings, *options])
    return status, capsys.readouterr().out


def checks_in(out: str) -> dict[str, str]:
    """Each check's line (with its fix) by the check's name."""
    lines: dict[str, str] = {}
    name = ""
    for line in out.splitlines():
        if line.startswith(("ok", "FAIL")):
            name = line[6:22].strip()
            lines[name] = line
        elif name and line.strip().startswith("fix:"):
            lines[name] += "\n" + line.strip()
    return lines


def test_a_ready_machine_passes_every_check(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, lines = doctor_says(capsys)
    assert status == 0, lines
    assert list(lines) == [name for names in STAGE_CHECKS.values() for name in names]
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


def test_the_template_s_example_namespace_is_not_a_tenancy_s(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The bake's default namespace (mytenancy) fails the oci stage, saying where to find the real
    one; pushes and logins there go nowhere."""
    settings = write_settings(tmp_path / "baked.toml", namespace=EXAMPLE_NAMESPACE)
    status, lines = doctor_says(capsys, "--settings", str(settings))
    assert status == 1
    assert [name for name, line in lines.items() if line.startswith("FAIL")] == ["namespace"], lines
    assert "mytenancy is the template's example, not your tenancy's" in lines["namespace"]
    assert "fix: namespace = in deployment.toml ([registry]): `oci os ns get` prints" in lines["namespace"]
    assert doctor_says(capsys, "--settings", str(settings), "--namespace", NAMESPACE)[0] == 0


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


def test_a_taken_port_and_a_full_disk_fail(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(doctor, "VENV_GB", 1e9)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = write_settings(home.parent / "deployment.toml")
        status = main(["doctor", "--port", str(port), "--min-free-gb", "1e9", "--settings", str(settings)])
    lines = checks_in(capsys.readouterr().out)
    assert status == 1
    assert f"{port} is taken by another program" in lines["port"]
    assert f"PORT={port + 1} make run" in lines["port"]
    assert ".venv needs 1e+09" in lines["disk"] and "an image needs 1e+09" in lines["image disk"]


def test_each_stage_runs_its_checks_and_those_before_it(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    asked: list[str] = []
    for stage, names in STAGE_CHECKS.items():
        asked += names
        status, out = doctor_prints(capsys, "--stage", stage)
        assert status == 0, out
        assert list(checks_in(out)) == asked
        headers = [line.split(" stage:")[0] for line in out.splitlines() if " stage: " in line]
        assert headers == list(STAGE_CHECKS)[: len(headers)] and headers[-1] == stage
    _, out = doctor_prints(capsys, "--stage", "local")
    assert "ready for local (not checked: image, oci; make doctor checks every stage)" in out


def test_the_exit_status_is_the_stage_s(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A newcomer's first morning: no container engine, no OCI profile. The local
    stage passes; the image and oci stages, and the whole, fail naming what to run."""
    (tmp_path / "bin" / "docker").unlink()
    (home / ".oci" / "config").unlink()
    (home / ".docker" / "config.json").unlink()
    status, out = doctor_prints(capsys, "--stage", "local")
    assert status == 0, out
    assert "every check passed: ready for local" in out
    status, out = doctor_prints(capsys, "--stage", "image")
    assert status == 1
    assert [name for name, line in checks_in(out).items() if line.startswith("FAIL")] == ["container"]
    assert "fix: install podman (or docker)" in checks_in(out)["container"]
    assert out.rstrip().endswith("1 check failed (image 1); ready for local: make doctor STAGE=local passes")
    for everything in ((), ("--stage", "oci")):
        status, out = doctor_prints(capsys, *everything)
        lines = checks_in(out)
        assert status == 1
        failed = [name for name, line in lines.items() if line.startswith("FAIL")]
        assert failed == ["container", "oci config", "registry login"], out
        assert all("fix: " in lines[name] for name in failed)
        assert "3 checks failed (image 1, oci 2); ready for local: make doctor STAGE=local passes" in out


def test_the_report_is_grouped_by_stage(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    install_cli(tmp_path / "bin" / "docker", NOT_RUNNING)
    status, out = doctor_prints(capsys)
    assert status == 1
    groups = out.rstrip().split("\n\n")
    assert [group.splitlines()[0] for group in groups] == [
        f"{stage} stage: {doctor.STAGES[stage]}" for stage in STAGE_CHECKS
    ]
    for group, names in zip(groups, STAGE_CHECKS.values(), strict=True):
        assert list(checks_in(group)) == names
    last = out.rstrip().splitlines()[-1]
    assert last == "1 check failed (image 1); ready for local: make doctor STAGE=local passes"


def test_a_stage_that_does_not_exist_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as refused:
        main(["doctor", "--stage", "cloud"])
    assert refused.value.code == 2
    assert "--stage: invalid choice: 'cloud' (choose from 'local', 'image', 'oci')" in capsys.readouterr().err


def test_the_walkthrough_shows_what_a_ready_machine_prints(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Step 1 of WALKTHROUGH.md: the same stages, headers, checks and last line as the doctor's."""
    status, out = doctor_prints(capsys)
    assert status == 0, out
    step = WALKTHROUGH.read_text().split("## 1. ", 1)[1].split("\n## ", 1)[0]
    shown = re.search(r"```text\n(.*?)```", step, re.DOTALL)
    assert shown, "step 1 shows no output"
    shown_lines = [line for line in shown.group(1).splitlines() if not line.startswith("checkpoint ")]
    real_lines = out.rstrip().splitlines()
    headers = [line for line in real_lines if " stage: " in line]
    assert [line for line in shown_lines if " stage: " in line] == headers
    assert list(checks_in(shown.group(1))) == list(checks_in(out))
    assert shown_lines[-1] == real_lines[-1]


def test_another_python_fails() -> None:
    check = doctor.python_check("3.0")
    assert not check.ok and "make doctor PYTHON=/path/to/python3.0" in check.fix


class OciStandIn(JsonStandIn):
    """Object Storage's namespace and Data Science's projects, as the SDK asks for them."""

    script: dict[str, Any]

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        self.script["calls"].append(path)
        status, answer = self.script.get(path, (404, {"code": "NotAuthorizedOrNotFound", "message": path}))
        self._send(status, answer)


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
    assert f"the tenancy's is othertenancy, the registry's namespace is {NAMESPACE}" in lines["namespace"]
    assert 'namespace = "othertenancy" in deployment.toml' in lines["namespace"]
    assert "compartment_id: not set yet" in lines["compartment"]
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
