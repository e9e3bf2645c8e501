"""/health stays quick while every worker is busy with slow predictions.

OCI restarts a container whose health check (3 s timeout) fails, so a busy scorer
must still answer /health. The slow model is plain scikit-learn: a brute-force
k-nearest-neighbours classifier over a million rows, about two seconds per 2,000 rows here.
"""

from __future__ import annotations

import http.client
import threading
import time
from pathlib import Path

import pytest
from baking import DEFAULT_FASTAPI, DEFAULT_FLASK, Combo
from serving import SLOW_BODY, WORKERS, gunicorn_with_every_worker_ready, write_slow_model

BUSY_CLIENTS = 2 * WORKERS  # every worker has more than one slow request in flight
LOAD_SECONDS = 15


def request(port: int, method: str, path: str, body: bytes | None = None, timeout: float = 3) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    headers = {"Content-Type": "application/json"} if body else {}
    connection.request(method, path, body=body, headers=headers)
    status = connection.getresponse().status
    connection.close()
    return status


@pytest.mark.parametrize("combo", [DEFAULT_FLASK.param(), DEFAULT_FASTAPI.param()])
def test_health_answers_within_3_s_while_every_worker_is_busy(baked, combo: Combo, tmp_path: Path) -> None:
    project = baked(combo)
    write_slow_model(project, tmp_path / "model.joblib")
    with gunicorn_with_every_worker_ready(project, tmp_path, tmp_path / "stdout.log") as served:
        port = served.port
        stop = time.monotonic() + LOAD_SECONDS
        predictions: list[int] = []

        def keep_busy() -> None:
            while time.monotonic() < stop:
                predictions.append(request(port, "POST", "/predict", SLOW_BODY, timeout=60))

        clients = [threading.Thread(target=keep_busy) for _ in range(BUSY_CLIENTS)]
        for client in clients:
            client.start()
        time.sleep(1)  # let the slow requests reach every worker
        health_seconds = []
        while time.monotonic() < stop - 1:
            started = time.monotonic()
            status = request(port, "GET", "/health", timeout=3)  # raises on the service's timeout
            health_seconds.append(time.monotonic() - started)
            assert status == 200
            time.sleep(0.5)
        for client in clients:
            client.join()
    assert len(health_seconds) >= 5
    assert max(health_seconds) < 3
    assert len(predictions) >= BUSY_CLIENTS and set(predictions) == {200}


@pytest.mark.parametrize("combo", [DEFAULT_FLASK.param(), DEFAULT_FASTAPI.param()])
def test_health_on_a_kept_alive_connection_is_not_held_behind_a_running_prediction(
    baked, combo: Combo, tmp_path: Path
) -> None:
    """One worker, one thread (Flask): a slow prediction holds the only thread, and the main loop
    still answers a quick request itself (Flask: instead of queueing it for that thread)."""
    project = baked(combo)
    write_slow_model(project, tmp_path / "model.joblib")
    log = tmp_path / "stdout.log"
    with gunicorn_with_every_worker_ready(project, tmp_path, log, workers=1, THREADS="1") as served:
        kept = http.client.HTTPConnection("127.0.0.1", served.port, timeout=3)
        kept.request("GET", "/health")
        assert kept.getresponse().read() and served.connections_in_workers() == 1
        slow_status: list[int] = []
        slow = threading.Thread(
            target=lambda: slow_status.append(request(served.port, "POST", "/predict", SLOW_BODY, timeout=60))
        )
        slow.start()
        time.sleep(0.5)  # the slow request is read and predicting (about 2 s)
        started = time.monotonic()
        kept.request("GET", "/health")
        reply = kept.getresponse()
        seconds = time.monotonic() - started
        assert reply.status == 200 and reply.read()
        assert slow.is_alive(), "the slow prediction ended first: nothing was tested"
        slow.join()
        kept.close()
    assert seconds < 0.5, f"/health waited {seconds:.2f} s behind the prediction"
    assert slow_status == [200]
