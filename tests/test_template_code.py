"""The template's own code meets the bar it sets for generated projects."""

from __future__ import annotations

import sys

from baking import TEMPLATE, run


def test_template_code_is_ruff_clean() -> None:
    # pyproject.toml leaves out the project folder, which the bake tests lint rendered.
    run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], TEMPLATE)
    run([sys.executable, "-m", "ruff", "format", "--check", "--no-cache", "."], TEMPLATE)


def test_hooks_stay_small() -> None:
    for hook in (TEMPLATE / "hooks").glob("*.py"):
        assert len(hook.read_text().splitlines()) <= 40, f"{hook.name}: move logic into a module"
