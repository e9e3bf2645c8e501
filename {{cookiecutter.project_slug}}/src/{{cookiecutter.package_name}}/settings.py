"""Settings of the scorer, read from the environment once, at start."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .oci_rules import (
    HEALTH_PATH,
    MAX_PREDICT_BODY_BYTES,
    MAX_WORKERS,
    MODEL_MOUNT,
    PREDICT_PATH,
    check_endpoint_paths,
)

# One request's rows and answer, so one request can't take a worker's memory. A 10 MB body of
# small rows carries millions ("[0],": 2.6 million); three of a million iris rows asking for
# predict_proba took a Flask worker to 1.7 GB, each answer 103 MB. 100,000 iris rows are a 1.7 MB
# body, a 9.8 MB predict_proba answer and 0.75 s; a client splits larger batches. An answer is
# counted before it is built (``outputs.Outputs.answer_bytes``): 20 MiB holds 100,000 rows of
# probabilities of 5 classes, and takes about 5 times that in Python while it is built (sizing the
# limits to an instance's memory: docs/scorer.md#settings-environment-variables).
MAX_ROWS = 100_000
MAX_ANSWER_BYTES = 20 * 1024 * 1024
# Adaptive batching (batching.py): rows per shared model call, and the opt-in wait for more.
# 64 one-row requests of the churn sample's pipeline cost one call of about 3 ms, as one does.
MAX_BATCH_SIZE = 64
MOST_BATCH_DELAY_MS = 1000  # a wait longer than this is a latency no caller wants
WHOLE_NUMBER = re.compile(r"[0-9]{1,30}|[0-9]{1,3}(?:_[0-9]{3}){1,9}")  # 30 digits: past any memory
# The worker count: WORKERS, or WEB_CONCURRENCY, the name ADS's with_web_concurrency() and gunicorn use.
WORKER_COUNT_NAMES = ("WORKERS", "WEB_CONCURRENCY")


@dataclass(frozen=True)
class Settings:
    """Where the model is and how the scorer behaves.

    ``model_dir`` is where OCI Model Deployment mounts the unzipped model
    artifact; ``model_file`` is the model's file name inside it.
    """

    model_dir: Path = Path(MODEL_MOUNT)
    model_file: str = "{{ cookiecutter.__model_file }}"
    max_body_bytes: int = MAX_PREDICT_BODY_BYTES
    max_rows: int = MAX_ROWS
    max_answer_bytes: int = MAX_ANSWER_BYTES
    log_level: str = "INFO"
    predict_method: str = "predict"  # what /predict answers when the body does not ask
    max_batch_size: int = MAX_BATCH_SIZE  # rows per model call shared by requests; 1: no batching
    max_batch_delay_ms: int = 0  # how long a request may wait for others to share its call
    workers: int = {{ cookiecutter.__workers }}  # gunicorn's worker processes (gunicorn.conf.py)
    # OCI's MODEL_DEPLOY_PREDICT_ENDPOINT and MODEL_DEPLOY_HEALTH_ENDPOINT: served besides /predict, /health.
    predict_path: str = PREDICT_PATH
    health_path: str = HEALTH_PATH

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read ``MODEL_DIR``, ``MODEL_FILE``, ``MAX_BODY_BYTES``, ``MAX_ROWS``, ``MAX_ANSWER_BYTES``,
        ``LOG_LEVEL``, ``PREDICT_METHOD``, ``MAX_BATCH_SIZE``, ``MAX_BATCH_DELAY_MS``, ``WORKERS`` or
        ``WEB_CONCURRENCY``, ``MODEL_DEPLOY_PREDICT_ENDPOINT`` and ``MODEL_DEPLOY_HEALTH_ENDPOINT``;
        ValueError (one line) names a limit that is not a whole number of 1 or more (a delay: of 0
        to 1000), a worker count out of range or two that differ, or a path that is not one."""
        env = os.environ if env is None else env
        defaults = cls()
        predict_path, health_path = endpoint_paths(env)
        return cls(
            model_dir=Path(env.get("MODEL_DIR") or defaults.model_dir),
            model_file=env.get("MODEL_FILE") or defaults.model_file,
            max_body_bytes=limit(env, "MAX_BODY_BYTES", defaults.max_body_bytes),
            max_rows=limit(env, "MAX_ROWS", defaults.max_rows),
            max_answer_bytes=limit(env, "MAX_ANSWER_BYTES", defaults.max_answer_bytes),
            log_level=(env.get("LOG_LEVEL") or defaults.log_level).upper(),
            predict_method=env.get("PREDICT_METHOD") or defaults.predict_method,
            max_batch_size=limit(env, "MAX_BATCH_SIZE", defaults.max_batch_size),
            max_batch_delay_ms=delay_ms(env, "MAX_BATCH_DELAY_MS", defaults.max_batch_delay_ms),
            workers=worker_count(env, defaults.workers),
            predict_path=predict_path,
            health_path=health_path,
        )

    @property
    def predict_paths(self) -> tuple[str, ...]:
        """/predict, and the path OCI sends predictions to when MODEL_DEPLOY_PREDICT_ENDPOINT names another."""
        return tuple(dict.fromkeys((PREDICT_PATH, self.predict_path)))

    @property
    def health_paths(self) -> tuple[str, ...]:
        """/health, and the path of OCI's health check when MODEL_DEPLOY_HEALTH_ENDPOINT names another."""
        return tuple(dict.fromkeys((HEALTH_PATH, self.health_path)))


