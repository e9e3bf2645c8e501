"""A generated project as a drop-in for Oracle's ADS (``oracle-ads``): its artifacts and its calls.

In ADS's own venv (tests/ads/notebook.py), ``SklearnModel.prepare`` writes the artifacts of
a numbers-only model and of a pipeline over numbers, integers and a text column. Each is
zipped as a user zips it, as its files and as one folder, unzipped into a model folder as
OCI does, and served by each framework's real gunicorn on loopback. ADS's
``SklearnModel.predict`` then sends a DataFrame, a numpy array, a list and dicts to each,
serialized and posted by ADS's own code (only the request signer and the service's GET of
the deployment are stood in for): every answer is the model's own ``predict`` under ADS's
key, and every worker warmed up from ADS's schema, as no example row comes with the artifact.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from baking import DEFAULT_FASTAPI, DEFAULT_FLASK, DEFAULTS, Combo, run
from serving import WORKERS, Gunicorn, gunicorn_with_every_worker_ready, log_lines

NOTEBOOK = Path(__file__).resolve().parent / "ads" / "notebook.py"
MODELS = ("numeric", "mixed")
LAYOUTS = ("files", "folder")
DEPLOYMENTS = [f"{model}/{layout}" for model in MODELS for layout in LAYOUTS]
COMBOS = [DEFAULT_FLASK.param(), DEFAULT_FASTAPI.param()]
# What an ADS user passes to predict() (notebook.bodies); ADS's serializer refuses a numpy
# array of objects, so only the numbers-only model gets one.
BODIES = {
    "numeric": {"DataFrame", "numpy", "list", "dict", "dict of DataFrame.to_dict()"},
    "mixed": {"DataFrame", "list", "dict", "dict of DataFrame.to_dict()"},
}
# What SklearnModel.prepare writes (with X_sample and y_sample); the scorer reads the model
# and input_schema.json, and must not be put off by the rest.
ADS_FILES = {
    ".model-ignore",
    "input_schema.json",
    "model.joblib",
    "output_schema.json",
    "runtime.yaml",
    "score.py",
}


@dataclass
class Deployments:
    """The artifacts served for one combo, and what ADS's predict() got from each."""

    model_dirs: dict[str, Path]
    servers: dict[str, Gunicorn]
    calls: dict[str, dict[str, dict[str, Any]]]  # deployment: body kind: {"answer", "expected"}


@pytest.fixture(scope="session")
def ads_artifacts(ads_python: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """FOLDER/<model>/: the artifacts ADS's SklearnModel.prepare wrote."""
    folder = tmp_path_factory.mktemp("ads-artifacts")
    run([str(ads_python), str(NOTEBOOK), "prepare", str(folder)], folder)
    return folder


def unzipped(artifact: Path, layout: str, model_dir: Path) -> Path:
    """``artifact`` zipped as its files (``zip -r ../model.zip .``) or as one folder
    (``zip -r model.zip <folder>``), then unzipped into ``model_dir`` as OCI does."""
    archive = model_dir.with_suffix(".zip")
    archive.parent.mkdir(parents=True, exist_ok=True)
    top = artifact if layout == "files" else artifact.parent
    with zipfile.ZipFile(archive, "w") as zipped:
        if layout == "folder":
            zipped.write(artifact, artifact.name)
        for path in sorted(artifact.rglob("*")):
            zipped.write(path, path.relative_to(top))
    with zipfile.ZipFile(archive) as zipped:
        zipped.extractall(model_dir)
    return model_dir


@pytest.fixture(scope="module")
def ads_deployments(
    baked, ads_python: Path, ads_artifacts: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[Combo], Deployments]]:
    """``ads_deployments(combo)``: each artifact in each layout served by the combo's project
    (until the module ends), and ADS's calls to each, made once."""
    made: dict[str, Deployments] = {}
    with ExitStack() as running:

        def get(combo: Combo) -> Deployments:
            if combo.id in made:
                return made[combo.id]
            project, folder = baked(combo), tmp_path_factory.mktemp("ads-deployments")
            model_dirs, servers = {}, {}
            for deployment in DEPLOYMENTS:
                model, layout = deployment.split("/")
                model_dirs[deployment] = unzipped(ads_artifacts / model, layout, folder / model / layout)
                log = folder / f"{model}-{layout}.log"
                servers[deployment] = running.enter_context(
                    gunicorn_with_every_worker_ready(project, model_dirs[deployment], log)
                )
            urls, answers = folder / "urls.json", folder / "answers.json"
            urls.write_text(
                json.dumps({name: f"http://127.0.0.1:{each.port}" for name, each in servers.items()})
            )
            run([str(ads_python), str(NOTEBOOK), "call", str(ads_artifacts), str(urls), str(answers)], folder)
            made[combo.id] = Deployments(model_dirs, servers, json.loads(answers.read_text()))
            return made[combo.id]

        yield get


@pytest.mark.parametrize("model", MODELS)
def test_ads_writes_its_files_and_the_model_under_the_projects_model_file(
    ads_artifacts: Path, model: str
) -> None:
    assert {path.name for path in (ads_artifacts / model).iterdir()} == ADS_FILES
    assert DEFAULTS["model_file"] in ADS_FILES


@pytest.mark.parametrize("combo", COMBOS)
@pytest.mark.parametrize("deployment", DEPLOYMENTS)
def test_ads_predict_gets_the_models_own_predictions_under_its_key(
    ads_deployments, combo: Combo, deployment: str
) -> None:
    calls = ads_deployments(combo).calls[deployment]
    assert set(calls) == BODIES[deployment.split("/")[0]]
    # Answered as ADS's own score.py answers, so code written for ADS deployments works unchanged.
    wrong = {
        kind: call["answer"]
        for kind, call in calls.items()
        if call["answer"] != {"prediction": call["expected"]}
    }
    assert not wrong, f"expected {next(iter(calls.values()))['expected']}, got {wrong}"


@pytest.mark.parametrize("combo", COMBOS)
@pytest.mark.parametrize("deployment", DEPLOYMENTS)
def test_ads_artifact_zipped_as_files_or_one_folder_is_found_and_served_warm(
    ads_deployments, combo: Combo, deployment: str
) -> None:
    deployments = ads_deployments(combo)
    model, layout = deployment.split("/")
    model_dir = deployments.model_dirs[deployment]
    folder = model_dir if layout == "files" else model_dir / model
    assert {path.name for path in folder.iterdir()} == ADS_FILES  # ADS's files beside the model
    lines = log_lines(deployments.servers[deployment].log.read_text())
    loaded = [line.get("model_path") for line in lines if line.get("message") == "loading model"]
    assert loaded == [str(folder / DEFAULTS["model_file"])] * WORKERS
    ready = [line for line in lines if line.get("message") == "model ready"]
    assert [line.get("warm_up") for line in ready] == ["schema"] * WORKERS, ready
