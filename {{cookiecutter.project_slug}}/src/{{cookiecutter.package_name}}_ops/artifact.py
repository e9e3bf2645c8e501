"""Zip model_artifact/ into one deterministic model artifact for the model catalog.

Same inputs, byte-identical zip (sorted entries, fixed timestamps and modes), so
its sha256 names what was trained. Files sit at the zip root: OCI unzips it at
/opt/ds/model/deployed_model, so the model ends up at a path the scorer knows.
Caches, OS litter, virtual environments and secrets are left out. The zip is
refused, and none is left behind, when the model is missing or does not load
and answer a prediction, or when the zip is over the catalog's limits.

    python -m {{ cookiecutter.package_name }}_ops artifact [--source model_artifact] [--output dist/model_artifact.zip]
{%- if cookiecutter.server == "triton" %}
    python -m {{ cookiecutter.package_name }}_ops artifact --model-repository model_repository    # Triton's artifact

The Triton artifact is the model repository: its model folders at the zip root,
so the mount is the repository that tritonserver is pointed at; each model's
config.pbtxt and model.onnx are checked as Triton loads them.
{%- endif %}
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import zipfile
from pathlib import Path

from {{ cookiecutter.package_name }}.model_path import (
    ModelNotFoundError,
    resolve_model_path,
)
from {{ cookiecutter.package_name }}.oci_rules import (
    MAX_ARTIFACT_BYTES,
    MAX_DIRECT_ARTIFACT_BYTES,
    MODEL_MOUNT,
)
from {{ cookiecutter.package_name }}.scorer import Scorer
from {{ cookiecutter.package_name }}.settings import Settings

from .project import PROJECT
{%- if cookiecutter.server == "triton" %}
from .triton_repository import RepositoryError, check_repository
{%- endif %}

MODEL_FILE = "{{ cookiecutter.model_file }}"
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can hold
FILE_MODE = 0o100644  # a regular file, rw-r--r--
# Clutter, left out without a word.
SKIPPED_FOLDERS = {"__pycache__", ".venv", "venv", ".git", ".ipynb_checkpoints", "__MACOSX", ".pytest_cache"}
SKIPPED_FILES = {".DS_Store", "Thumbs.db"}
SKIPPED_SUFFIXES = {".pyc", ".pyo"}
# Credentials, left out and named: an artifact is readable by whoever can read the model.
CREDENTIAL_FOLDERS = {".oci", ".ssh", ".aws", ".azure", ".gnupg", ".docker", ".kube", ".config"}
CREDENTIAL_FILES = {".netrc", ".npmrc", ".pypirc", ".git-credentials", ".htpasswd", ".pgpass", "credentials"}
CREDENTIAL_SUFFIXES = {".pem", ".key", ".p12", ".pfx", ".jks", ".kdbx"}


class ArtifactError(Exception):
    """The artifact can't be made; the message says why."""


def is_credential(name: str) -> bool:
    """A file that holds a secret by its name: SSH keys, .env files, package-index logins."""
    return (
        name in CREDENTIAL_FILES
        or Path(name).suffix in CREDENTIAL_SUFFIXES
        or name == ".env"
        or name.startswith((".env.", "id_rsa", "id_dsa", "id_ecdsa", "id_ed25519"))
    )


def artifact_files(source: Path) -> tuple[list[tuple[str, Path]], list[str]]:
    """(name in the zip, file) for every file kept, sorted by name; and the credentials left out.

    A symbolic link is refused: it could point anywhere on the machine that packs it.
    """
    kept, credentials = [], []
    for folder, subfolders, files in os.walk(source):
        here = Path(folder)
        for name in [*subfolders, *files]:
            if (here / name).is_symlink():
                raise ArtifactError(
                    f"{(here / name).relative_to(source)} is a symbolic link; the artifact takes only "
                    "files and folders: copy what it points to instead"
                )
        credentials += [
            f"{(here / name).relative_to(source).as_posix()}/"
            for name in subfolders
            if name in CREDENTIAL_FOLDERS
        ]
        subfolders[:] = sorted(
            name for name in subfolders if name not in SKIPPED_FOLDERS | CREDENTIAL_FOLDERS
        )
        for name in files:
            path = here / name
            if is_credential(name):
                credentials.append(path.relative_to(source).as_posix())
            elif name not in SKIPPED_FILES and path.suffix not in SKIPPED_SUFFIXES and path.is_file():
                kept.append((path.relative_to(source).as_posix(), path))
    return sorted(kept), sorted(credentials)


