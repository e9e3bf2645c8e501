"""Plan the deployment's capacity from this project's own `make bench` figures.

    make capacity TARGET_RPS=200 P99_MS=50 [BODY=166KB] [ROWS=100] [PEAK_RPS=400] [CAPACITY_ARGS=--write]

`make bench` records what the scorer served on this machine (dist/bench.json). This
turns a target, requests per second within a p99 latency, into what
deploy/deployment.toml needs to reach it, with the arithmetic shown:

- the bench point that serves the most within the p99, as requests per second per CPU
  (with adaptive batching on or off as the deployment's MAX_BATCH_SIZE has it: the
  bench measures both);
- workers: one per vCPU of an instance (the shape's OCPUs times its vCPUs per OCPU);
- instances: the target over what one instance serves at the autoscaling scale-out CPU
  (so the target alone never keeps it scaling out); the peak's count is the maximum;
- bandwidth_mbps: the peak's bytes per second through the load balancer (at least the
  default 10 Mbps, which caps a 166 KB body at about 7 requests per second whatever the
  CPUs do).

--write puts the numbers into deploy/deployment.toml, keeping its comments. A CPU of
this machine counts as a vCPU of the shape: bench on the shape itself (a notebook
session of it) before you commit to a bill.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from {{ cookiecutter.package_name }}.oci_rules import (
    DEFAULT_BANDWIDTH_MBPS,
    FLEX_SHAPES,
    MAX_API_INT,
    MAX_PERCENT,
    MOST_OF_ANY_SHAPE,
    check_range,
    check_shape,
    vcpus_per_ocpu,
)
from {{ cookiecutter.package_name }}.settings import MAX_BATCH_SIZE, limit

from .project import PROJECT, SETTINGS, SettingsError, read_settings, write_text

BENCH = PROJECT / "dist" / "bench.json"
SIZE_RE = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*(B|KB|KiB|MB|MiB)?", re.IGNORECASE)
UNITS = {"b": 1, "kb": 1000, "kib": 1024, "mb": 1000**2, "mib": 1024**2}


class CapacityError(ValueError):
    """No bench figures, none within the latency, or settings that can't be read or written."""


def positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < math.inf:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number")
    return value


def whole(text: str) -> int:
    if not text.isdigit() or int(text) == 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number above 0")
    return int(text)


def size(text: str) -> int:
    """Bytes from ``166KB``, ``1.5MB``, ``4096`` (KB and MB are powers of 1000, KiB and MiB of 1024)."""
    found = SIZE_RE.fullmatch(text.strip())
    if not found or float(found.group(1)) <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size such as 166KB, 2MB or 4096")
    return round(float(found.group(1)) * UNITS[(found.group(2) or "b").lower()])


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--target-rps", type=positive, required=True, help="requests per second to serve")
    parser.add_argument("--p99-ms", type=positive, required=True, help="the p99 latency to keep, in ms")
    parser.add_argument(
        "--peak-rps", type=positive, help="the peak (autoscaling's maximum); default: 2x target"
    )
    parser.add_argument("--body", type=size, help="bytes per request; default: the bench's body of ROWS rows")
    parser.add_argument("--rows", type=whole, help="rows per request; default: the fewest the bench measured")
    parser.add_argument("--ocpus", type=whole, help="OCPUs per instance; default: deploy/deployment.toml's")
    parser.add_argument("--bench", type=Path, default=BENCH, help="make bench's figures (dist/bench.json)")
    parser.add_argument("--settings", type=Path, default=SETTINGS)
    parser.add_argument("--write", action="store_true", help="put the plan into the settings file")


@dataclass(frozen=True)
class Plan:
    ocpus: int
    workers: int
    count: int
    maximum: int
    bandwidth_mbps: int
    lines: tuple[str, ...]  # the arithmetic, for people

    def settings(self, worker_keys: tuple[str, ...] = ("WORKERS",)) -> dict[tuple[str, str], Any]:
        """(section, key): value, as deploy/deployment.toml spells them; the worker count under
        each of ``worker_keys`` (WORKERS, WEB_CONCURRENCY: the ones the file has)."""
        return {
            ("instances", "ocpus"): self.ocpus,
            ("instances", "count"): self.count,
            ("instances", "bandwidth_mbps"): self.bandwidth_mbps,
            ("autoscaling", "enabled"): self.maximum > self.count,
            ("autoscaling", "minimum_instances"): self.count,
            ("autoscaling", "maximum_instances"): self.maximum,
{%- if cookiecutter.server != "triton" %}
            **{("container.environment", key): str(self.workers) for key in worker_keys},
{%- endif %}
        }


def worker_keys(settings: dict[str, Any]) -> tuple[str, ...]:
    """The names the settings file gives the worker count (both, if it has both: they must agree)."""
    environment = settings.get("container", {}).get("environment", {})
    return tuple(key for key in ("WORKERS", "WEB_CONCURRENCY") if key in environment) or ("WORKERS",)


