"""Where the project keeps its files, and what it recorded about what it sent to OCI.

The commands run from anywhere: paths are the project's, found from this package
(installed editable from ``src/``).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import tomllib
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from {{ cookiecutter.package_name }}.oci_rules import (
    check_freeform_tags,
    check_namespace,
    check_repository,
    check_tag,
    is_number,
    ocir_host,
    shown,
)

from .errors import InputError

SLUG = "{{ cookiecutter.project_slug }}"
PROJECT = Path(__file__).resolve().parents[2]
DEPLOY = PROJECT / "deploy"
SETTINGS = DEPLOY / "deployment.toml"
SETTINGS_SHOWN = SETTINGS.relative_to(PROJECT).as_posix()  # how messages name it
# The OCIDs of the settings, the kinds of resource they name (the root compartment is the
# tenancy) and where each comes from: what one that is not set yet says.
OCID_KINDS = {
    "compartment_id": ("compartment", "tenancy"),
    "project_id": ("datascienceproject",),
    "model_id": ("datasciencemodel",),
}
OCID_SOURCES = {
    "compartment_id": "the OCID of the compartment to deploy to (the tenancy's for the root compartment)",
    "project_id": "the OCID of your Data Science project",
    "model_id": "the OCID that `make catalog CATALOG_RUN=1` prints when it puts the model in the catalog",
}
# Written by `make deploy`: the OCID of the deployment it created, read by the lifecycle commands.
DEPLOYMENT_ID_FILE = DEPLOY / "deployment-id.txt"
# Written by `make catalog CATALOG_RUN=1`: the model it created in the catalog, for `make teardown`.
CATALOG_MODEL_ID_FILE = DEPLOY / "catalog-model-id.txt"
# Written by `make debug-job DEBUG_JOB_RUN=1`: the jobs it created and their runs, for `make teardown`.
DEBUG_JOB_RECORD = DEPLOY / "debug-job.json"


class SettingsError(InputError):
    """deploy/deployment.toml can't be read, or lacks what a command needs; the message says which."""


# What deploy/deployment.toml holds: each key's kind, and whether `make deploy-config` needs it
# (REQUIRED_KEYS; other commands name the keys they read). A key there of another kind is refused
# by every command; keys not named here are left alone.
Kind = tuple[str, Callable[[Any], bool]]
TEXT: Kind = ("text", lambda value: isinstance(value, str))
WHOLE: Kind = ("a whole number", is_number)
NUMBER: Kind = ("a finite number", lambda value: is_number(value, whole=False))
BOOLEAN: Kind = ("true or false", lambda value: isinstance(value, bool))
TEXTS: Kind = (
    "a list of text",
    lambda value: isinstance(value, list) and all(isinstance(x, str) for x in value),
)
TABLE: Kind = ("a table", lambda value: isinstance(value, dict))
VARIABLES: Kind = (
    "a table of text values",
    lambda value: isinstance(value, dict) and all(isinstance(x, str) or is_number(x) for x in value.values()),
)
# Kinds a value written in quotes may have been meant as, the quotes aside.
UNQUOTED_KINDS = (WHOLE, NUMBER, BOOLEAN)
# What a quoted value must look like to be read again without its quotes: one short bare word.
BARE_VALUE_RE = re.compile(r"[A-Za-z0-9_.+-]{1,40}")
REQUIRED, OPTIONAL = True, False
Schema = dict[str, tuple[Any, bool]]  # key: (a Kind, or the Schema of a table; required)
SCHEMA: Schema = {
    "display_name": (TEXT, OPTIONAL),
    "description": (TEXT, OPTIONAL),
    "region": (TEXT, REQUIRED),
    "compartment_id": (TEXT, OPTIONAL),
    "project_id": (TEXT, OPTIONAL),
    "model_id": (TEXT, OPTIONAL),
    "registry": (
        {"namespace": (TEXT, REQUIRED), "repository": (TEXT, REQUIRED), "tag": (TEXT, REQUIRED)},
        OPTIONAL,
    ),
    "freeform_tags": (TABLE, OPTIONAL),
    "container": (
        {
            "image": (TEXT, OPTIONAL),
            "digest": (TEXT, OPTIONAL),
            "server_port": (WHOLE, REQUIRED),
            "health_check_port": (WHOLE, REQUIRED),
            "cmd": (TEXTS, OPTIONAL),
            "entrypoint": (TEXTS, OPTIONAL),
            "environment": (VARIABLES, OPTIONAL),
        },
        REQUIRED,
    ),
    "instances": (
        {
            "shape": (TEXT, REQUIRED),
            "ocpus": (NUMBER, REQUIRED),
            "memory_in_gbs": (NUMBER, REQUIRED),
            "count": (WHOLE, REQUIRED),
            "bandwidth_mbps": (WHOLE, REQUIRED),
        },
        REQUIRED,
    ),
    "autoscaling": (
        {
            "enabled": (BOOLEAN, REQUIRED),
            "minimum_instances": (WHOLE, REQUIRED),
            "maximum_instances": (WHOLE, REQUIRED),
            "cpu_scale_out_percent": (WHOLE, REQUIRED),
            "cpu_scale_in_percent": (WHOLE, REQUIRED),
            "cool_down_seconds": (WHOLE, REQUIRED),
        },
        REQUIRED,
    ),
    "logging": (
        {
            f"{kind}_log{part}_id": (TEXT, OPTIONAL)
            for kind in ("access", "predict")
            for part in ("_group", "")
        },
        OPTIONAL,
    ),
    # `make debug-job` (debug_job.py, which gives the defaults and checks the ranges).
    "debug_job": (
        {
            "max_runtime_minutes": (WHOLE, OPTIONAL),
            "block_storage_gb": (WHOLE, OPTIONAL),
            "subnet_id": (TEXT, OPTIONAL),
            "log_id": (TEXT, OPTIONAL),
        },
        OPTIONAL,
    ),
}


