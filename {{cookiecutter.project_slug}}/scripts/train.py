"""Train a sample model into model_artifact/, with its signature, offline.

Two samples:

- ``iris`` (the default): the iris flowers shipped inside scikit-learn, four numbers,
  a scaler and a logistic regression;
- ``churn``: synthetic customers as most tabular models see them, a pandas DataFrame
  with a text column (``city``) and missing values (``income``), in a pipeline whose
  ColumnTransformer imputes and scales the numbers and one-hot encodes the text.

Replace ``train_model`` with your own training; keep the contract: call
``save_model(model, X_sample, path)`` with a sample of the DataFrame the model was
fitted on, and write a sample request that the scorer accepts.

    python scripts/train.py [--sample iris|churn] [--output-dir model_artifact] [--model-file NAME]
"""

from __future__ import annotations

import argparse
import json
import os
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

from {{ cookiecutter.package_name }} import save_model

PROJECT = Path(__file__).resolve().parent.parent
MODEL_FILE = "{{ cookiecutter.model_file }}"
FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
SAMPLES = ("iris", "churn")


def iris() -> tuple[Any, pd.DataFrame, dict[str, Any]]:
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


def churn() -> tuple[Any, pd.DataFrame, dict[str, Any]]:
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


def train_model(
    output_dir: Path, model_file: str, sample_request: Path | None = None, sample: str = "iris"
) -> Path:
    """Fit the ``sample`` model, save it with its signature as ``output_dir/model_file``; return the path."""
    model, features, request = {"iris": iris, "churn": churn}[sample]()
    path = output_dir / model_file
    save_model(model, features, path)
    if sample_request is not None:
        sample_request.write_text(json.dumps(request) + "\n")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", choices=SAMPLES, default=os.environ.get("SAMPLE") or "iris")
    parser.add_argument("--output-dir", type=Path, default=PROJECT / "model_artifact")
    parser.add_argument("--model-file", default=os.environ.get("MODEL_FILE", MODEL_FILE))
    parser.add_argument("--sample-request", type=Path, default=PROJECT / "sample_request.json")
    args = parser.parse_args()
    path = train_model(args.output_dir, args.model_file, args.sample_request, args.sample)
    print(f"{args.sample} model saved to {path} ({path.stat().st_size} bytes) with its signature")
    print(f"sample request in {args.sample_request}")


if __name__ == "__main__":
    main()
