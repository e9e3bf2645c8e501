"""Benchmark the generated scorers against their peers, side by side, in one run.

Bakes the default Flask and FastAPI projects, makes the peers' environments, and
drives every server on loopback with the same wrk script (the generated projects'
``scripts/bench.py``): the origin document's sample server, bare Flask and FastAPI
floors, the generated scorers, and BentoML, on the template's default model, on
a 160-feature LDA, and on the mixed DataFrame pipeline (the projects' churn sample:
text, missing values; floors that build the same DataFrame, no BentoML); then the
scorers with adaptive batching on (their default) and off (MAX_BATCH_SIZE=1), one row per
request, on the default model and the mixed pipeline. Prints the tables and the goals,
and saves everything as JSON.

    python bench/run.py [--seconds 10] [--origin-seconds 60] [--repeats 3] [--output FILE]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from cookiecutter.main import cookiecutter

HERE = Path(__file__).resolve().parent
TEMPLATE, PEERS = HERE.parent, HERE / "peers"
BUILD = TEMPLATE / "build" / "bench"
CONNECTIONS, ROWS = (1, 4, 16), (1, 100)
WORKERS = 2  # the template's default, and every peer's in the main tables
GOAL_CONNECTIONS = 4
SETTLE_SECONDS = 2
MIXED_SERVERS = {"flask floor", "flask scorer", "fastapi floor", "fastapi scorer"}
# The scorers' environment for adaptive batching on (their default) and off.
BATCHING = {"on": {}, "off": {"MAX_BATCH_SIZE": "1"}}


@dataclass(frozen=True)
class Server:
    """How to start one server; ``{port}`` in the command is replaced."""

    name: str
    command: list[str]
    cwd: Path
    env: dict[str, str] = field(default_factory=dict)
    health: str = "/health"
    port: int = 0  # 0: any free port (the origin sample insists on 5000)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def clean_env(**extra: str) -> dict[str, str]:
    outer_make = {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES"}
    return {**{k: v for k, v in os.environ.items() if k not in outer_make}, **extra}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def venv(name: str, requirements: Path) -> Path:
    """A virtual environment with ``requirements``, made again when they change."""
    folder = BUILD / f"{name}-venv"
    stamp = folder / ".requirements-sha256"
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()
    if not stamp.is_file() or stamp.read_text() != digest:
        log(f"making {folder} from {requirements.name} ...")
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(folder)], check=True)
        pip = [str(folder / "bin/python"), "-m", "pip", "install", "--quiet"]
        subprocess.run([*pip, "-r", str(requirements)], check=True)
        stamp.write_text(digest)
    return folder / "bin"


def project(framework: str) -> Path:
    """The default project of ``framework``, baked, installed and trained once."""
    folder = BUILD / framework / "my-model-service"
    if not (folder / "model_artifact" / "model.joblib").is_file():
        log(f"baking and installing the default {framework} project ...")
        cookiecutter(
            str(TEMPLATE),
            no_input=True,
            overwrite_if_exists=True,
            extra_context={"framework": framework},
            output_dir=str(folder.parent),
        )
        subprocess.run(["make", "install", "train"], cwd=folder, env=clean_env(), check=True)
    return folder


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return response.status == 200
    except OSError:
        return False


@contextmanager
def serve(server: Server, **env: str) -> Iterator[tuple[str, float, subprocess.Popen]]:
    """Start ``server``; yield its base URL, seconds from start to healthy, and the process."""
    port = server.port or free_port()
    command = [part.replace("{port}", str(port)) for part in server.command]
    started = time.monotonic()
    process = subprocess.Popen(
        command,
        cwd=server.cwd,
        env=clean_env(**server.env, **env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # the group goes down together (debug reloaders, workers)
    )
    base = f"http://127.0.0.1:{port}"
    try:
        while not healthy(base + server.health):
            if process.poll() is not None or time.monotonic() - started > 120:
                raise SystemExit(f"{server.name} did not become healthy: {' '.join(command)}")
            time.sleep(0.05)
        healthy_seconds = time.monotonic() - started
        # One worker ready is enough for /health; the others may still be loading (the
        # scorers' workers take connections only then), and wrk's connections, opened at once,
        # would all land on the first: give every worker time to be ready.
        time.sleep(SETTLE_SECONDS)
        yield base, healthy_seconds, process
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def memory(process: subprocess.Popen) -> dict[str, float]:
    """RSS and PSS (shared pages split between sharers) of the workers, in MB."""
    workers = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()

    def field_mb(pid: str, name: str) -> float:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith(name + ":"):
                return int(line.split()[1]) / 1024
        return 0.0

    return {
        "workers": len(workers),
        "rss_mb_per_worker": statistics.mean(field_mb(pid, "Rss") for pid in workers),
        "pss_mb_per_worker": statistics.mean(field_mb(pid, "Pss") for pid in workers),
        "pss_mb_master": field_mb(str(process.pid), "Pss"),
    }


class Bench:
    """Runs wrk points with the generated projects' own runner and keeps every figure."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.flask, self.fastapi = project("flask"), project("fastapi")
        # The project's wrk runner, and the package it writes its figures with (standard library only).
        sys.path[:0] = [str(self.flask / "scripts"), str(self.flask / "src")]
        import bench  # the generated projects' wrk runner: one script for every server

        self.wrk = bench.wrk
        self.origin_bin = venv("origin", HERE / "requirements-origin.txt")
        self.bentoml_bin = venv("bentoml", HERE / "requirements-bentoml.txt")
        self.eeg = BUILD / "eeg"
        if not (self.eeg / "test.json").is_file():
            subprocess.run(
                [str(self.flask / ".venv/bin/python"), str(PEERS / "make_eeg.py"), str(self.eeg)], check=True
            )
        self.mixed = BUILD / "mixed"
        if not (self.mixed / "model.joblib").is_file():
            command = [str(self.flask / ".venv/bin/python"), "scripts/train.py", "--sample", "churn"]
            command += ["--output-dir", str(self.mixed), "--sample-request", str(self.mixed / "request.json")]
            subprocess.run(command, cwd=self.flask, env=clean_env(PYTHONPATH="src"), check=True)
        self.results: dict[str, Any] = {
            "points": [],
            "spread": [],
            "spread_lda": [],
            "spread_mixed": [],
            "one_worker": [],
            "workers": [],
            "start": [],
            "batching": [],
        }

    def models(self) -> dict[str, tuple[Path, dict[int, bytes]]]:
        sample = json.loads((self.flask / "sample_request.json").read_text())["instances"]
        iris = {
            rows: json.dumps({"instances": [sample[i % len(sample)] for i in range(rows)]}).encode()
            for rows in ROWS
        }
        lda = {rows: (self.eeg / f"lda_request_{rows}.json").read_bytes() for rows in ROWS}
        records = json.loads((self.mixed / "request.json").read_text())["data"]  # text, a missing income
        mixed = {
            rows: json.dumps({"data": [records[i % len(records)] for i in range(rows)]}).encode()
            for rows in ROWS
        }
        return {
            "default": (self.flask / "model_artifact" / "model.joblib", iris),
            "lda160": (self.eeg / "lda_model" / "model.joblib", lda),
            "mixed": (self.mixed / "model.joblib", mixed),
        }

    def servers(self, model: Path, workers: int = WORKERS) -> list[Server]:
        flask_bin, fastapi_bin = self.flask / ".venv/bin", self.fastapi / ".venv/bin"
        floor = {"MODEL_PATH": str(model)}
        scorer = {"MODEL_DIR": str(model.parent), "MODEL_FILE": model.name, "WORKERS": str(workers)}
        bind = ["--bind", "127.0.0.1:{port}", "--workers", str(workers)]
        return [
            Server("flask floor", [str(flask_bin / "gunicorn"), *bind, "floor_flask:app"], PEERS, floor),
            Server(
                "flask scorer",
                [str(flask_bin / "gunicorn"), "-c", "gunicorn.conf.py", *bind],
                self.flask,
                scorer,
            ),
            Server(
                "fastapi floor",
                [
                    str(fastapi_bin / "gunicorn"),
                    *bind,
                    "-k",
                    "uvicorn_worker.UvicornWorker",
                    "floor_fastapi:app",
                ],
                PEERS,
                floor,
            ),
            Server(
                "fastapi scorer",
                [str(fastapi_bin / "gunicorn"), "-c", "gunicorn.conf.py", *bind],
                self.fastapi,
                scorer,
            ),
            Server(
                "bentoml",
                [
                    str(self.bentoml_bin / "bentoml"),
                    "serve",
                    "bentoml_service:Scorer",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    "{port}",
                ],
                PEERS,
                {**floor, "BENTO_WORKERS": str(workers)},
                health="/readyz",
            ),
        ]

    def point(
        self, base: str, body: bytes, connections: int, rows: int, seconds: float, **labels: Any
    ) -> dict:
        point = self.wrk(f"{base}/predict", body, connections, seconds, rows)
        record = {**labels, **asdict(point), "rps": point.rps}
        log(
            f"  {labels.get('server', ''):<15} {labels.get('model', ''):<8} c={connections:<3} rows={rows:<4}"
            f"{point.rps:>9.1f} req/s  p50 {point.p50_ms:7.2f} ms  p99 {point.p99_ms:7.2f} ms"
            f"  errors {point.errors + point.non_2xx}"
        )
        return record

    def grid(self) -> None:
        for model_name, (model, bodies) in self.models().items():
            for server in self.servers(model):
                if model_name == "mixed" and server.name not in MIXED_SERVERS:
                    continue  # BentoML's service takes rows of numbers
                log(f"{server.name}, {model_name} model:")
                with serve(server) as (base, _, _):
                    self.wrk(f"{base}/predict", bodies[1], 4, 2)  # warm-up
                    for rows in ROWS:
                        for connections in CONNECTIONS:
                            self.results["points"].append(
                                self.point(
                                    base,
                                    bodies[rows],
                                    connections,
                                    rows,
                                    self.args.seconds,
                                    server=server.name,
                                    model=model_name,
                                    workers=WORKERS,
                                )
                            )

    def batching(self) -> None:
        """The scorers with adaptive batching on and off, one row per request, every connection
        count, on the default model and the mixed pipeline (a model call's fixed cost, shared)."""
        for model_name in ("default", "mixed"):
            model, bodies = self.models()[model_name]
            for server in (s for s in self.servers(model) if s.name in MIXED_SERVERS and "scorer" in s.name):
                for state, env in BATCHING.items():
                    log(f"{server.name}, {model_name} model, batching {state}:")
                    with serve(server, **env) as (base, _, _):
                        self.wrk(f"{base}/predict", bodies[1], 4, 2)  # warm-up
                        for connections in CONNECTIONS:
                            labels = {"server": server.name, "model": model_name, "workers": WORKERS}
                            self.results["batching"].append(
                                self.point(
                                    base,
                                    bodies[1],
                                    connections,
                                    1,
                                    self.args.seconds,
                                    **labels,
                                    batching=state,
                                )
                            )

    def origin(self) -> None:
        server = Server(
            "origin sample",
            [str(self.origin_bin / "python"), str(PEERS / "origin_api.py")],
            self.eeg,
            {
                "WORK_DIRECTORY": str(self.eeg),
                "MODEL_DIR": str(self.eeg / "models"),
                "MODEL_FILE_LDA": "clf_lda.joblib",
            },
            port=5000,
        )
        log("origin sample (Flask debug server, pandas re-read and model reload per request):")
        with serve(server) as (base, _, _):
            for connections in CONNECTIONS:
                self.results["points"].append(
                    self.point(
                        base,
                        b'{"line": 7}',
                        connections,
                        1,
                        self.args.origin_seconds,
                        server=server.name,
                        model="lda160",
                        workers=1,
                    )
                )

    def repeated(
        self,
        key: str,
        workers: int,
        connections: int,
        names: set[str],
        model_name: str = "default",
        rows: int = 1,
    ) -> None:
        """Each server restarted ``repeats`` times, in turns: a slow spell hits them alike."""
        model, bodies = self.models()[model_name]
        servers = [s for s in self.servers(model, workers) if s.name in names]
        runs: dict[str, list[dict]] = {server.name: [] for server in servers}
        for _ in range(self.args.repeats):
            for server in servers:
                with serve(server) as (base, _, _):
                    self.wrk(f"{base}/predict", bodies[rows], connections, 2)
                    labels = {"server": server.name, "model": model_name, "workers": workers}
                    runs[server.name].append(
                        self.point(base, bodies[rows], connections, rows, self.args.seconds, **labels)
                    )
        for server in servers:
            rates = [run["rps"] for run in runs[server.name]]
            self.results[key].append(
                {
                    "server": server.name,
                    "model": model_name,
                    "workers": workers,
                    "connections": connections,
                    "rows": rows,
                    "rps": rates,
                    "median": statistics.median(rates),
                    "min": min(rates),
                    "max": max(rates),
                    "p99_ms": statistics.median(run["p99_ms"] for run in runs[server.name]),
                }
            )

    def start_and_memory(self) -> None:
        model, _ = self.models()["default"]
        for server in self.servers(model):
            if "scorer" not in server.name:
                continue
            for preload in (False, True):
                variant = replace(server, command=[*server.command, *(["--preload"] if preload else [])])
                with serve(variant) as (_, seconds, process):
                    time.sleep(3)  # every worker loaded and warm
                    figures = {
                        "server": server.name,
                        "preload": preload,
                        "healthy_s": seconds,
                        **memory(process),
                    }
                self.results["start"].append(figures)
                log(
                    f"  {server.name:<15} preload={preload!s:<5} healthy {seconds:5.2f} s  "
                    f"RSS {figures['rss_mb_per_worker']:6.1f} MB/worker  "
                    f"PSS {figures['pss_mb_per_worker']:6.1f} MB/worker"
                )

    def worker_counts(self) -> None:
        model, bodies = self.models()["default"]
        for workers in (1, 2, 3, 4):
            for server in (s for s in self.servers(model, workers) if "scorer" in s.name):
                with serve(server) as (base, _, _):
                    self.wrk(f"{base}/predict", bodies[1], 16, 2)
                    point = self.point(
                        base,
                        bodies[1],
                        16,
                        1,
                        self.args.seconds,
                        server=server.name,
                        model="default",
                        workers=workers,
                    )
                self.results["workers"].append(point)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10, help="per point, after a warm-up")
    parser.add_argument(
        "--origin-seconds", type=float, default=60, help="per point of the slow origin sample"
    )
    parser.add_argument("--repeats", type=int, default=3, help="restarts per server for the spread")
    parser.add_argument("--output", type=Path, default=BUILD / "results.json")
    args = parser.parse_args()

    from report import SCORERS, goals, print_tables  # beside this file

    bench = Bench(args)
    log("== every server, every point ==")
    bench.grid()
    bench.origin()
    log("== spread of repeated runs (restart each time), c4, one row ==")
    everyone = {"flask floor", "flask scorer", "fastapi floor", "fastapi scorer", "bentoml"}
    bench.repeated("spread", WORKERS, GOAL_CONNECTIONS, everyone)
    log("== the same for the scorers on the LDA (the goal against the origin sample) ==")
    bench.repeated("spread_lda", WORKERS, GOAL_CONNECTIONS, set(SCORERS), "lda160")
    log("== the same for the mixed DataFrame pipeline against floors that build the same DataFrame ==")
    for rows in ROWS:
        bench.repeated("spread_mixed", WORKERS, GOAL_CONNECTIONS, MIXED_SERVERS, "mixed", rows)
    log("== one worker each ==")
    bench.repeated("one_worker", 1, GOAL_CONNECTIONS, everyone - {"bentoml"})
    log("== start to healthy, memory, with and without --preload ==")
    bench.start_and_memory()
    log("== worker count, c16 ==")
    bench.worker_counts()
    log("== adaptive batching on and off, one row ==")
    bench.batching()

    results = bench.results | {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "settings": {"seconds": args.seconds, "origin_seconds": args.origin_seconds, "repeats": args.repeats},
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2))  # the figures first, whatever follows
    results["goals"] = goals(results)
    args.output.write_text(json.dumps(results, indent=2))
    print_tables(results)
    print(f"\nsaved: {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
