"""Adaptive batching: concurrent requests share model calls, each gets exactly its own answers.

In process: the batcher with a model call the test holds open, so what queues is known.
On the real server (gunicorn with this project's workers, on loopback): concurrent one-row
requests against their answers alone, a model that refuses some rows, mixed methods, SIGTERM.
The servers' models use a module of the tests' own (``probe.py``, written to a temporary
folder on the server's PYTHONPATH): a step that refuses rows holding -1 and takes a while; the
servers run the template's own processing hooks (template_hooks.py), not your processing.py.
"""

from __future__ import annotations

import importlib
import json
import math
import operator
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
from conftest import free_port
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from template_hooks import server_environment

from {{ cookiecutter.package_name }}.batching import (
    Batcher,
    kind_of,
    merge,
)
from {{ cookiecutter.package_name }}.scorer import Scorer
from {{ cookiecutter.package_name }}.settings import Settings
from {{ cookiecutter.package_name }}_ops.capacity import (
    CapacityError,
    batch_size,
    batched_as_deployed,
)

PROJECT = Path(__file__).resolve().parent.parent
MODEL_FILE = "{{ cookiecutter.__model_file }}"
PROBE = '''
"""A model step of the batching tests: refuses rows holding -1; each call takes PROBE_SECONDS."""
import os
import time

import numpy as np


def check(rows):
    values = np.asarray(rows, dtype=float)
    if (values == -1).any():
        raise ValueError("a row holds -1, which this test model refuses")
    time.sleep(float(os.environ.get("PROBE_SECONDS", "0")))
    return values
'''


# In process ------------------------------------------------------------------------------------


class HeldModel:
    """A model call the test holds open: the first call waits for ``release``; every call is kept."""

    def __init__(self, refuse: Callable[[Any], bool] = lambda rows: False) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.started, self.release = threading.Event(), threading.Event()
        self.refuse = refuse

    def __call__(self, method: str, rows: Any) -> list[Any]:
        self.calls.append((method, rows))
        if len(self.calls) == 1:
            self.started.set()
            assert self.release.wait(10)
        if self.refuse(rows):
            raise ValueError("refused rows")
        values = np.asarray(rows if isinstance(rows, np.ndarray) else rows.to_numpy()[:, :1], dtype=float)
        return [f"{method}:{value}" for value in values[:, 0].tolist()]


def submit_while_held(batcher: Batcher, model: HeldModel, jobs: list[tuple[Any, str]]) -> list[Any]:
    """Run the first job, and the others once its call is running (so they queue); their outcomes
    (answers and shared count, or the error) in order."""
    outcomes: list[Any] = [None] * len(jobs)

    def run(index: int) -> None:
        features, method = jobs[index]
        try:
            outcomes[index] = batcher.run(features, method)
        except Exception as error:
            outcomes[index] = error

    first = threading.Thread(target=run, args=(0,))
    first.start()
    assert model.started.wait(10)
    others = [threading.Thread(target=run, args=(index,)) for index in range(1, len(jobs))]
    for thread in others:
        thread.start()
        while len(batcher._queue) < others.index(thread) + 1:  # queued in this order
            time.sleep(0.001)
    model.release.set()
    for thread in [first, *others]:
        thread.join(10)
    return outcomes


def test_requests_queued_behind_a_call_share_the_next_one_each_with_its_own_rows() -> None:
    model = HeldModel()
    batcher = Batcher(model, max_rows=64)
    jobs = [(np.array([[float(index), 0.0]] * (1 + index % 2)), "predict") for index in range(5)]
    outcomes = submit_while_held(batcher, model, jobs)
    assert [len(rows) for _, rows in model.calls] == [1, 6]  # the first alone, the four queued in one
    for index, (answers, shared) in enumerate(outcomes):
        assert answers == [f"predict:{float(index)}"] * (1 + index % 2)
        assert shared == (1 if index == 0 else 4)
    assert not batcher._busy and not batcher._queue


def test_a_call_takes_only_one_method_and_at_most_max_rows() -> None:
    model = HeldModel()
    batcher = Batcher(model, max_rows=3)
    methods = ["predict", "predict_proba", "predict", "predict_proba", "predict", "predict"]
    jobs = [(np.array([[float(index)]]), method) for index, method in enumerate(methods)]
    outcomes = submit_while_held(batcher, model, jobs)
    calls = [(method, rows[:, 0].tolist()) for method, rows in model.calls]
    # In order: the first queued (1) leads, with the next of its method; the rest as they fit.
    assert calls == [
        ("predict", [0.0]),
        ("predict_proba", [1.0, 3.0]),
        ("predict", [2.0, 4.0, 5.0]),
    ]
    assert [answers for answers, _ in outcomes] == [[f"{m}:{float(i)}"] for i, m in enumerate(methods)]


