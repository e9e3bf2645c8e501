"""The generated projects' `make bench`: wrk against the real server, a line per point.

Only that it measures, not how fast: speed goals live in the benchmarks (`make bench`
here, bench/run.py), never in timed tests.
"""

from __future__ import annotations

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
    assert [(c, rows) for c, rows, _, _ in points] == [(1, 1), (4, 1), (16, 1), (1, 100), (4, 100), (16, 100)]
    assert all(rps > 0 and errors == 0 for _, _, rps, errors in points), result.stdout
