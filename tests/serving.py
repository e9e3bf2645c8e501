"""Real scorer processes for the tests: start, wait until healthy, stop."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from baking import free_port

HEALTH_TIMEOUT = 3  # seconds: the service's health-check timeout
WORKERS = 2  # the template's default


def call(url: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=HEALTH_TIMEOUT) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def wait_healthy(base: str, server: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert server.poll() is None, "the server exited before it was healthy"
        try:
            if call(f"{base}/health")[0] == 200:
                return
        except OSError:
            pass  # not listening yet, or a 3 s timeout: try again, as the service does
        time.sleep(0.2)
    pytest.fail(f"/health was not 200 within {seconds} s")


@contextmanager
def gunicorn_with_every_worker_ready(project: Path, model_dir: Path, log: Path) -> Iterator[int]:
    """The project's gunicorn on a free loopback port, once every worker has its model.

    /health is answered by whichever worker takes the connection; a worker still loading
    answers 503, which is right, but not what the callers test: they wait for each
    worker's "model ready" log line too. Yields the port; on exit, SIGTERM and no
    traceback in gunicorn's log.
    """
    port = free_port()
    env = {**os.environ, "MODEL_DIR": str(model_dir), "WORKERS": str(WORKERS)}
    command = [str(project / ".venv/bin/gunicorn"), "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}"]
    with log.open("w") as stdout:
        server = subprocess.Popen(
            command, cwd=project, env=env, stdout=stdout, stderr=subprocess.PIPE, text=True
        )
    try:
        wait_healthy(f"http://127.0.0.1:{port}", server)
        deadline = time.monotonic() + 60
        while log.read_text().count('"message": "model ready"') < WORKERS:
            assert time.monotonic() < deadline, "not every worker loaded its model within 60 s"
            time.sleep(0.1)
        yield port
    finally:
        server.send_signal(signal.SIGTERM)
        _, stderr = server.communicate(timeout=90)
    assert "Traceback" not in stderr, stderr
