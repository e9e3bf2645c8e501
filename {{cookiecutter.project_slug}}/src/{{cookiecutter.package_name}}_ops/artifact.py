"""Zip model_artifact/ into one deterministic model artifact for the model catalog.

Same inputs, byte-identical zip (sorted entries, fixed timestamps and modes), so
its sha256 names what was trained. Files sit at the zip root: OCI unzips it at
/opt/ds/model/deployed_model, so the model ends up at a path the scorer knows.
Caches, OS litter, virtual environments and credentials (by name: CREDENTIAL_NAMES)
are left out; a file the list does not know that starts like a key or token is zipped
with a warning. The zip is refused, and none is left behind, when the model is missing
or does not load and answer a prediction, or when the zip is over the catalog's limits.
Loading a joblib/pickle model runs code it holds: the command says so, once.

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
import fnmatch
import hashlib
import os
import re
import sys
import zipfile
from collections.abc import Iterable
from pathlib import Path

from {{ cookiecutter.package_name }}.model_path import (
    MODEL_SUFFIXES,
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

from .failure_risks import sizes_record
from .project import PROJECT, write_json
{%- if cookiecutter.server == "triton" %}
from .triton_repository import RepositoryError, check_repository
{%- endif %}

MODEL_FILE = "{{ cookiecutter.__model_file }}"
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can hold
FILE_MODE = 0o100644  # a regular file, rw-r--r--
# Clutter, left out without a word.
SKIPPED_FOLDERS = {"__pycache__", ".venv", "venv", ".git", ".ipynb_checkpoints", "__MACOSX", ".pytest_cache"}
SKIPPED_FILES = {".DS_Store", "Thumbs.db"}
SKIPPED_SUFFIXES = {".pyc", ".pyo"}
# Credentials, left out and named: an artifact is readable by whoever can read the model.
# What they hold: fnmatch patterns of their names, matched in lower case; a folder's ends in
# "/" and takes all it holds. From gitrob's signatures (core/signatures.go: the file-name list
# that shhgit and later scanners build on), the files the OCI, AWS, GCP, Azure, Docker,
# kubectl, Terraform and package-index tools write, and what the second security review
# (issue 27) found zipped. A file named "config" is one too when it holds a key or token.
CREDENTIAL_NAMES: dict[str, tuple[str, ...]] = {
    "tool folders": (
        ".oci/", ".aws/", ".azure/", ".config/", ".docker/", ".kube/", ".ssh/", ".gnupg/",
        ".password-store/", ".terraform/", ".ipython/",
    ),
    "environment files": (".env", ".env.*", "*.env", ".envrc"),
    "password files": (".netrc", "_netrc", ".pgpass", ".my.cnf", ".htpasswd", ".git-credentials"),
    "package and registry logins": (".npmrc", ".pypirc", "pip.conf", ".dockercfg", ".s3cfg", ".boto"),
    "cloud credentials": (
        "*credential*", "*service?account*.json", "client_secret*.json", "secrets.*",
        "kubeconfig", "*.kubeconfig",
    ),
    "tokens": ("*token", "*token.txt", "*token.json"),
    "shell and REPL history": (".*history", "*_history"),
    "shell startup files": (".bashrc", ".zshrc", ".profile", ".bash_profile", ".zprofile"),
    "Terraform state and variables": ("*.tfstate", "*.tfstate.*", "*.tfvars", "*.tfvars.json"),
    "SSH keys": (
        "id_rsa*", "id_dsa*", "id_ecdsa*", "id_ed25519*", "*_rsa", "*_dsa", "*_ecdsa", "*_ed25519", "*.ppk",
    ),
    "keys and keystores": (
        "*.pem", "*.key", "*.p12", "*.pkcs12", "*.pfx", "*.jks", "*.keystore", "*.keyring",
        "*.kdb", "*.kdbx", "*.keytab", "*.ovpn",
    ),
}  # fmt: skip
# What a key or token looks like in the first bytes of a file: a zipped file that matches is
# named in a warning (it may be meant to be there). From gitleaks' rules (private-key,
# aws-access-token, github-pat, huggingface-access-token), detect-secrets' PrivateKeyDetector
# (PuTTY and SSH2 keys), and the files the OCI, AWS, GCP and kubectl tools write. The OCI auth
# token: 20 printable characters, letters, digits and punctuation, alone in the file.
SECRET_SIGNS: dict[str, re.Pattern[bytes]] = {
    "a private key": re.compile(
        rb"-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----|PuTTY-User-Key-File-\d:"
        rb"|---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----"
    ),
    "an SSH public key": re.compile(rb"(?:ssh-(?:rsa|dss|ed25519)|ecdsa-sha2-nistp\d+) AAAA"),
    "AWS credentials": re.compile(
        rb"(?i:aws_secret_access_key|aws_session_token)|\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b"
    ),
    "a GCP service account key": re.compile(rb'"private_key"\s*:'),
    "an OCI CLI config": re.compile(
        rb"^\s*(?:key_file|security_token_file)\s*=|^\s*fingerprint\s*=\s*(?:[0-9a-f]{2}:){15}[0-9a-f]{2}",
        re.M,
    ),
    "a kubeconfig": re.compile(rb"client-key-data:|^kind:\s*Config\s*$", re.M),
    "a GitHub or Hugging Face token": re.compile(
        rb"\b(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_\w{82}|hf_[A-Za-z]{34})\b"
    ),
    "an OCI auth token": re.compile(rb"\A\s*(?=\S*[A-Za-z])(?=\S*[0-9])(?=\S*[^\sA-Za-z0-9])[!-~]{20}\s*\Z"),
}
SCAN_MAX_FILE = 1 << 20  # larger files (models, data) are not read for SECRET_SIGNS
SCAN_HEAD = 8 << 10  # bytes read from the start of a smaller one
# Model files that joblib unpickles: loading one runs code it holds.
PICKLE_SUFFIXES = MODEL_SUFFIXES - {".onnx"}


class ArtifactError(Exception):
    """The artifact can't be made; the message says why."""


