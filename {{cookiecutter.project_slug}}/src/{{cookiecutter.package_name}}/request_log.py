"""JSON log lines on stdout: one per request, and the scorer's own events.

OCI Model Deployment ships the container's stdout and stderr to OCI Logging;
one JSON object per line keeps the lines searchable there.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
import time

import msgspec

REQUEST_ID_HEADER = "opc-request-id"
# OCI's request ids are a few dozen letters, digits and "/"; anything else sent in
# that header is neither echoed nor logged.
REQUEST_ID = re.compile(r"[A-Za-z0-9._:/+=-]{1,200}")
# The method and the path come from the client too: each is logged cut at this many characters,
# marked with the length sent (a 65,000-character path made a 65 KB line). 256 keep every path
# the scorer serves and enough of a probe's to tell what it was; gunicorn takes methods of 3 to 20.
MAX_LOGGED_PATH, MAX_LOGGED_METHOD = 256, 20
access_log = logging.getLogger("scorer.access")
# A line a request is on the hot path: msgspec writes it in a tenth of json.dumps's time
# (UTF-8, NaN as null); anything it can't encode is written as its str().
ENCODER = msgspec.json.Encoder(enc_hook=str)


def request_id_of(value: str | bytes | None) -> str | None:
    """The opc-request-id header's value when it looks like one, else None."""
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    return value if value is not None and REQUEST_ID.fullmatch(value) else None


class JsonFormatter(logging.Formatter):
    """A record as one JSON object: time, level, logger, message and its fields."""

    def __init__(self) -> None:
        super().__init__()
        self.second, self.stamp = -1, ""

    def format(self, record: logging.LogRecord) -> str:
        second = int(record.created)
        if second != self.second:  # one strftime a second, not one a line
            self.second, self.stamp = second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        line = {
            "time": f"{self.stamp}.{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(getattr(record, "fields", {}))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return ENCODER.encode(line).decode()


def configure_logging(level: str) -> None:
    """Send every log record to stdout as JSON (once per process)."""
    root = logging.getLogger()
    if any(isinstance(handler.formatter, JsonFormatter) for handler in root.handlers):
        return
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(level)


def cut(value: str, limit: int) -> str:
    """``value``, or its first ``limit`` characters and how long it was, marked so a reader sees the cut."""
    return value if len(value) <= limit else f"{value[:limit]}...[cut: {len(value)} chars]"


def access_fields(
    method: str, path: str, status: int, started: float, request_id: str | None, batch: int = 0
) -> dict:
    """An access line's fields; ``started`` is a ``time.perf_counter()`` reading. The method and
    the path are cut (``cut``); the request id is logged only when it looks like one (``request_id_of``).
    ``batch``: how many requests shared the model call that answered this one (``batching.py``),
    logged when a call answered it."""
    fields = {
        "method": cut(method, MAX_LOGGED_METHOD),
        "path": cut(path, MAX_LOGGED_PATH),
        "status": status,
        "latency_ms": round((time.perf_counter() - started) * 1000, 3),
        REQUEST_ID_HEADER: request_id,
    }
    if batch:
        fields["batch"] = batch
    return fields


def log_request(
    method: str, path: str, status: int, started: float, request_id: str | None, batch: int = 0
) -> None:
    """One access line, written now."""
    fields = access_fields(method, path, status, started, request_id, batch)
    access_log.info("request", extra={"fields": fields})


class HeldAccessLines:
    """Access lines of an event loop's requests, written together a moment later.

    Written at once, each line cost the FastAPI scorer about 40 µs of a 400 µs one-row
    request (logging's code runs cold between requests); written a few dozen in a row,
    about 20 (measured in process). Each request keeps its fields and the time it ended;
    the first one held schedules the write ``hold_seconds`` later on the event loop, and
    the app's shutdown writes what is left. A worker killed outright (SIGKILL, a timeout)
    loses at most that moment's lines.
    """

    def __init__(self, hold_seconds: float = 0.05) -> None:
        self.hold_seconds = hold_seconds
        self.held: list[tuple[float, dict]] = []

    def add(
        self, method: str, path: str, status: int, started: float, request_id: str | None, batch: int = 0
    ) -> None:
        """Keep a request's line; call it on the event loop."""
        if not access_log.isEnabledFor(logging.INFO):
            return
        self.held.append((time.time(), access_fields(method, path, status, started, request_id, batch)))
        if len(self.held) == 1:
            asyncio.get_running_loop().call_later(self.hold_seconds, self.write)

    def write(self) -> None:
        """Write the held lines, each with the time its request ended."""
        held, self.held = self.held, []
        for ended, fields in held:
            record = access_log.makeRecord(
                access_log.name, logging.INFO, __file__, 0, "request", (), None, extra={"fields": fields}
            )
            record.created, record.msecs = ended, (ended - int(ended)) * 1000
            access_log.handle(record)
