"""/predict with the bodies OCI's ADS library sends, answered as ADS's own score.py answers.

``ads_body`` builds each body as ADS's client does (``JsonModelInputSerializer.serialize`` in
``ads/model/serde/model_input.py``); ADS itself needs pandas < 3, so it is not imported here.
"""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

# str(type(data)) in ADS's client, which runs pandas 2 (pandas 3 says <class 'pandas.DataFrame'>).
ADS_DATA_TYPES = {
    pd.DataFrame: "<class 'pandas.core.frame.DataFrame'>",
    pd.Series: "<class 'pandas.core.series.Series'>",
}
CHURN_RECORDS = [
    {"age": 34.5, "income": 61000.0, "city": "oslo"},
    {"age": 61.0, "income": None, "city": "lima"},
    {"age": 45.0, "income": 38000.0, "city": "berlin"},
]


def ads_body(data: Any) -> dict[str, Any]:
    """The body ADS's ``SklearnModel.predict(data)`` sends."""
    if isinstance(data, np.ndarray):
        buffer = io.BytesIO()
        np.save(buffer, data, allow_pickle=False)
        value = base64.b64encode(buffer.getvalue()).decode("utf-8")
    elif isinstance(data, pd.Series):
        value = data.tolist()
    elif isinstance(data, pd.DataFrame):
        value = data.to_json()
    else:
        value = data
    return {"data": value, "data_type": ADS_DATA_TYPES.get(type(data), str(type(data)))}


@pytest.fixture
def iris(model: Any, sample_rows: list[list[float]]) -> pd.DataFrame:
    return pd.DataFrame(sample_rows, columns=list(model.feature_names_in_))


def test_every_kind_of_ads_body_is_answered_under_prediction_as_the_plain_form(
    client: Any, model: Any, iris: pd.DataFrame
) -> None:
    plain = client.post("/predict", json_body={"instances": iris.to_numpy().tolist()}).json
    assert plain == {"predictions": model.predict(iris).tolist()}
    for data in [
        iris,  # data: df.to_json(), a JSON string
        iris.set_index(pd.Index([9, 4, 7])),  # row labels other than 0, 1, 2: rows in their order
        iris.to_numpy(),  # base64 of np.save
        iris.to_numpy().astype("float32"),
        iris.to_numpy().tolist(),
        tuple(iris.to_numpy().tolist()),
        iris.to_dict(orient="list"),  # a dict of columns
        iris.to_dict(orient="records"),
        iris.to_json(),  # a str: read as JSON text, as ADS's score.py reads it
    ]:
        reply = client.post("/predict", json_body=ads_body(data))
        assert (reply.status, reply.json) == (200, {"prediction": plain["predictions"]}), type(data)


def test_one_row_as_a_series_a_1_d_array_or_a_dataframe_with_pandas_3s_type_name(
    client: Any, model: Any, iris: pd.DataFrame
) -> None:
    expected = {"prediction": model.predict(iris.iloc[[1]]).tolist()}
    assert client.post("/predict", json_body=ads_body(iris.iloc[1])).json == expected
    assert client.post("/predict", json_body=ads_body(iris.to_numpy()[1])).json == expected
    pandas_3 = {"data": iris.iloc[[1]].to_json(), "data_type": str(type(iris))}
    assert client.post("/predict", json_body=pandas_3).json == expected


def test_a_nan_in_a_numpy_array_is_a_missing_value(client: Any, iris: pd.DataFrame) -> None:
    """null, as in the JSON forms: refused here, naming it, since iris's features may not be missing."""
    grid = iris.to_numpy(copy=True)
    grid[1, 2] = np.nan
    reply = client.post("/predict", json_body=ads_body(grid))
    assert reply.status == 400 and reply.json["error"].startswith('row 1, feature "petal_length"'), reply.json
    assert "null" in reply.json["error"]


