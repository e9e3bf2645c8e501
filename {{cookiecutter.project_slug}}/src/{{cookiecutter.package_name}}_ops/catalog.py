"""Put the model artifact zip into the model catalog, with the OCI SDK (or print the CLI's commands).

Writes the model's catalog entry, ``deploy/catalog_model.json`` (the SDK's
``CreateModelDetails``, checked against its model), with the input and output schema
that ``save_model`` wrote beside the model, so the catalog shows the signature. By
default (a dry run) it prints the two ``oci`` CLI commands that would create the model
and upload the zip; with ``--run`` it does both with the OCI SDK (no ``oci`` CLI needed),
signed as every OCI command here (``--profile``, ``--config``, ``--auth``, ``--endpoint``),
and records the new model's OCID in deploy/catalog-model-id.txt, which ``make teardown``
deletes. Put that OCID into deploy/deployment.toml (``model_id``) before ``make deploy-config``.

An upload that fails leaves the model in the catalog without its artifact, recorded: the
next ``--run`` asks OCI, finds the recorded model without an artifact and uploads the zip
to it instead of creating another one (``make teardown`` deletes it instead). A recorded
model that already has this very zip (its MD5, as OCI gives it) and this entry (compartment,
project, name, description, tags) is done: nothing is created or sent (an upload whose answer
was lost, such as a timeout after OCI stored it, or the same command again). A recorded model
with another artifact or entry is left in the catalog (a deployment may use it), and a new
model replaces it in the record.

The catalog keeps at most 32,000 bytes of each schema: a larger one is sent without the
listed values of its features with the most values (then without statistics), and the
command says which; the files in the artifact keep everything. No value of a free-text
feature (``String``) is ever sent: schemas that ``save_model`` wrote before it followed
ADS's rules listed them, and the command leaves them out and says so.

    python -m {{ cookiecutter.package_name }}_ops catalog [--artifact dist/model_artifact.zip] [--model-dir model_artifact] [--run [--profile DEFAULT]]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import shlex
import sys
from pathlib import Path
from typing import Any

import oci

from {{ cookiecutter.package_name }}.oci_rules import (
    MAX_DIRECT_ARTIFACT_BYTES,
    MAX_SCHEMA_BYTES,
)
from {{ cookiecutter.package_name }}.signature import (
    INPUT_SCHEMA,
    OUTPUT_SCHEMA,
)

from . import oci_client
from .errors import InputError
from .oci_models import ModelMismatch, check_body, to_sdk_model
from .project import CATALOG_MODEL_ID_FILE, PROJECT, freeform_tags, read_json, read_settings, write_json

MODEL_ID = "<model OCID printed by the first command>"
# The read timeout of the upload (seconds): OCI answers once it has stored the whole zip.
UPLOAD_READ_SECONDS = 600
PLACEHOLDERS = {"compartment_id": "<compartment OCID>", "project_id": "<project OCID>"}


class CatalogError(ValueError):
    """The catalog entry can't be made; the message says why."""


def compact(document: Any) -> str:
    return json.dumps(document, separators=(",", ":"))


def checked_schema(path: Path) -> dict[str, Any]:
    """The schema file ``save_model`` wrote: an object whose ``schema`` lists features, each an
    object with a name (and a ``domain`` object); CatalogError naming the file when it is not."""
    document = read_json(path, "an input or output schema, as save_model writes it")
    features = document.get("schema") or []
    if not isinstance(features, list) or not all(
        isinstance(feature, dict)
        and isinstance(feature.get("name"), str)
        and isinstance(feature.get("domain") or {}, dict)
        for feature in features
    ):
        raise CatalogError(
            f'{path}: "schema" must be a list of features, each an object with a "name" and a "domain" '
            "object: save the model again (save_model writes it)"
        )
    return document


def without_text_values(document: dict[str, Any], name: str) -> list[str]:
    """Drop the listed values of free-text features from ``document``: training data (customer
    reviews, names) stays out of the catalog's metadata. What was dropped, in words."""
    dropped = []
    for attribute in document.get("schema") or []:
        domain = attribute.get("domain") or {}
        if attribute.get("feature_type") == "String" and domain.get("constraints"):
            domain["constraints"] = []
            dropped.append(f"{name}: the values of {attribute['name']}, free text (never sent)")
    return dropped


