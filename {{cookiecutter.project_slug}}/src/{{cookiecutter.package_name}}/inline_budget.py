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
- after a call on the loop over twice ``budget_seconds`` (not one that merely overran it,
  as a busy CPU makes some) it does not grow again for ``PAUSE_FACTOR`` times that call's length,
  so padded bodies can't bring a slow size back at once; and a call that
  held the loop for over ``PAUSE_AFTER`` (10 ms: not a mere hiccup, such as a garbage
  collection) stops all calls on the loop for as long. However a client gets a slow call
  onto the loop, such calls hold it for about 1 % of the time at most.
"""

from __future__ import annotations

import time
from collections.abc import Callable

BUDGET_SECONDS = 0.001
MAX_INLINE_BYTES = 64 * 1024  # about 500 rows of 4 numbers
GROWTH_BYTES = 1024
PAUSE_AFTER = 0.01
PAUSE_FACTOR = 100


class InlineBudget:
    """Decides, per body size, between the main loop and a prediction thread."""

    def __init__(
        self, budget_seconds: float = BUDGET_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.budget_seconds = budget_seconds
        self.clock = clock
        self.quick_bytes = 0
        self.grows_from = 0.0  # no growth before this time (``clock``'s)
        self.paused_until = 0.0  # no call on the loop before this time

    def inline(self, size: int) -> bool:
        return size <= self.quick_bytes and self.clock() >= self.paused_until

    def record(self, size: int, seconds: float, predicted: bool = True, inline: bool = False) -> None:
        """Learn from one call on a body of ``size`` bytes that took ``seconds``: ``predicted``
        when it answered predictions (200), ``inline`` when it ran on the main loop."""
        if seconds <= self.budget_seconds:
            if predicted and size > self.quick_bytes and self.clock() >= self.grows_from:
                self.quick_bytes = min(size, 2 * self.quick_bytes + GROWTH_BYTES, MAX_INLINE_BYTES)
            return
        self.quick_bytes = min(self.quick_bytes, int(size * self.budget_seconds / seconds))
        if inline and seconds > 2 * self.budget_seconds:
            self.grows_from = max(self.grows_from, self.clock() + PAUSE_FACTOR * seconds)
            if seconds > PAUSE_AFTER:
                self.paused_until = self.grows_from