def test_requests_that_merge_with_none_go_to_the_model_at_once_beside_a_shared_call() -> None:
    """Max rows or more, or no rows: never merged, never queued (a slow one must not wait behind
    another: SIGTERM's grace would have to cover them one after the other)."""
    model = HeldModel()
    batcher = Batcher(model, max_rows=2)
    held = threading.Thread(target=batcher.run, args=(np.array([[0.0]]), "predict"))
    held.start()
    assert model.started.wait(10)
    assert batcher.run(np.array([[1.0], [2.0]]), "predict") == (["predict:1.0", "predict:2.0"], 1)
    assert batcher.run(np.empty((0, 1)), "predict") == ([], 1)
    assert not batcher._queue  # never queued: answered while the first call still runs
    model.release.set()
    held.join(10)
    assert [call[:, 0].tolist() for _, call in model.calls] == [[0.0], [1.0, 2.0], []]


def test_a_merged_call_that_raises_is_made_again_for_each_request_alone(caplog) -> None:
    model = HeldModel(refuse=lambda rows: (np.asarray(rows) == -1).any())
    batcher = Batcher(model, max_rows=64)
    rows = [[0.0], [1.0], [-1.0], [3.0]]
    outcomes = submit_while_held(batcher, model, [(np.array([row]), "predict") for row in rows])
    assert outcomes[0] == (["predict:0.0"], 1)
    assert outcomes[1] == (["predict:1.0"], 1) and outcomes[3] == (["predict:3.0"], 1)
    assert isinstance(outcomes[2], ValueError)
    assert [len(rows) for _, rows in model.calls] == [1, 3, 1, 1, 1]  # the merged call, then alone
    assert "a shared model call raised" in caplog.text


def test_merged_dataframes_keep_every_dtype_and_unlike_ones_never_merge() -> None:
    def frame(city: str, count: int | None) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "city": pd.Categorical(
                    [city], categories=["lima", "oslo", *([city] if city == "rome" else [])]
                ),
                "name": pd.array([city], dtype="str"),
                "count": pd.array([count], dtype="Int64"),
                "when": pd.to_datetime(["2024-09-27T10:00:00Z"]),
                "flag": pd.array([True], dtype="boolean"),
            }
        )

    parts = [frame("lima", 1), frame("oslo", None)]
    merged = merge(parts)
    assert list(merged.dtypes) == list(parts[0].dtypes)
    assert list(merged["city"].cat.categories) == ["lima", "oslo"]
    pd.testing.assert_frame_equal(merged.iloc[[1]].reset_index(drop=True), parts[1])
    # A new category makes another dtype: its rows go to another call.
    assert kind_of("predict", frame("rome", 1)) != kind_of("predict", parts[0])
    assert kind_of("predict", parts[0]) == kind_of("predict", parts[1])
    assert kind_of("predict_proba", parts[0]) != kind_of("predict", parts[0])


def test_frames_queued_with_other_categories_are_answered_in_calls_of_their_own() -> None:
    model = HeldModel()
    batcher = Batcher(model, max_rows=64)
    known = pd.DataFrame({"x": [1.0], "city": pd.Categorical(["lima"], categories=["lima", "oslo"])})
    other = pd.DataFrame({"x": [2.0], "city": pd.Categorical(["rome"], categories=["lima", "oslo", "rome"])})
    outcomes = submit_while_held(
        batcher, model, [(known, "predict"), (known, "predict"), (other, "predict"), (known, "predict")]
    )
    assert [len(rows) for _, rows in model.calls] == [1, 2, 1]
    assert [outcome[1] for outcome in outcomes] == [1, 2, 1, 2]


