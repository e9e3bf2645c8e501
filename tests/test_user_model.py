"""A user's own model in a baked project: `make serve` serves it as the scorer finds it and trains
nothing over it; a mistyped MODEL_FILE stops with the models found; only an empty MODEL_DIR gets
the sample, said so; and `make serve` listens on loopback only unless HOST says otherwise.

Every test works in a MODEL_DIR of its own: the session's project and its model_artifact/ stay
as the other tests expect them.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import zipfile
from pathlib import Path

import pytest
from baking import DEFAULT_FLASK, bake, free_port, model_answers, run
from serving import call, wait_healthy

MODEL_FILE = "model.joblib"
# As a user types it: not a sub-make of the template's `make test`, no HOST of the test's shell.
CLEAN = {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "HOST"}

pytestmark = pytest.mark.xdist_group(DEFAULT_FLASK.id)


def fingerprint(folder: Path) -> dict[str, str]:
    """Each file under ``folder`` (relative name) with its sha256."""
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.fixture
def folder_artifact(baked, tmp_path: Path) -> tuple[Path, dict]:
    """MODEL_DIR as OCI unzips an artifact zipped as one folder (hgb/: a churn model, not the
    project's iris, with its signature), and a request for that model."""
    project = baked(DEFAULT_FLASK)
    trained = tmp_path / "trained" / "hgb"
    request = tmp_path / "request.json"
    train = [".venv/bin/python", "scripts/train.py", "--sample", "churn", "--output-dir", str(trained)]
    run([*train, "--sample-request", str(request)], project)
    archive = tmp_path / "model_artifact.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in sorted(trained.iterdir()):
            zipped.write(path, f"hgb/{path.name}")
    model_dir = tmp_path / "deployed_model"
    run([".venv/bin/python", "-m", "zipfile", "-e", str(archive), str(model_dir)], project)
    return model_dir, json.loads(request.read_text())


def listening_addresses(port: int) -> set[str]:
    """The local addresses of the sockets listening on ``port`` (IPv4 and IPv6), from /proc."""
    addresses = set()
    for table, family in (("/proc/net/tcp", socket.AF_INET), ("/proc/net/tcp6", socket.AF_INET6)):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, local_port = local.split(":")
            if state == "0A" and int(local_port, 16) == port:  # 0A: LISTEN
                raw = bytes.fromhex(address)
                # /proc writes each 32-bit word in the host's (little-endian) byte order.
                words = b"".join(raw[index : index + 4][::-1] for index in range(0, len(raw), 4))
                addresses.add(socket.inet_ntop(family, words))
    return addresses


def test_make_serve_serves_a_folder_zipped_model_and_trains_nothing(
    baked, folder_artifact: tuple[Path, dict], tmp_path: Path
) -> None:
    project = baked(DEFAULT_FLASK)
    model_dir, request = folder_artifact
    before, sample_request = fingerprint(model_dir), (project / "sample_request.json").read_bytes()
    port = free_port()
    env = {name: value for name, value in os.environ.items() if name not in CLEAN}
    log = tmp_path / "serve.log"
    with log.open("w") as output:
        make = subprocess.Popen(
            ["make", "serve", f"MODEL_DIR={model_dir}", f"PORT={port}"],
            cwd=project,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: make, gunicorn and its workers
        )
    try:
        wait_healthy(f"http://127.0.0.1:{port}", make)
        body, headers = json.dumps(request).encode(), {"Content-Type": "application/json"}
        status, answer = call(f"http://127.0.0.1:{port}/predict", body, headers)
        assert status == 200, answer
        assert answer["predictions"] == model_answers(project, model_dir / "hgb" / MODEL_FILE, request)
        # Loopback only: nothing listens on the port of another interface.
        assert listening_addresses(port) == {"127.0.0.1"}
    finally:
        os.killpg(make.pid, signal.SIGTERM)
        make.wait(timeout=90)
    shown = log.read_text()
    assert f"model: {model_dir / 'hgb' / MODEL_FILE}" in shown, shown
    assert "training" not in shown and "saved to" not in shown, shown
    assert fingerprint(model_dir) == before, "the user's artifact must stay as it was"
    assert (project / "sample_request.json").read_bytes() == sample_request


def test_a_mistyped_model_file_stops_with_the_models_found(baked, folder_artifact: tuple[Path, dict]) -> None:
    project = baked(DEFAULT_FLASK)
    model_dir, _ = folder_artifact
    before, sample_request = fingerprint(model_dir), (project / "sample_request.json").read_bytes()
    for target in ("serve", "smoke", "artifact"):
        command = ["make", target, f"MODEL_DIR={model_dir}", "MODEL_FILE=modle.joblib", f"PORT={free_port()}"]
        failed = run(command, project, timeout=120, check=False)
        assert failed.returncode != 0, failed.stdout
        assert f"hgb/{MODEL_FILE}    MODEL_FILE={MODEL_FILE}" in failed.stderr, failed.stderr
        assert "nothing was trained" in failed.stderr
        assert "saved to" not in failed.stdout and "gunicorn" not in failed.stdout
    assert fingerprint(model_dir) == before
    assert (project / "sample_request.json").read_bytes() == sample_request


def test_only_an_empty_model_dir_gets_the_sample_and_says_so(baked, tmp_path: Path) -> None:
    project = baked(DEFAULT_FLASK)
    model_dir, request = tmp_path / "empty", tmp_path / "request.json"
    model_dir.mkdir()
    command = ["make", "smoke", f"MODEL_DIR={model_dir}", f"SAMPLE_REQUEST={request}", f"PORT={free_port()}"]
    smoke = run(command, project, timeout=300)
    assert f"MODEL_DIR holds no model: training the iris sample into {model_dir}\n" in smoke.stdout
    assert (model_dir / MODEL_FILE).is_file() and request.is_file()
    assert '"predictions":["setosa","versicolor","virginica"]' in smoke.stdout, smoke.stdout


def test_host_chooses_the_address_and_a_shells_own_host_is_no_choice(baked) -> None:
    project = baked(DEFAULT_FLASK)
    shown = run(["make", "-n", "serve", "HOST=0.0.0.0"], project).stdout
    assert "gunicorn -c gunicorn.conf.py --bind 0.0.0.0:8080" in shown, shown
    # tcsh exports HOST as the machine's name: make serve stays on loopback.
    shown = run(["make", "-n", "serve"], project, HOST=socket.gethostname()).stdout
    assert "--bind 127.0.0.1:8080" in shown, shown


@pytest.mark.parametrize("server", ["python", "triton"])
def test_a_dry_run_runs_nothing_and_a_triton_repository_that_exists_is_kept(
    server: str, tmp_path: Path
) -> None:
    """``make -n`` on a fresh bake prints and runs nothing (no .venv yet); with a Triton model
    repository in place (deploy-local's unzipped artifact), nothing trains into it."""
    project = bake(tmp_path / "bake", {"server": server})
    env = {name: value for name, value in os.environ.items() if name not in CLEAN}
    for target in ("serve", "smoke", "bench", "artifact"):
        dry = subprocess.run(["make", "-n", target], cwd=project, env=env, capture_output=True, text=True)
        assert dry.returncode == 0, (target, dry.stdout, dry.stderr)
    assert not (project / ".venv").exists() and not (project / "sample_request.json").exists()
    if server == "triton":
        repository = tmp_path / "deployed_model"
        (repository / "my_model_service").mkdir(parents=True)
        (repository / "my_model_service" / "config.pbtxt").write_text('name: "my_model_service"\n')
        command = ["make", "-n", "triton-predict", f"MODEL_REPOSITORY={repository}"]
        dry = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True)
        assert dry.returncode == 0, dry.stderr
        assert "train.py" not in dry.stdout and "model-path" not in dry.stdout, dry.stdout
        assert "triton-predict --url" in dry.stdout
