"""Run the image the way OCI Model Deployment does, on this machine.

In the service's order: unzip the artifact zip into a fresh folder, mount it
read-only at /opt/ds/model/deployed_model, start the container with the
deployment's environment variables and port, apply the health policy (``curl
-f /health`` inside the container, 3 s timeout, 3 retries; the interval
shortened locally), give up when it is not healthy by the deadline (10 minutes,
as the service), then send a sample /predict and print a short report.
Works with docker or podman.

    python -m {{ cookiecutter.package_name }}_ops deploy-local --image NAME:TAG [--cli docker] [--artifact dist/model_artifact.zip]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

from {{ cookiecutter.package_name }}.oci_rules import MODEL_MOUNT

from .deploy_config import environment_variables
from .project import PROJECT

CONTAINER_NAME = "{{ cookiecutter.project_slug }}-deploy-local"
HEALTH_TIMEOUT, HEALTH_RETRIES = 3, 3


def container_environment(settings_file: Path, port: int | None) -> tuple[int, dict[str, str]]:
    """The deployment's port (or ``port``) and environment variables, as deploy-config writes them."""
    container = tomllib.loads(settings_file.read_text())["container"]
    if port is not None:
        container["server_port"] = port
    return container["server_port"], environment_variables(container)


def health_check(cli: str, name: str, port: int) -> bool:
    """The service's check: curl -f inside the container, 3 s timeout."""
    url = f"http://localhost:{port}/health"
    command = [cli, "exec", name, "curl", "-fsS", "-o", "/dev/null", "--max-time", str(HEALTH_TIMEOUT), url]
    return subprocess.run(command, capture_output=True, timeout=HEALTH_TIMEOUT + 10).returncode == 0


def running(cli: str, name: str) -> bool:
    result = subprocess.run([cli, "container", "inspect", name], capture_output=True, text=True)
    return result.returncode == 0 and json.loads(result.stdout)[0]["State"]["Running"] is True


def wait_healthy(cli: str, name: str, port: int, deadline: float, interval: float) -> float:
    """Seconds until healthy; raises RuntimeError at the deadline or when the container exits."""
    started = time.monotonic()
    failures = 0
    while time.monotonic() - started < deadline:
        if not running(cli, name):
            raise RuntimeError("the container exited")
        if health_check(cli, name, port):
            return time.monotonic() - started
        failures += 1
        if failures % HEALTH_RETRIES == 0:
            print(
                f"  health check failed {HEALTH_RETRIES} times in a row ({time.monotonic() - started:.0f} s)"
            )
        time.sleep(interval)
    raise RuntimeError(f"not healthy within {deadline:.0f} s")


def predict(port: int, body: bytes) -> str:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/predict", data=body, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return f"{response.status} {response.read().decode().strip()}"
    except urllib.error.HTTPError as error:
        return f"{error.code} {error.read().decode().strip()}"


def unpack(artifact: Path, folder: Path) -> None:
    """Unzip the artifact into ``folder`` as the service does; entries that climb out of it
    (``../x``, ``/etc/x``) land inside it (zipfile drops those path parts)."""
    with zipfile.ZipFile(artifact) as archive:
        archive.extractall(folder)
    folder.chmod(0o755)


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


def run(args: argparse.Namespace) -> int:
    if not args.artifact.is_file():
        print(f"{args.artifact} is missing: run `make artifact` first", file=sys.stderr)
        return 1

    mount = Path(tempfile.mkdtemp(prefix="deployed_model-"))
    try:
        unpack(args.artifact, mount)
        print(f"1. unzipped {args.artifact.name} into {mount} ({len(list(mount.rglob('*')))} entries)")
        port, environment = container_environment(args.settings, args.port)
        subprocess.run([args.cli, "rm", "-f", args.name], capture_output=True)
        command = [args.cli, "run", "-d", "--name", args.name, "-p", f"127.0.0.1:{port}:{port}"]
        command += [f"--env={key}={value}" for key, value in environment.items()]
        command += ["--mount", f"type=bind,src={mount},dst={MODEL_MOUNT},readonly", args.image]
        subprocess.run(command, check=True, capture_output=True)
        print(f"2. started {args.image} as {args.name}, {MODEL_MOUNT} read-only, env {sorted(environment)}")
        try:
            seconds = wait_healthy(args.cli, args.name, port, args.deadline, args.interval)
        except RuntimeError as error:
            logs = subprocess.run([args.cli, "logs", args.name], capture_output=True, text=True)
            print(logs.stdout[-4000:] + logs.stderr[-4000:], file=sys.stderr)
            print(f"3. FAILED: {error}", file=sys.stderr)
            return 1
        policy = f"curl -f /health inside the container, {HEALTH_TIMEOUT} s timeout"
        print(f"3. healthy after {seconds:.1f} s ({policy})")
        print(f"4. POST /predict {args.request.name} -> {predict(port, args.request.read_bytes())}")
        return 0
    finally:
        subprocess.run([args.cli, "stop", "-t", "10", args.name], capture_output=True)
        subprocess.run([args.cli, "rm", "-f", args.name], capture_output=True)
        shutil.rmtree(mount, ignore_errors=True)
