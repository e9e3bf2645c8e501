"""The model is found whether the artifact zip held files or one folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.model_path import (
    ModelNotFoundError,
    resolve_model_path,
)

MODEL_FILE = "{{ cookiecutter.__model_file }}"


def test_model_at_the_artifact_root(tmp_path: Path) -> None:
    (tmp_path / MODEL_FILE).write_bytes(b"model")
    assert resolve_model_path(tmp_path, MODEL_FILE) == tmp_path / MODEL_FILE


def test_model_inside_the_one_folder_of_the_artifact(tmp_path: Path) -> None:
    (tmp_path / "my_model").mkdir()
    (tmp_path / "my_model" / MODEL_FILE).write_bytes(b"model")
    (tmp_path / "__MACOSX").mkdir()  # zips made on macOS carry this folder too
    assert resolve_model_path(tmp_path, MODEL_FILE) == tmp_path / "my_model" / MODEL_FILE


def test_a_missing_model_says_where_it_looked(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("no model here")
    with pytest.raises(ModelNotFoundError, match=r"not found .*notes\.txt.*MODEL_FILE"):
        resolve_model_path(tmp_path, MODEL_FILE)


def test_two_folders_are_ambiguous(tmp_path: Path) -> None:
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        (tmp_path / name / MODEL_FILE).write_bytes(b"model")
    with pytest.raises(ModelNotFoundError):
        resolve_model_path(tmp_path, MODEL_FILE)


def test_a_missing_folder_names_model_dir(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="MODEL_DIR"):
        resolve_model_path(tmp_path / "absent", MODEL_FILE)
