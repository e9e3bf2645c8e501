"""Record how long the container took to become healthy here, for the pre-flight's start-time check.

`make run` and `make deploy-local` write dist/start-time.json once the container answers
/health (or, when it never does, how long it was given: a record of an earlier run would
mislead): the seconds it took, the image's local id, the model's load time (from the
scorer's own log lines: the first worker's "loading model" to the last worker's "model
ready"), the workers that loaded it, and the CPUs the container engine had, so `make deploy-config` can scale the figure to
the deployment's shape (failure_risks.py). dist/ is the tooling's measurements of this
machine (make bench's dist/bench.json sits beside it), and git ignores it.

    python -m {{ cookiecutter.package_name }}_ops start-time (--seconds 12 | --not-healthy-after 600) --container NAME [--cli docker] [--image IMAGE] [--source "make run"]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from .errors import amount
from .project import PROJECT, write_json
from .push_record import RecordError, inspect_image

START_RECORD = PROJECT / "dist" / "start-time.json"
# The scorer's log lines (scorer.py) that open and close a worker's model load.
LOADING, READY = "loading model", "model ready"


def load_span(log_text: str) -> tuple[float | None, int]:
    """Seconds from the first "loading model" line to the last "model ready" line of the scorer's
    JSON log, and how many workers started loading; (None, n) when no load finished."""
    loading: list[datetime] = []
    ready: list[datetime] = []
    for line in log_text.splitlines():
        try:
            entry = json.loads(line)
            stamp = datetime.fromisoformat(entry["time"].replace("Z", "+00:00"))
        except (ValueError, KeyError, TypeError, AttributeError):
            continue  # gunicorn's own lines, and anything else that is not the scorer's JSON
        if not isinstance(entry, dict):
            continue
        if entry.get("message") == LOADING:
            loading.append(stamp)
        elif entry.get("message") == READY:
            ready.append(stamp)
    if not loading or not ready:
        return None, len(loading)
    return max(0.0, (max(ready) - min(loading)).total_seconds()), len(loading)


def engine_cpus(cli: str) -> int:
    """The CPUs the container engine runs containers on (docker's NCPU, podman's host.cpus: a
    Docker Desktop VM has fewer than the Mac), else this machine's."""
    try:
        result = subprocess.run([cli, "info", "--format", "json"], capture_output=True, text=True, timeout=30)
        info = json.loads(result.stdout) if result.returncode == 0 else {}
    except (OSError, ValueError, subprocess.TimeoutExpired):
        info = {}
    host = info.get("host") if isinstance(info, dict) else None
    found = (info.get("NCPU") if isinstance(info, dict) else None) or (
        host.get("cpus") if isinstance(host, dict) else None
    )
    return found if isinstance(found, int) and found > 0 else os.cpu_count() or 1


def container_logs(cli: str, name: str) -> str:
    """The container's stdout and stderr ("" when the engine can't give them)."""
    try:
        result = subprocess.run([cli, "logs", name], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return result.stdout + "\n" + result.stderr


def image_id(cli: str, image: str) -> str | None:
    """The local id of ``image`` (as push_record.py records the pushed one's), None when unknown."""
    try:
        return inspect_image(cli, image)["local_id"] if image else None
    except RecordError:
        return None


def start_record(
    source: str,
    healthy_seconds: float | None,
    log_text: str,
    cpus: int,
    image: str = "",
    local_id: str | None = None,
    not_healthy_after: float | None = None,
) -> dict[str, Any]:
    """The record of one start: what ran (``local_id``: the image's id), how long it took, on how
    many CPUs; ``healthy_seconds`` None and ``not_healthy_after`` when it never became healthy."""
    load_seconds, workers = load_span(log_text)
    return {
        "source": source,
        "image": image,
        "local_id": local_id,
        "healthy_seconds": None if healthy_seconds is None else round(healthy_seconds, 1),
        "not_healthy_after": None if not_healthy_after is None else round(not_healthy_after, 1),
        "load_seconds": None if load_seconds is None else round(load_seconds, 1),
        "workers": workers or None,
        "cpus": cpus,
        "recorded": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def record_start(path: Path, *arguments: Any, **options: Any) -> dict[str, Any]:
    """Write the record of start_record(``arguments``, ``options``) to ``path`` and return it: a start
    that never became healthy replaces an earlier record too, which would tell of another run."""
    record = start_record(*arguments, **options)
    write_json(path, record)
    return record


def described(record: dict[str, Any]) -> str:
    """One line for people: "healthy after 12.0 s (model load 8.1 s, 2 workers) on 8 CPUs", or
    "not healthy after 600 s (...)"."""
    load = record.get("load_seconds")
    parts = [f"model load {load:g} s" if load is not None else "model load not logged"]
    if record.get("workers"):
        parts.append(f"{record['workers']} worker{'s' if record['workers'] != 1 else ''}")
    if record.get("healthy_seconds") is None:
        return f"not healthy after {record['not_healthy_after']:g} s ({', '.join(parts)}) on {record['cpus']} CPUs"
    return f"healthy after {record['healthy_seconds']:g} s ({', '.join(parts)}) on {record['cpus']} CPUs"


def read_start_record(path: Path = START_RECORD) -> dict[str, Any] | None:
    """The recorded start, or None when none was recorded or the file is not one."""
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    numbers = (int, float)
    if not isinstance(record, dict):
        return None
    took = record.get("healthy_seconds")
    if took is None:  # it never became healthy: the record says after how long it was given up
        took = record.get("not_healthy_after")
    if not (
        isinstance(took, numbers)
        and took >= 0
        and isinstance(record.get("cpus"), int)
        and record["cpus"] > 0
        and (record.get("workers") is None or (isinstance(record["workers"], int) and record["workers"] > 0))
        and (record.get("load_seconds") is None or isinstance(record["load_seconds"], numbers))
    ):
        return None
    return record


def add_arguments(parser: argparse.ArgumentParser) -> None:
    took = parser.add_mutually_exclusive_group(required=True)
    took.add_argument("--seconds", type=amount("seconds"), help="seconds until /health answered")
    took.add_argument(
        "--not-healthy-after", type=amount("seconds"), help="it never answered: seconds it was given"
    )
    parser.add_argument("--container", required=True, help="the container, for its log")
    parser.add_argument("--cli", default="docker")
    parser.add_argument("--source", default="make run")
    parser.add_argument("--image", default="")
    parser.add_argument("--output", type=Path, default=START_RECORD)


def run(args: argparse.Namespace) -> int:
    logs = container_logs(args.cli, args.container)
    record = record_start(
        args.output,
        args.source,
        args.seconds,
        logs,
        engine_cpus(args.cli),
        args.image,
        image_id(args.cli, args.image),
        args.not_healthy_after,
    )
    print(f"recorded in {args.output}: {described(record)}")
    return 0