def endpoint_paths(env: Mapping[str, str]) -> tuple[str, str]:
    """The predict and health paths OCI calls (MODEL_DEPLOY_PREDICT_ENDPOINT, MODEL_DEPLOY_HEALTH_ENDPOINT;
    unset or empty: /predict and /health); ValueError names one that is not a path, or a path that is both."""
    given = {
        key: value
        for key in ("MODEL_DEPLOY_PREDICT_ENDPOINT", "MODEL_DEPLOY_HEALTH_ENDPOINT")
        if (value := env.get(key, ""))
    }
    if problems := check_endpoint_paths(given, where=""):
        raise ValueError(problems[0])
    return (
        given.get("MODEL_DEPLOY_PREDICT_ENDPOINT", PREDICT_PATH),
        given.get("MODEL_DEPLOY_HEALTH_ENDPOINT", HEALTH_PATH),
    )


def worker_count(env: Mapping[str, str], default: int) -> int:
    """The worker processes: WORKERS or WEB_CONCURRENCY (one setting, two names), 1 to MAX_WORKERS, or
    ``default`` when neither is set; ValueError (one line) names a count out of range, or two that differ."""
    counts = {}
    for name in WORKER_COUNT_NAMES:
        text = env.get(name, "").strip()
        if not text:
            continue
        if not WHOLE_NUMBER.fullmatch(text) or not 1 <= int(text) <= MAX_WORKERS:
            shown = text if len(text) <= 40 else text[:37] + "..."
            raise ValueError(
                f"{name} must be a whole number from 1 to {MAX_WORKERS} (got {shown!r}); unset, it is {default}"
            )
        counts[name] = int(text)
    if len(set(counts.values())) > 1:
        given = " and ".join(f"{name}={count}" for name, count in counts.items())
        raise ValueError(
            f"{given}: both set the worker count and differ; keep one, or give both the same value"
        )
    return next(iter(counts.values()), default)


def limit(env: Mapping[str, str], name: str, default: int) -> int:
    """The limit ``name`` of the environment (digits, ``100_000`` too), or ``default`` when unset or empty."""
    text = env.get(name, "").strip()
    if not text:
        return default
    if not WHOLE_NUMBER.fullmatch(text) or int(text) < 1:
        shown = text if len(text) <= 40 else text[:37] + "..."
        raise ValueError(f"{name} must be a whole number, 1 or more (got {shown!r}); unset, it is {default}")
    return int(text)


def delay_ms(env: Mapping[str, str], name: str, default: int) -> int:
    """The wait ``name`` of the environment in milliseconds (0 to 1000), or ``default`` when unset or empty."""
    text = env.get(name, "").strip()
    if not text:
        return default
    if not WHOLE_NUMBER.fullmatch(text) or int(text) > MOST_BATCH_DELAY_MS:
        shown = text if len(text) <= 40 else text[:37] + "..."
        raise ValueError(
            f"{name} must be a whole number of milliseconds, 0 to {MOST_BATCH_DELAY_MS} (got {shown!r}); "
            f"unset, it is {default}"
        )
    return int(text)
