"""deploy-local's unzip: inside the folder, bounded in size, nothing half-unpacked, one line when refused;
the start it records (start_record.py, as make run's start-time), against a stand-in container engine."""

from __future__ import annotations

import io
import json
import os
import random
import sys
import threading
import zipfile
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}_ops.cli import main
from {{ cookiecutter.package_name }}_ops.deploy_local import (
    UnpackError,
    copy_bounded,
    unpack,
)
from {{ cookiecutter.package_name }}_ops.start_record import (
    container_logs,
    engine_cpus,
    read_start_record,
)

MODEL_FILE = "{{ cookiecutter.__model_file }}"
MB = 1 << 20


def zip_of_zeros(path: Path, size: int) -> Path:
    """A zip bomb in small: ``size`` bytes of zeros, deflated to a few KB."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("zeros.bin", bytes(size))
    return path


@pytest.fixture
def settings(tmp_path: Path) -> Path:
    """A scorer deployment's settings of the test's own: the project's deploy/deployment.toml is
    the user's to edit (an override there must not change what these tests expect)."""
    path = tmp_path / "deployment.toml"
    path.write_text("[container]\nserver_port = 8080\n")
    return path


@pytest.fixture
def mount(tmp_path: Path) -> Path:
    folder = tmp_path / "mount" / "deployed_model"
    folder.mkdir(parents=True)
    return folder


def test_every_entry_is_written_and_its_bytes_counted(tmp_path: Path, mount: Path) -> None:
    artifact = tmp_path / "a.zip"
    contents = {MODEL_FILE: b"m" * 3000, "extra/labels.txt": b"setosa\n", "extra/empty": b""}
    with zipfile.ZipFile(artifact, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in contents.items():
            archive.writestr(name, data)
    assert unpack(artifact, mount) == sum(map(len, contents.values()))
    assert {
        path.relative_to(mount).as_posix(): path.read_bytes() for path in mount.rglob("*") if path.is_file()
    } == contents


def test_zip_slip_entries_stay_inside_the_folder(tmp_path: Path, mount: Path) -> None:
    artifact = tmp_path / "hostile.zip"
    with zipfile.ZipFile(artifact, "w") as archive:
        archive.writestr("../escaped.txt", "x")
        archive.writestr("/absolute.txt", "x")
        archive.writestr("deep/../../escaped-too.txt", "x")
        archive.writestr("..\\backslashed.txt", "x")
    unpack(artifact, mount)
    written = {path.relative_to(tmp_path).as_posix() for path in tmp_path.rglob("*.txt")}
    assert len(written) == 4 and all(name.startswith("mount/deployed_model/") for name in written), written


def test_a_zip_bomb_is_refused_by_its_declared_sizes_before_a_byte_is_written(
    tmp_path: Path, mount: Path
) -> None:
    artifact = zip_of_zeros(tmp_path / "bomb.zip", 4 * MB)
    assert artifact.stat().st_size < 50_000
    with pytest.raises(UnpackError, match=r"unpack to 4,194,304 bytes, over the limit of 1,048,576"):
        unpack(artifact, mount, limit=MB)
    assert not any(mount.iterdir())


def test_a_zip_that_lies_about_its_sizes_leaves_nothing_behind(tmp_path: Path, mount: Path) -> None:
    artifact = zip_of_zeros(tmp_path / "liar.zip", 4 * MB)
    data = bytearray(artifact.read_bytes())
    for header, size_at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):  # local header, central directory
        start = data.index(header)
        data[start + size_at : start + size_at + 4] = (1000).to_bytes(4, "little")
    artifact.write_bytes(bytes(data))
    with zipfile.ZipFile(artifact) as archive:
        assert archive.getinfo("zeros.bin").file_size == 1000  # it declares 1,000 bytes
    with pytest.raises(UnpackError, match=r"liar\.zip: not a readable zip"):
        unpack(artifact, mount, limit=MB)
    assert not any(mount.iterdir()), "nothing half-unpacked"