def test_the_opt_in_delay_waits_for_others_and_no_delay_never_waits() -> None:
    calls: list[int] = []

    def model(method: str, rows: np.ndarray) -> list[Any]:
        calls.append(len(rows))
        return rows[:, 0].tolist()

    lone = Batcher(model, max_rows=64)
    started = time.monotonic()
    assert lone.run(np.array([[1.0]]), "predict") == ([1.0], 1)
    assert time.monotonic() - started < 0.5

    waiting = Batcher(model, max_rows=2, max_delay_seconds=5)
    first = ThreadPoolExecutor(1).submit(waiting.run, np.array([[1.0]]), "predict")
    while not waiting._busy:
        time.sleep(0.001)
    time.sleep(0.05)  # the first waits for a second request (or 5 s)
    assert waiting.run(np.array([[2.0]]), "predict") == ([2.0], 2)
    assert first.result(5) == ([1.0], 2)
    assert calls[-1] == 2


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"MAX_BATCH_SIZE": "0"},
            "MAX_BATCH_SIZE must be a whole number, 1 or more (got '0'); unset, it is 64",
        ),
        ({"MAX_BATCH_SIZE": "lots"}, "MAX_BATCH_SIZE must be a whole number, 1 or more (got 'lots')"),
        (
            {"MAX_BATCH_DELAY_MS": "2.5"},
            "MAX_BATCH_DELAY_MS must be a whole number of milliseconds, 0 to 1000",
        ),
        ({"MAX_BATCH_DELAY_MS": "5000"}, "(got '5000'); unset, it is 0"),
    ],
)
def test_a_bad_batching_setting_is_one_line_naming_it(env: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError) as refused:
        Settings.from_env(env)
    assert message in str(refused.value) and "\n" not in str(refused.value)


def test_batching_settings_are_read_and_one_turns_it_off() -> None:
    settings = Settings.from_env({"MAX_BATCH_SIZE": "8", "MAX_BATCH_DELAY_MS": "2"})
    assert (settings.max_batch_size, settings.max_batch_delay_ms) == (8, 2)
    assert Settings.from_env({}).max_batch_size == 64 and Settings.from_env({}).max_batch_delay_ms == 0
    assert Scorer(Settings(max_batch_size=1)).batcher is None
    assert Scorer(Settings(max_batch_size=8, max_batch_delay_ms=2)).batcher is not None


def test_capacity_plans_from_the_points_measured_as_the_deployment_batches() -> None:
    points = [
        {"rows": 1, "connections": 16, "rps": 1500.0, "max_batch_size": 64},
        {"rows": 1, "connections": 16, "rps": 500.0, "max_batch_size": 1},
    ]
    on, line = batched_as_deployed(points, 64)
    assert on == points[:1] and line.startswith("batching: on (MAX_BATCH_SIZE 64)")
    off, line = batched_as_deployed(points, 1)
    assert off == points[1:] and line.startswith("batching: off")
    older = [{"rows": 1, "connections": 16, "rps": 900.0}]  # a bench.json from before batching
    assert batched_as_deployed(older, 64) == (older, "")
    with pytest.raises(CapacityError, match="measured no point so"):
        batched_as_deployed(points[1:], 64)
    assert batch_size({"container": {"environment": {"MAX_BATCH_SIZE": "1"}}}) == 1
    assert batch_size({}) == 64
    with pytest.raises(CapacityError, match=r"\[container.environment\] MAX_BATCH_SIZE must be"):
        batch_size({"container": {"environment": {"MAX_BATCH_SIZE": "-3"}}})


# On the real server ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def probe_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A folder holding probe.py, importable here (to pickle models that use it) and by the servers."""
    folder = tmp_path_factory.mktemp("probe")
    (folder / "probe.py").write_text(PROBE)
    sys.path.insert(0, str(folder))
    try:
        yield folder
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop("probe", None)


