"""Settings come from the environment, with the service's mount as default."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from {{ cookiecutter.package_name }}.request_log import JsonFormatter
from {{ cookiecutter.package_name }}.settings import Settings

MODEL_FILE = "{{ cookiecutter.model_file }}"


def test_defaults_point_at_the_service_mount() -> None:
    settings = Settings.from_env({})
    assert settings.model_dir == Path("/opt/ds/model/deployed_model")
    assert settings.model_file == MODEL_FILE
    assert settings.max_body_bytes == 10 * 1024 * 1024


def test_environment_overrides() -> None:
    env = {"MODEL_DIR": "/tmp/m", "MODEL_FILE": "other.pkl", "MAX_BODY_BYTES": "100", "LOG_LEVEL": "debug"}
    settings = Settings.from_env(env)
    assert (settings.model_dir, settings.model_file) == (Path("/tmp/m"), "other.pkl")
    assert (settings.max_body_bytes, settings.log_level) == (100, "DEBUG")


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
