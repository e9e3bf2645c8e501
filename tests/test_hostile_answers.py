"""Hostile answers, with cookiecutter and copier: each bake is refused with the option's
rule and leaves nothing behind, or gives a project whose every file stays valid and inert.

A valid project here: every TOML, JSON and YAML file parses, its own `make lint`
passes (with this repository's ruff, the version the project pins), `make help` and
`make -n clean` run only their own commands, and the name reads back unchanged.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from baking import DEFAULTS, bake
from copier import run_copy

from local_extensions import OPTIONS

HOSTILE = {
    "quotes": 'it\'s "quoted"',
    "backslashes": "back\\slash\\",
    "triple-quote": 'Triple"""Quote',
    "make-target": "x\nall:\n\ttouch PWNED",
    "trailing-newline": "abc\n",
    "make-shell": "$(shell touch PWNED)x.joblib",
    "backticks": "`touch PWNED`",
    "jinja": "{{ 7 * 7 }}",
    "long": "x" * 300,
    "non-ascii": "Modèle de crédit 名前",
    "cyrillic": "Модель",
    "escape": "a\x1b[31mb",
    "nul": "a\x00b",
    "line-separator": "a\u2028b",
    "blank": " ",
    "star": "*",
    "empty": "",
    "dot-dot": "..",
    "underscored-digits": "8_080",
    "plus": "+8080",
    "leading-space": " 8080",
    "arabic-indic-digits": "٨٠٨٠",
    "superscript-two": "²",
    "stdlib-module": "json",
    "requirement": "flask",
}
# The project name is free text: these are written escaped, never refused.
NAMES_KEPT = [
    "quotes", "backslashes", "triple-quote", "make-shell", "backticks", "non-ascii", "cyrillic",
    "star", "dot-dot", "plus", "leading-space", "arabic-indic-digits",
]  # fmt: skip
# A refusal names the option, or one whose default it gives ("json" -> package_name "json").
DERIVED = {
    "project_name": ["project_slug", "package_name"],
    "project_slug": ["package_name", "ocir_repository"],
}
# Longest values each rule allows, all at once: the generated lines must still lint.
LONGEST = {
    "project_name": 'A "quoted" \\ name, Модель, $(shell touch PWNED) `x` '.ljust(100, "n"),
    "owner": "o" * 16,
    "project_slug": "s" * 63,
    "package_name": "p" * 63,
    "server_port": "65535",
    "workers": "256",
    "model_file": "m" * 128,
    "tenancy_namespace": "t" * 63,
    "ocir_repository": "/".join(["r" * 63] * 4),
    "image_tag": "v" * 128,
}
RUFF_VENV = Path(sys.executable).parent.parent  # this repository's .venv: the project's ruff pin


def outcome(engine: str, template: Path, folder: Path, option: str, value: str) -> Path | str:
    """The baked project, or the refusal's message; a refusal must leave nothing."""
    folder.mkdir(parents=True)
    try:
        if engine == "cookiecutter":
            return bake(folder, {option: value})
        destination = folder / "project"
        run_copy(str(template), destination, data={option: value}, defaults=True, unsafe=True, quiet=True)
        return destination
    except Exception as error:  # each engine's own: a failed hook, a validation error
        assert list(folder.iterdir()) == [], f"{engine} left files after refusing {option}={value!r}"
        return str(error)


def assert_valid_and_inert(project: Path, name: str | None, owner: str = "") -> None:
    for path in project.rglob("*"):
        if path.suffix == ".toml":
            tomllib.loads(path.read_text())
        elif path.suffix == ".json":
            json.loads(path.read_text())
        elif path.suffix in {".yml", ".yaml"}:
            yaml.safe_load(path.read_text())
    venv = ["VENV=" + str(RUFF_VENV), "-o", str(RUFF_VENV / ".installed")]  # lint without installing
    lint = subprocess.run(["make", "lint", *venv], cwd=project, capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    help_run = subprocess.run(["make", "help"], cwd=project, capture_output=True, text=True)
    assert help_run.returncode == 0 and "install" in help_run.stdout, help_run.stderr
    clean = subprocess.run(["make", "-n", "clean"], cwd=project, capture_output=True, text=True)
    assert clean.returncode == 0, clean.stderr
    (removal,) = [line for line in clean.stdout.splitlines() if line.startswith("rm ")]
    removed = shlex.split(removal)
    assert removed[:2] == ["rm", "-rf"]
    for path in removed[2:]:
        assert "*" not in path and not path.startswith("/") and ".." not in path, path
        assert path.rstrip("/") not in {"", ".", "model_artifact", "src", "tests"}, path
    assert not list(project.parent.rglob("PWNED")), "a command in an answer ran"
    if name is not None:
        deployment = tomllib.loads((project / "deploy" / "deployment.toml").read_text())
        assert deployment["display_name"] == (f"{name} ({owner})" if owner else name)
        pyproject = tomllib.loads((project / "pyproject.toml").read_text())
        assert pyproject["project"]["description"].startswith(name)


@pytest.mark.parametrize("engine", ["cookiecutter", "copier"])
@pytest.mark.parametrize("option", OPTIONS)
def test_each_hostile_answer_is_refused_or_written_inert(
    template: Path, tmp_path: Path, engine: str, option: str
) -> None:
    for case, value in HOSTILE.items():
        result = outcome(engine, template, tmp_path / case, option, value)
        if isinstance(result, str):
            named = [name for name in [option, *DERIVED.get(option, [])] if re.search(rf"\b{name}\b", result)]
            assert named, f"{option}={value!r} refused without naming the option: {result}"
            if result.startswith(("ERROR: ", "Validation error")):  # the rules' own lines: escaped, short
                assert all("\t" not in line and len(line) < 400 for line in result.splitlines()), result
        else:
            literal = option == "project_name" and not (engine == "cookiecutter" and "{{" in value)
            assert_valid_and_inert(result, value if literal else None)
        if option == "project_name" and case in NAMES_KEPT:
            assert not isinstance(result, str), f"the name {value!r} was refused: {result}"


@pytest.mark.parametrize("variant", [{"framework": "flask"}, {"framework": "fastapi"}, {"server": "triton"}])
def test_the_longest_answers_bake_lint_clean_projects(tmp_path: Path, variant: dict[str, str]) -> None:
    project = bake(tmp_path, {**LONGEST, **variant})
    assert_valid_and_inert(project, LONGEST["project_name"], LONGEST["owner"])


def test_the_longest_answers_cover_every_free_option() -> None:
    choices = {name for name in OPTIONS if isinstance(DEFAULTS[name], list)}
    assert set(LONGEST) | choices | {"oci_region"} == set(OPTIONS)
