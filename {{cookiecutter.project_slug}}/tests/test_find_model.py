"""make's targets find the model as the scorer does, and never train over a user's model."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest
from smoke import request_body

from {{ cookiecutter.package_name }}.model_path import model_files
from {{ cookiecutter.package_name }}_ops import find_model
from {{ cookiecutter.package_name }}_ops.artifact import make_artifact
from {{ cookiecutter.package_name }}_ops.cli import main
from {{ cookiecutter.package_name }}_ops.find_model import NO_MODEL

MODEL_FILE = "{{ cookiecutter.__model_file }}"
SIGNATURE = ["input_example.json", "input_schema.json", "output_schema.json"]


@pytest.fixture
def zipped_as_folder(tmp_path: Path, model_dir: Path) -> Path:
    """MODEL_DIR as OCI unzips an artifact zipped as one folder: hgb/<model and its signature>."""
    folder = tmp_path / "model_artifact"
    shutil.copytree(model_dir, folder / "hgb")
    return folder


def model_path(model_dir: Path, model_file: str, capsys: pytest.CaptureFixture) -> tuple[int, str, str]:
    status = main(["model-path", "--model-dir", str(model_dir), "--model-file", model_file])
    shown = capsys.readouterr()
    return status, shown.out, shown.err


def named(model: Path, capsys: pytest.CaptureFixture) -> tuple[int, str, str]:
    """make's MODEL=: model-path --model."""
    status = main(["model-path", "--model", str(model), "--model-file", MODEL_FILE])
    shown = capsys.readouterr()
    return status, shown.out.strip(), shown.err.strip()


@pytest.fixture
def build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where a zip named by MODEL= is unpacked: a scratch folder, not the project's build/."""
    monkeypatch.setattr(find_model, "UNPACKED", tmp_path / "build" / "model")
    return tmp_path / "build" / "model"


def test_model_files_are_found_at_any_depth_and_schemas_are_not_models(tmp_path: Path) -> None:
    for name in ["a/model.joblib", "a/b/clf.pkl", "net.onnx", "custom.bin", *SIGNATURE]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    for hidden in [".ipynb_checkpoints/model.joblib", "__MACOSX/a/._model.joblib"]:
        (tmp_path / hidden).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / hidden).write_bytes(b"x")
    found = [path.relative_to(tmp_path).as_posix() for path in model_files(tmp_path, "custom.bin")]
    assert found == ["a/b/clf.pkl", "a/model.joblib", "custom.bin", "net.onnx"]
    assert model_files(tmp_path / "absent", MODEL_FILE) == []


def test_a_model_zipped_as_a_folder_is_the_one_served(zipped_as_folder: Path, capsys) -> None:
    status, out, _ = model_path(zipped_as_folder, MODEL_FILE, capsys)
    assert (status, out.strip()) == (0, str(zipped_as_folder / "hgb" / MODEL_FILE))


@pytest.mark.parametrize("contents", [[], SIGNATURE, ["README.md"]], ids=["empty", "schemas-only", "readme"])
def test_only_a_model_dir_without_any_model_lets_make_train_the_sample(
    tmp_path: Path, contents: list[str], capsys
) -> None:
    for name in contents:
        (tmp_path / name).write_text("{}")
    assert model_path(tmp_path, MODEL_FILE, capsys)[:2] == (NO_MODEL, "")
    assert model_path(tmp_path / "absent", MODEL_FILE, capsys)[:2] == (NO_MODEL, "")


def test_a_mistyped_model_file_is_an_error_listing_the_models_found(zipped_as_folder: Path, capsys) -> None:
    status, out, err = model_path(zipped_as_folder, "modle.joblib", capsys)
    assert status == 1 and out == ""
    assert f"hgb/{MODEL_FILE}    MODEL_FILE={MODEL_FILE}" in err
    assert "nothing was trained" in err
    untouched = sorted(path.name for path in (zipped_as_folder / "hgb").iterdir())
    assert untouched == sorted([MODEL_FILE, *SIGNATURE])


def test_models_in_two_folders_each_get_their_model_dir(tmp_path: Path, model_dir: Path, capsys) -> None:
    for name in ("one", "two"):
        shutil.copytree(model_dir, tmp_path / name)
    status, _, err = model_path(tmp_path, MODEL_FILE, capsys)
    assert status == 1
    assert f"MODEL_DIR={tmp_path / 'one'} MODEL_FILE={MODEL_FILE}" in err
    assert f"MODEL_DIR={tmp_path / 'two'} MODEL_FILE={MODEL_FILE}" in err


def test_an_artifact_of_a_folder_keeps_the_folder(zipped_as_folder: Path, tmp_path: Path) -> None:
    make_artifact(zipped_as_folder, tmp_path / "a.zip", MODEL_FILE)
    with zipfile.ZipFile(tmp_path / "a.zip") as archive:
        assert sorted(archive.namelist()) == sorted(f"hgb/{name}" for name in [MODEL_FILE, *SIGNATURE])


def test_smoke_sends_the_example_beside_the_model_without_a_sample_request(
    zipped_as_folder: Path, tmp_path: Path
) -> None:
    name, body = request_body(tmp_path / "absent.json", zipped_as_folder, MODEL_FILE)
    assert name == "hgb/input_example.json"
    assert body == (zipped_as_folder / "hgb" / "input_example.json").read_bytes()


def test_model_names_a_file_anywhere_or_the_only_model_of_a_folder(
    tmp_path: Path, model_dir: Path, capsys
) -> None:
    mine = tmp_path / "notebooks" / "out"
    shutil.copytree(model_dir, mine)
    (mine / MODEL_FILE).rename(mine / "mine.pkl")
    assert named(mine / "mine.pkl", capsys) == (0, str(mine / "mine.pkl"), "")
    assert named(mine, capsys) == (0, str(mine / "mine.pkl"), "")  # its only model
    assert named(model_dir, capsys) == (0, str(model_dir / MODEL_FILE), "")


def test_model_unpacks_an_artifact_zip_as_deploy_local_does(
    zipped_as_folder: Path, tmp_path: Path, build: Path, capsys
) -> None:
    make_artifact(zipped_as_folder, tmp_path / "churn v2.zip", MODEL_FILE)
    (build / "churn v2").mkdir(parents=True)
    (build / "churn v2" / "stale.joblib").write_bytes(b"from an older zip")
    status, out, _ = named(tmp_path / "churn v2.zip", capsys)
    assert (status, out) == (0, str(build / "churn v2" / "hgb" / MODEL_FILE))
    assert sorted(path.name for path in (build / "churn v2").iterdir()) == ["hgb"]
    served = (build / "churn v2" / "hgb" / MODEL_FILE).read_bytes()
    assert served == (zipped_as_folder / "hgb" / MODEL_FILE).read_bytes()


def test_model_that_serves_nothing_says_why_in_one_line(
    tmp_path: Path, model_dir: Path, build: Path, capsys
) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "broken.zip").write_bytes(b"not a zip")
    for name in ("one", "two"):
        shutil.copytree(model_dir, tmp_path / "both" / name)
    expected = {
        "absent.joblib": "does not exist; expected a model file, a folder holding one, or a zip",
        "empty": "holds no model file (*.joblib",
        "broken.zip": "not a readable zip",
        "both": f"holds 2 model files (one/{MODEL_FILE}, two/{MODEL_FILE}); name one: MODEL=",
    }
    for name, message in expected.items():
        status, out, err = named(tmp_path / name, capsys)
        assert (status, out) == (2, ""), name
        assert err.startswith(f"error: MODEL={tmp_path / name}") and message in err and "\n" not in err, err
