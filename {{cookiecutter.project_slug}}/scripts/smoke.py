"""Start the production server on loopback, check it as OCI does, then stop it.

Refuses a port already in use, naming it. Starts gunicorn with gunicorn.conf.py on --host
(127.0.0.1: loopback only), waits for GET /health to answer 200 (each try with the service's
3 s timeout; a "failed" answer stops it at once, with the server's reason and last log lines),
sends sample_request.json (or, without it or with --example, the input_example.json saved
beside the model, else a row made from its signature) to /predict, prints both answers,
sends SIGTERM and checks the server exits cleanly.

    python scripts/smoke.py [--host 127.0.0.1] [--port {{ cookiecutter.__server_port }}] [--deadline 120] [--request sample_request.json | --example]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from pathlib import Path
from typing import IO

PROJECT = Path(__file__).resolve().parent.parent
MODEL_FILE = "{{ cookiecutter.__model_file }}"
HEALTH_TIMEOUT = 3  # seconds, as the service's health check
LOG_LINES = 20  # the server's last log lines shown when it fails


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


def request_body(
    request: Path | None, model_dir: Path, model_file: str, target: str = "smoke"
) -> tuple[str, bytes]:
    """The request to send and its name: ``request`` when it is a file, else the example saved
    beside the model, else a row made from the signature beside it (its features' typical values).
    ``target``: the make target the error names (``make smoke SAMPLE_REQUEST=...``)."""
    if request is not None and request.is_file():
        return request.name, request.read_bytes()
    # Imported here: bench.py (and the template's benchmark) import this module for wait_healthy.
    from {{ cookiecutter.package_name }}.model_path import resolve_model_path
    from {{ cookiecutter.package_name }}.signature import (
        INPUT_EXAMPLE,
        read_signature,
        schema_row,
    )

    folder = resolve_model_path(model_dir, model_file).parent
    example = folder / INPUT_EXAMPLE
    if example.is_file():
        return f"{folder.name}/{example.name}", example.read_bytes()
    if (signature := read_signature(folder)) is not None:
        return f"a row made from {folder.name}/input_schema.json", schema_row(signature)
    missing = f"no {request} and " if request is not None else ""
    raise SystemExit(
        f"{missing}no {INPUT_EXAMPLE} nor signature beside the model (saved without save_model): "
        f"write a request the model takes and pass it, e.g. make {target} SAMPLE_REQUEST=request.json"
    )


def refuse_busy_port(host: str, port: int) -> None:
    """Exit naming ``host:port`` when something already listens there: a server left running
    would answer instead of the one started here."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds
        try:
            probe.bind((host, port))
        except OSError as error:
            raise SystemExit(
                f"port {port} on {host} is in use ({error.strerror}): stop what listens there "
                f"(a make serve or make run left running?) or pick another port, e.g. make smoke PORT={port + 1}"
            ) from None


def follow(stream: IO[str], kept: deque[str]) -> None:
    """Echo the server's output line by line, keeping the last ones."""
    for line in stream:
        sys.stdout.write(line)
        sys.stdout.flush()
        kept.append(line.rstrip("\n"))


def health_state(text: str) -> tuple[str, str]:
    """The ``status`` and ``reason`` of a /health answer ("" when it is no such JSON)."""
    try:
        answer = json.loads(text)
    except ValueError:
        return "", ""
    if not isinstance(answer, dict):
        return "", ""
    return str(answer.get("status") or ""), str(answer.get("reason") or "")


def wait_healthy(base: str, server: subprocess.Popen, deadline: float) -> tuple[int, str]:
    status, text = 0, "no answer yet"
    while time.monotonic() < deadline and server.poll() is None:
        status, text = call(f"{base}/health")
        if status == 200 or health_state(text)[0] == "failed":  # failed: it will not recover
            break
        print(f"  waiting for /health ({status or 'no answer'}) ...", flush=True)
        time.sleep(1)
    return status, text


def logged_reason(lines: list[str]) -> str:
    """The ``reason`` of the last error the server logged (its JSON log lines), else ""."""
    for line in reversed(lines):
        if line.startswith("{"):
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and record.get("level") == "ERROR" and record.get("reason"):
                return str(record["reason"])
    return ""


def why_unhealthy(text: str, exit_code: int | None, deadline: float) -> str:
    """Why /health never said 200: the server's own reason when it failed, else its end."""
    state, reason = health_state(text)
    if state == "failed":
        return f"the server failed: {reason}"
    if exit_code is not None:
        return f"the server exited with code {exit_code} before it was healthy"
    return f"the server was not healthy within {deadline:g} s"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="the address to listen on (0.0.0.0: every one)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "{{ cookiecutter.__server_port }}")))
    parser.add_argument("--deadline", type=float, default=120, help="seconds to wait for /health")
    chosen = parser.add_mutually_exclusive_group()
    chosen.add_argument("--request", type=Path, default=PROJECT / "sample_request.json")
    chosen.add_argument(
        "--example",
        action="store_true",
        help="send the example saved beside the model (or its signature's row)",
    )
    args = parser.parse_args()

    env = {**os.environ, "PORT": str(args.port), "PYTHONUNBUFFERED": "1"}  # its log, line by line
    env.setdefault("MODEL_DIR", str(PROJECT / "model_artifact"))
    model_file = env.get("MODEL_FILE") or MODEL_FILE
    name, body = request_body(None if args.example else args.request, Path(env["MODEL_DIR"]), model_file)
    refuse_busy_port(args.host, args.port)
    bind = bind_address(args.host, args.port)
    command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", bind]
    print(f"starting: {' '.join(command)} (MODEL_DIR={env['MODEL_DIR']})", flush=True)
    server = subprocess.Popen(
        command, cwd=PROJECT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    log: deque[str] = deque(maxlen=LOG_LINES)
    echo = threading.Thread(target=follow, args=(server.stdout, log), daemon=True)
    echo.start()
    base = base_url(args.host, args.port)
    failure, tail = "", []
    try:
        status, text = wait_healthy(base, server, time.monotonic() + args.deadline)
        print(f"GET  /health  -> {status} {text.strip()}")
        if status != 200:
            failure = why_unhealthy(text, server.poll(), args.deadline)
        else:
            status, text = call(f"{base}/predict", body)
            print(f"POST /predict {name} -> {status} {text.strip()}")
            if status != 200:
                failure = f"/predict answered {status}"
                if 400 <= status < 500:  # the request, not the server
                    failure += f": {name} does not fit the model (save_model's input_example.json does)"
        if failure:
            echo.join(timeout=0.5)  # the lines the server is still writing
            tail = list(log)  # before the shutdown's own lines
    finally:
        how = "exited by itself" if server.poll() is not None else "stopped on SIGTERM"
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
        code = server.wait(timeout=60)
        echo.join(timeout=5)
        print(f"server {how}, exit code {code}")
    if failure:
        print(f"{failure}\nthe server's last log lines:", file=sys.stderr)
        print("\n".join(f"  {line}" for line in tail), file=sys.stderr)
        if reason := logged_reason(tail):
            print(f"the server's log says: {reason}", file=sys.stderr)
        return 1
    return 0 if code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
