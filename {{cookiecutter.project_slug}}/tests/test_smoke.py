"""make smoke (scripts/smoke.py) refuses a busy port, stops at a failed server with its reason,
and finds a request for a model saved without one."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import JsonStandIn, received
from smoke import request_body
from template_hooks import server_environment

from {{ cookiecutter.package_name }}.signature import (
    INPUT_EXAMPLE,
    read_signature,
    schema_row,
)

PROJECT = Path(__file__).resolve().parent.parent
MODEL_FILE = "{{ cookiecutter.__model_file }}"


def smoke(model_dir: Path, port: int, *options: str) -> subprocess.CompletedProcess:
    """scripts/smoke.py on ``port``, serving ``model_dir``, as make runs it (with the template's hooks)."""
    env = server_environment({**os.environ, "MODEL_DIR": str(model_dir), "MODEL_FILE": MODEL_FILE})
    command = [sys.executable, "scripts/smoke.py", "--port", str(port), *options]
    return subprocess.run(command, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=180)


def test_a_busy_port_is_refused_naming_it_and_no_server_starts(model_dir: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        run = smoke(model_dir, port, "--example")
    assert run.returncode == 1
    assert f"port {port} on 127.0.0.1 is in use" in run.stderr and f"PORT={port + 1}" in run.stderr
    assert "starting:" not in run.stdout and "/health" not in run.stdout


def test_a_failed_server_stops_the_smoke_at_once_with_its_reason(tmp_path: Path, model_dir: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / MODEL_FILE).write_bytes(b"not a model")
    shutil.copy(model_dir / INPUT_EXAMPLE, broken)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    run = smoke(broken, port, "--example", "--deadline", "120")
    assert time.monotonic() - started < 60, "it waited for a server that had failed"
    assert run.returncode == 1
    assert '"status":"failed"' in run.stdout.replace(" ", "")
    assert "the server failed: model file could not be loaded" in run.stderr, run.stderr
    log = run.stderr.split("the server's last log lines:\n", 1)[1]
    assert "model failed to load" in log
    assert f"the server's log says: {broken / MODEL_FILE} could not be loaded" in run.stderr


def test_without_an_example_the_request_is_a_row_of_the_signature(tmp_path: Path, model_dir: Path) -> None:
    folder = tmp_path / "no_example"
    shutil.copytree(model_dir, folder)
    (folder / INPUT_EXAMPLE).unlink()
    name, body = request_body(None, folder, MODEL_FILE)
    assert name == "a row made from no_example/input_schema.json"
    assert body == schema_row(read_signature(folder))
    assert list(json.loads(body)["data"][0]) == ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    for name in ("input_schema.json", "output_schema.json"):
        (folder / name).unlink()
    with pytest.raises(SystemExit, match=r"no input_example\.json nor signature beside the model"):
        request_body(tmp_path / "absent.json", folder, MODEL_FILE)
    # make bench MODEL= on that model: refused before any server starts, naming its own target.
    env = server_environment({**os.environ, "MODEL_DIR": str(folder), "MODEL_FILE": MODEL_FILE})
    command = [sys.executable, "scripts/bench.py", "--example", "--seconds", "0.1"]
    bench = subprocess.run(command, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=60)
    assert bench.returncode == 1 and "gunicorn on" not in bench.stdout
    assert bench.stderr.strip().endswith("e.g. make bench SAMPLE_REQUEST=request.json"), bench.stderr


REFUSAL = {"error": "data[0]: features do not match the model's (unknown ['incme'])"}


class Refusing(JsonStandIn):
    """A server's /predict that refuses what it is sent, as the scorer does: 400, a JSON error."""

    serialize = staticmethod(lambda answer: answer)

    def do_POST(self) -> None:
        received(self)
        self._send(400, REFUSAL)


def test_make_predict_shows_a_refusal_s_reason_and_fails(tmp_path: Path) -> None:
    request = tmp_path / "request.json"
    request.write_text(json.dumps({"data": [{"incme": 1}]}))
    with ThreadingHTTPServer(("127.0.0.1", 0), Refusing) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        port = server.server_address[1]
        run = subprocess.run(
            ["make", "--no-print-directory", "predict", f"PORT={port}", f"SAMPLE_REQUEST={request}"],
            cwd=PROJECT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        server.shutdown()
    assert run.returncode != 0
    assert json.loads(run.stdout) == REFUSAL
    assert "/predict answered 400" in run.stderr