@pytest.mark.parametrize("compression", [zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_a_damaged_entry_leaves_nothing_behind(tmp_path: Path, mount: Path, compression: int) -> None:
    artifact = tmp_path / "damaged.zip"
    with zipfile.ZipFile(artifact, "w", compression=compression) as archive:
        archive.writestr("model.bin", random.Random(0).randbytes(50_000))  # compressed, still 50 KB
    data = bytearray(artifact.read_bytes())
    middle = len(data) // 2  # inside the compressed bytes
    data[middle : middle + 16] = bytes(16)
    artifact.write_bytes(bytes(data))
    with pytest.raises(UnpackError, match=r"damaged\.zip: "):
        unpack(artifact, mount, limit=MB)
    assert not any(mount.iterdir()), "nothing half-unpacked"


def test_bytes_are_counted_as_written_whatever_was_declared() -> None:
    target = io.BytesIO()
    assert copy_bounded(io.BytesIO(bytes(MB)), target, MB) == MB
    with pytest.raises(UnpackError, match="more than 1,048,576 bytes"):
        copy_bounded(io.BytesIO(bytes(3 * MB)), io.BytesIO(), MB)


@pytest.mark.parametrize("artifact", ["text", "missing", "folder", "bomb"])
def test_an_artifact_it_cant_take_is_one_line_naming_it(
    tmp_path: Path, artifact: str, settings: Path, capsys: pytest.CaptureFixture
) -> None:
    path = tmp_path / "notazip"
    expected = {
        "text": "not a readable zip",
        "missing": "does not exist",
        "folder": "is a folder",
        "bomb": "over the limit of 1,000,000",
    }[artifact]
    if artifact == "text":
        path.write_text("not a zip\n")
    elif artifact == "folder":
        path.mkdir()
    elif artifact == "bomb":
        zip_of_zeros(path, 4 * MB)
    command = ["deploy-local", "--image", "x", "--artifact", str(path), "--settings", str(settings)]
    status = main([*command, "--max-unpacked-bytes", "1000000"])
    error = capsys.readouterr().err
    assert status == 2
    assert error.startswith(f"error: --artifact {path}") and expected in error, error
    assert error.count("\n") == 1, error


def test_settings_it_cant_read_are_one_line_before_anything_is_unpacked(
    tmp_path: Path, settings: Path, capsys: pytest.CaptureFixture
) -> None:
    settings.write_text("[container]\ncount = 1 1\n")
    command = ["deploy-local", "--image", "x", "--artifact", str(tmp_path / "none.zip")]
    status = main([*command, "--settings", str(settings)])
    error = capsys.readouterr().err
    assert status == 2 and error.startswith(f"error: can't read {settings}") and error.count("\n") == 1, error
    # A Triton deployment's settings: its image runs with tritonserver's command, which make
    # deploy-local gives (make triton-run); this command would start it without one.
    settings.write_text(
        "[container]\nserver_port = 8000\n[container.environment]\nCONTAINER_TYPE = 'TRITON'\n"
    )
    status = main([*command, "--settings", str(settings)])
    error = capsys.readouterr().err
    assert status == 2 and error.count("\n") == 1, error
    assert f"{settings} deploys Triton (CONTAINER_TYPE=TRITON): " in error
{%- if cookiecutter.server == "triton" %}
    assert "`make deploy-local` rehearses it with Triton's image and command" in error
{%- else %}
    assert "remove CONTAINER_TYPE, or bake a project with server=triton" in error
{%- endif %}


def test_it_says_once_that_loading_the_model_runs_its_code(
    tmp_path: Path, settings: Path, capsys: pytest.CaptureFixture
) -> None:
    artifact = tmp_path / "model_artifact.zip"
    with zipfile.ZipFile(artifact, "w") as archive:
        archive.writestr(MODEL_FILE, b"not loaded here")
        archive.writestr("extra/encoder.pkl", b"nor this")
    container_cli = tmp_path / "container-cli"  # answers as docker does for a container that exited
    container_cli.write_text(
        f"#!{sys.executable}\nimport sys\n"
        "if sys.argv[1:3] == ['container', 'inspect']:\n"
        '    print(\'[{"State": {"Running": false}}]\')\n'
    )
    container_cli.chmod(0o755)
    command = ["deploy-local", "--image", "x", "--artifact", str(artifact), "--cli", str(container_cli)]
    record = tmp_path / "start-time.json"  # not the project's dist/
    command += ["--settings", str(settings), "--record", str(record)]
    status = main(command)
    error = capsys.readouterr().err
    assert status == 1 and "FAILED: the container exited" in error
    assert error.count("note: loading") == 1
    assert f"note: loading {MODEL_FILE} (and 1 more) runs code it holds (joblib/pickle)" in error
    assert "docs/security.md#trusting-a-model-file" in error


SCORER_LOG = "\n".join(
    [
        "[2025-01-01 00:00:00 +0000] [1] [INFO] Starting gunicorn",
        '{"time": "2025-01-01T00:00:01.000Z", "level": "INFO", "message": "loading model"}',
        '{"time": "2025-01-01T00:00:03.500Z", "level": "INFO", "message": "model ready"}',
    ]
)
IMAGE_ID = "sha256:" + "ab" * 32


def container_engine(tmp_path: Path, info: str = '{"NCPU": 6}', running: bool = True) -> Path:
    """A stand-in for docker: ``info`` as `info --format json` prints it, the scorer's log, the
    image's id; a container that runs (and is healthy) or has exited; every other call succeeds.
    Each call's arguments are a JSON line of ``engine-calls.jsonl`` beside it."""
    cli = tmp_path / "container-cli"
    image = json.dumps([{"Id": IMAGE_ID, "Size": 1, "Architecture": "amd64"}])
    container = json.dumps([{"State": {"Running": running}}])
    calls = tmp_path / "engine-calls.jsonl"
    cli.write_text(
        f"#!{sys.executable}\nimport json, sys\n"
        "arguments = sys.argv[1:]\n"
        f"with open({str(calls)!r}, 'a') as calls:\n"
        "    calls.write(json.dumps(arguments) + '\\n')\n"
        "if arguments[:1] == ['info']:\n"
        f"    print({info!r})\n"
        "elif arguments[:1] == ['logs']:\n"
        f"    print({SCORER_LOG!r})\n"
        "    print('gunicorn booted', file=sys.stderr)\n"
        "elif arguments[:2] == ['image', 'inspect']:\n"
        f"    print({image!r})\n"
        "elif arguments[:2] == ['container', 'inspect']:\n"
        f"    print({container!r})\n"
    )
    cli.chmod(0o755)
    return cli


@pytest.mark.parametrize(
    ("info", "expected"),
    [
        ('{"NCPU": 6}', 6),
        ('{"host": {"cpus": 3}}', 3),
        ("not json", os.cpu_count()),
        ('{"NCPU": 0}', os.cpu_count()),
    ],
)
def test_the_engines_cpus_are_docker_ncpu_or_podman_host_cpus(
    tmp_path: Path, info: str, expected: int
) -> None:
    assert engine_cpus(str(container_engine(tmp_path, info))) == expected


def test_the_containers_log_is_its_stdout_and_stderr(tmp_path: Path) -> None:
    logs = container_logs(str(container_engine(tmp_path)), "c")
    assert SCORER_LOG in logs and "gunicorn booted" in logs
    assert container_logs(str(tmp_path / "absent-cli"), "c") == ""


def test_start_time_records_the_seconds_load_cpus_and_image(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    cli, output = container_engine(tmp_path), tmp_path / "start-time.json"
    command = [
        "start-time",
        "--cli",
        str(cli),
        "--container",
        "c",
        "--image",
        "scorer:1",
        "--output",
        str(output),
    ]
    assert main([*command, "--seconds", "4.26"]) == 0
    assert "healthy after 4.3 s (model load 2.5 s, 1 worker) on 6 CPUs" in capsys.readouterr().out
    record = json.loads(output.read_text())
    assert {key: record[key] for key in ("healthy_seconds", "load_seconds", "workers", "cpus", "image")} == {
        "healthy_seconds": 4.3,
        "load_seconds": 2.5,
        "workers": 1,
        "cpus": 6,
        "image": "scorer:1",
    }
    assert record["local_id"] == IMAGE_ID and record["source"] == "make run"
    # A run that never became healthy replaces the record: the earlier start would mislead.
    assert main([*command, "--not-healthy-after", "600"]) == 0
    record = read_start_record(output)
    assert record is not None and (record["healthy_seconds"], record["not_healthy_after"]) == (None, 600)
    assert "not healthy after 600 s" in capsys.readouterr().out


def serve_predict(path: str = "/predict") -> tuple[int, Callable[[], None]]:
    """A loopback ``path`` that answers 200, any other path 404 (the container's port, as
    published); its port and stop."""

    class Predict(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200 if self.path == path else 404)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Predict)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server.server_address[1], server.shutdown


@pytest.mark.parametrize("healthy", [True, False])
def test_deploy_local_records_the_start_healthy_or_not(
    tmp_path: Path, settings: Path, capsys: pytest.CaptureFixture, healthy: bool
) -> None:
    artifact = tmp_path / "model_artifact.zip"
    with zipfile.ZipFile(artifact, "w") as archive:
        archive.writestr("labels.txt", b"setosa\n")
    request, record = tmp_path / "request.json", tmp_path / "start-time.json"
    request.write_text("{}")
    record.write_text(json.dumps({"healthy_seconds": 1.0, "cpus": 8}))  # an earlier run's
    port, stop = serve_predict()
    cli = container_engine(tmp_path, running=healthy)
    command = ["deploy-local", "--image", "scorer:1", "--cli", str(cli), "--artifact", str(artifact)]
    command += ["--port", str(port), "--interval", "0", "--request", str(request), "--record", str(record)]
    try:
        status = main([*command, "--settings", str(settings)])
    finally:
        stop()
    out, err = capsys.readouterr()
    written = read_start_record(record)
    assert (
        written is not None and written["source"] == "make deploy-local" and written["local_id"] == IMAGE_ID
    )
    assert (written["load_seconds"], written["cpus"]) == (2.5, 6)
    if healthy:
        assert status == 0 and "4. POST /predict request.json -> 200 {}" in out
        assert written["healthy_seconds"] is not None and written["healthy_seconds"] < 60
    else:
        assert status == 1 and "FAILED: the container exited" in err and SCORER_LOG in err
        assert written["healthy_seconds"] is None and written["not_healthy_after"] is not None
        assert f"recorded in {record}: not healthy after" in err


def test_deploy_local_calls_the_paths_the_deployment_overrides(
    tmp_path: Path, settings: Path, capsys: pytest.CaptureFixture
) -> None:
    """OCI calls MODEL_DEPLOY_HEALTH_ENDPOINT and MODEL_DEPLOY_PREDICT_ENDPOINT when they are set:
    the rehearsal checks the image answers there, not only on /health and /predict."""
    artifact = tmp_path / "model_artifact.zip"
    with zipfile.ZipFile(artifact, "w") as archive:
        archive.writestr("labels.txt", b"setosa\n")
    container = "[container]\nserver_port = 8080\n[container.environment]\n"
    settings.write_text(
        container + 'MODEL_DEPLOY_HEALTH_ENDPOINT = "/ping"\nMODEL_DEPLOY_PREDICT_ENDPOINT = "/v1/score"\n'
    )
    request = tmp_path / "request.json"
    request.write_text("{}")
    cli = container_engine(tmp_path)

    def deploy_local(port: int) -> list[str]:
        command = ["deploy-local", "--image", "scorer:1", "--cli", str(cli), "--artifact", str(artifact)]
        command += ["--port", str(port), "--interval", "0", "--request", str(request)]
        return [*command, "--settings", str(settings), "--record", str(tmp_path / "start-time.json")]

    port, stop = serve_predict("/v1/score")
    try:
        status = main(deploy_local(port))
    finally:
        stop()
    out = capsys.readouterr().out
    assert status == 0
    assert "curl -f /ping inside the container" in out
    assert "4. POST /v1/score request.json -> 200 {}" in out
    calls = [json.loads(line) for line in (tmp_path / "engine-calls.jsonl").read_text().splitlines()]
    checks = [call for call in calls if call[:1] == ["exec"]]
    assert checks and all(call[-1] == f"http://localhost:{port}/ping" for call in checks)
    started = next(call for call in calls if call[:1] == ["run"])
    assert "--env=MODEL_DEPLOY_HEALTH_ENDPOINT=/ping" in started

    # An image that is healthy but doesn't answer on the predict path fails the rehearsal.
    settings.write_text(container + 'MODEL_DEPLOY_PREDICT_ENDPOINT = "/v2/score"\n')
    port, stop = serve_predict("/v1/score")
    try:
        status = main(deploy_local(port))
    finally:
        stop()
    assert status == 1
    assert "4. FAILED: POST /v2/score request.json -> 404" in capsys.readouterr().err

    calls_before = (tmp_path / "engine-calls.jsonl").read_text()
    settings.write_text(container + 'MODEL_DEPLOY_HEALTH_ENDPOINT = "ping"\n')  # not a path
    assert main(deploy_local(port)) == 2  # refused in one line before anything runs
    assert "MODEL_DEPLOY_HEALTH_ENDPOINT" in capsys.readouterr().err
    assert (tmp_path / "engine-calls.jsonl").read_text() == calls_before