def check_model(source: Path, model_file: str) -> None:
    """Load the model as the server will, warm-up prediction included."""
    scorer = Scorer(Settings(model_dir=source, model_file=model_file))
    scorer.load()
    if not scorer.ready:
        raise ArtifactError(f"the model does not load: {scorer.detail}")


def write_zip(files: list[tuple[str, Path]], output: Path, limit: int) -> str:
    """Write the zip (atomically) and return its sha256; refuse one over ``limit`` bytes."""
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    try:
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
            for name, path in files:
                entry = zipfile.ZipInfo(name, date_time=ZIP_TIME)
                entry.external_attr = FILE_MODE << 16
                entry.compress_type = zipfile.ZIP_DEFLATED
                with path.open("rb") as source, archive.open(entry, "w", force_zip64=True) as target:
                    while chunk := source.read(1 << 20):
                        target.write(chunk)
        size = partial.stat().st_size
        if size > limit:
            raise ArtifactError(f"the zip is {size} bytes, over the limit of {limit} bytes")
        digest = hashlib.sha256()
        with partial.open("rb") as written:
            while chunk := written.read(1 << 20):
                digest.update(chunk)
        partial.replace(output)
    finally:
        partial.unlink(missing_ok=True)
    return digest.hexdigest()


def make_artifact(source: Path, output: Path, model_file: str, limit: int = MAX_ARTIFACT_BYTES) -> str:
    try:
        resolve_model_path(source, model_file)  # at the root, or in the artifact's one folder
    except ModelNotFoundError as error:
        raise ArtifactError(f"the model is missing: {error}") from None
    files, _ = artifact_files(source)
    check_model(source, model_file)
    return write_zip(files, output, limit)
{% if cookiecutter.server == "triton" %}

def make_repository_artifact(repository: Path, output: Path, limit: int = MAX_ARTIFACT_BYTES) -> str:
    """The Triton model repository as the artifact, once Triton would load each of its models."""
    try:
        check_repository(repository)
    except RepositoryError as error:
        raise ArtifactError(str(error)) from None
    return write_zip(artifact_files(repository)[0], output, limit)
{% endif %}

def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", type=Path, default=PROJECT / "model_artifact")
    parser.add_argument("--output", type=Path, default=PROJECT / "dist" / "model_artifact.zip")
    parser.add_argument("--model-file", default=os.environ.get("MODEL_FILE", MODEL_FILE))
    parser.add_argument("--max-bytes", type=int, default=MAX_ARTIFACT_BYTES, help="refuse a larger zip")
{%- if cookiecutter.server == "triton" %}
    parser.add_argument("--model-repository", type=Path, help="zip this Triton model repository instead")
{%- endif %}


def run(args: argparse.Namespace) -> int:
    output = args.output.resolve()
    for stale in (output, output.with_name(output.name + ".sha256")):
        stale.unlink(missing_ok=True)  # never leave a zip that looks like this run's
    try:
{%- if cookiecutter.server == "triton" %}
        if args.model_repository:
            args.source = args.model_repository
            sha256 = make_repository_artifact(args.source, output, args.max_bytes)
        else:
            sha256 = make_artifact(args.source, output, args.model_file, args.max_bytes)
{%- else %}
        sha256 = make_artifact(args.source, output, args.model_file, args.max_bytes)
{%- endif %}
    except ArtifactError as error:
        print(f"artifact refused: {error}", file=sys.stderr)
        return 1
    files, credentials = artifact_files(args.source)
    for name, path in files:
        print(f"  {MODEL_MOUNT}/{name}  ({path.stat().st_size} bytes)")
    if credentials:
        print(f"left out, as credentials: {', '.join(credentials)}", file=sys.stderr)
    size = output.stat().st_size
    output.with_name(output.name + ".sha256").write_text(f"{sha256}  {output.name}\n")
    print(f"{output} {size} bytes sha256:{sha256}")
    if size > MAX_DIRECT_ARTIFACT_BYTES:
        print("over 2 GB: upload it through Object Storage (large model artifact)", file=sys.stderr)
    return 0
