"""Start the production server on loopback, check it as OCI does, then stop it.

Starts gunicorn with gunicorn.conf.py, waits for GET /health to answer 200 (each
try with the service's 3 s timeout), sends sample_request.json to /predict,
prints both answers, sends SIGTERM and checks the server exits cleanly.

    python scripts/smoke.py [--port {{ cookiecutter.server_port }}] [--deadline 120]
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
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "{{ cookiecutter.server_port }}")))
    parser.add_argument("--deadline", type=float, default=120, help="seconds to wait for /health")
    parser.add_argument("--request", type=Path, default=PROJECT / "sample_request.json")
    args = parser.parse_args()

    env = {**os.environ, "PORT": str(args.port)}
    env.setdefault("MODEL_DIR", str(PROJECT / "model_artifact"))
    command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{args.port}"]
    print(f"starting: {' '.join(command)} (MODEL_DIR={env['MODEL_DIR']})", flush=True)
    server = subprocess.Popen(command, cwd=PROJECT, env=env)
    base = f"http://127.0.0.1:{args.port}"
    try:
        status, text = wait_healthy(base, server, time.monotonic() + args.deadline)
        print(f"GET  /health  -> {status} {text.strip()}")
        if status != 200:
            return 1
        status, text = call(f"{base}/predict", args.request.read_bytes())
        print(f"POST /predict {args.request.name} -> {status} {text.strip()}")
        if status != 200:
            return 1
    finally:
        server.send_signal(signal.SIGTERM)
        code = server.wait(timeout=60)
        print(f"server stopped on SIGTERM, exit code {code}")
    return 0 if code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
