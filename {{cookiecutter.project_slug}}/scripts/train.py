"""Your training script: fit your model, save it with its signature into model_artifact/.

This file is yours to rewrite: nothing of the template imports it (the tests train their own
samples, {{ cookiecutter.package_name }}_ops/samples.py). Put your training in ``train``: read your data,
fit your model, return it with a sample of the DataFrame it was fitted on (the first rows of
the training input: callers send rows like them). ``main`` saves it with ``save_model``,
which writes the signature beside the model and checks that the scorer loads it and answers.
Functions and classes the model needs (custom transformers) go in src/{{ cookiecutter.package_name }}/, not here:
the server imports them from the package.

Until you do, it trains one of the template's samples: ``iris`` (the default) or ``churn``
(a DataFrame with text and missing values), and writes a request for it.

    python scripts/train.py [--sample iris|churn] [--output-dir model_artifact] [--model-file NAME]

`make train` runs it with MODEL_DIR, MODEL_FILE, SAMPLE and SAMPLE_REQUEST in its environment.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

import pandas as pd

from {{ cookiecutter.package_name }} import save_model
from {{ cookiecutter.package_name }}_ops.samples import SAMPLES

PROJECT = Path(__file__).resolve().parent.parent
MODEL_FILE = "{{ cookiecutter.__model_file }}"


def train(sample: str) -> tuple[Any, pd.DataFrame, dict[str, Any] | None]:
    """Your training goes here: the fitted model, a sample of its training input (a DataFrame)
    and a request for it (None: `make smoke` sends the example save_model writes beside it)."""
    return SAMPLES[sample]()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", choices=sorted(SAMPLES), default=os.environ.get("SAMPLE") or "iris")
    model_dir = os.environ.get("MODEL_DIR") or PROJECT / "model_artifact"
    parser.add_argument("--output-dir", type=Path, default=model_dir)
    parser.add_argument("--model-file", default=os.environ.get("MODEL_FILE") or MODEL_FILE)
    request = os.environ.get("SAMPLE_REQUEST") or PROJECT / "sample_request.json"
    parser.add_argument("--sample-request", type=Path, default=request)
    args = parser.parse_args()
    model, features, sample_request = train(args.sample)
    save_model(model, features, args.output_dir.absolute() / args.model_file)
    if sample_request is not None:
        args.sample_request.write_text(json.dumps(sample_request) + "\n")
        print(f"sample request in {args.sample_request}")


if __name__ == "__main__":
    main()
