"""The generated projects' `make bench`: wrk against the real server, a line per point, and
the record of them that `make capacity` plans from.

Only that it measures, not how fast: speed goals live in the benchmarks (`make bench`
here, bench/run.py), never in timed tests.
"""

from __future__ import annotations

import json
import os
import re

import pytest
from baking import DEFAULT_FASTAPI, DEFAULT_FLASK, Combo, run

POINT = re.compile(r"c=(\d+)\s+rows=(\d+)\s+([\d.]+) req/s .* errors (\d+)")


@pytest.mark.parametrize("combo", [DEFAULT_FLASK.param(), DEFAULT_FASTAPI.param()])
def test_make_bench_measures_every_point_without_errors(baked, combo: Combo) -> None:
    result = run(["make", "bench", "BENCH_SECONDS=1"], baked(combo))
    points = [
        (int(c), int(rows), float(rps), int(errors)) for c, rows, rps, errors in POINT.findall(result.stdout)
    ]
    measured = [(c, rows) for c, rows, _, _ in points]
    # Adaptive batching on (the scorer's default MAX_BATCH_SIZE), then off, and how they compare.
    every = [(1, 1), (4, 1), (16, 1), (1, 100), (4, 100), (16, 100)]
    assert measured == every + every
    assert all(rps > 0 and errors == 0 for _, _, rps, errors in points), result.stdout
    assert result.stdout.count("batching on / off") == len(every), result.stdout

    # The record `make capacity` plans from: the same points, the workers and the machine's CPUs.
    record = json.loads((baked(combo) / "dist" / "bench.json").read_text())
    assert record["workers"] == 2 and record["cpus"] == len(os.sched_getaffinity(0))
    assert [(point["connections"], point["rows"]) for point in record["points"]] == measured
    assert [point["max_batch_size"] for point in record["points"]] == [64] * 6 + [1] * 6
    assert all(point["request_bytes"] > 0 and point["p99_ms"] > 0 for point in record["points"])
    # The model calls a request took, from the server's request log: one each when batching is off,
    # alone, or of 100 rows (over MAX_BATCH_SIZE); shared calls only with company and batching on.
    points = record["points"]
    calls = {(p["max_batch_size"], p["connections"], p["rows"]): p["calls_per_request"] for p in points}
    assert result.stdout.count("calls/request ") == len(calls), result.stdout
    alone = [point for point in calls if point[0] == 1 or point[1] == 1 or point[2] == 100]
    assert all(calls[point] == 1.0 for point in alone), calls
    assert all(0 < calls[point] <= 1 for point in calls), calls
    slowest = max(point["p99_ms"] for point in record["points"] if point["rows"] == 1)
    plan = run(["make", "capacity", "TARGET_RPS=100", f"P99_MS={slowest + 1}"], baked(combo))
    assert "[instances] count = " in plan.stdout and "per CPU: " in plan.stdout, plan.stdout
    assert "batching: on (MAX_BATCH_SIZE 64): the bench's points with batching on" in plan.stdout