def credential_kind(name: str, folder: bool = False) -> str | None:
    """What a file (or, with ``folder``, a folder) of this name holds by CREDENTIAL_NAMES, or None."""
    key = name.lower() + ("/" if folder else "")
    for kind, patterns in CREDENTIAL_NAMES.items():
        if any(fnmatch.fnmatchcase(key, pattern) for pattern in patterns):
            return kind
    return None


def secret_sign(path: Path) -> str | None:
    """What the start of a small file looks like when it holds a key or token (SECRET_SIGNS),
    or None; only the first SCAN_HEAD bytes of a file of at most SCAN_MAX_FILE are read."""
    try:
        if path.stat().st_size > SCAN_MAX_FILE:
            return None
        with path.open("rb") as file:
            head = file.read(SCAN_HEAD)
    except OSError:
        return None
    return next((kind for kind, sign in SECRET_SIGNS.items() if sign.search(head)), None)


def is_credential(path: Path) -> bool:
    """A file that holds a secret by its name, or a tool's ``config`` file that holds a key or token."""
    return credential_kind(path.name) is not None or (path.name == "config" and secret_sign(path) is not None)


def secret_lookalikes(files: Iterable[tuple[str, Path]]) -> list[tuple[str, str]]:
    """(name in the zip, what it looks like) for each kept file that starts like a key or token."""
    return [(name, kind) for name, path in files if (kind := secret_sign(path))]


