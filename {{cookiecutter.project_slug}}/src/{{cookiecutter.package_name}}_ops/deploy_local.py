"""Run the image the way OCI Model Deployment does, on this machine.

In the service's order: unzip the artifact zip into a fresh folder (refused, with
nothing left behind, when it is not a zip, is damaged, or unpacks past a limit), mount it
read-only at /opt/ds/model/deployed_model, start the container with the
deployment's environment variables and port, apply the health policy (``curl -f``
inside the container, 3 s timeout, 3 retries; the interval shortened locally), give up when it
is not healthy by the deadline (10 minutes, as the service), record how long it took
(dist/start-time.json, start_record.py: the pre-flight scales it to the shape), then send a
sample request (a non-2xx answer fails it) and print a short report. The health check and the
request go to the paths the service calls: /health and /predict, or the deployment's
``MODEL_DEPLOY_HEALTH_ENDPOINT`` and ``MODEL_DEPLOY_PREDICT_ENDPOINT`` (deploy/deployment.toml,
``[container.environment]``). Works with docker or podman. (A Triton project's `make deploy-local`
runs Triton's image instead, with its command: make triton-run; this command refuses a Triton
deployment's settings.)

    python -m {{ cookiecutter.package_name }}_ops deploy-local --image NAME:TAG [--cli docker] [--artifact dist/model_artifact.zip]
"""

from __future__ import annotations

import argparse
import json
import lzma
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
import zlib
from pathlib import Path
from typing import IO, Any

from {{ cookiecutter.package_name }}.oci_rules import (
    MAX_ARTIFACT_BYTES,
    MODEL_MOUNT,
    is_triton,
    shown,
)
from {{ cookiecutter.package_name }}.settings import endpoint_paths

from .artifact import model_code_note
from .deploy_config import environment_variables
from .errors import InputError
from .project import PROJECT, read_settings
from .start_record import START_RECORD, container_logs, described, engine_cpus, image_id, record_start

CONTAINER_NAME = "{{ cookiecutter.project_slug }}-deploy-local"
HEALTH_TIMEOUT, HEALTH_RETRIES = 3, 3
# The most an artifact may unpack to. OCI states no limit for the unzipped artifact, only
# for the zip (400 GB through Object Storage): that figure, and the free disk space, bound it.
MAX_UNPACKED_BYTES = MAX_ARTIFACT_BYTES
CHUNK = 1 << 20


class UnpackError(InputError):
    """The artifact can't be unpacked: missing, not a zip, damaged, or too large; the message says which."""


def container_environment(settings_file: Path, port: int | None) -> tuple[int, dict[str, str]]:
    """The deployment's port (or ``port``) and environment variables, as deploy-config writes them;
    SettingsError (one line) when the settings can't be read or are of the wrong shape."""
    container = read_settings(settings_file, ("container.server_port",))["container"]
    if port is not None:
        container["server_port"] = port
    return container["server_port"], environment_variables(container)


def service_paths(environment: dict[str, str]) -> tuple[str, str]:
    """The paths the service calls: predict and health (the deployment's overrides, else
    /predict and /health); InputError names an override that is not a path."""
    try:
        return endpoint_paths(environment)
    except ValueError as error:
        raise InputError(f"deploy/deployment.toml [container.environment]: {error}") from None


def health_check(cli: str, name: str, port: int, path: str) -> bool:
    """The service's check: curl -f on ``path`` inside the container, 3 s timeout."""
    url = f"http://localhost:{port}{path}"
    command = [cli, "exec", name, "curl", "-fsS", "-o", "/dev/null", "--max-time", str(HEALTH_TIMEOUT), url]
    return subprocess.run(command, capture_output=True, timeout=HEALTH_TIMEOUT + 10).returncode == 0


def running(cli: str, name: str) -> bool:
    result = subprocess.run([cli, "container", "inspect", name], capture_output=True, text=True)
    return result.returncode == 0 and json.loads(result.stdout)[0]["State"]["Running"] is True


def wait_healthy(cli: str, name: str, port: int, deadline: float, interval: float, path: str) -> float:
    """Seconds until ``path`` answers; raises RuntimeError at the deadline or when the container exits."""
    started = time.monotonic()
    failures = 0
    while time.monotonic() - started < deadline:
        if not running(cli, name):
            raise RuntimeError("the container exited")
        if health_check(cli, name, port, path):
            return time.monotonic() - started
        failures += 1
        if failures % HEALTH_RETRIES == 0:
            print(
                f"  health check failed {HEALTH_RETRIES} times in a row ({time.monotonic() - started:.0f} s)"
            )
        time.sleep(interval)
    raise RuntimeError(f"not healthy within {deadline:.0f} s")


