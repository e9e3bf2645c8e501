"""What an OCI notebook user does with Oracle's ADS, run in ADS's own venv for tests/test_ads.py.

    <ads-venv>/bin/python notebook.py prepare FOLDER
    <ads-venv>/bin/python notebook.py call FOLDER URLS ANSWERS

``prepare`` trains two models as a notebook does and has ADS write their artifacts
(``SklearnModel.prepare``) into FOLDER/<model>/. ``call`` sends each body ADS sends
(``SklearnModel.predict``: ADS's serializer and HTTP call) to the deployments named in
the JSON file URLS (``{"<model>/<layout>": "http://127.0.0.1:<port>"}``) and writes to
ANSWERS, for each deployment and body, the answer and the model's own ``predict`` of the
same rows in this process.

Offline, two things of OCI are stood in for, and nothing else: the request signer (a
signer that signs nothing, set with ``ads.set_auth`` as a notebook sets its resource
principal) and the Data Science service's GET of the deployment, which ADS asks for the
deployment's URL and whether it is ACTIVE.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import ads
import joblib
import numpy as np
import oci
import pandas as pd
from ads.model.deployment import ModelDeployment
from ads.model.framework.sklearn_model import SklearnModel
from sklearn.compose import make_column_transformer
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

MODEL_FILE = "model.joblib"  # what SklearnModel.prepare names it, and the projects' default
DEPLOYMENT_ID = "ocid1.datasciencemodeldeployment.oc1.iad.amaaaaaatest{}"
IRIS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
PLANS = ["basic", "plus", "pro"]


class UnsignedSigner(oci.auth.signers.SecurityTokenSigner):
    """A signer that signs nothing: a resource principal's type, so OCI's clients take it."""

    def __init__(self) -> None:
        pass

    def __call__(self, request: Any, enforce_content_headers: bool = True) -> Any:
        return request


def iris() -> tuple[pd.DataFrame, np.ndarray]:
    """Numbers only, in a DataFrame with named columns."""
    data = load_iris(as_frame=True)
    return data.data.set_axis(IRIS, axis=1), data.target


def customers(rows: int = 300) -> tuple[pd.DataFrame, np.ndarray]:
    """Floats, integers and a text column of a few values; string labels."""
    rng = np.random.default_rng(26)
    frame = pd.DataFrame(
        {
            "age": rng.uniform(18, 80, rows).round(1),
            "visits": rng.integers(0, 40, rows),
            "income": rng.normal(52_000, 15_000, rows).round(2),
            "plan": rng.choice(PLANS, rows),
        }
    )
    labels = np.where((frame["age"] > 50) ^ (frame["plan"] == "pro"), "churned", "stayed")
    return frame, labels


def train() -> dict[str, tuple[Any, pd.DataFrame, np.ndarray]]:
    """name: (fitted model, X, y)."""
    numbers, species = iris()
    frame, churn = customers()
    mixed = make_pipeline(
        make_column_transformer(
            (OneHotEncoder(handle_unknown="ignore"), ["plan"]),
            (StandardScaler(), ["age", "visits", "income"]),
        ),
        LogisticRegression(max_iter=1000),
    )
    forest = RandomForestClassifier(n_estimators=20, random_state=0)
    return {
        "numeric": (forest.fit(numbers, species), numbers, species),
        "mixed": (mixed.fit(frame, churn), frame, churn),
    }


def prepare(folder: Path) -> None:
    for name, (model, features, labels) in train().items():
        artifact = SklearnModel(model, artifact_dir=str(folder / name))
        # A container runtime: no conda pack to look up (and so none in runtime.yaml).
        artifact.prepare(ignore_conda_error=True, X_sample=features, y_sample=labels, force_overwrite=True)
        assert artifact.model_file_name == MODEL_FILE, artifact.model_file_name


def bodies(name: str, features: pd.DataFrame) -> dict[str, Any]:
    """What an ADS user passes to predict(): a DataFrame, a numpy array (numbers only: ADS's
    serializer refuses arrays of objects), a list of rows and a dict of columns."""
    sent: dict[str, Any] = {
        "DataFrame": features,
        "list": features.values.tolist(),
        "dict": features.to_dict(orient="list"),
        "dict of DataFrame.to_dict()": features.to_dict(),
    }
    if name == "numeric":
        sent["numpy"] = features.to_numpy()
    return sent


def plain(value: Any) -> Any:
    """``value`` as JSON has it (numpy integers and arrays to Python's)."""
    return json.loads(json.dumps(value, default=lambda item: item.tolist()))


def deployments_at(urls: dict[str, str]) -> None:
    """The service's answer to a GET of a deployment: ACTIVE, at ``urls[its OCID]``."""

    def get_model_deployment(client: Any, model_deployment_id: str, **kwargs: Any) -> oci.response.Response:
        deployment = oci.data_science.models.ModelDeployment(
            id=model_deployment_id,
            display_name="byoc-scorer",
            lifecycle_state="ACTIVE",
            model_deployment_url=urls[model_deployment_id],
        )
        return oci.response.Response(200, {}, deployment, None)

    oci.data_science.DataScienceClient.get_model_deployment = get_model_deployment


def call(folder: Path, urls: dict[str, str]) -> dict[str, dict[str, Any]]:
    """deployment: body: {"answer": what predict() returned, "expected": the model's predict}."""
    ids = {deployment: DEPLOYMENT_ID.format(index) for index, deployment in enumerate(urls)}
    deployments_at({ids[deployment]: url for deployment, url in urls.items()})
    samples = {name: features.iloc[::37].reset_index(drop=True) for name, (_, features, _) in train().items()}
    answers: dict[str, dict[str, Any]] = {}
    for deployment, deployment_id in ids.items():
        name = deployment.split("/")[0]
        estimator = joblib.load(folder / name / MODEL_FILE)
        model = SklearnModel(estimator, artifact_dir=str(folder / name))
        model.model_deployment = ModelDeployment.from_id(deployment_id)
        expected = plain(estimator.predict(samples[name]))
        answers[deployment] = {}
        for kind, data in bodies(name, samples[name]).items():
            try:
                answer = model.predict(data)
            except Exception as error:  # reported by the test, with the body that raised it
                answer = {"raised": f"{type(error).__name__}: {error}"}
            answers[deployment][kind] = {"answer": answer, "expected": expected}
    return answers


if __name__ == "__main__":
    command, folder = sys.argv[1], Path(sys.argv[2])
    ads.set_auth(signer=UnsignedSigner(), config={"region": "us-ashburn-1"})  # as a notebook sets its own
    if command == "prepare":
        prepare(folder)
    else:
        urls = json.loads(Path(sys.argv[3]).read_text())
        Path(sys.argv[4]).write_text(json.dumps(call(folder, urls), indent=1))
