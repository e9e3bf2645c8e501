"""Settings come from the environment, with the service's mount as default."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.request_log import (
    HeldAccessLines,
    JsonFormatter,
)
from {{ cookiecutter.package_name }}.settings import Settings

MODEL_FILE = "{{ cookiecutter.__model_file }}"


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
