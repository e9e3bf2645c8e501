"""Which /predict calls are quick enough to answer without a hand-over, learned from their times.

A call handed to another thread keeps the worker's main loop (FastAPI: the event loop;
Flask: the thread that reads requests) free for /health while a slow model predicts,
but the hop costs: a fifth (FastAPI) to a third (Flask) of the throughput of one-row
requests in the template's benchmark. A body no larger than ``quick_bytes`` is answered
on the main loop. It starts at 0: every size is first timed in another thread, so a
slow model never holds the loop up for long; and it never passes ``MAX_INLINE_BYTES``,
so a large body is never parsed on the loop.

Clients choose the bodies, so the budget is built to be hard to fool (the second
security review poisoned the first one: one quick answer padded with spaces to 64 KB
raised it to its maximum, after which slow 400s ran on the loop):

- it grows only from predictions answered within ``budget_seconds``, and at most to
  twice its size and ``GROWTH_BYTES`` more per call, so one padded body can't raise it
  far, and a quick refusal (a 415 for 10 MB of text) teaches it nothing;
- any call over ``budget_seconds``, whatever it answered, lowers it to the size that
  call's rate of bytes per second would answer in time;
- after a call on the loop that was slow in earnest (a refusal over twice
  ``budget_seconds``: the attack's slow 400s; anything over ``FREEZE_AFTER``, 10 ms) it
  grows past ``GROWTH_BYTES`` again only after ``FREEZE_FACTOR`` times that call's
  length, so padded bodies can't win a large size back. Bodies of a few rows still come
  back to the loop at once, so a stall that was not the request's (the CPU taken by
  another process, a garbage collection) costs one-row calls a single hop.

``/health`` is always answered on the loop: it costs nothing to learn.
"""

from __future__ import annotations

import time
from collections.abc import Callable

BUDGET_SECONDS = 0.001
MAX_INLINE_BYTES = 64 * 1024  # about 500 rows of 4 numbers
GROWTH_BYTES = 1024
FREEZE_AFTER = 0.01
FREEZE_FACTOR = 100


class InlineBudget:
    """Decides, per body size, between the main loop and a prediction thread."""

    def __init__(
        self, budget_seconds: float = BUDGET_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.budget_seconds = budget_seconds
        self.clock = clock
        self.quick_bytes = 0
        self.frozen_until = 0.0  # no growth past GROWTH_BYTES before this time (``clock``'s)

    def inline(self, size: int) -> bool:
        return size <= self.quick_bytes

    def record(self, size: int, seconds: float, predicted: bool = True, inline: bool = False) -> None:
        """Learn from one call on a body of ``size`` bytes that took ``seconds``: ``predicted``
        when it answered predictions (200), ``inline`` when it ran on the main loop."""
        if seconds <= self.budget_seconds:
            if predicted and size > self.quick_bytes:
                grown = min(size, 2 * self.quick_bytes + GROWTH_BYTES, MAX_INLINE_BYTES)
                if self.clock() < self.frozen_until:
                    grown = min(grown, max(self.quick_bytes, GROWTH_BYTES))
                self.quick_bytes = grown
            return
        self.quick_bytes = min(self.quick_bytes, int(size * self.budget_seconds / seconds))
        if inline and (seconds > FREEZE_AFTER or (not predicted and seconds > 2 * self.budget_seconds)):
            self.frozen_until = max(self.frozen_until, self.clock() + FREEZE_FACTOR * seconds)
