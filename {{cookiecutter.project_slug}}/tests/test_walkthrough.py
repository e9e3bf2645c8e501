"""WALKTHROUGH.md names only what exists: its make targets, and checkpoints that check its steps."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}_ops.checkpoint import STEPS

PROJECT = Path(__file__).resolve().parent.parent
WALKTHROUGH = (PROJECT / "WALKTHROUGH.md").read_text()
TARGETS = set(re.findall(r"^([a-z][a-z0-9-]*):", (PROJECT / "Makefile").read_text(), re.MULTILINE))
SECTIONS = re.split(r"^## ", WALKTHROUGH, flags=re.MULTILINE)[1:]


def make_commands(text: str) -> list[list[str]]:
    """Every `make ...` in the text's code, as its words."""
    code = re.findall(r"```bash\n(.*?)```", text, re.DOTALL) + re.findall(r"`(make [^`]+)`", text)
    commands = []
    for block in code:
        for line in block.splitlines():
            line = line.split("#", 1)[0].strip()
            if line.startswith("make "):
                commands.append(line.split()[1:])
    return commands


def test_every_make_target_in_the_walkthrough_exists() -> None:
    named = {word for words in make_commands(WALKTHROUGH) for word in words if "=" not in word}
    assert named, "no make command found"
    assert named <= TARGETS, f"not targets of the Makefile: {sorted(named - TARGETS)}"


@pytest.mark.parametrize("step", STEPS, ids=lambda step: str(step.number))
def test_each_step_runs_what_its_checkpoint_checks_and_ends_with_it(step) -> None:
    section = next(s for s in SECTIONS if s.startswith(f"{step.number}. "))
    assert section.splitlines()[0] == f"{step.number}. {step.title}"
    commands = [" ".join(words) for words in make_commands(section)]
    assert step.run.removeprefix("make ") in " ".join(commands), f"step {step.number} does not run {step.run}"
    assert f"checkpoint STEP={step.number}" in commands
    for part in ("You should see", "Takes", "Usual mistake"):
        assert f"**{part}" in section, f"step {step.number} lacks {part!r}"


def test_the_walkthrough_ends_with_the_teardown() -> None:
    assert "make teardown" in SECTIONS[-1] and SECTIONS[-1].startswith(f"{len(STEPS) + 1}. ")


def test_the_readme_links_the_walkthrough() -> None:
    assert "(WALKTHROUGH.md)" in (PROJECT / "README.md").read_text()