def required_keys(schema: Schema = SCHEMA, where: str = "") -> tuple[str, ...]:
    """The dotted names of every key ``schema`` requires (what `make deploy-config` needs)."""
    return tuple(
        found
        for key, (kind, required) in schema.items()
        if required
        for found in (required_keys(kind, f"{where}{key}.") if isinstance(kind, dict) else (f"{where}{key}",))
    )


REQUIRED_KEYS = required_keys()


def shape_problems(
    settings: dict[str, Any], needs: Collection[str], schema: Schema = SCHEMA, where: str = ""
) -> list[str]:
    """Each key of ``needs`` (dotted names) that ``settings`` lacks, and each key there of
    another kind than ``schema`` says, by its dotted name."""
    problems = []
    for key, (kind, _) in schema.items():
        name = f"{where}{key}"
        if key not in settings:
            if name in needs or any(need.startswith(f"{name}.") for need in needs):
                expected = f"a [{name}] table" if isinstance(kind, dict) else kind[0]
                problems.append(f"{name}: missing; {expected} is expected")
        elif isinstance(kind, dict):
            if isinstance(settings[key], dict):
                problems += shape_problems(settings[key], needs, kind, f"{name}.")
            else:
                problems.append(f"{name}: {shown(str(settings[key]))} must be a table ([{name}])")
        elif not kind[1](settings[key]):
            problems.append(kind_problem(name, settings[key], kind))
    return problems


def unquoted(text: str) -> object:
    """What TOML reads ``text`` as when it is written without its quotes (``"2"``: 2, ``"false"``:
    False); None when that is no TOML value, or more than a short bare word."""
    bare = text.strip()
    if not BARE_VALUE_RE.fullmatch(bare):
        return None
    try:
        return tomllib.loads(f"value = {bare}")["value"]
    except tomllib.TOMLDecodeError:
        return None


def kind_problem(name: str, value: object, kind: Kind) -> str:
    """Why ``value``, of the key ``name`` (dotted), is not of ``kind``: one line, the key first. Text
    where a number or true/false belongs says it is text, and what to write when only its quotes
    are wrong (``count = "2"``: write ``count = 2``); a number or true/false where text belongs
    says what to write in quotes (``tag = 1.0``: write ``tag = "1.0"``)."""
    key = name.rsplit(".", 1)[-1]
    if kind is TEXT and isinstance(value, (bool, int, float)):
        written = str(value).lower() if isinstance(value, bool) else repr(value)  # true, 2, 1.5, inf
        what = "true or false" if isinstance(value, bool) else "a number"
        return f'{name}: {written} is {what}, not text: write {key} = "{written}"'
    if not isinstance(value, str) or kind not in UNQUOTED_KINDS:
        return f"{name}: {shown(str(value))} must be {kind[0]}"
    quoted = json.dumps(value if len(value) <= 40 else value[:40] + "...")
    if kind[1](unquoted(value)):
        return f"{name}: {quoted} is text (in quotes): write {key} = {value.strip()}"
    return f"{name}: {quoted} is text (in quotes): it must be {kind[0]}, without quotes"


