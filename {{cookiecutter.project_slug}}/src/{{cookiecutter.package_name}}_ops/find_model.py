"""Find the model the scorer will serve, as the scorer finds it; train nothing over a user's model.

make serve, smoke, bench, run and artifact ask this first. It prints the model's path,
found by the scorer's own rule (model_path.resolve_model_path: MODEL_DIR/MODEL_FILE, or
MODEL_FILE inside the one folder of an artifact zipped as a folder), and exits 0. When
MODEL_DIR holds no model at all (no *.joblib, *.pkl, *.pickle, *.onnx, *.sav file, nor one
of MODEL_FILE's suffix: schema files alone are no model) it exits 3 (NO_MODEL), and only
then does make train the sample. When MODEL_DIR holds models but none the scorer would load
as MODEL_FILE, it exits 1 and lists them, each with the setting that serves it.

``--model PATH`` (make's MODEL=) names the model wherever it is, instead: a model file, a
folder holding one (MODEL_FILE, or its only model file), or an artifact zip, unpacked into
build/model/<zip name>/ with the checks of `make deploy-local`. Its path is printed; make
serves it with MODEL_DIR and MODEL_FILE set to its folder and name. Nothing is trained.

    python -m {{ cookiecutter.package_name }}_ops model-path [--model-dir model_artifact] [--model-file {{ cookiecutter.__model_file }}] [--model PATH]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from {{ cookiecutter.package_name }}.model_path import (
    ModelNotFoundError,
    model_files,
    resolve_model_path,
)

from .deploy_local import UnpackError, unpack
from .errors import InputError
from .project import PROJECT

MODEL_FILE = "{{ cookiecutter.__model_file }}"
NO_MODEL = 3  # the exit status that lets make train the sample
UNPACKED = PROJECT / "build" / "model"  # where MODEL=<artifact zip> is unpacked, one folder per zip
HELP = {"model-path": "Print the model the scorer will serve (exit 3: MODEL_DIR holds no model at all)"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model-dir", type=Path, default=Path(os.environ.get("MODEL_DIR") or PROJECT / "model_artifact")
    )
    parser.add_argument("--model-file", default=os.environ.get("MODEL_FILE") or MODEL_FILE)
    parser.add_argument(
        "--model", type=Path, help="a model file, a folder holding one, or an artifact zip (make's MODEL=)"
    )


def setting_for(model_dir: Path, model: Path) -> str:
    """The MODEL_FILE (and MODEL_DIR, when needed) under which the scorer serves ``model``."""
    try:
        if resolve_model_path(model_dir, model.name) == model:
            return f"MODEL_FILE={model.name}"
    except ModelNotFoundError:
        pass
    return f"MODEL_DIR={model.parent} MODEL_FILE={model.name}"


def not_served(model_dir: Path, error: ModelNotFoundError, models: list[Path]) -> str:
    """Why no model is served although MODEL_DIR holds some: each one, with its setting."""
    lines = [f"no model to serve: {error}", f"the model files in {model_dir}, each with its setting:"]
    lines += [f"  {model.relative_to(model_dir)}    {setting_for(model_dir, model)}" for model in models]
    lines.append(
        f"set MODEL_FILE (and MODEL_DIR) to the model to serve, e.g. make serve {setting_for(model_dir, models[0])}; "
        "nothing was trained"
    )
    return "\n".join(lines)


def unpacked(artifact: Path) -> Path:
    """The folder build/model/<zip name>/ holding ``artifact`` unpacked anew, as deploy-local unpacks."""
    folder = UNPACKED / artifact.stem
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    try:
        unpack(artifact, folder)
    except UnpackError as error:
        raise InputError(f"MODEL={artifact}: {str(error).removeprefix(f'--artifact {artifact}: ')}") from None
    return folder


def named_model(model: Path, model_file: str) -> Path:
    """The model file that MODEL= names: the file itself; in a folder (or an unpacked zip),
    ``model_file`` as the scorer finds it, else the folder's only model file."""
    model = model.expanduser().absolute()
    if model.is_file() and model.suffix.lower() == ".zip":
        model = unpacked(model)
    elif model.is_file():
        return model
    if not model.is_dir():
        raise InputError(
            f"MODEL={model} does not exist; expected a model file, a folder holding one, or a zip"
        )
    try:
        return resolve_model_path(model, model_file)
    except ModelNotFoundError:
        found = model_files(model, model_file)
    if len(found) == 1:
        return found[0]
    if not found:
        raise InputError(f"MODEL={model} holds no model file (*.joblib, *.pkl, *.pickle, *.onnx, *.sav)")
    listed = ", ".join(str(path.relative_to(model)) for path in found)
    raise InputError(f"MODEL={model} holds {len(found)} model files ({listed}); name one: MODEL={found[0]}")


def run(args: argparse.Namespace) -> int:
    if args.model is not None:
        print(named_model(args.model, args.model_file))
        return 0
    model_dir = args.model_dir.absolute()
    try:
        print(resolve_model_path(model_dir, args.model_file))
        return 0
    except ModelNotFoundError as error:
        models = model_files(model_dir, args.model_file)
        if not models:
            return NO_MODEL
        print(not_served(model_dir, error, models), file=sys.stderr)
        return 1
