"""processing.preprocess and postprocess: a derived feature and renamed outputs, and their errors."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from {{ cookiecutter.package_name }} import processing, save_model
from {{ cookiecutter.package_name }}_ops.samples import customers

MODEL_FILE = "{{ cookiecutter.__model_file }}"
NAMES = {"churned": "leaves", "stayed": "stays"}


def with_income_per_year(features: Any) -> Any:
    """A derived feature the model was trained on but callers don't send."""
    if (features["age"] <= 0).any():
        raise ValueError("age must be positive")
    return features.assign(income_per_year=features["income"] / features["age"])


def renamed(predictions: list[Any], method: str) -> list[Any]:
    if method == "predict":
        return [NAMES[label] for label in predictions]
    return [
        {NAMES[label]: value for label, value in row.items()} if isinstance(row, dict) else row
        for row in predictions
    ]


@pytest.fixture
def custom(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[Path, Any]:
    monkeypatch.setattr(processing, "preprocess", with_income_per_year)
    monkeypatch.setattr(processing, "postprocess", renamed)
    features, labels = customers()
    columns = ColumnTransformer(
        [
            ("num", SimpleImputer(), ["age", "income", "income_per_year"]),
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["city"]),
        ]
    )
    model = make_pipeline(columns, LogisticRegression(max_iter=1000)).fit(
        with_income_per_year(features), labels
    )
    save_model(model, features, tmp_path / MODEL_FILE)  # the signature: what callers send
    return tmp_path, model


def test_a_derived_feature_and_renamed_outputs(serve: Any, custom: tuple[Path, Any]) -> None:
    folder, model = custom
    client = serve(folder)
    records = [
        {"age": 30.0, "income": 40000.0, "city": "oslo"},
        {"age": 70.0, "income": None, "city": "pune"},
    ]
    reply = client.post("/predict", json_body={"data": records})
    assert "income_per_year" not in (folder / "input_schema.json").read_text()
    sent = with_income_per_year(pd.DataFrame(records).astype({"income": "float64"}))
    assert reply.json == {"predictions": [NAMES[label] for label in model.predict(sent)]}
    proba = client.post("/predict", json_body={"data": records, "method": "predict_proba"}).json[
        "predictions"
    ]
    assert set(proba[0]) == {"leaves", "stays"}


def test_a_value_error_in_preprocess_is_a_400_with_its_message(serve: Any, custom: tuple[Path, Any]) -> None:
    reply = serve(custom[0]).post(
        "/predict", json_body={"data": [{"age": -1.0, "income": 1.0, "city": "oslo"}]}
    )
    assert (reply.status, reply.json) == (400, {"error": "age must be positive"})


def test_any_other_error_is_a_500_whose_traceback_is_in_the_log_only(
    serve: Any, custom: tuple[Path, Any], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    client = serve(custom[0])

    def broken(predictions: list[Any], method: str) -> list[Any]:
        raise KeyError("a bug in postprocess")

    monkeypatch.setattr(processing, "postprocess", broken)
    with caplog.at_level(logging.ERROR):
        reply = client.post("/predict", json_body={"data": [{"age": 30.0, "income": 1.0, "city": "oslo"}]})
    assert (reply.status, reply.json) == (500, {"error": "prediction failed; the server log has the details"})
    assert "KeyError: 'a bug in postprocess'" in caplog.text
