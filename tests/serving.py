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
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from baking import free_port

SLOW_MODEL = """
import sys, joblib, numpy as np
from sklearn.neighbors import KNeighborsClassifier
rng = np.random.default_rng(0)
model = KNeighborsClassifier(algorithm="brute").fit(rng.random((1_000_000, 4)), rng.integers(0, 3, 1_000_000))
joblib.dump(model, sys.argv[1])
"""
SLOW_BODY = json.dumps({"instances": [[0.5, 0.5, 0.5, 0.5]] * 2000}).encode()
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


@dataclass
class Gunicorn:
    """A running gunicorn master of a baked project; its JSON lines go to ``log``."""

    port: int
    process: subprocess.Popen
    log: Path

    def workers(self) -> set[int]:
        """The master's worker processes now."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text()
        return {int(pid) for pid in children.split()}

    def connections_in_workers(self) -> int:
        """How many connections to the port the workers have accepted (a connection still in the
        listen backlog belongs to no process): their sockets' inodes among the workers' fds."""
        local = f":{self.port:04X} "
        established = {
            fields[9]
            for line in Path("/proc/net/tcp").read_text().splitlines()[1:]
            if (fields := line.split()) and local in f"{fields[1]} " and fields[3] == "01"
        }
        held = set()
        for pid in self.workers():
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                try:
                    held.add(os.readlink(fd).removeprefix("socket:[").removesuffix("]"))
                except OSError:  # closed meanwhile
                    continue
        return len(established & held)

    def bytes_in_flight(self) -> int:
        """Bytes sent to the port that its server has not read yet: in the clients' send queues
        (not yet acknowledged) and in the server's receive queues (not yet read)."""
        port = f":{self.port:04X}"
        waiting = 0
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] != "01":  # ESTABLISHED only
                continue
            tx, rx = (int(value, 16) for value in fields[4].split(":"))
            waiting += rx if fields[1].endswith(port) else tx if fields[2].endswith(port) else 0
        return waiting

    def models_ready(self) -> int:
        """How many times a worker logged that its model is ready."""
        return sum(line.get("message") == "model ready" for line in log_lines(self.log.read_text()))

    def wait_models_ready(self, count: int, seconds: float = 60) -> None:
        """Wait until workers have logged ``count`` models ready; fail after ``seconds``."""
        deadline = time.monotonic() + seconds
        while self.models_ready() < count:
            assert time.monotonic() < deadline, f"{count} models were not ready within {seconds} s"
            time.sleep(0.1)


def log_lines(text: str) -> list[dict[str, Any]]:
    """The scorer's JSON log lines in ``text``, parsed; other lines (gunicorn's) are left out."""
    lines = []
    for line in text.splitlines():
        if line.startswith("{"):
            with suppress(ValueError):  # a line still being written
                lines.append(json.loads(line))
    return lines


def write_slow_model(project: Path, path: Path) -> None:
    """A plain scikit-learn model that takes about two seconds per 2,000-row request here."""
    subprocess.run([str(project / ".venv/bin/python"), "-c", SLOW_MODEL, str(path)], check=True)


@contextmanager
def gunicorn_with_every_worker_ready(
    project: Path, model_dir: Path, log: Path, workers: int = WORKERS, **settings: str
) -> Iterator[Gunicorn]:
    """The project's gunicorn on a free loopback port, once every worker has its model.

    ``settings``: more environment variables of gunicorn.conf.py (THREADS="1").

    A worker takes connections only once its model is loaded (the project's
    post_worker_init hook), so /health is 200 as soon as one is; the callers want
    every worker serving, so they wait for each worker's "model ready" line too.
    On exit: SIGTERM unless the test stopped it, and no traceback in gunicorn's log.
    """
    port = free_port()
    env = {**os.environ, "MODEL_DIR": str(model_dir), "WORKERS": str(workers), **settings}
    command = [str(project / ".venv/bin/gunicorn"), "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}"]
    errors = log.with_suffix(".stderr")
    with log.open("w") as stdout, errors.open("w") as stderr:
        process = subprocess.Popen(command, cwd=project, env=env, stdout=stdout, stderr=stderr)
    served = Gunicorn(port, process, log)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", process)
        served.wait_models_ready(workers)
        yield served
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        process.wait(timeout=90)
    assert "Traceback" not in errors.read_text(), errors.read_text()