@pytest.fixture(scope="module")
def probe_model_dir(probe_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Iris, through the probe step: an array model (no signature) that refuses rows holding -1."""
    probe = importlib.import_module("probe")
    features, labels = load_iris(return_X_y=True)
    model = make_pipeline(FunctionTransformer(probe.check), LogisticRegression(max_iter=1000))
    folder = tmp_path_factory.mktemp("probe_model")
    joblib.dump(model.fit(features, labels), folder / MODEL_FILE)
    return folder


@dataclass
class Server:
    base: str
    process: subprocess.Popen
    log: Path

    def lines(self) -> list[dict[str, Any]]:
        lines = []
        for text in self.log.read_text().splitlines():
            if text.startswith("{"):
                try:
                    lines.append(json.loads(text))
                except ValueError:  # being written
                    continue
        return lines

    def batches(self) -> dict[str, int]:
        """The ``batch`` of each /predict access line, by its opc-request-id."""
        return {
            line["opc-request-id"]: line.get("batch", 0)
            for line in self.lines()
            if line.get("path") == "/predict" and line.get("opc-request-id")
        }


@contextmanager
def gunicorn(model_dir: Path, probe_dir: Path, log: Path, **settings: str) -> Iterator[Server]:
    """This project's gunicorn (2 workers) on loopback, once both workers have their model."""
    port = free_port()
    env = server_environment(
        {
            **os.environ,
            "MODEL_DIR": str(model_dir),
            "MODEL_FILE": MODEL_FILE,
            "WORKERS": "2",
            "PYTHONPATH": str(probe_dir),
            **settings,
        }
    )
    command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}"]
    with log.open("w") as out:
        process = subprocess.Popen(command, cwd=PROJECT, env=env, stdout=out, stderr=subprocess.STDOUT)
    server = Server(f"http://127.0.0.1:{port}", process, log)
    try:
        deadline = time.monotonic() + 60
        while sum(line.get("message") == "model ready" for line in server.lines()) < 2:
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the workers were not ready in 60 s"
            time.sleep(0.1)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    assert "Traceback" not in log.read_text(), log.read_text()


def post(base: str, body: dict[str, Any], request_id: str) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        f"{base}/predict",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "opc-request-id": request_id},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def at_once(base: str, bodies: list[dict[str, Any]], tag: str) -> list[tuple[int, dict[str, Any]]]:
    """Every body posted at the same moment, each on its connection; request ids ``{tag}-{index}``."""
    start = threading.Barrier(len(bodies))

    def send(index: int) -> tuple[int, dict[str, Any]]:
        start.wait()
        return post(base, bodies[index], f"{tag}-{index}")

    with ThreadPoolExecutor(len(bodies)) as pool:
        return list(pool.map(send, range(len(bodies))))


def close(left: Any, right: Any) -> bool:
    """Equal, but for numbers within a rounding: a model's matrix product may round the last bit
    apart for 1 row and for 16 (BLAS's kernels differ by shape)."""
    if isinstance(left, float) and isinstance(right, float):
        return math.isclose(left, right, rel_tol=1e-12, abs_tol=1e-300)
    if isinstance(left, (list, tuple)) and isinstance(right, (list, tuple)):
        return len(left) == len(right) and all(close(a, b) for a, b in zip(left, right, strict=True))
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(close(left[key], right[key]) for key in left)
    return bool(left == right)


CITIES = ["oslo", "lima", "rome", "paris"]


def churn_rows() -> list[dict[str, Any]]:
    """16 different customers: ages and incomes apart, some incomes missing, every city."""
    return [
        {
            "age": 20.0 + 3 * index,
            "income": None if index % 5 == 0 else 30000.0 + 1000 * index,
            "city": CITIES[index % 4],
        }
        for index in range(16)
    ]


def test_sixteen_concurrent_one_row_requests_each_get_exactly_their_answer_alone(
    churn_dir: Path, probe_dir: Path, tmp_path: Path
) -> None:
    """The churn sample (a typed DataFrame pipeline): labels to the bit; probabilities to the
    rounding of the model's own matrix product, which on some CPUs (OpenBLAS's kernels on AMD
    EPYC) sums 16 rows in another order than 1, in process as much as here. Two customers'
    probabilities differ far beyond it, so a row answered with another's still fails."""
    with gunicorn(churn_dir, probe_dir, tmp_path / "server.log") as server:
        for method, same in (("predict_proba", close), ("predict", operator.eq)):
            bodies = [{"data": [row], "method": method} for row in churn_rows()]
            alone = [post(server.base, body, f"alone-{method}-{index}") for index, body in enumerate(bodies)]
            assert all(status == 200 for status, _ in alone), alone
            if method == "predict_proba":  # each customer its own answer: a mix-up can't pass
                assert len({json.dumps(answer) for _, answer in alone}) == len(bodies), alone
            shared = []
            for attempt in range(10):  # until calls were shared (2 workers: almost always at once)
                tag = f"together-{method}-{attempt}"
                together = at_once(server.base, bodies, tag)
                assert same(together, alone), (method, together, alone)
                # every attempt of this method so far: a log line may land after its answer
                shared = [
                    batch for rid, batch in server.batches().items() if rid.startswith(f"together-{method}-")
                ]
                if max(shared, default=0) > 1:
                    break
            assert max(shared, default=0) > 1, f"no {method} request shared a model call: batching is off"
        assert all(batch == 1 for rid, batch in server.batches().items() if rid.startswith("alone"))


