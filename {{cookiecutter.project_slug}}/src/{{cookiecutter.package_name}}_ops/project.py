"""Where the project keeps its files, and what it recorded about what it sent to OCI.

The commands run from anywhere: paths are the project's, found from this package
(installed editable from ``src/``).
"""

from __future__ import annotations

import json
import os
import tempfile
import tomllib
from pathlib import Path
from typing import Any

from {{ cookiecutter.package_name }}.oci_rules import check_freeform_tags

SLUG = "{{ cookiecutter.project_slug }}"
PROJECT = Path(__file__).resolve().parents[2]
DEPLOY = PROJECT / "deploy"
SETTINGS = DEPLOY / "deployment.toml"
# Written by `make deploy`: the OCID of the deployment it created, read by the lifecycle commands.
DEPLOYMENT_ID_FILE = DEPLOY / "deployment-id.txt"
# Written by `make catalog CATALOG_RUN=1`: the model it created in the catalog, for `make teardown`.
CATALOG_MODEL_ID_FILE = DEPLOY / "catalog-model-id.txt"


class SettingsError(ValueError):
    """deploy/deployment.toml can't be read, or lacks what a command needs; the message says which."""


def read_settings(path: Path = SETTINGS) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise SettingsError(f"can't read {path}: {error}") from None


def compartment_of(settings: dict[str, Any], source: Path | str = SETTINGS) -> str:
    """The deployment's compartment OCID; SettingsError when it is not filled in."""
    compartment_id = settings.get("compartment_id") or ""
    if not compartment_id:
        raise SettingsError(
            f"compartment_id is empty in {source}: put the deployment's compartment OCID there"
        )
    return compartment_id


def freeform_tags(settings: dict[str, Any], source: Path | str = SETTINGS) -> dict[str, str]:
    """The ``[freeform_tags]`` of the settings, put on everything the project creates in OCI;
    SettingsError when OCI would refuse them."""
    tags = settings.get("freeform_tags", {})
    if problems := check_freeform_tags(tags):
        raise SettingsError(f"{source}: " + "; ".join(problems))
    return tags


def recorded_deployment_id() -> str | None:
    """The OCID `make deploy` recorded, or None."""
    if DEPLOYMENT_ID_FILE.is_file():
        return DEPLOYMENT_ID_FILE.read_text().strip() or None
    return None


def write_text(path: Path, text: str) -> None:
    """Write ``text`` whole or not at all: a temporary file beside ``path``, renamed over it,
    with the mode ``path`` had (a new file: what the umask gives, as open() would)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        mode = path.stat().st_mode & 0o777
    else:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".partial") as partial:
        try:
            partial.write(text)
            partial.flush()
            os.chmod(partial.name, mode)
        except BaseException:
            os.unlink(partial.name)
            raise
    os.replace(partial.name, path)


def write_json(path: Path, value: Any) -> None:
    """Write ``value`` as JSON, whole or not at all."""
    write_text(path, json.dumps(value, indent=2) + "\n")
