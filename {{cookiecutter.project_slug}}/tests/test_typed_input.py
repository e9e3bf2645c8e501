"""Models fitted on DataFrames: typed records, text, missing values, every kind of wrong value."""

from __future__ import annotations

import json
import logging
from operator import methodcaller
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from {{ cookiecutter.package_name }} import save_model
from {{ cookiecutter.package_name }}.scorer import Scorer
from {{ cookiecutter.package_name }}.settings import Settings
from {{ cookiecutter.package_name }}_ops.samples import customers

MODEL_FILE = "{{ cookiecutter.__model_file }}"
RECORDS = [
    {"age": 34.5, "income": 61000.0, "city": "oslo"},
    {"age": 61.0, "income": None, "city": "lima"},
    {"age": 45.0, "income": 38000.0, "city": "berlin"},  # a city the model never saw
]


def frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    """The records as the model was trained on them: floats with NaN, text."""
    built = pd.DataFrame(records)
    return built.astype({"age": "float64", "income": "float64"})


def test_the_churn_pipeline_serves_typed_records_with_text_and_missing_values(
    serve: Any, churn_dir: Path, churn_model: Any
) -> None:
    client = serve(churn_dir)
    assert client.get("/health").json == {"status": "ready"}
    expected = churn_model.predict(frame(RECORDS)).tolist()
    assert client.post("/predict", json_body={"data": RECORDS}).json == {"predictions": expected}
    rows = [[record["age"], record["income"], record["city"]] for record in RECORDS]
    assert client.post("/predict", json_body={"instances": rows}).json == {"predictions": expected}
    columns = {name: [record[name] for record in RECORDS] for name in ("age", "income", "city")}
    assert client.post("/predict", json_body={"data": columns}).json == {"predictions": expected}
    # A DataFrame's df.to_json() as the body (ADS sends it inside its envelope: test_ads_envelope.py).
    ads_body = frame(RECORDS).to_json().encode()
    assert client.post("/predict", ads_body).json == {"predictions": expected}


def test_probabilities_come_keyed_by_class_label(serve: Any, churn_dir: Path, churn_model: Any) -> None:
    client = serve(churn_dir)
    reply = client.post("/predict", json_body={"data": RECORDS, "method": "predict_proba"})
    probabilities = churn_model.predict_proba(frame(RECORDS))
    assert reply.status == 200
    assert reply.json["predictions"] == [
        dict(zip(["churned", "stayed"], row, strict=True)) for row in probabilities.tolist()
    ]
    scores = client.post("/predict", json_body={"data": RECORDS, "method": "decision_function"}).json
    assert (
        scores["predictions"] == churn_model.decision_function(frame(RECORDS)).tolist()
    )  # binary: one score


def test_an_optional_feature_may_be_left_out_of_a_record(
    serve: Any, churn_dir: Path, churn_model: Any
) -> None:
    reply = serve(churn_dir).post("/predict", json_body={"data": [{"age": 61.0, "city": "lima"}]})
    assert reply.json["predictions"] == churn_model.predict(frame([RECORDS[1]])).tolist()


@pytest.mark.parametrize(
    ("record", "message"),
    [
        pytest.param(
            {"age": "34"}, 'row 0, feature "age": got "34", expected a number', id="text-for-number"
        ),
        pytest.param(
            {"age": True}, 'row 0, feature "age": got true, expected a number', id="bool-for-number"
        ),
        pytest.param(
            {"age": None}, 'feature "age": got null, expected a number; this feature may not be', id="null"
        ),
        pytest.param({"age": [1]}, 'row 0, feature "age": got [1], expected a number', id="list"),
        pytest.param(
            {"income": "high"}, 'feature "income": got "high", expected a number or null', id="text"
        ),
        pytest.param({"income": 10**400}, 'feature "income": the number is too large', id="huge"),
        pytest.param({"city": 7}, 'row 0, feature "city": got 7, expected text (a JSON string)', id="number"),
        pytest.param({"city": None}, 'feature "city": got null, expected text', id="null-text"),
        pytest.param({"city": {"a": 1}}, 'feature "city": got {"a": 1}, expected text', id="object"),
        pytest.param({"town": "oslo"}, "unknown ['town']", id="unknown-feature"),
    ],
)
def test_each_wrong_value_is_a_400_naming_row_feature_value_and_expectation(
    serve: Any, churn_dir: Path, record: dict[str, Any], message: str
) -> None:
    body = {"data": [{**RECORDS[0], **record}]}
    reply = serve(churn_dir).post("/predict", json.dumps(body, allow_nan=True).encode())
    assert reply.status == 400
    assert message in reply.json["error"]


def test_the_row_number_is_the_offending_rows(serve: Any, churn_dir: Path) -> None:
    reply = serve(churn_dir).post(
        "/predict", json_body={"data": [RECORDS[0], RECORDS[1], {**RECORDS[2], "age": "x"}]}
    )
    assert reply.json["error"].startswith('row 2, feature "age"')


