"""Settings come from the environment, with the service's mount as default."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import runpy
import sys
import time
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.request_log import (
    HeldAccessLines,
    JsonFormatter,
)
from {{ cookiecutter.package_name }}.settings import Settings

MODEL_FILE = "{{ cookiecutter.__model_file }}"
WORKERS = {{ cookiecutter.__workers }}  # the baked default
GUNICORN_CONF = Path(__file__).resolve().parent.parent / "gunicorn.conf.py"


def test_defaults_point_at_the_service_mount() -> None:
    settings = Settings.from_env({})
    assert settings.model_dir == Path("/opt/ds/model/deployed_model")
    assert settings.model_file == MODEL_FILE
    assert settings.max_body_bytes == 10 * 1024 * 1024
    assert (settings.max_rows, settings.max_answer_bytes) == (100_000, 20 * 1024 * 1024)


def test_environment_overrides() -> None:
    env = {"MODEL_DIR": "/tmp/m", "MODEL_FILE": "other.pkl", "MAX_BODY_BYTES": "100", "LOG_LEVEL": "debug"}
    settings = Settings.from_env(env)
    assert (settings.model_dir, settings.model_file) == (Path("/tmp/m"), "other.pkl")
    assert (settings.max_body_bytes, settings.log_level) == (100, "DEBUG")
    limits = Settings.from_env({"MAX_ROWS": "500", "MAX_ANSWER_BYTES": " 1_000_000 ", "MAX_BODY_BYTES": ""})
    assert (limits.max_rows, limits.max_answer_bytes) == (500, 1_000_000)
    assert limits.max_body_bytes == 10 * 1024 * 1024  # empty: the default


@pytest.mark.parametrize("name", ["MAX_ROWS", "MAX_ANSWER_BYTES", "MAX_BODY_BYTES"])
@pytest.mark.parametrize("value", ["0", "-5", "many", "1.5", "1e6", "10_0", "²", "9" * 31])
def test_a_limit_that_is_not_a_whole_number_of_1_or_more_is_named(name: str, value: str) -> None:
    with pytest.raises(ValueError) as refused:
        Settings.from_env({name: value})
    message = str(refused.value)
    assert message.startswith(f"{name} must be a whole number, 1 or more (got ") and "\n" not in message
    assert repr(value)[:20].rstrip("'") in message


@pytest.mark.parametrize(
    ("env", "workers"),
    [
        pytest.param({}, WORKERS, id="default"),
        pytest.param({"WORKERS": "3"}, 3, id="workers"),
        pytest.param({"WEB_CONCURRENCY": "5"}, 5, id="web-concurrency"),
        pytest.param({"WORKERS": "4", "WEB_CONCURRENCY": "4"}, 4, id="both-agree"),
        pytest.param({"WORKERS": "", "WEB_CONCURRENCY": "256"}, 256, id="empty-is-unset"),
    ],
)
def test_workers_or_web_concurrency_set_the_worker_count(env: dict[str, str], workers: int) -> None:
    assert Settings.from_env(env).workers == workers


@pytest.mark.parametrize(
    ("env", "message"),
    [
        pytest.param(
            {"WORKERS": "2", "WEB_CONCURRENCY": "4"},
            "WORKERS=2 and WEB_CONCURRENCY=4: both set the worker count and differ; keep one",
            id="differ",
        ),
        pytest.param(
            {"WEB_CONCURRENCY": "0"}, "WEB_CONCURRENCY must be a whole number from 1 to 256", id="0"
        ),
        pytest.param({"WORKERS": "257"}, "WORKERS must be a whole number from 1 to 256", id="257"),
    ],
)
def test_a_worker_count_out_of_range_or_two_that_differ_are_refused(
    env: dict[str, str], message: str
) -> None:
    with pytest.raises(ValueError) as refused:
        Settings.from_env(env)
    assert str(refused.value).startswith(message) and "\n" not in str(refused.value)


def gunicorn_workers(monkeypatch: pytest.MonkeyPatch, **env: str) -> int:
    """gunicorn.conf.py's ``workers`` under ``env`` (as gunicorn reads the file)."""
    monkeypatch.setattr(sys, "path", list(sys.path))  # the file puts src/ first
    for name in ("WORKERS", "WEB_CONCURRENCY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(os.fspath(GUNICORN_CONF))["workers"]


def test_gunicorn_takes_either_name_and_stops_in_one_line_when_they_differ(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert gunicorn_workers(monkeypatch) == WORKERS
    assert gunicorn_workers(monkeypatch, WEB_CONCURRENCY="3") == 3
    assert gunicorn_workers(monkeypatch, WORKERS="3", WEB_CONCURRENCY="3") == 3
    with pytest.raises(SystemExit) as stopped:
        gunicorn_workers(monkeypatch, WORKERS="2", WEB_CONCURRENCY="8")
    assert stopped.value.code == (
        "gunicorn.conf.py: WORKERS=2 and WEB_CONCURRENCY=8: both set the worker count and differ; "
        "keep one, or give both the same value"
    )


def test_the_endpoint_paths_oci_calls_are_served_besides_predict_and_health() -> None:
    default = Settings.from_env({})
    assert (default.predict_paths, default.health_paths) == (("/predict",), ("/health",))
    env = {"MODEL_DEPLOY_PREDICT_ENDPOINT": "/v1/score", "MODEL_DEPLOY_HEALTH_ENDPOINT": "/ready"}
    configured = Settings.from_env(env)
    assert configured.predict_paths == ("/predict", "/v1/score")
    assert configured.health_paths == ("/health", "/ready")
    assert Settings.from_env({"MODEL_DEPLOY_PREDICT_ENDPOINT": "/predict"}).predict_paths == ("/predict",)
    assert Settings.from_env({"MODEL_DEPLOY_HEALTH_ENDPOINT": ""}).health_paths == ("/health",)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        pytest.param(
            {"MODEL_DEPLOY_PREDICT_ENDPOINT": "score"},
            "MODEL_DEPLOY_PREDICT_ENDPOINT: 'score' must be a path starting with '/'",
            id="no-slash",
        ),
        pytest.param(
            {"MODEL_DEPLOY_HEALTH_ENDPOINT": "/predict"},
            "MODEL_DEPLOY_PREDICT_ENDPOINT and MODEL_DEPLOY_HEALTH_ENDPOINT: /predict would be both",
            id="health-on-predict",
        ),
    ],
)
def test_an_endpoint_path_that_is_not_one_stops_the_start(env: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError) as refused:
        Settings.from_env(env)
    assert str(refused.value).startswith(message) and "\n" not in str(refused.value)


