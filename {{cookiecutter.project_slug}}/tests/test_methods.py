"""What /predict answers: predict, predict_proba or decision_function, by request or PREDICT_METHOD."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression

from {{ cookiecutter.package_name }} import save_model

MODEL_FILE = "{{ cookiecutter.__model_file }}"


def test_probabilities_and_scores_are_keyed_by_class_label(
    client: Any, model: Any, sample_rows: list[list[float]]
) -> None:
    labels = model.classes_.tolist()
    proba = client.post("/predict", json_body={"instances": sample_rows, "method": "predict_proba"})
    assert proba.json["predictions"] == [
        dict(zip(labels, row, strict=True)) for row in model.predict_proba(np.array(sample_rows)).tolist()
    ]
    scores = client.post("/predict", json_body={"data": sample_rows, "method": "decision_function"})
    assert scores.json["predictions"] == [
        dict(zip(labels, row, strict=True)) for row in model.decision_function(np.array(sample_rows)).tolist()
    ]
    plain = client.post("/predict", json_body={"instances": sample_rows, "method": "predict"})
    assert plain.json["predictions"] == model.predict(np.array(sample_rows)).tolist()


def test_predict_method_sets_the_default(
    serve: Any, model_dir: Path, model: Any, sample_rows: list[list[float]]
) -> None:
    client = serve(model_dir, predict_method="predict_proba")
    reply = client.post("/predict", json_body={"instances": sample_rows})
    assert reply.json["predictions"][0] == dict(
        zip(model.classes_.tolist(), model.predict_proba(np.array(sample_rows[:1]))[0].tolist(), strict=True)
    )
    asked = client.post("/predict", json_body={"instances": sample_rows, "method": "predict"})
    assert asked.json["predictions"] == model.predict(np.array(sample_rows)).tolist()


def test_a_method_the_model_lacks_is_a_400_naming_the_ones_it_has(tmp_path: Path, serve: Any) -> None:
    features = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [0.5, 0.1, 0.2]})
    save_model(LinearRegression().fit(features, [1.0, 2.0, 3.5]), features, tmp_path / MODEL_FILE)
    client = serve(tmp_path)
    reply = client.post("/predict", json_body={"data": {"x": 4.0, "y": 1.0}, "method": "predict_proba"})
    assert reply.status == 400
    assert reply.json["error"] == 'this model has no predict_proba; "method" may be predict'
    number = client.post("/predict", json_body={"data": {"x": 4.0, "y": 1.0}}).json["predictions"][0]
    assert isinstance(number, float)


def test_a_predict_method_the_model_lacks_leaves_health_503_with_the_reason(
    tmp_path: Path, serve: Any
) -> None:
    features = pd.DataFrame({"x": [1.0, 2.0, 3.0]})
    save_model(LinearRegression().fit(features, [1.0, 2.0, 3.5]), features, tmp_path / MODEL_FILE)
    reply = serve(tmp_path, predict_method="decision_function").get("/health")
    assert reply.status == 503
    assert reply.json["reason"] == "PREDICT_METHOD=decision_function, but the model has only predict"