@pytest.fixture(scope="module")
def every_kind(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    """A model with an integer, a number that may be missing, text, a category and a boolean."""
    folder = tmp_path_factory.mktemp("every_kind")
    base, labels = customers(300, seed=1)
    rng = np.random.default_rng(1)
    sample = pd.DataFrame(
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
    model = make_pipeline(columns, LogisticRegression()).fit(sample, labels)
    signature = save_model(model, sample, folder / MODEL_FILE)
    assert [(f.name, f.kind, f.dtype, f.required) for f in signature.features] == [
        ("age", "integer", "int64", True),
        ("income", "number", "float64", False),
        ("city", "text", "str", True),
        ("plan", "category", "category", True),
        ("member", "boolean", "bool", True),
    ]
    return folder, model


GOOD = {"age": 40, "income": None, "city": "pune", "plan": "plus", "member": True}


def test_every_kind_of_feature_is_built_with_the_training_dtype(
    serve: Any, every_kind: tuple[Path, Any]
) -> None:
    folder, model = every_kind
    client = serve(folder)
    records = [GOOD, {**GOOD, "age": 71.0, "income": 9000.5, "plan": "gold", "member": False}]
    expected = pd.DataFrame(records).astype({"age": "int64", "income": "float64"})
    expected["plan"] = pd.Categorical(expected["plan"], categories=["basic", "plus", "gold"])
    reply = client.post("/predict", json_body={"data": records, "method": "predict_proba"})
    assert reply.status == 200, reply.json
    assert [list(row.values()) for row in reply.json["predictions"]] == model.predict_proba(expected).tolist()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param(
            {"age": 40.5}, 'feature "age": got 40.5, expected a whole number', id="fraction-for-integer"
        ),
        pytest.param(
            {"age": "40"}, 'feature "age": got "40", expected a whole number', id="text-for-integer"
        ),
        pytest.param({"age": 2**70}, 'feature "age": the number is outside', id="integer-too-large"),
        pytest.param(
            {"plan": 3}, 'feature "plan": got 3, expected one of its categories (text, such as', id="cat"
        ),
        pytest.param(
            {"member": "yes"}, 'feature "member": got "yes", expected true or false', id="bool-text"
        ),
        pytest.param({"member": 1}, 'feature "member": got 1, expected true or false', id="bool-number"),
        pytest.param(
            {"member": None}, 'feature "member": got null, expected true or false; this', id="bool-null"
        ),
    ],
)
def test_wrong_values_of_every_kind_are_400s(
    serve: Any, every_kind: tuple[Path, Any], change: dict[str, Any], message: str
) -> None:
    reply = serve(every_kind[0]).post("/predict", json_body={"data": [{**GOOD, **change}]})
    assert reply.status == 400
    assert message in reply.json["error"]


def test_whole_numbers_sent_as_floats_are_integers(serve: Any, every_kind: tuple[Path, Any]) -> None:
    client = serve(every_kind[0])
    one = client.post("/predict", json_body={"data": [{**GOOD, "age": 40.0}]}).json
    assert one == client.post("/predict", json_body={"data": [GOOD]}).json


@pytest.fixture(scope="module")
def plain_dump(tmp_path_factory: pytest.TempPathFactory, churn_dir: Path) -> tuple[Path, Any]:
    """The churn pipeline saved with plain joblib.dump: no signature."""
    folder = tmp_path_factory.mktemp("plain_dump")
    model = joblib.load(churn_dir / MODEL_FILE)
    joblib.dump(model, folder / MODEL_FILE)
    return folder, model


def test_a_model_without_signature_gets_a_dataframe_of_the_json_types(
    serve: Any, plain_dump: tuple[Path, Any], caplog: pytest.LogCaptureFixture
) -> None:
    folder, model = plain_dump
    with caplog.at_level(logging.WARNING):
        client = serve(folder)
    assert client.get("/health").json == {"status": "ready"}
    assert any("no example row to warm up with" in record.getMessage() for record in caplog.records)
    reply = client.post("/predict", json_body={"data": RECORDS})
    assert reply.json == {"predictions": model.predict(frame(RECORDS)).tolist()}
    mixed = client.post("/predict", json_body={"data": [RECORDS[0], {**RECORDS[1], "city": 5}]})
    assert mixed.status == 400
    assert (
        'feature "city" mixes kinds of values (row 0: "oslo", text; row 1: 5, number)' in mixed.json["error"]
    )
    refused = client.post("/predict", json_body={"data": [{**RECORDS[0], "age": "old"}]})
    assert refused.status == 400
    assert refused.json["error"].startswith("the model could not use these rows")


