"""Settings of the scorer, read from the environment once, at start."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .oci_rules import MAX_PREDICT_BODY_BYTES, MODEL_MOUNT


@dataclass(frozen=True)
class Settings:
    """Where the model is and how the scorer behaves.

    ``model_dir`` is where OCI Model Deployment mounts the unzipped model
    artifact; ``model_file`` is the model's file name inside it.
    """

    model_dir: Path = Path(MODEL_MOUNT)
    model_file: str = "{{ cookiecutter.model_file }}"
    max_body_bytes: int = MAX_PREDICT_BODY_BYTES
    log_level: str = "INFO"
    predict_method: str = "predict"  # what /predict answers when the body does not ask

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read ``MODEL_DIR``, ``MODEL_FILE``, ``MAX_BODY_BYTES``, ``LOG_LEVEL`` and ``PREDICT_METHOD``."""
        env = os.environ if env is None else env
        defaults = cls()
        return cls(
            model_dir=Path(env.get("MODEL_DIR") or defaults.model_dir),
            model_file=env.get("MODEL_FILE") or defaults.model_file,
            max_body_bytes=int(env.get("MAX_BODY_BYTES") or defaults.max_body_bytes),
            log_level=(env.get("LOG_LEVEL") or defaults.log_level).upper(),
            predict_method=env.get("PREDICT_METHOD") or defaults.predict_method,
        )