def predict(port: int, body: bytes, path: str) -> tuple[bool, str]:
    """Whether ``body`` POSTed to ``path`` got a 2xx, and the status and answer (or why none came)."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", data=body, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return True, f"{response.status} {response.read().decode(errors='replace').strip()}"
    except urllib.error.HTTPError as error:
        return False, f"{error.code} {error.read().decode(errors='replace').strip()}"
    except (urllib.error.URLError, OSError) as error:  # refused, reset, timed out
        return False, f"no answer ({getattr(error, 'reason', error)})"


def entry_path(folder: Path, name: str) -> Path | None:
    """Where the zip entry ``name`` goes in ``folder``, as zipfile's extract does: "", "." and ".."
    parts (and so a leading "/") dropped, "\\" taken as "/" too; None when nothing is left."""
    parts = [part for part in name.replace("\\", "/").split("/") if part not in ("", ".", "..")]
    return folder.joinpath(*parts) if parts else None


def copy_bounded(source: IO[bytes], target: IO[bytes], budget: int) -> int:
    """Copy ``source`` into ``target``, returning the bytes copied; ``UnpackError`` once past
    ``budget`` bytes, counted as they come (a zip entry's declared size can lie)."""
    copied = 0
    while chunk := source.read(CHUNK):
        copied += len(chunk)
        if copied > budget:
            raise UnpackError(f"more than {budget:,} bytes")
        target.write(chunk)
    return copied


def extract(archive: zipfile.ZipFile, folder: Path, limit: int) -> int:
    """Write every entry of ``archive`` under ``folder``; the bytes written, at most ``limit``."""
    written = 0
    for entry in archive.infolist():
        path = entry_path(folder, entry.filename)
        if path is None:
            continue
        if entry.is_dir():
            path.mkdir(parents=True, exist_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        with archive.open(entry) as source, path.open("wb") as target:
            try:
                written += copy_bounded(source, target, limit - written)
            except UnpackError:
                raise UnpackError(
                    f"{shown(entry.filename)} unpacks to more than the zip declares, past the limit of {limit:,} bytes"
                ) from None
    return written


def unpack(artifact: Path, folder: Path, limit: int = MAX_UNPACKED_BYTES) -> int:
    """Unzip the artifact into ``folder`` as the service does; return the bytes written.

    Entries that climb out of it (``../x``, ``/etc/x``) land inside it. ``UnpackError``, with
    nothing it wrote left behind, when the artifact is missing, not a zip, damaged, or unpacks
    past ``limit`` bytes or the free disk space: by the sizes its entries declare, before a byte
    is written, and by the bytes actually written.
    """
    where = f"--artifact {artifact}"
    if not artifact.is_file():
        what = "is a folder" if artifact.is_dir() else "does not exist"
        raise UnpackError(f"{where} {what}; expected the model artifact zip: run `make artifact` first")
    before = set(folder.iterdir())
    try:
        with zipfile.ZipFile(artifact) as archive:
            declared = sum(entry.file_size for entry in archive.infolist())
            if declared > limit:
                raise UnpackError(
                    f"its entries unpack to {declared:,} bytes, over the limit of {limit:,} (--max-unpacked-bytes)"
                )
            if declared > (free := shutil.disk_usage(folder).free):
                raise UnpackError(f"its entries unpack to {declared:,} bytes; {folder} has {free:,} free")
            written = extract(archive, folder, limit)
    except UnpackError as error:
        remove_new(folder, before)
        raise UnpackError(f"{where}: {error}") from None
    except (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, NotImplementedError, RuntimeError) as error:  # fmt: skip
        remove_new(folder, before)
        raise UnpackError(
            f"{where}: not a readable zip ({error}); expected the model artifact zip that `make artifact` writes"
        ) from None
    except OSError as error:
        remove_new(folder, before)
        reason = error.strerror or error
        raise UnpackError(f"{where}: can't be read or unpacked into {folder} ({reason})") from None
    folder.chmod(0o755)
    return written


def remove_new(folder: Path, before: set[Path]) -> None:
    """Remove what was written in ``folder`` since it held ``before``."""
    for path in set(folder.iterdir()) - before:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def positive_bytes(text: str) -> int:
    """A size in bytes from the command line: a whole number of at least 1."""
    if not (text.isascii() and text.isdigit() and len(text) <= 20 and int(text) >= 1):
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a whole number of bytes from 1 up")
    return int(text)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--image", required=True)
    parser.add_argument("--cli", default="docker")
    parser.add_argument("--artifact", type=Path, default=PROJECT / "dist" / "model_artifact.zip")
    parser.add_argument("--settings", type=Path, default=PROJECT / "deploy" / "deployment.toml")
    parser.add_argument("--port", type=int, help="instead of the deployment's server_port")
    parser.add_argument("--name", default=CONTAINER_NAME)
    parser.add_argument("--deadline", type=float, default=600, help="seconds to become healthy")
    parser.add_argument("--interval", type=float, default=2, help="seconds between health checks")
    parser.add_argument("--request", type=Path, default=PROJECT / "sample_request.json")
    parser.add_argument("--record", type=Path, default=START_RECORD, help="where the start time is recorded")
    parser.add_argument(
        "--max-unpacked-bytes",
        type=positive_bytes,
        default=MAX_UNPACKED_BYTES,
        help="refuse an artifact that unpacks to more",
    )


def run(args: argparse.Namespace) -> int:
    port, environment = container_environment(args.settings, args.port)
    if is_triton(environment):  # Triton's image needs tritonserver's command
        raise InputError(
            f"{args.settings} deploys Triton (CONTAINER_TYPE=TRITON): "
{%- if cookiecutter.server == "triton" %}
            "`make deploy-local` rehearses it with Triton's image and command (make triton-run); "
            "this command runs the scorer's image"
{%- else %}
            "this project's image is the scorer's, which OCI would not call as it calls Triton: "
            "remove CONTAINER_TYPE, or bake a project with server=triton"
{%- endif %}
        )
    paths = service_paths(environment)  # refused before anything is unpacked
    mount = Path(tempfile.mkdtemp(prefix="deployed_model-"))
    try:
        written = unpack(args.artifact, mount, args.max_unpacked_bytes)
        names = [path.relative_to(mount).as_posix() for path in sorted(mount.rglob("*")) if path.is_file()]
        print(f"1. unzipped {args.artifact.name} into {mount} ({len(names)} files, {written:,} bytes)")
        if note := model_code_note(names):
            print(note, file=sys.stderr)
        return start(args, mount, port, environment, paths)
    finally:
        shutil.rmtree(mount, ignore_errors=True)


def record_started(
    args: argparse.Namespace, logs: str, seconds: float | None, given: float | None = None
) -> dict[str, Any]:
    """Record the start in ``args.record``: ``seconds`` to healthy, or None and the ``given`` seconds."""
    cpus, local_id = engine_cpus(args.cli), image_id(args.cli, args.image)
    return record_start(args.record, "make deploy-local", seconds, logs, cpus, args.image, local_id, given)


def start(
    args: argparse.Namespace, mount: Path, port: int, environment: dict[str, str], paths: tuple[str, str]
) -> int:
    """Steps 2 to 4: run the image on the unpacked artifact, wait until healthy, one prediction
    (``paths``: the service's /predict and /health, as ``service_paths`` gives them)."""
    predict_path, health_path = paths
    try:
        subprocess.run([args.cli, "rm", "-f", args.name], capture_output=True)
        command = [args.cli, "run", "-d", "--name", args.name, "-p", f"127.0.0.1:{port}:{port}"]
        command += [f"--env={key}={value}" for key, value in environment.items()]
        command += ["--mount", f"type=bind,src={mount},dst={MODEL_MOUNT},readonly", args.image]
        subprocess.run(command, check=True, capture_output=True)
        print(f"2. started {args.image} as {args.name}, {MODEL_MOUNT} read-only, env {sorted(environment)}")
        started = time.monotonic()
        try:
            seconds = wait_healthy(args.cli, args.name, port, args.deadline, args.interval, health_path)
        except RuntimeError as error:
            logs = container_logs(args.cli, args.name)
            print(logs.strip()[-8000:], file=sys.stderr)
            print(f"3. FAILED: {error}", file=sys.stderr)
            record = record_started(args, logs, None, time.monotonic() - started)
            print(f"   recorded in {args.record}: {described(record)}", file=sys.stderr)
            return 1
        policy = f"curl -f {health_path} inside the container, {HEALTH_TIMEOUT} s timeout"
        print(f"3. healthy after {seconds:.1f} s ({policy})")
        record = record_started(args, container_logs(args.cli, args.name), seconds)
        print(f"   recorded in {args.record}: {described(record)}")
        answered, answer = predict(port, args.request.read_bytes(), predict_path)
        if not answered:  # the service sends the callers' requests there: the rehearsal fails
            print(f"4. FAILED: POST {predict_path} {args.request.name} -> {answer}", file=sys.stderr)
            return 1
        print(f"4. POST {predict_path} {args.request.name} -> {answer}")
        return 0
    finally:
        subprocess.run([args.cli, "stop", "-t", "10", args.name], capture_output=True)
        subprocess.run([args.cli, "rm", "-f", args.name], capture_output=True)