def test_rows_the_model_refuses_fail_their_request_alone_and_mixed_methods_keep_their_answers(
    probe_model_dir: Path, probe_dir: Path, tmp_path: Path
) -> None:
    """The probe model (an array model): predict and predict_proba in flight together, and one
    request whose rows it refuses; each call takes 0.3 s, so requests sent meanwhile queue."""
    features, _ = load_iris(return_X_y=True)
    methods = ["predict", "predict_proba"]
    bodies = [
        {"instances": [features[index * 9].tolist()], "method": methods[index % 2]} for index in range(16)
    ]
    bodies[5]["instances"] = [[-1.0, 1.0, 1.0, 1.0]]
    settings = {"PROBE_SECONDS": "0.3", "THREADS": "8"}  # THREADS: Flask's threads a worker, 16 in all
    with gunicorn(probe_model_dir, probe_dir, tmp_path / "server.log", **settings) as server:
        alone = [post(server.base, body, f"alone-{index}") for index, body in enumerate(bodies)]
        assert alone[5][0] == 400 and "refuses" in alone[5][1]["error"]
        shared_by_method: dict[str, int] = {}
        for attempt in range(5):  # until both methods shared calls and the refused rows were in one
            together = at_once(server.base, bodies, f"together{attempt}")
            assert close(together, alone), (together, alone)
            for request_id, batch in server.batches().items():
                if request_id.startswith("together") and not request_id.endswith("-5"):
                    method = methods[int(request_id.rsplit("-", 1)[1]) % 2]
                    shared_by_method[method] = max(shared_by_method.get(method, 0), batch)
            raised = [
                line for line in server.lines() if line.get("message", "").startswith("a shared model call")
            ]
            if raised and min(shared_by_method.values(), default=0) > 1:
                break
    assert min(shared_by_method.values()) > 1, f"a method never shared a call: {shared_by_method}"
    assert raised and all(line["requests"] > 1 for line in raised), "the refused rows never shared a call"


def test_sigterm_under_batched_load_answers_every_request_running_and_queued(
    probe_model_dir: Path, probe_dir: Path, tmp_path: Path
) -> None:
    features, _ = load_iris(return_X_y=True)
    bodies = [{"instances": [features[index * 17].tolist()]} for index in range(8)]
    with gunicorn(probe_model_dir, probe_dir, tmp_path / "server.log", PROBE_SECONDS="1") as server:
        alone = [post(server.base, body, f"alone-{index}") for index, body in enumerate(bodies)]
        with ThreadPoolExecutor(1) as pool:
            together = pool.submit(at_once, server.base, bodies, "together")
            time.sleep(0.6)  # every request in a worker: one call running in each, the others queued
            server.process.send_signal(signal.SIGTERM)
            answers = together.result(60)
        assert server.process.wait(timeout=60) == 0
        batches = {rid: batch for rid, batch in server.batches().items() if rid.startswith("together")}
    assert close(answers, alone), (answers, alone)
    assert len(batches) == 8 and max(batches.values()) > 1, batches


def test_make_bench_reads_the_calls_a_request_took_from_the_request_log(tmp_path: Path) -> None:
    """`make bench`'s calls/request: the mean of 1/``batch`` over the /predict lines of the point
    measured; lines before it, lines with no ``batch`` (refused, /health), gunicorn's own lines and a
    line still being written are left out."""
    from bench import calls_per_request

    def lines(*batches: int) -> str:
        return "".join(json.dumps({"path": "/predict", "status": 200, "batch": n}) + "\n" for n in batches)

    before = lines(8, 8)
    measured = lines(1, 4, 4, 4, 4) + json.dumps({"path": "/health", "status": 200}) + "\n"
    measured += "[2026-12-07 05:00:00 +0000] [7] [INFO] Booting worker with pid: 7\n"
    log = tmp_path / "requests.log"
    log.write_text(before + measured + '{"path": "/predict", "status": 200, "bat')
    end = log.stat().st_size
    assert calls_per_request(log, len(before), end) == 0.4  # (1 + 4 x 1/4) / 5 requests
    assert calls_per_request(log, 0, len(before)) == 0.125
    assert calls_per_request(log, end, end) is None
