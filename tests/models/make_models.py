"""Train the models that tests/test_models.py serves, in a baked project's own environment.

    PYTHONPATH=<project>/src <project>/.venv/bin/python make_models.py OUTPUT

For each model, OUTPUT/<name>/ holds model.joblib (with its signature where it was saved
with save_model) and cases.json: a request, what the model answers in-process for the same
DataFrame by each method it has, and wrong requests with a piece of the error each must get.
The project's environment needs lightgbm (the test adds it to requirements.txt).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import joblib
import lightgbm
import numpy as np
import pandas as pd
from my_model_service import save_model  # the default package name
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_iris
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

METHODS = ("predict", "predict_proba", "decision_function")
IRIS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
CITIES = ["oslo", "lima", "pune"]
TEXT_FOR_NUMBER = "expected a number"
NULL_REFUSED = "this feature may not be missing"


def customers(rows: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(
        {
            "age": rng.uniform(18, 80, rows).round(1),
            "income": rng.normal(52_000, 15_000, rows).round(0),
            "city": rng.choice(CITIES, rows),
        }
    )
    frame.loc[rng.random(rows) < 0.15, "income"] = np.nan
    return frame


def churned(frame: pd.DataFrame) -> np.ndarray:
    return np.where((frame["age"] > 50) ^ (frame["city"] == "oslo"), "churned", "stayed")


RECORDS = [
    {"age": 34.5, "income": 61000.0, "city": "oslo"},
    {"age": 61.0, "income": None, "city": "lima"},
    {"age": 45.0, "income": 38000.0, "city": "berlin"},  # never seen in training
]


def answers(model: Any, features: Any) -> dict[str, Any]:
    """What each method of the model says, as the scorer words it."""
    labels = [str(label) for label in getattr(model, "classes_", [])]
    said: dict[str, Any] = {}
    for method in METHODS:
        if not hasattr(model, method):
            continue
        result = np.asarray(getattr(model, method)(features))
        if method != "predict" and result.ndim == 2:
            said[method] = [dict(zip(labels, row, strict=True)) for row in result.astype(float).tolist()]
        else:
            said[method] = result.tolist()
    return said


def write(
    folder: Path, model: Any, body: dict, features: Any, bad: list[tuple[dict, str]], sample: Any
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if sample is None:
        joblib.dump(model, folder / "model.joblib")
    else:
        save_model(model, sample, folder / "model.joblib")
    cases = {"body": body, "expected": answers(model, features), "bad": bad}
    (folder / "cases.json").write_text(json.dumps(cases))


def with_record(change: dict[str, Any]) -> dict[str, Any]:
    return {"data": [RECORDS[0], {**RECORDS[0], **change}]}


def ndarray(folder: Path) -> None:
    data = load_iris()
    model = LogisticRegression(max_iter=1000).fit(data.data, data.target_names[data.target].tolist())
    rows = data.data[[0, 60, 120]].tolist()
    bad = [
        ({"instances": [[1, "x", 3, 4]]}, '"x" is not a number'),
        ({"instances": [[1, None, 3, 4]]}, "null is not a number"),
        ({"instances": [[1, 2, 3]]}, "expects 4 features"),
        ({"data": [dict(zip(IRIS, rows[0], strict=True))]}, "trained without feature names"),
    ]
    write(folder, model, {"instances": rows}, np.array(rows), bad, None)


def dataframe(folder: Path) -> None:
    data = load_iris(as_frame=True)
    features = data.data.set_axis(IRIS, axis=1)
    model = LogisticRegression(max_iter=1000).fit(features, data.target)
    records = features.iloc[[0, 60, 120]].to_dict(orient="records")
    bad = [
        ({"data": [{**records[0], "petal_width": "x"}]}, 'feature "petal_width": "x" is not a number'),
        ({"data": [{**records[0], "petal_width": None}]}, "null is not a number"),
        ({"data": [{"sepal_length": 1.0}]}, "missing ['sepal_width', 'petal_length', 'petal_width']"),
        ({"data": [{**records[0], "colour": 1}]}, "unknown ['colour']"),
    ]
    write(folder, model, {"data": records}, pd.DataFrame(records), bad, features)


def mixed(folder: Path) -> None:
    features = customers()
    columns = ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(), StandardScaler()), ["age", "income"]),
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["city"]),
        ]
    )
    model = make_pipeline(columns, LogisticRegression()).fit(features, churned(features))
    sent = pd.DataFrame(RECORDS).astype({"income": "float64"})
    bad = [
        (with_record({"age": "old"}), 'row 1, feature "age": got "old", expected a number'),
        (with_record({"age": None}), NULL_REFUSED),
        (with_record({"income": True}), 'feature "income": got true, expected a number or null'),
        (with_record({"city": 3}), 'feature "city": got 3, expected text'),
        (with_record({"city": None}), NULL_REFUSED),
        ({"instances": [[1.0, 2.0]]}, "expects 3 features"),
    ]
    write(folder, model, {"data": RECORDS}, sent, bad, features)


def hgb(folder: Path) -> None:
    features = customers()[["age", "income"]]
    model = HistGradientBoostingClassifier(max_iter=30, random_state=0)
    model.fit(features, churned(customers()))
    records = [{"age": record["age"], "income": record["income"]} for record in RECORDS]
    sent = pd.DataFrame(records).astype("float64")
    bad = [
        (
            {"data": [records[0], {**records[0], "income": "none"}]},
            'row 1, feature "income": got "none", expected',
        ),
        ({"data": [{**records[0], "age": None}]}, NULL_REFUSED),
    ]
    write(folder, model, {"data": records}, sent, bad, features)


def regressor(folder: Path) -> None:
    features = customers().dropna()
    columns = ColumnTransformer(
        [("num", StandardScaler(), ["age"]), ("cat", OneHotEncoder(handle_unknown="ignore"), ["city"])]
    )
    model = make_pipeline(columns, Ridge()).fit(features[["age", "city"]], features["income"])
    records = [{"age": record["age"], "city": record["city"]} for record in RECORDS]
    bad = [
        (
            {"data": records, "method": "predict_proba"},
            'this model has no predict_proba; "method" may be predict',
        ),
        ({"data": [{"age": "x", "city": "oslo"}]}, TEXT_FOR_NUMBER),
    ]
    write(folder, model, {"data": records}, pd.DataFrame(records), bad, features[["age", "city"]])


def gbm(folder: Path) -> None:
    features = customers()
    features["city"] = features["city"].astype("category")
    model = lightgbm.LGBMClassifier(n_estimators=25, min_child_samples=5, verbose=-1, random_state=0)
    model.fit(features, churned(customers()))
    sent = pd.DataFrame(RECORDS).astype({"income": "float64"})
    sent["city"] = pd.Categorical(sent["city"], categories=[*sorted(CITIES), "berlin"])
    bad = [
        (
            with_record({"city": 3}),
            'feature "city": got 3, expected one of its categories (text, such as "lima")',
        ),
        (with_record({"age": [1]}), 'feature "age": got [1], expected a number'),
    ]
    write(folder, model, {"data": RECORDS}, sent, bad, features)


def every_kind(folder: Path) -> None:
    """Every kind of feature, for the typed fuzzing: integer, number with gaps, text, category, boolean."""
    base = customers()
    rng = np.random.default_rng(3)
    features = pd.DataFrame(
        {
            "age": base["age"].round().astype("int64"),
            "income": base["income"],
            "city": base["city"],
            "plan": pd.Categorical(rng.choice(["basic", "plus"], len(base))),
            "member": rng.random(len(base)) < 0.5,
        }
    )
    columns = ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(), StandardScaler()), ["age", "income"]),
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["city", "plan", "member"]),
        ]
    )
    model = make_pipeline(columns, LogisticRegression()).fit(features, churned(base))
    record = {"age": 40, "income": None, "city": "pune", "plan": "plus", "member": True}
    sent = pd.DataFrame([record]).astype({"income": "float64"})
    sent["plan"] = pd.Categorical(sent["plan"], categories=["basic", "plus"])
    write(folder, model, {"data": [record]}, sent, [], features)


MODELS: dict[str, Callable[[Path], None]] = {
    "ndarray": ndarray,
    "dataframe": dataframe,
    "mixed": mixed,
    "hgb": hgb,
    "regressor": regressor,
    "lightgbm": gbm,
    "every_kind": every_kind,
}

if __name__ == "__main__":
    output = Path(sys.argv[1])
    for name, make in MODELS.items():
        make(output / name)
        print(f"{name}: {output / name}")
