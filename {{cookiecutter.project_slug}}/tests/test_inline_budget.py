"""The inline budget learns which bodies are quick, and clients can't teach it otherwise."""

from __future__ import annotations

import json
from typing import Any

from {{ cookiecutter.package_name }}.inline_budget import (
    FREEZE_AFTER,
    FREEZE_FACTOR,
    GROWTH_BYTES,
    MAX_INLINE_BYTES,
    InlineBudget,
)
from {{ cookiecutter.package_name }}.scorer import Scorer
from {{ cookiecutter.package_name }}.settings import Settings


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def budget_of(client: Any) -> InlineBudget:
{%- if cookiecutter.framework == "flask" %}
    return client.client.application.extensions["inline_budget"]  # type: ignore[no-any-return]
{%- else %}
    return client.client.app.state.inline_budget  # type: ignore[no-any-return]
{%- endif %}


def test_it_learns_which_body_sizes_are_quick() -> None:
    budget = InlineBudget(budget_seconds=0.001)
    assert not budget.inline(40)  # every size is timed in a prediction thread first
    budget.record(40, 0.0002)
    assert budget.inline(40) and budget.inline(10) and not budget.inline(41)
    budget.record(1000, 0.0005)
    assert budget.inline(1000)
    budget.record(800, 0.002)  # overran: lowered to what that rate answers in time (400 bytes)
    assert budget.inline(400) and not budget.inline(401)
    budget.record(90_000, 0.2)  # slow in a thread: 450 bytes at that rate, no lower than now
    assert budget.quick_bytes == 400
    for _ in range(10):  # however quick, a large body is never parsed on the loop
        budget.record(10_000_000, 0.0001)
    assert budget.inline(MAX_INLINE_BYTES) and not budget.inline(MAX_INLINE_BYTES + 1)


def test_one_padded_quick_body_cannot_raise_it_far() -> None:
    budget = InlineBudget(budget_seconds=0.001)
    budget.record(MAX_INLINE_BYTES, 0.0002)  # 64 KB of spaces around one row, parsed at once
    assert budget.quick_bytes == GROWTH_BYTES
    budget.record(MAX_INLINE_BYTES, 0.0002)
    assert budget.quick_bytes == 3 * GROWTH_BYTES  # twice as much and GROWTH_BYTES more per call


def test_a_quick_refusal_raises_nothing_and_a_slow_one_lowers_it() -> None:
    budget = InlineBudget(budget_seconds=0.001)
    budget.record(1_000_000, 0.0001, predicted=False)  # a 415 for 1 MB of text: quick, says nothing
    assert budget.quick_bytes == 0
    budget.quick_bytes = 20_000
    budget.record(10_000, 0.5, predicted=False)  # a slow 400 lowers it like a slow prediction
    assert budget.quick_bytes == 20


def test_after_a_slow_refusal_on_the_loop_it_grows_past_1_kb_only_a_hundred_times_as_long_after() -> None:
    clock = Clock()
    budget = InlineBudget(budget_seconds=0.001, clock=clock)
    budget.quick_bytes = 4000
    budget.record(4000, 0.005, inline=True)  # a prediction that overran: lowered, grows again at once
    budget.record(4000, 0.0001)
    assert budget.quick_bytes == 2 * 800 + GROWTH_BYTES
    budget.record(4000, 0.0001)
    assert budget.quick_bytes == 4000
    budget.record(4000, 0.005, predicted=False, inline=True)  # a slow 400 on the loop: 800 bytes
    assert budget.inline(800) and not budget.inline(801)
    budget.record(MAX_INLINE_BYTES, 0.0001)  # a padded quick body: no further than 1 KB for 0.5 s
    assert budget.quick_bytes == GROWTH_BYTES
    budget.record(MAX_INLINE_BYTES, 0.0001)
    assert budget.quick_bytes == GROWTH_BYTES
    clock.now += FREEZE_FACTOR * 0.005
    budget.record(MAX_INLINE_BYTES, 0.0001)
    assert budget.quick_bytes == 3 * GROWTH_BYTES


def test_a_stall_that_was_not_the_request_costs_a_one_row_call_a_single_hop() -> None:
    """60 ms (over FREEZE_AFTER) on the loop for a one-row call: another process had the CPU."""
    clock = Clock()
    budget = InlineBudget(budget_seconds=0.001, clock=clock)
    budget.quick_bytes = 4000
    budget.record(40, 6 * FREEZE_AFTER, inline=True)
    assert not budget.inline(40) and budget.frozen_until == clock.now + FREEZE_FACTOR * 6 * FREEZE_AFTER
    budget.record(40, 0.0002)  # the next one-row call, in a thread, was quick
    assert budget.inline(40)
    budget.record(10, 0.2, inline=False)  # slow in a thread: the loop was free meanwhile
    assert budget.frozen_until == clock.now + FREEZE_FACTOR * 6 * FREEZE_AFTER


def test_the_app_teaches_it_from_every_answer(make_client: Any, settings: Settings, scorer: Scorer) -> None:
    client = make_client(settings, scorer)
    budget = budget_of(client)
    # A 415 for a megabyte of text is answered at once: it says nothing of how long predicting takes.
    assert client.post("/predict", b"x" * 1_000_000, content_type="text/plain").status == 415
    assert client.post("/predict", b"[" * 100_000, content_type="application/json").status == 400
    assert budget.quick_bytes == 0
    budget.budget_seconds = 60.0  # from now on every call is quick: a prediction raises it
    one_row = json.dumps({"instances": [[5.1, 3.5, 1.4, 0.2]]}).encode()
    assert client.post("/predict", one_row).status == 200
    assert budget.quick_bytes == len(one_row)
    budget.budget_seconds = 0.0  # from now on every call is slow: a 400 lowers it too
    assert client.post("/predict", b'{"instances": [[1, 2]]}').status == 400
    assert budget.quick_bytes == 0
