"""Load-test the scorer on loopback with wrk and print requests per second and latency.

Starts the production server (gunicorn, gunicorn.conf.py) on a loopback port, waits
for /health, warms it up, then runs wrk for each concurrency (1, 4, 16 connections)
with a one-row and a 100-row body, and prints one line per point: with adaptive
batching on (MAX_BATCH_SIZE of the environment, or the scorer's default) and off
(MAX_BATCH_SIZE=1), then how batching compares. Each line ends with the model calls a
request took (the request log's ``batch``: 1 is a call of its own, 0.25 one call for four
requests; none when LOG_LEVEL keeps the request lines out). The figures, with the machine's CPU count and the workers, go to dist/bench.json,
which `make capacity` reads. The body:
rows of SAMPLE_REQUEST (sample_request.json), else (or with ``--example``: `make bench MODEL=`)
of the example saved beside the model.
Needs ``wrk`` (Debian/Ubuntu: ``apt-get install wrk``; macOS: ``brew install wrk``).

    python scripts/bench.py [--seconds 10] [--connections 1,4,16] [--rows 1,100] [--batching both|on|off]
                            [--output dist/bench.json] [--example]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import runpy
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from smoke import MODEL_FILE, wait_healthy
from smoke import request_body as sample_body

from {{ cookiecutter.package_name }}.settings import Settings
from {{ cookiecutter.package_name }}_ops.project import write_json

PROJECT = Path(__file__).resolve().parent.parent
# The model served: MODEL_DIR (and MODEL_FILE) of the environment, which make exports.
MODEL_DIR = Path(os.environ.get("MODEL_DIR") or PROJECT / "model_artifact")
# wrk posts the body of the file named by BENCH_BODY and prints one JSON line at the end.
WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local file = assert(io.open(os.getenv("BENCH_BODY"), "rb"))
wrk.body = file:read("*a")
file:close()

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "errors": %d, "non_2xx": %d, ' ..
    '"p50_ms": %.3f, "p99_ms": %.3f, "max_ms": %.3f}\\n',
    summary.requests, summary.duration / 1e6,
    errors.connect + errors.read + errors.write + errors.timeout, errors.status,
    latency:percentile(50) / 1e3, latency:percentile(99) / 1e3, latency.max / 1e3))
end
"""


@dataclass(frozen=True)
class Point:
    """One wrk run: throughput, latency percentiles and failures."""

    connections: int
    rows: int
    requests: int
    seconds: float
    errors: int
    non_2xx: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    calls_per_request: float | None = None  # model calls a request, from the server's log

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def wrk(url: str, body: bytes, connections: int, seconds: float, rows: int = 1) -> Point:
    """POST ``body`` to ``url`` with ``connections`` keep-alive connections for ``seconds``."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk (Debian/Ubuntu) or brew install wrk")
    with tempfile.TemporaryDirectory() as folder:
        script, body_file = Path(folder, "post.lua"), Path(folder, "body.json")
        script.write_text(WRK_SCRIPT)
        body_file.write_bytes(body)
        threads = min(connections, 2)
        duration = max(1, round(seconds))
        command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--timeout", "10s"]
        run = subprocess.run(
            [*command, "-s", str(script), url],
            env={**os.environ, "BENCH_BODY": str(body_file)},
            capture_output=True,
            text=True,
            check=True,
        )
    summary = json.loads(run.stdout.strip().splitlines()[-1])
    return Point(connections=connections, rows=rows, **summary)


def request_body(rows: int, example: bool = False) -> bytes:
    """``rows`` rows (or records) of the sample request (else of the model's example; ``example``:
    the example only), repeated as needed."""
    model_file = os.environ.get("MODEL_FILE") or MODEL_FILE
    request = None if example else PROJECT / (os.environ.get("SAMPLE_REQUEST") or "sample_request.json")
    sample = json.loads(sample_body(request, MODEL_DIR, model_file, "bench")[1])
    key = "instances" if "instances" in sample else "data"
    return json.dumps({key: [sample[key][index % len(sample[key])] for index in range(rows)]}).encode()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def calls_per_request(log: Path, since: int, until: int) -> float | None:
    """The model calls a /predict request took, on average, over the request log's bytes from
    ``since`` to ``until``: the mean of 1/``batch`` (a line's ``batch``: how many requests shared
    its call; lines without one, such as refusals and /health, are left out)."""
    with log.open("rb") as file:
        file.seek(since)
        lines = file.read(until - since).splitlines()
    shares = []
    for text in lines:
        if text.startswith(b"{") and b'"batch"' in text:
            try:
                shares.append(1 / json.loads(text)["batch"])
            except (ValueError, KeyError, TypeError, ZeroDivisionError):
                continue
    return round(sum(shares) / len(shares), 3) if shares else None


@dataclass(frozen=True)
class Server:
    """A running server and the file its request log goes to."""

    process: subprocess.Popen
    log: Path

    def log_end(self) -> int:
        """Where the log ends now, once the lines a FastAPI worker holds (50 ms) are written."""
        time.sleep(0.2)
        return self.log.stat().st_size


@contextmanager
def gunicorn(port: int, env: dict[str, str] | None = None) -> Iterator[Server]:
    """The project's production server on loopback, once /health is 200; SIGTERM after."""
    env = {**os.environ, "MODEL_DIR": str(MODEL_DIR), **(env or {})}
    command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}"]
    # The request log goes to a file (writing it is part of the cost): the calls a request took are
    # read from it; gunicorn's own messages are dropped.
    with tempfile.TemporaryDirectory() as folder, open(Path(folder, "requests.log"), "ab") as log:
        server = subprocess.Popen(command, cwd=PROJECT, env=env, stdout=log, stderr=subprocess.DEVNULL)
        try:
            status, text = wait_healthy(f"http://127.0.0.1:{port}", server, time.monotonic() + 120)
            if status != 200:
                why = f"the server did not become healthy ({status} {text}); `make serve` shows why"
                raise SystemExit(why)
            yield Server(server, Path(log.name))
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)