# What the plan reads of deploy/deployment.toml (--write also replaces the keys of Plan.settings).
NEEDS = (
    "instances.shape",
    "instances.ocpus",
    "instances.bandwidth_mbps",
    "autoscaling.cpu_scale_out_percent",
)
POINT_KEYS = ("connections", "rows", "rps", "p99_ms", "errors", "non_2xx", "request_bytes")


def read_bench(path: Path) -> dict[str, Any]:
    """make bench's record, checked: CapacityError says what to do when it is missing or wrong."""
    try:
        bench = json.loads(path.read_text())
    except FileNotFoundError:
        raise CapacityError(f"{path} is not there: run `make bench` first (it writes it)") from None
    except (OSError, ValueError) as error:
        raise CapacityError(f"can't read {path} ({error}): run `make bench` again") from None
    numbers = (int, float)
    if not (
        isinstance(bench, dict)
        and all(isinstance(bench.get(key), int) and bench[key] > 0 for key in ("cpus", "workers"))
        and isinstance(bench.get("points"), list)
        and all(
            isinstance(point, dict) and all(isinstance(point.get(key), numbers) for key in POINT_KEYS)
            for point in bench["points"]
        )
    ):
        raise CapacityError(f"{path} is not a `make bench` record: run `make bench` again")
    return bench


def batch_size(settings: dict[str, Any]) -> int:
    """The deployment's MAX_BATCH_SIZE: its environment's, else the scorer's default."""
    environment = settings.get("container", {}).get("environment", {})
    try:
        return limit(environment, "MAX_BATCH_SIZE", MAX_BATCH_SIZE)
    except ValueError as error:
        raise CapacityError(f"[container.environment] {error}") from None


def batched_as_deployed(points: list[dict[str, Any]], size: int) -> tuple[list[dict[str, Any]], str]:
    """The points measured with batching on (``size`` above 1) or off as deployed, and a line saying
    which; all of them for a bench record that does not say (written before batching)."""
    if not any("max_batch_size" in point for point in points):
        return points, ""
    word = "on" if size > 1 else "off"
    chosen = [point for point in points if (point.get("max_batch_size", 1) > 1) == (size > 1)]
    if not chosen:
        raise CapacityError(
            f"the deployment has adaptive batching {word} (MAX_BATCH_SIZE {size}), and the bench "
            f"measured no point so: `make bench` (it measures both)"
        )
    return chosen, f"batching: {word} (MAX_BATCH_SIZE {size}): the bench's points with batching {word}"


def busy_cpus(workers: int, cpus: int) -> int:
    """The CPUs ``workers`` processes can keep busy on ``cpus``: a CPU of this machine counts as a
    vCPU of the shape (the module's note), and a worker uses one CPU at most."""
    return min(workers, cpus)


def instance_vcpus(settings: dict[str, Any], ocpus: int | None = None) -> tuple[str, int, int]:
    """The shape, its OCPUs (``ocpus``, else the settings') and the vCPUs of one instance;
    CapacityError when the settings lack them or OCI would refuse them."""
    try:
        shape, ocpus = settings["instances"]["shape"], ocpus or settings["instances"]["ocpus"]
    except (KeyError, TypeError) as error:
        raise CapacityError(f"the settings lack {error}: see the project's deploy/deployment.toml") from None
    most_ocpus = FLEX_SHAPES.get(str(shape), MOST_OF_ANY_SHAPE)[0]
    for problem in (
        check_shape(shape),
        check_range("instances.ocpus", ocpus, 1, most_ocpus, of=f" on {shape} (whole OCPUs here)"),
    ):
        if problem:
            raise CapacityError(problem)
    return shape, ocpus, ocpus * vcpus_per_ocpu(shape)