def fit_schema(document: dict[str, Any], name: str, limit: int = MAX_SCHEMA_BYTES) -> tuple[str, list[str]]:
    """The schema as the catalog takes it, and what was left out to fit within ``limit`` bytes."""
    trimmed: list[str] = []
    attributes = document.get("schema") or []
    by_size = sorted(attributes, key=lambda attribute: len(compact(attribute.get("domain"))), reverse=True)
    for part in ("constraints", "stats"):
        for attribute in by_size:
            if len(compact(document).encode()) <= limit:
                return compact(document), trimmed
            domain = attribute.get("domain") or {}
            if domain.get(part):
                domain[part] = [] if part == "constraints" else {}
                trimmed.append(
                    f"{name}: the {part} of {attribute['name']}, to fit the catalog's {limit} bytes"
                )
    text = compact(document)
    if len(text.encode()) > limit:
        raise CatalogError(
            f"{name} is {len(text.encode())} bytes even without values and statistics (limit {limit})"
        )
    return text, trimmed


def catalog_body(settings: dict[str, Any], model_dir: Path) -> tuple[dict[str, Any], list[str]]:
    """The ``CreateModelDetails`` body (as the CLI's --from-json takes it) and what was trimmed."""
    body = {
        "compartmentId": settings.get("compartment_id") or PLACEHOLDERS["compartment_id"],
        "projectId": settings.get("project_id") or PLACEHOLDERS["project_id"],
        "displayName": settings.get("display_name") or None,
        "description": settings.get("description") or None,  # never "" (null or absent)
        "freeformTags": freeform_tags(settings) or None,
    }
    trimmed: list[str] = []
    for key, file_name in (("inputSchema", INPUT_SCHEMA), ("outputSchema", OUTPUT_SCHEMA)):
        path = model_dir / file_name
        if path.is_file():
            document = checked_schema(path)
            trimmed += without_text_values(document, file_name)
            body[key], left_out = fit_schema(document, file_name)
            trimmed += left_out
    body = {key: value for key, value in body.items() if value is not None}
    try:
        check_body(body, "CreateModelDetails")
    except ModelMismatch as error:
        raise CatalogError(str(error)) from None
    return body, trimmed


def catalog_commands(body_file: Path, artifact: Path, model_id: str = MODEL_ID) -> list[list[str]]:
    create = ["oci", "data-science", "model", "create", "--from-json", f"file://{body_file}"]
    create += ["--query", "data.id", "--raw-output"]
    upload = ["oci", "data-science", "model", "create-model-artifact", "--model-id", model_id]
    upload += [
        "--model-artifact-file",
        str(artifact),
        "--content-disposition",
        f"attachment; filename={artifact.name}",
    ]
    return [create, upload]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--settings", type=Path, default=PROJECT / "deploy" / "deployment.toml")
    parser.add_argument("--artifact", type=Path, default=PROJECT / "dist" / "model_artifact.zip")
    parser.add_argument(
        "--model-dir", type=Path, default=PROJECT / "model_artifact", help="where the schemas are"
    )
    parser.add_argument("--body", type=Path, default=Path("deploy") / "catalog_model.json")
    parser.add_argument(
        "--run", action="store_true", help="create the model and upload the zip (OCI SDK) instead of printing"
    )
    oci_client.add_arguments(parser)


def shown(path: Path) -> str:
    return str(path.relative_to(PROJECT)) if path.is_relative_to(PROJECT) else str(path)


def size_text(size: int) -> str:
    return f"{size / 1e6:,.1f} MB" if size >= 100_000 else f"{size:,} bytes"


def content_md5(path: Path) -> str:
    """The base64 MD5 of ``path``'s bytes, as OCI gives an artifact's (the content-md5 header)."""
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return base64.b64encode(digest.digest()).decode()


def same_entry(model: Any, body: dict[str, Any]) -> bool:
    """Whether the catalog's ``model`` is what ``body`` (CreateModelDetails) would make: its
    compartment, project, name (when the body names it), description and tags."""
    return (
        model.compartment_id == body["compartmentId"]
        and model.project_id == body["projectId"]
        and ("displayName" not in body or model.display_name == body["displayName"])
        and (model.description or None) == body.get("description")
        and (model.freeform_tags or {}) == body.get("freeformTags", {})
    )


def recorded_model(
    client: Any, record: Path, artifact: Path, body: dict[str, Any]
) -> tuple[str, bool] | None:
    """The model ``record`` names, and whether it has ``artifact`` already, when it takes this
    run's place: OCI has it without an artifact (an upload that failed), or with this very zip
    and entry (an upload whose answer was lost). None: nothing recorded, the model gone, or
    another artifact or entry in it."""
    model_id = record.read_text().strip() if record.is_file() else ""
    if not model_id:
        return None
    try:
        model = client.get_model(model_id).data
        if model.lifecycle_state != "ACTIVE":
            return None
    except oci.exceptions.ServiceError as error:
        if error.status == 404:
            return None
        raise
    try:
        stored = client.head_model_artifact(model_id).headers.get("content-md5")
    except oci.exceptions.ServiceError as error:
        if error.status == 404:
            return model_id, False
        raise
    if stored and stored == content_md5(artifact) and same_entry(model, body):
        return model_id, True
    print(
        f"{model_id} ({shown(record)}) has its artifact and stays in the catalog (a deployment may use "
        f"it; delete it in the Console when none does): the new model replaces it in the record"
    )
    return None