def model_code_note(names: Iterable[str], model_file: str = MODEL_FILE) -> str | None:
    """The one line that says loading a pickled model runs code, naming the model; None without one."""
    pickled = [
        name for name in names if Path(name).suffix in PICKLE_SUFFIXES or Path(name).name == model_file
    ]
    if not pickled:
        return None
    model = next((name for name in pickled if Path(name).name == model_file), pickled[0])
    more = f" (and {len(pickled) - 1} more)" if len(pickled) > 1 else ""
    return (
        f"note: loading {model}{more} runs code it holds (joblib/pickle): zip and serve only model files "
        "you made or trust; see docs/security.md#trusting-a-model-file"
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
        held = {name for name in subfolders if credential_kind(name, folder=True)}
        credentials += [f"{(here / name).relative_to(source).as_posix()}/" for name in held]
        subfolders[:] = sorted(name for name in subfolders if name not in SKIPPED_FOLDERS | held)
        for name in files:
            path = here / name
            if is_credential(path):
                credentials.append(path.relative_to(source).as_posix())
            elif name not in SKIPPED_FILES and path.suffix not in SKIPPED_SUFFIXES and path.is_file():
                kept.append((path.relative_to(source).as_posix(), path))
    return sorted(kept), sorted(credentials)


def check_model(source: Path, model_file: str) -> None:
    """Load the model as the server will, warm-up prediction included.

    This unpickles the model in this process: a hostile model file runs its code here, as
    the user of `make artifact`. A subprocess would not change that (the same user, files
    and network); only a model file you made or trust is safe to load
    (docs/security.md#trusting-a-model-file).
    """
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
        model = resolve_model_path(source, model_file)  # at the root, or in the artifact's one folder
    except ModelNotFoundError as error:
        raise ArtifactError(f"the model is missing: {error}") from None
    files, _ = artifact_files(source)
    if model not in {path for _, path in files}:
        raise ArtifactError(
            f"the model {model.relative_to(source).as_posix()} would be left out: its name, or its "
            "folder's, is on the credential list (CREDENTIAL_NAMES in artifact.py); rename it"
        )
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

def record_sizes(output: Path, files: list[tuple[str, Path]], sha256: str) -> dict[str, int | str]:
    """Write the zip's size and what it unpacks to (the sum of its files' sizes), for the
    pre-flight's storage check (failure_risks.py); return the record."""
    record: dict[str, int | str] = {
        "artifact": output.name,
        "sha256": sha256,
        "zip_bytes": output.stat().st_size,
        "unpacked_bytes": sum(path.stat().st_size for _, path in files),
        "files": len(files),
    }
    write_json(sizes_record(output), record)
    return record


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
    for stale in (output, output.with_name(output.name + ".sha256"), sizes_record(output)):
        stale.unlink(missing_ok=True)  # never leave a zip that looks like this run's
    try:
{%- if cookiecutter.server == "triton" %}
        if args.model_repository:
            args.source = args.model_repository
{%- endif %}
        files, credentials = artifact_files(args.source)
        if note := model_code_note((name for name, _ in files), args.model_file):
            print(note, file=sys.stderr)  # before the model is loaded to check it
{%- if cookiecutter.server == "triton" %}
        if args.model_repository:
            sha256 = make_repository_artifact(args.source, output, args.max_bytes)
        else:
            sha256 = make_artifact(args.source, output, args.model_file, args.max_bytes)
{%- else %}
        sha256 = make_artifact(args.source, output, args.model_file, args.max_bytes)
{%- endif %}
    except ArtifactError as error:
        print(f"artifact refused: {error}", file=sys.stderr)
        return 1
    for name, path in files:
        print(f"  {MODEL_MOUNT}/{name}  ({path.stat().st_size} bytes)")
    if credentials:
        print(f"left out, as credentials: {', '.join(credentials)}", file=sys.stderr)
    for name, kind in secret_lookalikes(files):
        print(
            f"warning: {name} is zipped but looks like {kind}: if it is a secret, move it out of "
            f"{args.source} and run again; if the model needs it, it can stay",
            file=sys.stderr,
        )
    size = output.stat().st_size
    output.with_name(output.name + ".sha256").write_text(f"{sha256}  {output.name}\n")
    sizes = record_sizes(output, files, sha256)
    print(f"{output} {size} bytes sha256:{sha256}")
    print(
        f"  unpacks to {sizes['unpacked_bytes']} bytes in {sizes['files']} files (recorded in {sizes_record(output).name})"
    )
    if size > MAX_DIRECT_ARTIFACT_BYTES:
        print("over 2 GB: upload it through Object Storage (large model artifact)", file=sys.stderr)
    return 0