def test_a_numeric_model_without_signature_keeps_the_array_for_numbers(
    serve: Any, model: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An iris pipeline fitted on a DataFrame, saved with plain joblib.dump: numbers go as an array."""
    joblib.dump(model, tmp_path / MODEL_FILE)
    with caplog.at_level(logging.INFO):
        client = serve(tmp_path)
    (ready,) = [record for record in caplog.records if record.getMessage() == "model ready"]
    assert ready.fields["input"].startswith("array for numbers, else DataFrame of the JSON types")
    assert ready.fields["warm_up"] == "none"
    rows = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]
    frame = pd.DataFrame(rows, columns=model.feature_names_in_)
    reply = client.post("/predict", json_body={"instances": rows})
    assert reply.json["predictions"] == model.predict(frame).tolist()
    gap = client.post("/predict", json_body={"instances": [[5.1, None, 1.4, 0.2]]})  # not a number: the frame
    assert gap.status == 400 and gap.json["error"].startswith("the model could not use these rows")


@pytest.fixture(scope="module")
def dated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any, pd.DataFrame]:
    """A model of a date (as its int64 count of the dtype's unit) and an ordered category."""
    folder = tmp_path_factory.mktemp("dated")
    rng = np.random.default_rng(2)
    days = rng.integers(0, 900, 200)
    sample = pd.DataFrame(
        {
            "signup": pd.Timestamp("2023-01-01") + pd.to_timedelta(days, unit="D"),
            "size": pd.Categorical(
                rng.choice(["low", "medium", "high"], 200), ["low", "medium", "high"], ordered=True
            ),
        }
    )
    when = make_pipeline(FunctionTransformer(methodcaller("astype", "int64")), StandardScaler())
    columns = ColumnTransformer([("when", when, ["signup"]), ("size", OneHotEncoder(), ["size"])])
    model = make_pipeline(columns, LogisticRegression()).fit(sample, days > 450)
    save_model(model, sample, folder / MODEL_FILE)
    return folder, model, sample


def test_a_date_is_iso_8601_text_or_epoch_milliseconds(
    serve: Any, dated: tuple[Path, Any, pd.DataFrame]
) -> None:
    folder, model, sample = dated
    schema = json.loads((folder / "input_schema.json").read_text())
    signup, _ = schema["schema"]
    assert (signup["dtype"], signup["feature_type"], signup["domain"]["constraints"]) == (
        sample["signup"].dtype.name,
        "DateTime",
        [],
    )
    assert list(signup["domain"]["stats"]) == ["count", "sample maximum", "sample minimum"]
    client = serve(folder)
    moments = ["2024-09-27", "2024-09-27T02:00:00+02:00", 1727395200000, 1727395200000.0]
    records = [{"signup": moment, "size": "high"} for moment in moments]
    reply = client.post("/predict", json_body={"data": records, "method": "predict_proba"})
    expected = pd.DataFrame({"signup": [pd.Timestamp("2024-09-27")] * 4, "size": ["high"] * 4})
    expected = expected.astype({"signup": sample["signup"].dtype, "size": sample["size"].dtype})
    assert [list(row.values()) for row in reply.json["predictions"]] == model.predict_proba(expected).tolist()
    columns = {"signup": [1727395200000], "size": ["high"]}  # how df.to_json() sends dates
    assert (
        client.post("/predict", json_body={"data": columns}).json["predictions"]
        == model.predict(expected[:1]).tolist()
    )


def test_the_frame_has_the_training_dtypes_and_the_order_of_the_categories(
    dated: tuple[Path, Any, pd.DataFrame],
) -> None:
    folder, _, sample = dated
    scorer = Scorer(Settings(model_dir=folder, model_file=MODEL_FILE))
    scorer.load()
    body = {"data": [{"signup": "2024-01-02T03:04:05", "size": "medium"}, {"signup": 0, "size": "low"}]}
    features, _ = scorer.parse(json.dumps(body).encode())
    assert features["signup"].dtype == sample["signup"].dtype
    assert features["signup"].tolist() == [pd.Timestamp("2024-01-02T03:04:05"), pd.Timestamp("1970-01-01")]
    assert features["size"].dtype == sample["size"].dtype  # the categories, in order, and ordered
    assert features["size"].cat.ordered and list(features["size"].cat.categories) == ["low", "medium", "high"]


@pytest.mark.parametrize(
    ("signup", "message"),
    [
        pytest.param("27/09/2024", 'got "27/09/2024", expected a date: ISO 8601 text or epoch', id="not-iso"),
        pytest.param("", 'got "", expected a date', id="empty"),
        pytest.param("now", 'got "now", expected a date', id="now"),  # pandas reads the clock
        pytest.param("today", 'got "today", expected a date', id="today"),
        pytest.param(True, "got true, expected a date", id="bool"),
        pytest.param(1.5, "got 1.5, expected a date", id="fraction"),
        pytest.param(10**20, "got 100000000000000000000, a date outside the range", id="out-of-range"),
        pytest.param(None, "got null, expected a date", id="null"),
    ],
)
def test_anything_else_for_a_date_is_a_400_naming_row_and_feature(
    serve: Any, dated: tuple[Path, Any, pd.DataFrame], signup: Any, message: str
) -> None:
    good = {"signup": "2024-09-27", "size": "low"}
    reply = serve(dated[0]).post("/predict", json_body={"data": [good, {**good, "signup": signup}]})
    assert reply.status == 400
    assert reply.json["error"].startswith('row 1, feature "signup": ')
    assert message in reply.json["error"]