def test_a_method_may_ride_along_in_the_ads_envelope(client: Any, model: Any, iris: pd.DataFrame) -> None:
    reply = client.post("/predict", json_body={**ads_body(iris), "method": "predict_proba"})
    labels = model.classes_.tolist()
    assert reply.json == {
        "prediction": [dict(zip(labels, row, strict=True)) for row in model.predict_proba(iris).tolist()]
    }


def test_a_typed_dataframe_with_text_and_missing_values_in_the_ads_envelope(
    serve: Any, churn_dir: Path, churn_model: Any
) -> None:
    client = serve(churn_dir)
    frame = pd.DataFrame(CHURN_RECORDS).astype({"age": "float64", "income": "float64"})
    expected = churn_model.predict(frame).tolist()
    assert client.post("/predict", json_body=ads_body(frame)).json == {"prediction": expected}
    assert client.post("/predict", json_body=ads_body(CHURN_RECORDS)).json == {"prediction": expected}
    # A DataFrame without the column that may be missing, as records may leave it out.
    reply = client.post("/predict", json_body=ads_body(frame.drop(columns="income")))
    assert reply.json == {"prediction": churn_model.predict(frame.assign(income=np.nan)).tolist()}
    text = client.post("/predict", json_body=ads_body(frame.assign(age=["x", "y", "z"])))
    assert (text.status, text.json["error"]) == (400, 'row 0, feature "age": got "x", expected a number')


def pickled(array: np.ndarray) -> str:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return base64.b64encode(buffer.getvalue()).decode()


NUMPY = "<class 'numpy.ndarray'>"
DATAFRAME = "<class 'pandas.core.frame.DataFrame'>"
COLUMNS = '{"sepal_length": {"0": 5.1}, "sepal_width": {"0": 3.5}, "petal_length": {"0": 1.4}'


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param({"data": "%%%", "data_type": NUMPY}, '"data": not base64 text', id="bad-base64"),
        pytest.param(
            {"data": pickled(np.array([{"a": 1}], dtype=object)), "data_type": NUMPY},
            '"data": a numpy array of dtype object can\'t be read',
            id="pickled-object-array",
        ),
        pytest.param(
            {"data": COLUMNS + ", ", "data_type": DATAFRAME},
            '"data" (the JSON text of a DataFrame): malformed JSON',
            id="malformed-dataframe-text",
        ),
        pytest.param(
            {
                "data": COLUMNS + ', "petal_width": {"0": 0.2}, "colour": {"0": "red"}}',
                "data_type": DATAFRAME,
            },
            "data: features do not match the model's (unknown ['colour'])",
            id="unknown-column",
        ),
        pytest.param(
            {"data": COLUMNS + "}", "data_type": DATAFRAME},
            "data: features do not match the model's (missing ['petal_width'])",
            id="missing-column",
        ),
        pytest.param(
            {"data": [[1, 2, 3, 4]], "data_type": "<class 'torch.Tensor'>"},
            '"data_type" "<class \'torch.Tensor\'>" is not one ADS sends',
            id="data-type",
        ),
    ],
)
def test_a_bad_ads_body_is_a_400_that_names_the_problem(
    client: Any, body: dict[str, Any], message: str
) -> None:
    reply = client.post("/predict", json_body=body)
    assert reply.status == 400
    assert message in reply.json["error"]


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        pytest.param(
            ["sepal_length", "sepal_width"], "(missing ['petal_length', 'petal_width'])", id="missing"
        ),
        pytest.param(
            ["sepal_length", "sepal_width", "petal_length", "petal_width", "colour"],
            "(unknown ['colour'])",
            id="unknown",
        ),
    ],
)
def test_the_to_json_columns_form_names_missing_and_unknown_columns(
    client: Any, columns: list[str], message: str
) -> None:
    body = json.dumps({name: {"0": 1.0, "1": 2.0} for name in columns}).encode()
    reply = client.post("/predict", body)
    assert reply.status == 400
    assert reply.json["error"] == f"data: features do not match the model's {message}"
