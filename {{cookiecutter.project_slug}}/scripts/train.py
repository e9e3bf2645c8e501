"""Train the sample model into model_artifact/ (iris, shipped inside scikit-learn).

Replace the body of ``train_model`` with your own training; keep the contract:
a fitted estimator with ``predict`` saved with joblib as MODEL_FILE, and a
sample request that the scorer accepts. Works offline.

    python scripts/train.py [--output-dir model_artifact] [--model-file {{ cookiecutter.model_file }}]
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import joblib
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

PROJECT = Path(__file__).resolve().parent.parent
FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def train_model(output_dir: Path, model_file: str, sample_request: Path | None = None) -> Path:
    """Fit the model, save it as ``output_dir/model_file``; return the path."""
    iris = load_iris(as_frame=True)
    features = iris.data.set_axis(FEATURES, axis=1)  # names a JSON client can type
    labels = iris.target.map(dict(enumerate(iris.target_names)))  # "setosa", not 0
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    model.fit(features, labels)

    output_dir.mkdir(parents=True, exist_ok=True)
    path = output_dir / model_file
    joblib.dump(model, path)
    if sample_request is not None:
        rows = features.iloc[[0, 50, 100]].to_numpy().tolist()
        sample_request.write_text(json.dumps({"instances": rows}) + "\n")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", type=Path, default=PROJECT / "model_artifact")
    parser.add_argument("--model-file", default=os.environ.get("MODEL_FILE", "{{ cookiecutter.model_file }}"))
    parser.add_argument("--sample-request", type=Path, default=PROJECT / "sample_request.json")
    args = parser.parse_args()
    path = train_model(args.output_dir, args.model_file, args.sample_request)
    print(f"model saved to {path} ({path.stat().st_size} bytes); sample request in {args.sample_request}")


if __name__ == "__main__":
    main()