def plan(bench: dict[str, Any], settings: dict[str, Any], args: argparse.Namespace) -> Plan:
    """What reaches ``args.target_rps`` within ``args.p99_ms``; CapacityError when nothing measured does."""
    points = [
        point
        for point in bench["points"]
        if not point["errors"] and not point["non_2xx"] and point["rps"] > 0
    ]
    points, batching = batched_as_deployed(points, batch_size(settings))
    rows = args.rows or min((point["rows"] for point in points), default=1)
    measured = [point for point in points if point["rows"] == rows]
    if not measured:
        raise CapacityError(f"the bench measured no {rows}-row request without errors: `make bench`")
    within = [point for point in measured if point["p99_ms"] <= args.p99_ms]
    if not within:
        fastest = min(measured, key=lambda point: point["p99_ms"])
        raise CapacityError(
            f"no {rows}-row point of the bench has a p99 within {args.p99_ms:g} ms (the lowest: "
            f"{fastest['p99_ms']:.1f} ms at {fastest['connections']} connections): allow more, or serve faster"
        )
    best = max(within, key=lambda point: point["rps"])
    cpus = busy_cpus(bench["workers"], bench["cpus"])
    per_cpu = best["rps"] / cpus
    shape, ocpus, vcpus = instance_vcpus(settings, args.ocpus)
    try:
        instances, autoscaling = settings["instances"], settings["autoscaling"]
        percent, bandwidth_now = autoscaling["cpu_scale_out_percent"], instances["bandwidth_mbps"]
    except (KeyError, TypeError) as error:
        raise CapacityError(f"the settings lack {error}: see the project's deploy/deployment.toml") from None
    for problem in (
        check_range("autoscaling.cpu_scale_out_percent", percent, 1, MAX_PERCENT),
        check_range("instances.bandwidth_mbps", bandwidth_now, 1, MAX_API_INT),
    ):
        if problem:
            raise CapacityError(problem)
    load = percent / 100
    per_instance = per_cpu * vcpus * load
    peak = args.peak_rps or 2 * args.target_rps
    if not peak / per_instance < MAX_API_INT:  # no count OCI takes (and never infinity)
        raise CapacityError(f"{peak:g} req/s needs more than {MAX_API_INT} instances: a smaller target")
    count = math.ceil(args.target_rps / per_instance)
    maximum = max(count, math.ceil(peak / per_instance))
    body = args.body or best["request_bytes"]
    needed_mbps = peak * body * 8 / 1e6
    bandwidth = max(DEFAULT_BANDWIDTH_MBPS, math.ceil(needed_mbps))
    carried = bandwidth_now * 1e6 / 8 / body
    lines = [
{%- if cookiecutter.server == "triton" %}
        "note: the bench measures the Python scorer; the deployment runs Triton: bench Triton before billing",
{%- endif %}
        *([batching] if batching else []),
        f"measured: {best['rps']:.0f} req/s at {best['connections']} connections, p99 {best['p99_ms']:.1f} ms "
        f"<= {args.p99_ms:g} ms, {rows}-row requests ({best['request_bytes']:,} bytes), "
        f"{bench['workers']} workers on {bench['cpus']} CPUs",
        f"per CPU: {best['rps']:.0f} / min({bench['workers']} workers, {bench['cpus']} CPUs) = {per_cpu:.1f} req/s",
        f"an instance: {ocpus} OCPU x {vcpus_per_ocpu(shape)} vCPU ({shape}) = {vcpus} vCPUs, {vcpus} workers, "
        f"{per_cpu:.1f} x {vcpus} x {load:.0%} (scale-out CPU) = {per_instance:.1f} req/s",
        f"instances: ceil({args.target_rps:g} / {per_instance:.1f}) = {count} for the target, "
        f"ceil({peak:g} / {per_instance:.1f}) = {maximum} for the peak",
        f"bandwidth: {peak:g} req/s x {body:,} bytes x 8 = {needed_mbps:.1f} Mbps -> {bandwidth} Mbps",
    ]
    if carried < peak:
        lines.append(
            f"bound by bandwidth: the {bandwidth_now} Mbps set now carries {carried:.1f} req/s of {body:,} "
            f"bytes, under the {peak:g} req/s peak, whatever the CPUs do; the plan sets {bandwidth} Mbps"
        )
    if args.body and not args.rows:
        lines.append(
            f"note: the CPU figures are for {rows}-row requests of {best['request_bytes']:,} bytes; "
            "ROWS= picks the bench's figures for requests like BODY"
        )
    return Plan(ocpus, vcpus, count, maximum, bandwidth, tuple(lines))


def toml_value(value: Any) -> str:
    return json.dumps(value)  # booleans, integers and strings are written alike in TOML


def with_plan(text: str, values: dict[tuple[str, str], Any]) -> str:
    """``text`` (deploy/deployment.toml) with each key's value replaced, comments kept;
    CapacityError naming the keys the file lacks (nothing is written then)."""
    section, lines, replaced = "", [], set()
    for line in text.splitlines(keepends=True):
        header = re.fullmatch(r"\s*\[([A-Za-z0-9_.]+)\]\s*(?:#.*)?\n?", line)
        section = header.group(1) if header else section
        key = re.fullmatch(r"(\s*)([A-Za-z0-9_]+)(\s*=\s*)[^#\n]*?(\s*#.*)?\n?", line)
        if key and (section, key.group(2)) in values:
            indent, name, equals, comment = key.groups()
            line = f"{indent}{name}{equals}{toml_value(values[section, name])}{comment or ''}\n"
            replaced.add((section, name))
        lines.append(line)
    if missing := [f"{section}.{name}" for section, name in values if (section, name) not in replaced]:
        raise CapacityError(f"the settings file has no {', '.join(missing)}: add them, then --write again")
    return "".join(lines)


def run(args: argparse.Namespace) -> int:
    try:
        settings = read_settings(args.settings, NEEDS)
        result = plan(read_bench(args.bench), settings, args)
    except (CapacityError, SettingsError) as error:
        print(f"no plan: {error}", file=sys.stderr)
        return 1
    print("\n".join(result.lines))
    print("\nthe plan, in deploy/deployment.toml's words:")
    planned = result.settings(worker_keys(settings))
    for (section, key), value in planned.items():
        print(f"  [{section}] {key} = {toml_value(value)}")
    if args.write:
        try:
            write_text(args.settings, with_plan(args.settings.read_text(), planned))
        except CapacityError as error:
            print(f"not written: {error}", file=sys.stderr)
            return 1
        print(f"wrote them into {args.settings}; `make deploy-config` puts them into the request bodies")
    return 0
