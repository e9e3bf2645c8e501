"""The baked scorer as a real gunicorn process on loopback, checked as OCI checks it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest
from baking import DEFAULT_FASTAPI, DEFAULT_FLASK, Combo, free_port, model_predictions
from serving import call, log_lines, wait_healthy

GUNICORN = ["gunicorn", "-c", "gunicorn.conf.py", "--bind", "127.0.0.1:{port}"]
UVICORN = ["uvicorn", "--factory", "my_model_service.app:create_app", "--app-dir", "src", "--port", "{port}"]
# gunicorn exits 0 after a graceful stop; uvicorn finishes its shutdown, then
# re-raises the SIGTERM it caught, so its status is -SIGTERM.
SERVERS = [
    pytest.param(DEFAULT_FLASK, GUNICORN, 0, id="flask-gunicorn", marks=DEFAULT_FLASK.param().marks),
    pytest.param(
        DEFAULT_FLASK,
        [*GUNICORN, "--preload"],
        0,
        id="flask-gunicorn-preload",
        marks=DEFAULT_FLASK.param().marks,
    ),
    pytest.param(DEFAULT_FASTAPI, GUNICORN, 0, id="fastapi-gunicorn", marks=DEFAULT_FASTAPI.param().marks),
    pytest.param(
        DEFAULT_FASTAPI, UVICORN, -signal.SIGTERM, id="fastapi-uvicorn", marks=DEFAULT_FASTAPI.param().marks
    ),
]
SHUTDOWN_LINE = {0: "Shutting down: Master", -signal.SIGTERM: "Application shutdown complete"}


@pytest.mark.parametrize(("combo", "command", "exit_status"), SERVERS)
def test_server_answers_health_and_predict_and_stops_cleanly_on_sigterm(
    baked, combo: Combo, command: list[str], exit_status: int
) -> None:
    project = baked(combo)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "MODEL_DIR": str(project / "model_artifact"), "PORT": str(port)}
    program, *arguments = (part.format(port=port) for part in command)
    server = subprocess.Popen(
        [str(project / ".venv/bin" / program), *arguments],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_healthy(base, server)
        rows = json.loads((project / "sample_request.json").read_text())["instances"]
        headers = {"Content-Type": "application/json", "opc-request-id": "req-42"}
        status, answer = call(f"{base}/predict", json.dumps({"instances": rows}).encode(), headers)
        assert status == 200
        assert answer == {"predictions": model_predictions(project, rows)}
        status, answer = call(f"{base}/predict", b'{"instances": [[1, 2]]}', headers)
        assert status == 400 and "expects 4 features" in answer["error"]
    finally:
        server.send_signal(signal.SIGTERM)
        stdout, stderr = server.communicate(timeout=60)
    assert server.returncode == exit_status, stderr
    assert SHUTDOWN_LINE[exit_status] in stderr
    # A clean stop logs no error (gunicorn's wrapper of a socket uvloop had closed once logged one).
    assert [line for line in stderr.splitlines() if "error" in line.lower()] == []
    access = [json.loads(line) for line in stdout.splitlines() if '"scorer.access"' in line]
    assert {"path": "/predict", "status": 200, "opc-request-id": "req-42"}.items() <= access[-2].items()
    with pytest.raises(OSError):
        call(f"{base}/health")  # the port is closed once the server has gone


@pytest.mark.xdist_group(DEFAULT_FLASK.id)
@pytest.mark.parametrize(("preload", "loads"), [("1", 1), ("0", 2)], ids=["PRELOAD=1", "PRELOAD=0"])
def test_preload_loads_the_model_once_in_the_master(baked, tmp_path, preload: str, loads: int) -> None:
    project = baked(DEFAULT_FLASK)
    port, out = free_port(), tmp_path / "stdout.log"
    env = {**os.environ, "MODEL_DIR": str(project / "model_artifact"), "WORKERS": "2", "PRELOAD": preload}
    command = [str(project / ".venv/bin/gunicorn"), "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}"]
    with out.open("w") as stdout:
        server = subprocess.Popen(command, cwd=project, env=env, stdout=stdout, stderr=subprocess.DEVNULL)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", server)
        time.sleep(2)  # time for a second worker's load, if there is one
        assert [line["message"] for line in log_lines(out.read_text())].count("model ready") == loads
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=60) == 0
