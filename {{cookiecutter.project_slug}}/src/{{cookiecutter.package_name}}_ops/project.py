"""Where the project keeps its files, and what it recorded about what it sent to OCI.

The commands run from anywhere: paths are the project's, found from this package
(installed editable from ``src/``).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[2]
DEPLOY = PROJECT / "deploy"
SETTINGS = DEPLOY / "deployment.toml"
# Written by `make deploy`: the OCID of the deployment it created, read by the lifecycle commands.
DEPLOYMENT_ID_FILE = DEPLOY / "deployment-id.txt"


def recorded_deployment_id() -> str | None:
    """The OCID `make deploy` recorded, or None."""
    if DEPLOYMENT_ID_FILE.is_file():
        return DEPLOYMENT_ID_FILE.read_text().strip() or None
    return None


def write_json(path: Path, value: Any) -> None:
    """Write ``value`` as JSON whole or not at all: a temporary file beside it, renamed over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".partial") as partial:
        partial.write(json.dumps(value, indent=2) + "\n")
    os.replace(partial.name, path)
