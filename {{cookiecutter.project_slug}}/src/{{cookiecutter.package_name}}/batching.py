"""Adaptive batching: requests that arrive while the model is busy share its next call.

A model's fixed cost per call is paid once for many callers: the churn sample's pipeline
(a ``ColumnTransformer`` over numbers and text) takes about 3 ms for 1 row and for 100.

Each request's thread parses its body and runs ``processing.preprocess`` itself (its own
400s stay its own), then hands its rows to ``Batcher.run``:

- no model call running: it calls the model at once, on its rows and whatever is queued
  (no added wait; ``MAX_BATCH_DELAY_MS``, 0 by default, is an opt-in wait for more, counted
  from the request's arrival);
- a call running: it queues, and the thread of that call, when it ends, hands the next call
  to the first request queued. A call takes queued requests in order, of the same ``method``
  and the same kind of rows (an array's dtype and width; a DataFrame's columns and dtypes,
  a category's categories in order), up to ``MAX_BATCH_SIZE`` rows; the others wait for the
  next one. The rows are merged in order (``np.concatenate``, ``pd.concat``: the dtypes as
  they were), and each request gets exactly its own rows' answers, then runs
  ``processing.postprocess`` on them in its own thread.
- the merged call raises (one caller's rows the model refuses, an answer over
  ``MAX_ANSWER_BYTES``): each of its requests is answered alone, so one caller's rows never
  fail another's.

Rows that are neither a 2-D array nor a DataFrame (what a ``preprocess`` may return), no rows,
and requests of ``MAX_BATCH_SIZE`` rows or more merge with none: they go to the model at once, as
without batching (beside a shared call: a slow one must not wait behind another, or SIGTERM's
grace would have to cover them one after the other). There is no thread of its own: the model runs in the
requests' threads, so a server that lets its running requests finish on SIGTERM (gunicorn,
uvicorn) finishes the queued ones too.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np

log = logging.getLogger(__name__)
# Requests wait for a shared call in threads: the servers give them more threads than before
# (gunicorn.conf.py, app.py), but only bodies this small may use them. A 10 MB body takes about
# 21 times that while it is parsed; larger bodies keep the threads (and the memory) of before.
SMALL_BODY_BYTES = 64 * 1024
Run = Callable[[str, Any], list[Any]]  # method, rows -> one JSON-ready answer per row


class Job:
    """One request's rows on their way through the model."""

    __slots__ = (
        "_kind",
        "answers",
        "arrived",
        "error",
        "features",
        "lead",
        "method",
        "rows",
        "shared",
        "woken",
    )

    def __init__(self, features: Any, method: str, rows: int | None) -> None:
        self.features, self.method, self.rows = features, method, rows
        self.arrived = time.monotonic()
        self.woken: threading.Event | None = None  # made when it queues
        self.lead = False  # whether its thread makes the next call
        self.answers: list[Any] | None = None
        self.error: BaseException | None = None
        self.shared = 0  # how many requests shared the call that answered it
        self._kind: Any = None

    @property
    def kind(self) -> Any:
        """What rows merge with these (None: they merge with none)."""
        if self._kind is None and self.rows is not None:
            self._kind = kind_of(self.method, self.features)
        return self._kind


def rows_of(features: Any) -> int | None:
    """How many rows ``features`` has, if they can be merged with others: a 2-D array or a DataFrame."""
    if isinstance(features, np.ndarray):
        return features.shape[0] if features.ndim == 2 else None
    pandas = sys.modules.get("pandas")  # no DataFrame without pandas imported
    if pandas is not None and isinstance(features, pandas.DataFrame):
        return len(features)
    return None


def kind_of(method: str, features: Any) -> tuple[Any, ...]:
    """What must match for two requests' rows to share a call, as a comparable value."""
    if isinstance(features, np.ndarray):
        return method, "array", features.dtype.str, features.shape[1:]
    pandas = sys.modules["pandas"]
    dtypes = []
    for dtype in features.dtypes:
        if isinstance(dtype, pandas.CategoricalDtype):  # equal dtypes may order their categories apart
            dtypes.append(("category", tuple(dtype.categories), dtype.categories.dtype, dtype.ordered))
        else:
            dtypes.append(dtype)
    return method, "frame", tuple(features.columns), tuple(dtypes)


