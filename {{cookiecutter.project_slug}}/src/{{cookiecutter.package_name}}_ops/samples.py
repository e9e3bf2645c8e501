"""The template's sample models: what `make train` fits until scripts/train.py trains yours,
and what the project's tests serve.

- ``iris`` (the default): the iris flowers shipped inside scikit-learn, four numbers,
  a scaler and a logistic regression;
- ``churn``: synthetic customers as most tabular models see them, a pandas DataFrame
  with a text column (``city``) and missing values (``income``), in a pipeline whose
  ColumnTransformer imputes and scales the numbers and one-hot encodes the text.

The template owns this module: the tests import it, never scripts/train.py (yours to rewrite).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_iris
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from {{ cookiecutter.package_name }}.signature import save_model

FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
# A sample: the fitted model, its training input (a DataFrame) and a request the scorer takes.
Sample = tuple[Any, pd.DataFrame, dict[str, Any]]


def iris() -> Sample:
    """The model, its training input and a sample request (rows of numbers)."""
    data = load_iris(as_frame=True)
    features = data.data.set_axis(FEATURES, axis=1)  # names a JSON client can type
    labels = data.target.map(dict(enumerate(data.target_names.tolist())))  # "setosa", not 0
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    model.fit(features, labels)
    return model, features, {"instances": features.iloc[[0, 50, 100]].to_numpy().tolist()}


def customers(rows: int = 600, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Synthetic customers (age, income with gaps, city as text) and whether each churned."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "age": rng.uniform(18, 80, rows).round(1),
            "income": rng.normal(52_000, 15_000, rows).round(0),
            "city": rng.choice(["oslo", "lima", "pune"], rows),
        }
    )
    frame.loc[rng.random(rows) < 0.1, "income"] = np.nan
    churned = (frame["age"] > 50) ^ (frame["city"] == "oslo") ^ (rng.random(rows) < 0.1)
    return frame, np.where(churned, "churned", "stayed")


def churn() -> Sample:
    """The model, its training input and a sample request (typed records, a missing income)."""
    features, labels = customers()
    numbers = make_pipeline(SimpleImputer(), StandardScaler())
    columns = ColumnTransformer(
        [("num", numbers, ["age", "income"]), ("cat", OneHotEncoder(handle_unknown="ignore"), ["city"])]
    )
    model = make_pipeline(columns, LogisticRegression()).fit(features, labels)
    missing = int(features["income"].isna().to_numpy().argmax())
    records = (
        features.iloc[[0, 1, missing]].astype(object).where(features.iloc[[0, 1, missing]].notna(), None)
    )
    return model, features, {"data": records.to_dict(orient="records")}


SAMPLES: dict[str, Callable[[], Sample]] = {"iris": iris, "churn": churn}


def train_sample(
    output_dir: Path, model_file: str, sample_request: Path | None = None, sample: str = "iris"
) -> Path:
    """Fit the ``sample`` model, save it with its signature as ``output_dir/model_file``, write
    its request into ``sample_request`` (when given); return the model's path."""
    model, features, request = SAMPLES[sample]()
    path = Path(output_dir).absolute() / model_file
    save_model(model, features, path)
    if sample_request is not None:
        sample_request.write_text(json.dumps(request) + "\n")
    return path
