"""`make demo`, the README's first command, works as written."""

from __future__ import annotations

from pathlib import Path

from baking import TEMPLATE, free_port, run


def test_make_demo_prints_a_healthy_status_and_a_prediction(tmp_path: Path) -> None:
    result = run(["make", "demo", f"BUILD_DIR={tmp_path}", f"DEMO_PORT={free_port()}"], TEMPLATE)
    assert 'GET  /health  -> 200 {"status":"ready"}' in result.stdout
    assert 'POST /predict sample_request.json -> 200 {"predictions":["setosa","versicolor","virginica"]}' in (
        result.stdout
    )
    assert "server stopped on SIGTERM, exit code 0" in result.stdout