def test_log_lines_are_one_json_object_each() -> None:
    record = logging.LogRecord("scorer.access", logging.INFO, __file__, 1, "request", None, None)
    record.fields = {"status": 200, "opc-request-id": "id-1"}
    line = JsonFormatter().format(record)
    assert "\n" not in line
    parsed = json.loads(line)
    assert parsed["status"] == 200 and parsed["opc-request-id"] == "id-1"
    assert parsed["level"] == "INFO" and parsed["time"].endswith("Z")


def test_log_lines_carry_each_records_own_time_and_any_value() -> None:
    formatter = JsonFormatter()
    times = []
    for created in (1_700_000_000.25, 1_700_000_000.75, 1_700_000_001.5):  # the same second, then the next
        record = logging.LogRecord("scorer", logging.WARNING, __file__, 1, "event", None, None)
        record.created, record.msecs = created, (created % 1) * 1000
        record.fields = {"path": Path("/m"), "score": float("nan"), "name": "Модель"}
        parsed = json.loads(formatter.format(record))
        times.append(parsed["time"])
        assert (parsed["path"], parsed["score"], parsed["name"]) == ("/m", None, "Модель")
    assert times == ["2023-11-14T22:13:20.250Z", "2023-11-14T22:13:20.750Z", "2023-11-14T22:13:21.500Z"]


def test_held_access_lines_are_written_together_with_each_requests_own_time(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="scorer.access")
    lines = HeldAccessLines(hold_seconds=0.2)

    async def three_requests() -> tuple[int, list[float]]:
        ended = []
        for number in range(3):
            lines.add("POST", "/predict", 200, time.perf_counter() - 0.002, f"id-{number}")
            ended.append(time.time())
            await asyncio.sleep(0.02)
        held = len(caplog.records)
        await asyncio.sleep(0.3)  # past the first line's 0.2 s
        return held, ended

    held, ended = asyncio.run(three_requests())
    assert held == 0
    records = [r for r in caplog.records if r.name == "scorer.access"]
    assert [r.fields["opc-request-id"] for r in records] == ["id-0", "id-1", "id-2"]
    assert all(abs(r.created - e) < 0.01 for r, e in zip(records, ended, strict=True))  # when each ended
    assert all(r.fields["latency_ms"] >= 2 for r in records)
    assert lines.held == []


def test_held_access_lines_keep_nothing_below_the_log_level(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="scorer.access")
    lines = HeldAccessLines()
    lines.add("GET", "/health", 200, time.perf_counter(), None)  # no event loop needed: nothing held
    assert lines.held == []
