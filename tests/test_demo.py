"""`make demo`, the README's first command, works as written."""

from __future__ import annotations

import socket
from pathlib import Path

from baking import TEMPLATE, run


def test_make_demo_prints_a_healthy_status_and_a_prediction(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = run(["make", "demo", f"BUILD_DIR={tmp_path}", f"DEMO_PORT={port}"], TEMPLATE)
    assert 'GET  /health  -> 200 {"status":"ready"}' in result.stdout
    assert 'POST /predict sample_request.json -> 200 {"predictions":["setosa","versicolor","virginica"]}' in (
        result.stdout
    )
    assert "server stopped on SIGTERM, exit code 0" in result.stdout
