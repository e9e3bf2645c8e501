"""The same template tree rendered by copier: same questions, same rules, same files, and updates.

Copier runs from a copy of the template without its git history (what is on
disk, committed or not); the update test makes its own tagged repository.
"""

from __future__ import annotations

import filecmp
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from baking import COMBOS, Combo
from copier import run_copy, run_update
from test_hooks import BAD_ANSWERS

ANSWERS_FILE = ".copier-answers.yml"
COPIER = str(Path(sys.executable).with_name("copier"))


def copier_copy(template: Path, destination: Path, answers: dict[str, str], **options) -> Path:
    run_copy(str(template), destination, data=answers, defaults=True, unsafe=True, quiet=True, **options)
    return destination


def differences(left: Path, right: Path) -> list[str]:
    """Files that differ between two trees, by name or content."""
    comparison = filecmp.dircmp(left, right, ignore=[ANSWERS_FILE])
    found: list[str] = []

    def walk(node: filecmp.dircmp, prefix: str) -> None:
        found.extend(f"only in cookiecutter: {prefix}{name}" for name in node.left_only)
        found.extend(f"only in copier: {prefix}{name}" for name in node.right_only)
        found.extend(f"differs: {prefix}{name}" for name in node.diff_files)
        for name, child in node.subdirs.items():
            walk(child, f"{prefix}{name}/")

    walk(comparison, "")
    # dircmp compares shallowly by stat: compare the contents of every common file too.
    for path in left.rglob("*"):
        other = right / path.relative_to(left)
        if path.is_file() and other.is_file() and path.read_bytes() != other.read_bytes():
            found.append(f"differs: {path.relative_to(left)}")
    return sorted(set(found))


@pytest.mark.parametrize("combo", [combo.param() for combo in COMBOS])
def test_copier_renders_the_same_files_as_cookiecutter(
    template: Path, fresh, tmp_path: Path, combo: Combo
) -> None:
    baked = fresh(combo, tmp_path / "cookiecutter")
    copied = copier_copy(template, tmp_path / "copier" / baked.name, combo.answers)
    assert differences(baked, copied) == []
    answers = yaml.safe_load((copied / ANSWERS_FILE).read_text())
    assert {name: answers[name] for name in combo.answers} == combo.answers
    assert answers["project_slug"] == baked.name


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [pytest.param(*bad, id=f"{bad[0]}={bad[1][:12]}") for bad in BAD_ANSWERS],
)
def test_bad_answers_fail_with_the_hooks_message_and_write_nothing(
    template: Path, tmp_path: Path, option: str, value: str, message: str
) -> None:
    destination = tmp_path / "out"
    command = [COPIER, "copy", "--trust", "--defaults", "--quiet", "--data", f"{option}={value}"]
    result = subprocess.run([*command, str(template), str(destination)], capture_output=True, text=True)
    assert result.returncode != 0
    assert f"Validation error for question '{option}': {option}: " in result.stderr
    assert message in result.stderr
    assert not destination.exists()


def git(folder: Path, *arguments: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=test", "-c", "user.email=test@example.com", *arguments],
        cwd=folder,
        check=True,
        capture_output=True,
    )


def test_copier_update_brings_template_changes_and_keeps_local_edits(template: Path, tmp_path: Path) -> None:
    repository = tmp_path / "template-repo"
    shutil.copytree(template, repository)
    # v1: a template from before the team files (CI, Dependabot, pre-commit, build spec) and the
    # locks: requirements*.in missing, requirements.txt pins without hashes.
    team_files = [
        ".github",
        ".pre-commit-config.yaml",
        "build_spec.yaml",
        "requirements.in",
        "requirements-dev.in",
    ]
    held = tmp_path / "held"
    held.mkdir()
    for name in [*team_files, "requirements.txt"]:
        shutil.move(repository / "{{cookiecutter.project_slug}}" / name, held / name)
    (repository / "{{cookiecutter.project_slug}}" / "requirements.txt").write_text("joblib==1.6.0\n")
    git(repository, "init", "-q", "-b", "main")
    git(repository, "add", "-A")
    git(repository, "commit", "-q", "-m", "v1")
    git(repository, "tag", "v1")

    project = copier_copy(repository, tmp_path / "service", {"framework": "fastapi"}, vcs_ref="v1")
    readme = project / "README.md"
    readme.write_text(readme.read_text() + "\nOur team's notes: call the on-call before deploying.\n")
    git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "service from v1, with notes")

    makefile = repository / "{{cookiecutter.project_slug}}" / "Makefile"
    makefile.write_text(makefile.read_text() + "\nversion: ## Print the template version\n\t@echo v2\n")
    for name in [*team_files, "requirements.txt"]:
        shutil.move(held / name, repository / "{{cookiecutter.project_slug}}" / name)
    git(repository, "add", "-A")
    git(repository, "commit", "-q", "-am", "v2: a make target, the team files, the locks")
    git(repository, "tag", "v2")

    run_update(project, vcs_ref="v2", defaults=True, overwrite=True, unsafe=True, quiet=True)
    assert "version: ## Print the template version" in (project / "Makefile").read_text()
    lock = (project / "requirements.txt").read_text()
    assert lock == (repository / "templates/locks/py3.11/requirements-fastapi.txt").read_text()
    assert "joblib==1.6.0 \\\n    --hash=sha256:" in lock
    for name in (
        ".github/workflows/ci.yml",
        ".github/dependabot.yml",
        ".pre-commit-config.yaml",
        "build_spec.yaml",
        "requirements.in",
        "requirements-dev.in",
    ):
        assert (project / name).is_file(), name  # brought in by the update
    assert 'python-version: "3.11"' in (project / ".github/workflows/ci.yml").read_text()
    assert "Our team's notes: call the on-call before deploying." in readme.read_text()
    assert yaml.safe_load((project / ANSWERS_FILE).read_text())["_commit"] == "v2"
    assert "uvicorn" in (project / "requirements.txt").read_text()  # the answers were kept