def without_artifact(model_id: str, record: Path) -> str:
    """What to do about a model whose upload failed, in one line."""
    return (
        f"model {model_id} is in the catalog without its artifact (recorded in {shown(record)}): run "
        f"`make catalog CATALOG_RUN=1` again to upload the zip to it, or `make teardown` to delete it"
    )


def create_and_upload(args: argparse.Namespace, body: dict[str, Any]) -> int:
    """Creates the model and records it (or takes the recorded one still without its artifact),
    then uploads the zip to it."""
    record = CATALOG_MODEL_ID_FILE
    doing = "create the model in the catalog"
    try:
        client = oci_client.data_science_client(args)
        doing = f"read the model recorded in {shown(record)}"
        recorded = recorded_model(client, record, args.artifact, body)
        doing = "create the model in the catalog"
        if recorded and recorded[1]:
            model_id = recorded[0]
            print(f"model {model_id} ({shown(record)}) has {shown(args.artifact)} already: nothing to send")
            print(f'put model_id = "{model_id}" in {shown(args.settings)}')
            return 0
        if recorded:
            model_id = recorded[0]
            print(f"model {model_id} ({shown(record)}) has no artifact yet: uploading the zip to it")
        else:
            model_id = client.create_model(to_sdk_model(body, "CreateModelDetails")).data.id
            record.write_text(model_id + "\n")  # what `make teardown` deletes
            print(f"model {model_id} created in the catalog (recorded in {shown(record)})")
    except oci_client.SDK_ERRORS as error:
        print(oci_client.failure(error, doing, args.endpoint), file=sys.stderr)
        return 1
    size = args.artifact.stat().st_size
    print(f"uploading {shown(args.artifact)} ({size_text(size)}) to {model_id}", flush=True)
    client.base_client.timeout = (oci_client.TIMEOUTS[0], UPLOAD_READ_SECONDS)
    try:
        with args.artifact.open("rb") as stream:
            client.create_model_artifact(
                model_id, stream, content_disposition=f"attachment; filename={args.artifact.name}"
            )
    except oci_client.SDK_ERRORS as error:
        print(oci_client.failure(error, "upload the artifact", args.endpoint), file=sys.stderr)
        print(without_artifact(model_id, record), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"\nupload interrupted: {without_artifact(model_id, record)}", file=sys.stderr)
        return 130
    print(f'model {model_id} has its artifact: put model_id = "{model_id}" in {shown(args.settings)}')
    return 0


def run(args: argparse.Namespace) -> int:
    try:
        settings = read_settings(args.settings)
        body, trimmed = catalog_body(settings, args.model_dir)
    except (CatalogError, InputError) as error:  # InputError: the settings or a schema file
        print(f"catalog entry refused: {error}", file=sys.stderr)
        return 1
    missing = [name for name in PLACEHOLDERS if not settings.get(name)]
    if args.run and missing:
        print(f"set {' and '.join(missing)} in {args.settings} first", file=sys.stderr)
        return 1
    write_json(args.body, body)
    schemas = [key for key in ("inputSchema", "outputSchema") if key in body]
    print(
        f"# {args.body}: the catalog entry, with {' and '.join(schemas) or 'no schema (no signature saved)'}"
    )
    for left_out in trimmed:
        print(f"# left out: {left_out}")
    if not args.run:
        if missing:
            unset, holders = " and ".join(missing), " and ".join(PLACEHOLDERS[name] for name in missing)
            print(f"# {unset} not set in {shown(args.settings)} yet: the entry holds {holders}")
        create, upload = catalog_commands(args.body, args.artifact)
        print("# 1. create the model entry in the catalog (prints its OCID)")
        print(shlex.join(create))
        print("# 2. upload the artifact zip to it")
        print(shlex.join(upload))
        print("# make catalog CATALOG_RUN=1 does both with the OCI SDK, and records the model for teardown")
        return 0
    if not args.artifact.is_file():
        print(f"{args.artifact} is missing: run `make artifact` first", file=sys.stderr)
        return 1
    if (size := args.artifact.stat().st_size) > MAX_DIRECT_ARTIFACT_BYTES:
        print(
            f"{args.artifact} is {size / 1e9:.1f} GB: OCI takes at most "
            f"{MAX_DIRECT_ARTIFACT_BYTES // 10**9} GB uploaded directly; upload it through Object Storage "
            "(large model artifact)",
            file=sys.stderr,
        )
        return 1
    return create_and_upload(args, body)
