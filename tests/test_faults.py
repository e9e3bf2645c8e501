"""Faults on real gunicorn servers: a worker killed under load, SIGTERM under load.

A killed worker's requests fail and nothing else: the master forks a new worker,
which takes connections only once its model is loaded, while the other serves.
On SIGTERM, requests already running finish, new connections are refused, exit 0.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import threading
import time
from pathlib import Path

import pytest
from baking import DEFAULT_FASTAPI, DEFAULT_FLASK, Combo
from serving import SLOW_BODY, WORKERS, gunicorn_with_every_worker_ready, write_slow_model

CLIENTS = 4  # each with one request in flight at a time: a worker holds at most this many
BODY = json.dumps({"instances": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]}).encode()
COMBOS = [DEFAULT_FLASK.param(), DEFAULT_FASTAPI.param()]


def post(port: int, body: bytes, timeout: float, sent: list[float] | None = None) -> int | str:
    """The status of one POST /predict on a new connection, or the name of the error; ``sent``
    gets the time the request was written whole."""
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        connection.request("POST", "/predict", body=body, headers={"Content-Type": "application/json"})
        if sent is not None:
            sent.append(time.monotonic())
        status = connection.getresponse().status
        connection.close()
        return status
    except OSError as error:
        return type(error).__name__


Outcomes = list[tuple[float, int | str]]


def clients(
    port: int, body: bytes, seconds: float, timeout: float = 10, sent: list[float] | None = None
) -> tuple[Outcomes, list]:
    """CLIENTS threads posting for ``seconds``; the outcomes land in the returned list."""
    outcomes: Outcomes = []
    stop = time.monotonic() + seconds

    def run() -> None:
        while time.monotonic() < stop:
            outcomes.append((time.monotonic(), post(port, body, timeout, sent)))

    threads = [threading.Thread(target=run) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    return outcomes, threads


@pytest.mark.parametrize("combo", COMBOS)
def test_a_killed_worker_costs_only_the_requests_it_held(baked, combo: Combo, tmp_path: Path) -> None:
    project = baked(combo)
    model_dir, log = project / "model_artifact", tmp_path / "out.log"
    with gunicorn_with_every_worker_ready(project, model_dir, log) as served:
        before = served.workers()
        outcomes, threads = clients(served.port, BODY, seconds=8)
        time.sleep(2)
        victim = min(before)
        killed_at = time.monotonic()
        os.kill(victim, signal.SIGKILL)
        for thread in threads:
            thread.join()

        after = served.workers()
        assert victim not in after and len(after) == WORKERS, (before, after)
        # The new worker loads its model (under load, its imports take a while).
        served.wait_models_ready(WORKERS + 1)
    failures = [outcome for _, outcome in outcomes if outcome != 200]
    served_after_kill = [outcome for at, outcome in outcomes if at > killed_at + 1 and outcome == 200]
    # Only connection errors, and no more than the killed worker could hold: no 503 from
    # the new worker while it loaded, no 5xx from the survivor.
    assert len(failures) <= CLIENTS, failures
    assert all(isinstance(failure, str) for failure in failures), failures
    assert len(served_after_kill) > 100, "the survivor did not go on serving"


def refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


@pytest.mark.parametrize("combo", COMBOS)
def test_sigterm_finishes_running_requests_refuses_new_ones_and_exits_0(
    baked, combo: Combo, tmp_path: Path
) -> None:
    project = baked(combo)
    write_slow_model(project, tmp_path / "model.joblib")
    with gunicorn_with_every_worker_ready(project, tmp_path, tmp_path / "out.log") as served:
        sent: list[float] = []
        outcomes, threads = clients(served.port, SLOW_BODY, seconds=1, timeout=60, sent=sent)  # one each
        # Every request written whole, in a worker (none in the listen backlog) and read by it
        # (no byte of it in a queue): from then on it is running, and SIGTERM must let it finish.
        deadline = time.monotonic() + 30
        while not (
            len(sent) == CLIENTS
            and served.connections_in_workers() == CLIENTS
            and not served.bytes_in_flight()
        ):
            assert time.monotonic() < deadline, "the workers did not read every request in 30 s"
            time.sleep(0.05)
        served.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 5
        while not refused(served.port):
            assert time.monotonic() < deadline, "new connections still accepted 5 s after SIGTERM"
            time.sleep(0.1)
        still_running = [thread for thread in threads if thread.is_alive()]
        for thread in threads:
            thread.join()
        assert served.process.wait(timeout=60) == 0
    assert still_running, "the slow requests ended before the listener closed: nothing was tested"
    assert [outcome for _, outcome in outcomes] == [200] * CLIENTS
