"""Find the model file inside the mounted model artifact.

OCI unzips the artifact into the mount folder as it is: a zip of *files* puts
the model at ``<mount>/model.joblib``, a zip of a *folder* at
``<mount>/<folder>/model.joblib``. Both layouts are accepted.
"""

from __future__ import annotations

from pathlib import Path

IGNORED = {"__MACOSX"}
# What counts as a model file when the tooling asks whether MODEL_DIR holds one at all
# (besides a file of MODEL_FILE's own suffix): schema and example files alone are not.
MODEL_SUFFIXES = frozenset({".joblib", ".pkl", ".pickle", ".onnx", ".sav"})


class ModelNotFoundError(FileNotFoundError):
    """No model file in either layout; the message says where it looked."""


def resolve_model_path(model_dir: Path, model_file: str) -> Path:
    """The model file at the artifact root, or inside its only top-level folder."""
    direct = model_dir / model_file
    if direct.is_file():
        return direct
    if not model_dir.is_dir():
        raise ModelNotFoundError(
            f"model folder {model_dir} does not exist; set MODEL_DIR to where the artifact is mounted"
        )
    folders = [
        entry
        for entry in model_dir.iterdir()
        if entry.is_dir() and entry.name not in IGNORED and not entry.name.startswith(".")
    ]
    if len(folders) == 1 and (folders[0] / model_file).is_file():
        return folders[0] / model_file
    looked = [str(direct)]
    if len(folders) == 1:
        looked.append(str(folders[0] / model_file))
    found = sorted(entry.name for entry in model_dir.iterdir())
    raise ModelNotFoundError(
        f"model file {model_file!r} not found (looked at {', '.join(looked)}; "
        f"{model_dir} holds {found or 'nothing'}); set MODEL_FILE or fix the artifact zip"
    )


def model_files(model_dir: Path, model_file: str) -> list[Path]:
    """Every file under ``model_dir`` that looks like a model, sorted: a suffix of
    MODEL_SUFFIXES or of ``model_file``; hidden entries and IGNORED folders are skipped."""
    suffixes = MODEL_SUFFIXES | ({Path(model_file).suffix} - {""})
    if not model_dir.is_dir():
        return []
    found = []
    for entry in model_dir.iterdir():
        if entry.name.startswith(".") or entry.name in IGNORED:
            continue
        if entry.is_dir():
            if not entry.is_symlink():  # a link could loop back
                found += model_files(entry, model_file)
        elif entry.is_file() and (entry.suffix in suffixes or entry.name == model_file):
            found.append(entry)
    return sorted(found)
