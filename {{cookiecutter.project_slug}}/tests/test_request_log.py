"""Access lines stay short whatever the client sends: its path and method are cut, marked."""

from __future__ import annotations

import asyncio
import json
import logging
import time

import pytest

from {{ cookiecutter.package_name }}.request_log import (
    MAX_LOGGED_PATH,
    HeldAccessLines,
    JsonFormatter,
    log_request,
)

LONG_PATH = "/" + "a" * 64_999  # 65,000 characters: a 65 KB line before the cut


def logged_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The access lines written, as the server writes them."""
    formatter = JsonFormatter()
    return [formatter.format(record) for record in caplog.records if record.name == "scorer.access"]


def assert_cut(line: str) -> None:
    """A line under 1 KB whose path is the path's start, marked as cut with the length sent."""
    assert len(line.encode()) < 1024
    path = json.loads(line)["path"]
    assert path == LONG_PATH[:MAX_LOGGED_PATH] + "...[cut: 65000 chars]"


def test_log_request_cuts_a_long_path(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="scorer.access")
    log_request("GET", LONG_PATH, 404, time.perf_counter(), None)
    (line,) = logged_lines(caplog)
    assert_cut(line)


def test_held_access_lines_cut_a_long_path(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="scorer.access")
    lines = HeldAccessLines(hold_seconds=3600)

    async def one_request() -> None:
        lines.add("GET", LONG_PATH, 404, time.perf_counter(), None)

    asyncio.run(one_request())
    lines.write()
    (line,) = logged_lines(caplog)
    assert_cut(line)


def test_a_long_method_is_cut_and_the_worst_line_stays_bounded(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="scorer.access")
    # Control characters are written as \u0000 (6 bytes each): the longest a cut path can be.
    log_request("X" * 10_000, "/\x00" * 30_000, 400, time.perf_counter(), "r" * 200)
    (line,) = logged_lines(caplog)
    fields = json.loads(line)
    assert fields["method"] == "X" * 20 + "...[cut: 10000 chars]"
    assert fields["path"].endswith("...[cut: 60000 chars]")
    assert len(line.encode()) < 6 * MAX_LOGGED_PATH + 600


def test_short_fields_are_logged_as_sent(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="scorer.access")
    path = "/" + "p" * (MAX_LOGGED_PATH - 1)  # exactly the limit: not cut
    log_request("DELETE", path, 405, time.perf_counter(), "id-1")
    fields = json.loads(logged_lines(caplog)[0])
    assert (fields["method"], fields["path"], fields["opc-request-id"]) == ("DELETE", path, "id-1")
