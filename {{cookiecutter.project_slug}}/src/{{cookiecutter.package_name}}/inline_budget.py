"""Which /predict calls are quick enough to answer without a hand-over, learned from their times.

A call handed to another thread keeps the worker's main loop (FastAPI: the event loop;
Flask: the thread that reads requests) free for /health while a slow model predicts,
but the hop costs: a fifth (FastAPI) to a third (Flask) of the throughput of one-row
requests in the template's benchmark. A body no larger than ``quick_bytes`` is answered
on the main loop; that size grows with bodies answered within ``budget_seconds`` and
drops below any body whose call overran it. It starts at 0: every size is first
timed in another thread, so a slow model never holds the loop up for long; and it
never passes ``MAX_INLINE_BYTES``, so a large body is never parsed on the loop.
"""

from __future__ import annotations

BUDGET_SECONDS = 0.001
MAX_INLINE_BYTES = 64 * 1024  # about 500 rows of 4 numbers


class InlineBudget:
    """Decides, per body size, between the event loop and the prediction thread."""

    def __init__(self, budget_seconds: float = BUDGET_SECONDS) -> None:
        self.budget_seconds = budget_seconds
        self.quick_bytes = 0

    def inline(self, size: int) -> bool:
        return size <= self.quick_bytes

    def record(self, size: int, seconds: float) -> None:
        """Learn from one call on a body of ``size`` bytes that took ``seconds``."""
        if seconds <= self.budget_seconds:
            self.quick_bytes = min(MAX_INLINE_BYTES, max(self.quick_bytes, size))
        elif size <= self.quick_bytes:
            self.quick_bytes = size - 1
