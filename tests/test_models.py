"""The models teams train, each served by a generated project's real gunicorn on loopback.

For both frameworks, in a baked project with LightGBM added to requirements.txt (as its
README says), tests/models/make_models.py trains: a numeric model fitted on an array, the
same fitted on a DataFrame, the mixed pipeline (text, missing values), a
HistGradientBoostingClassifier with NaN left to the model, a regressor and a LightGBM
classifier. Each: /health, every method the model has, equal to the model called
in-process on the same DataFrame, and each kind of wrong value a 400 that names it.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from baking import ZOO_COMBOS, Combo, free_port
from serving import call, gunicorn_with_every_worker_ready
from test_container import make, podman

MODELS = ["ndarray", "dataframe", "mixed", "hgb", "regressor", "lightgbm"]
JSON_HEADERS = {"Content-Type": "application/json"}
METHODS = ("predict", "predict_proba", "decision_function")


def post(port: int, body: Any) -> tuple[int, dict]:
    return call(f"http://127.0.0.1:{port}/predict", json.dumps(body).encode(), JSON_HEADERS)


def same(answers: list[Any], expected: list[Any]) -> bool:
    """The same answers; floats to within a part in a billion (JSON round-trips exactly, BLAS may not)."""
    if len(answers) != len(expected):
        return False
    for got, wanted in zip(answers, expected, strict=True):
        if isinstance(wanted, dict):
            if got.keys() != wanted.keys() or got != pytest.approx(wanted, rel=1e-9):
                return False
        elif isinstance(wanted, float):
            if got != pytest.approx(wanted, rel=1e-9):
                return False
        elif got != wanted:
            return False
    return True


@pytest.mark.parametrize("combo", [combo.param() for combo in ZOO_COMBOS])
@pytest.mark.parametrize("name", MODELS)
def test_each_model_is_served_as_it_answers_in_process(zoo, combo: Combo, name: str, tmp_path: Path) -> None:
    project, models = zoo(combo)
    cases = json.loads((models / name / "cases.json").read_text())
    with gunicorn_with_every_worker_ready(project, models / name, tmp_path / "stdout.log") as served:
        assert call(f"http://127.0.0.1:{served.port}/health")[0] == 200
        for method in METHODS:
            status, answer = post(served.port, {**cases["body"], "method": method})
            if method in cases["expected"]:
                assert status == 200, answer
                assert same(answer["predictions"], cases["expected"][method]), (method, answer)
            else:
                assert status == 400 and f"this model has no {method}" in answer["error"], answer
        status, answer = post(served.port, cases["body"])  # PREDICT_METHOD: predict
        assert status == 200 and same(answer["predictions"], cases["expected"]["predict"]), answer
        for body, fragment in cases["bad"]:
            status, answer = post(served.port, body)
            assert status == 400, (body, answer)
            assert fragment in answer["error"], (body, answer)
        log = served.log.read_text()
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    ready = [line for line in lines if line["message"] == "model ready"]
    assert ready and set(ready[0]["methods"]) == set(cases["expected"])
    if name == "ndarray":
        assert ready[0]["input"] == "array (no signature)"
    elif name == "dataframe":
        assert ready[0]["input"].startswith("array (numbers only")  # the fast path, from the signature
    else:
        assert ready[0]["input"].startswith("typed DataFrame")


@pytest.mark.xdist_group(ZOO_COMBOS[0].id)  # on the worker that made that project
def test_lightgbm_runs_in_the_image_with_its_system_library(
    zoo, podman_env: dict[str, str], tmp_path: Path
) -> None:
    """LightGBM's wheel needs libgomp1, which the slim base lacks: SYSTEM_PACKAGES adds it."""
    project, models = zoo(ZOO_COMBOS[0])
    cases = json.loads((models / "lightgbm" / "cases.json").read_text())
    request = tmp_path / "request.json"
    request.write_text(json.dumps(cases["body"]))
    settings = (f"PORT={free_port()}", "CONTAINER=byoc-test-lightgbm", "IMAGE_TAG=lightgbm")
    make(project, podman_env, "build", *settings, "BUILD_ARGS=--build-arg SYSTEM_PACKAGES=libgomp1")
    try:
        make(project, podman_env, "run", *settings, f"MODEL_DIR={models / 'lightgbm'}", "HEALTH_DEADLINE=120")
        answer = json.loads(
            make(project, podman_env, "predict", *settings, f"SAMPLE_REQUEST={request}").stdout
        )
    finally:
        stop = ["make", "--no-print-directory", "stop", "CONTAINER_CLI=podman", *settings]
        subprocess.run(stop, cwd=project, capture_output=True, env={**os.environ, **podman_env})
    assert same(answer["predictions"], cases["expected"]["predict"]), answer
    libraries = podman(podman_env, "run", "--rm", "my-model-service:lightgbm", "ldconfig", "-p").stdout
    assert "libgomp.so.1" in libraries
