"""Start the production server on loopback, check it as OCI does, then stop it.

Starts gunicorn with gunicorn.conf.py on --host (127.0.0.1: loopback only), waits for
GET /health to answer 200 (each try with the service's 3 s timeout), sends
sample_request.json (or, without it, the input_example.json saved beside the model)
to /predict, prints both answers, sends SIGTERM and checks the server exits cleanly.

    python scripts/smoke.py [--host 127.0.0.1] [--port {{ cookiecutter.server_port }}] [--deadline 120] [--request sample_request.json]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
MODEL_FILE = "{{ cookiecutter.model_file }}"
HEALTH_TIMEOUT = 3  # seconds, as the service's health check


def call(url: str, body: bytes | None = None) -> tuple[int, str]:
    """Status and text of a GET (or a JSON POST when ``body`` is given)."""
    headers = {"Content-Type": "application/json"} if body is not None else {}
    request = urllib.request.Request(url, data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=HEALTH_TIMEOUT) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except OSError as error:
        return 0, str(error)


def bind_address(host: str, port: int) -> str:
    """gunicorn's --bind for ``host``: an IPv6 address in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def base_url(host: str, port: int) -> str:
    """Where to reach a server bound to ``host``: loopback when it listens on every interface."""
    reach = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(host, host)
    return f"http://{bind_address(reach, port)}"


def request_body(request: Path, model_dir: Path, model_file: str) -> tuple[str, bytes]:
    """The request to send and its name: ``request``, else the example saved beside the model."""
    if request.is_file():
        return request.name, request.read_bytes()
    # Imported here: bench.py (and the template's benchmark) import this module for wait_healthy.
    from {{ cookiecutter.package_name }}.model_path import resolve_model_path
    from {{ cookiecutter.package_name }}.signature import INPUT_EXAMPLE

    example = resolve_model_path(model_dir, model_file).parent / INPUT_EXAMPLE
    if example.is_file():
        return f"{example.parent.name}/{example.name}", example.read_bytes()
    raise SystemExit(f"no {request} and no {INPUT_EXAMPLE} beside the model: write a request the model takes")


def wait_healthy(base: str, server: subprocess.Popen, deadline: float) -> tuple[int, str]:
    status, text = 0, "no answer yet"
    while time.monotonic() < deadline and server.poll() is None:
        status, text = call(f"{base}/health")
        if status == 200:
            break
        print(f"  waiting for /health ({status or 'no answer'}) ...", flush=True)
        time.sleep(1)
    return status, text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="the address to listen on (0.0.0.0: every one)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "{{ cookiecutter.server_port }}")))
    parser.add_argument("--deadline", type=float, default=120, help="seconds to wait for /health")
    parser.add_argument("--request", type=Path, default=PROJECT / "sample_request.json")
    args = parser.parse_args()

    env = {**os.environ, "PORT": str(args.port)}
    env.setdefault("MODEL_DIR", str(PROJECT / "model_artifact"))
    name, body = request_body(args.request, Path(env["MODEL_DIR"]), env.get("MODEL_FILE") or MODEL_FILE)
    bind = bind_address(args.host, args.port)
    command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", bind]
    print(f"starting: {' '.join(command)} (MODEL_DIR={env['MODEL_DIR']})", flush=True)
    server = subprocess.Popen(command, cwd=PROJECT, env=env)
    base = base_url(args.host, args.port)
    try:
        status, text = wait_healthy(base, server, time.monotonic() + args.deadline)
        print(f"GET  /health  -> {status} {text.strip()}")
        if status != 200:
            return 1
        status, text = call(f"{base}/predict", body)
        print(f"POST /predict {name} -> {status} {text.strip()}")
        if status != 200:
            return 1
    finally:
        server.send_signal(signal.SIGTERM)
        code = server.wait(timeout=60)
        print(f"server stopped on SIGTERM, exit code {code}")
    return 0 if code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