def read_settings(path: Path = SETTINGS, needs: Collection[str] = ()) -> dict[str, Any]:
    """The settings of ``path``: every key there of the kind SCHEMA says, and the keys of ``needs``
    (dotted names, such as ``instances.shape``; REQUIRED_KEYS for all) there. SettingsError, one
    line, naming each key that is not, or saying why the file can't be read."""
    try:
        settings = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else error
        raise SettingsError(f"can't read {path}: {reason}") from None
    if not settings:
        raise SettingsError(f"{path} is empty: copy the project's deploy/deployment.toml and fill it in")
    if problems := shape_problems(settings, needs):
        raise SettingsError(f"{path}: " + "; ".join(problems))
    return settings


def read_json(path: Path, what: str = "a JSON object") -> dict[str, Any]:
    """The JSON object of ``path``; InputError naming the file when it can't be read or is not one."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else error
        raise InputError(f"can't read {path}: {reason}; {what} is expected") from None
    if not isinstance(document, dict):
        raise InputError(f"{path}: {shown(json.dumps(document))} is not {what}")
    return document


def unset_ocid(name: str, source: Path | str = SETTINGS_SHOWN) -> str:
    """What an OCID of the settings that is not set yet says: where to set it, where it comes from."""
    return f"set it in {source} to {OCID_SOURCES[name]}"


def compartment_of(settings: dict[str, Any], source: Path | str = SETTINGS) -> str:
    """The deployment's compartment OCID; SettingsError when it is not filled in."""
    compartment_id = settings.get("compartment_id") or ""
    if not compartment_id:
        raise SettingsError(f"compartment_id: not set yet; {unset_ocid('compartment_id', source)}")
    return compartment_id


def freeform_tags(settings: dict[str, Any], source: Path | str = SETTINGS) -> dict[str, str]:
    """The ``[freeform_tags]`` of the settings, put on everything the project creates in OCI;
    SettingsError when OCI would refuse them."""
    tags = settings.get("freeform_tags", {})
    if problems := check_freeform_tags(tags):
        raise SettingsError(f"{source}: " + "; ".join(problems))
    return tags


@dataclass(frozen=True)
class Registry:
    """Where the image goes: OCIR of the region, the tenancy's namespace, the repository, the tag."""

    region: str
    host: str
    namespace: str
    repository: str
    tag: str

    @property
    def image(self) -> str:
        """``repository:tag``: the local image's name (the Makefile's IMAGE)."""
        return f"{self.repository}:{self.tag}"

    @property
    def remote_image(self) -> str:
        """The image in the registry (the Makefile's REMOTE_IMAGE)."""
        return f"{self.host}/{self.namespace}/{self.image}"


REGISTRY_KEYS = ("region", "registry.namespace", "registry.repository", "registry.tag")
REGISTRY_CHECKS = {"namespace": check_namespace, "repository": check_repository, "tag": check_tag}


def registry_of(settings: dict[str, Any], source: Path | str = SETTINGS) -> Registry:
    """The registry settings of ``settings`` (read with ``needs=REGISTRY_KEYS``); SettingsError,
    one line, naming each key OCIR would refuse."""
    host = ocir_host(settings["region"])
    problems = [] if host else [f"region: {shown(settings['region'])} is not a known OCI region identifier"]
    for key, check in REGISTRY_CHECKS.items():
        if problem := check(settings["registry"][key]):  # "<option>: <value> <rule>"
            problems.append(f"registry.{key}: {problem.split(': ', 1)[1]}")
    if problems:
        raise SettingsError(f"{source}: " + "; ".join(problems))
    return Registry(settings["region"], host, **{key: settings["registry"][key] for key in REGISTRY_CHECKS})


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
    try:
        os.replace(partial.name, path)
    except OSError as error:  # a folder of that name, a read-only file system ...
        os.unlink(partial.name)
        raise InputError(f"can't write {path}: {error.strerror or error}") from None


def write_json(path: Path, value: Any) -> None:
    """Write ``value`` as JSON, whole or not at all. NaN and infinities are refused (ValueError):
    they are not JSON, and OCI would refuse the body."""
    write_text(path, json.dumps(value, indent=2, allow_nan=False) + "\n")