def merge(parts: list[Any]) -> Any:
    """The rows of ``parts`` (all arrays, or all DataFrames of one kind) as one, in order."""
    if isinstance(parts[0], np.ndarray):
        return np.concatenate(parts)
    return sys.modules["pandas"].concat(parts, ignore_index=True)


class Batcher:
    """Merges the rows of concurrent requests into shared model calls, one call at a time."""

    def __init__(self, run: Run, max_rows: int, max_delay_seconds: float = 0.0) -> None:
        self.run_model = run
        self.max_rows = max_rows
        self.max_delay_seconds = max_delay_seconds
        self._lock = threading.Lock()
        self._queued = threading.Condition(self._lock)  # notified as requests queue (for the delay)
        self._busy = False  # a call is being made, or handed to the next request's thread
        self._queue: deque[Job] = deque()
        self._queued_rows = 0

    def run(self, features: Any, method: str) -> tuple[list[Any], int]:
        """The answers to ``features`` (one per row), and how many requests shared the call.
        Rows that merge with none (no rows, ``max_rows`` or more, not a 2-D array or DataFrame)
        go to the model at once, as without batching."""
        job = Job(features, method, rows_of(features) or None)  # 0 rows: answered as alone
        if job.rows is None or job.rows >= self.max_rows:
            return self.run_model(method, features), 1
        if self._busy:  # likely to queue: what it merges with is worked out here, not under the lock
            job.kind  # noqa: B018
        with self._lock:
            if self._busy:
                job.woken = threading.Event()
                self._queue.append(job)
                self._queued_rows += job.rows or 0
                self._queued.notify()
            else:
                self._busy = job.lead = True
        if job.woken is not None:
            job.woken.wait()
        if job.lead:
            self._lead(job)
        if job.error is not None:
            raise job.error
        assert job.answers is not None
        return job.answers, job.shared

    def _lead(self, head: Job) -> None:
        """Make the call of ``head`` and the requests queued that merge with it; then hand the
        next call to the first one still queued."""
        batch = [head]
        try:
            batch = self._gather(head)
            self._call(batch)
        finally:
            with self._lock:
                if self._queue:
                    following = self._queue.popleft()
                    self._queued_rows -= following.rows or 0
                    following.lead = True
                else:
                    following = None
                    self._busy = False
            if following is not None:
                assert following.woken is not None
                following.woken.set()
            for job in batch[1:]:
                if job.answers is None and job.error is None:  # the call itself was cut short
                    job.error = RuntimeError("the shared model call ended without answers")
                assert job.woken is not None
                job.woken.set()

    def _gather(self, head: Job) -> list[Job]:
        """``head`` and the queued requests it takes, in order, after the opt-in wait. What each
        merges with is worked out before any is taken from the queue: a failure there leaves
        every queued request queued (and ``head`` answered with it)."""
        if head.rows is None or head.kind is None:
            return [head]
        with self._lock:
            if self.max_delay_seconds:
                deadline = head.arrived + self.max_delay_seconds
                while (
                    head.rows + self._queued_rows < self.max_rows
                    and (left := deadline - time.monotonic()) > 0
                ):
                    self._queued.wait(left)
            queued = [job for job in self._queue if job.rows is not None]
        alike = [job for job in queued if job.kind == head.kind]  # only this thread takes from the queue
        batch, rows = [head], head.rows
        with self._lock:
            for job in alike:
                assert job.rows is not None
                if rows + job.rows <= self.max_rows:
                    self._queue.remove(job)
                    self._queued_rows -= job.rows
                    batch.append(job)
                    rows += job.rows
                    if rows == self.max_rows:
                        break
        return batch

    def _call(self, batch: list[Job]) -> None:
        """One call for the whole batch; each request alone if it raises."""
        if len(batch) > 1:
            try:
                answers = self.run_model(batch[0].method, merge([job.features for job in batch]))
            except Exception as error:  # someone's rows: each request is answered alone, below
                answers = None
                reason = f"{type(error).__name__}: {error}"
                log.warning(
                    "a shared model call raised: each of its requests is answered alone",
                    extra={"fields": {"requests": len(batch), "reason": reason[:500]}},
                )
            if answers is not None and len(answers) == sum(job.rows or 0 for job in batch):
                start = 0
                for job in batch:
                    job.answers, job.shared = answers[start : start + job.rows], len(batch)
                    start += job.rows
                return
        for job in batch:
            try:
                job.answers, job.shared = self.run_model(job.method, job.features), 1
            except Exception as error:
                job.error = error
