"""Session fixtures of the template tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from baking import Combo, bake, find_python, run


@pytest.fixture(scope="session")
def baked(tmp_path_factory: pytest.TempPathFactory):
    """``baked(combo)``: the combo's project, baked, installed and trained once per session."""
    projects: dict[str, Path] = {}

    def get(combo: Combo) -> Path:
        if combo.id not in projects:
            project = bake(tmp_path_factory.mktemp("bake"), combo.answers)
            python = find_python(combo.answers.get("python_version", "3.11"))
            run(["make", "install", f"PYTHON={python}"], project)
            run(["make", "train"], project)
            projects[combo.id] = project
        return projects[combo.id]

    return get