def line(name: str, point: Point) -> str:
    return (
        f"{name:<28} c={point.connections:<3} rows={point.rows:<4} {point.rps:>9.1f} req/s  "
        f"p50 {point.p50_ms:>7.2f} ms  p99 {point.p99_ms:>7.2f} ms  errors {point.errors + point.non_2xx}"
        + ("" if point.calls_per_request is None else f"  calls/request {point.calls_per_request:.2f}")
    )


def batch_sizes(batching: str) -> list[int]:
    """The MAX_BATCH_SIZE of each server to measure: the environment's (or the scorer's default)
    for batching on, 1 for off; one server when they are the same."""
    configured = Settings.from_env().max_batch_size
    sizes = {"on": [configured], "off": [1], "both": [configured, 1]}[batching]
    return list(dict.fromkeys(sizes))


def comparison(points: list[dict]) -> list[str]:
    """Batching on over off at each point measured both ways: req/s, and p50 latency."""
    lines = []
    off = {(p["rows"], p["connections"]): p for p in points if p["max_batch_size"] == 1}
    for point in points:
        other = off.get((point["rows"], point["connections"]))
        if point["max_batch_size"] > 1 and other and other["rps"] and other["p50_ms"]:
            lines.append(
                f"batching on / off            c={point['connections']:<3} rows={point['rows']:<4} "
                f"{point['rps'] / other['rps']:>8.2f}x req/s  p50 {point['p50_ms'] / other['p50_ms']:.2f}x"
            )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10, help="per point, after a warm-up")
    parser.add_argument("--connections", default="1,4,16")
    parser.add_argument("--rows", default="1,100")
    parser.add_argument(
        "--batching",
        choices=("both", "on", "off"),
        default="both",
        help="adaptive batching on (MAX_BATCH_SIZE), off (MAX_BATCH_SIZE=1), or both, one server each",
    )
    parser.add_argument("--output", type=Path, default=PROJECT / "dist" / "bench.json")
    parser.add_argument(
        "--example",
        action="store_true",
        help="rows of the example saved beside the model, not SAMPLE_REQUEST",
    )
    args = parser.parse_args()

    port = free_port()
    url = f"http://127.0.0.1:{port}/predict"
    workers = runpy.run_path(str(PROJECT / "gunicorn.conf.py"))["workers"]  # WORKERS, or its default
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        sizes = batch_sizes(args.batching)
    except ValueError as error:  # MAX_BATCH_SIZE of the environment
        raise SystemExit(str(error)) from None
    # The bodies before any server: a model without a request to send is refused at once.
    bodies = {int(rows): request_body(int(rows), args.example) for rows in args.rows.split(",")}
    warm_up = bodies.get(1) or request_body(1, args.example)
    points = []
    print(f"gunicorn on 127.0.0.1:{port}, {workers} workers, {cpus} CPUs", flush=True)
    for size in sizes:
        name = f"scorer, batching {'on (' + str(size) + ')' if size > 1 else 'off'}"
        with gunicorn(port, {"MAX_BATCH_SIZE": str(size)}) as server:
            wrk(url, warm_up, connections=4, seconds=2)
            for rows, body in bodies.items():
                for connections in (int(value) for value in args.connections.split(",")):
                    since = server.log_end()
                    point = wrk(url, body, connections, args.seconds, rows)
                    calls = calls_per_request(server.log, since, server.log_end())
                    point = replace(point, calls_per_request=calls)
                    print(line(name, point), flush=True)
                    figures = {"rps": point.rps, "request_bytes": len(body), "max_batch_size": size}
                    points.append({**asdict(point), **figures})
    print("\n".join(comparison(points)))
    record = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": platform.machine(),
        "cpus": cpus,  # the CPUs this process may run on
        "workers": workers,
        "points": points,
    }
    write_json(args.output, record)
    print(f"wrote {args.output.relative_to(PROJECT) if args.output.is_relative_to(PROJECT) else args.output}")
    return 1 if any(point["errors"] or point["non_2xx"] for point in points) else 0


if __name__ == "__main__":
    sys.exit(main())
