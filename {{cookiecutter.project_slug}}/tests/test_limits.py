"""MAX_ROWS and MAX_ANSWER_BYTES: rows counted before they cost memory, answers before they are built."""

from __future__ import annotations

import json
import tracemalloc
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression

from {{ cookiecutter.package_name }}.outputs import Outputs
from {{ cookiecutter.package_name }}.payload import PayloadError
from {{ cookiecutter.package_name }}.row_limit import check_body, lists_in
from {{ cookiecutter.package_name }}.scorer import Scorer


def rows_body(rows: int, key: str = "instances", extra: str = "") -> bytes:
    return b'{"' + key.encode() + b'": [' + b",".join([b"[0, 1.5]"] * rows) + b"]" + extra.encode() + b"}"


@pytest.mark.parametrize(
    ("body", "lists"),
    [
        (rows_body(7), 8),
        (rows_body(7, "data", ', "method": "predict_proba"'), 8),
        (b'{"instances": [1, 2, 3]}', 1),  # one row
        (b'{"data": [[1, 2]], "data_type": "<class \'list\'>"}', 2),  # ADS's envelope of a list
        (b'{"instances": [[1]], "method": "[[ [["}', 2),  # a "[" in a string opens no list
    ],
)
def test_the_lists_of_a_body_of_numbers_are_counted_in_its_bytes(body: bytes, lists: int) -> None:
    assert lists_in(body) == lists


@pytest.mark.parametrize(
    "body",
    [
        b'{"data": [{"a": 1, "b": 2}, {"a": 3, "b": 4}]}',  # records: more strings than a body of numbers
        b'{"data": "[[1, 2], [3, 4]]", "data_type": "<class \'str\'>"}',
        b'{"instances": [["a\\"[", 1]]}',  # an escape: a quote is not always a string's end
        b'{"instances": [[1]], "method": "predict',  # a string never closed
        b'{"instances": ' + b"[" * 200_000 + b"]" * 200_000 + b"}",  # nested: for the parser to refuse
    ],
)
def test_a_body_with_text_is_left_to_be_counted_once_parsed(body: bytes) -> None:
    assert lists_in(body) is None


def test_a_body_of_too_many_rows_is_refused_before_it_is_parsed() -> None:
    check_body(rows_body(100), 100)
    body = rows_body(100_001)
    tracemalloc.start()
    try:
        with pytest.raises(PayloadError, match=r"^100001 rows; .* at most 100000 .*\(MAX_ROWS\)") as refused:
            check_body(body, 100_000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert refused.value.status == 413
    assert peak < 100_000  # parsed, the rows would take megabytes


def test_the_scorer_counts_a_body_of_rows_before_parsing_it(
    scorer: Scorer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def parse(body: bytes) -> None:
        raise AssertionError("parsed before its rows were counted")

    monkeypatch.setattr(scorer.input, "decode", parse)
    with pytest.raises(PayloadError, match=r"^100001 rows;"):
        scorer.parse_request(rows_body(100_001))


@pytest.mark.parametrize(
    "body",
    [
        rows_body(101, key="\\u0069nstances"),  # an escape: not counted in the bytes
        rows_body(101, extra=', "method": "predict", "x": "y", "z": "w"'),  # more strings than rows carry
        json.dumps({"data": {"a": [1.0] * 101, "b": [2.0] * 101}}).encode(),  # columns
        json.dumps({"data": [{"a": 1.0, "b": 2.0}] * 101}).encode(),  # records
    ],
)
def test_any_other_body_is_counted_as_soon_as_it_is_parsed_before_a_row_is_read(
    scorer: Scorer, monkeypatch: pytest.MonkeyPatch, body: bytes
) -> None:
    def features(*args: Any) -> None:
        raise AssertionError("rows read before they were counted")

    monkeypatch.setattr(scorer.input, "features", features)
    monkeypatch.setattr(scorer, "settings", replace(scorer.settings, max_rows=100))
    with pytest.raises(PayloadError, match=r"^101 rows;") as refused:
        scorer.parse_request(body)
    assert refused.value.status == 413


def iris_like() -> tuple[LogisticRegression, np.ndarray]:
    rng = np.random.default_rng(0)
    features = rng.normal(size=(60, 4))
    labels = np.array(["setosa", "versicolor", "virginica-with-a-longer-name"])[np.arange(60) % 3]
    return LogisticRegression(max_iter=500).fit(features, labels), features


def answer_text(outputs: Outputs, method: str, features: np.ndarray) -> str:
    """The answer as the apps write it (compact JSON)."""
    return json.dumps({"predictions": outputs.run(method, features)}, separators=(",", ":"))


@pytest.mark.parametrize("method", ["predict", "predict_proba", "decision_function"])
def test_the_answer_is_counted_at_least_as_long_as_it_is_and_close_to_it(method: str) -> None:
    model, features = iris_like()
    outputs = Outputs(model)
    counted = outputs.answer_bytes(method, np.asarray(getattr(model, method)(features)))
    written = len(answer_text(outputs, method, features).encode())
    assert written <= counted < 2 * written


def test_a_regressors_answer_is_counted_at_least_as_long_as_it_is() -> None:
    features = np.random.default_rng(1).normal(size=(50, 2)) * 1e-300
    model = LinearRegression().fit(features, features[:, 0] * 3 - 1e-300)
    outputs = Outputs(model)
    counted = outputs.answer_bytes("predict", model.predict(features))
    assert len(answer_text(outputs, "predict", features)) <= counted


class ManyClasses:
    """A classifier of 1,000 classes: a few rows make a large predict_proba answer."""

    classes_ = np.arange(1000)

    def predict(self, rows: np.ndarray) -> np.ndarray:
        return np.zeros(len(rows), dtype=np.int64)

    def predict_proba(self, rows: np.ndarray) -> np.ndarray:
        return np.full((len(rows), 1000), 0.001)


def test_an_answer_over_the_limit_is_refused_before_it_is_built() -> None:
    outputs = Outputs(ManyClasses())
    rows = np.zeros((2000, 4))
    # 2,000 rows of 1,000 probabilities: 2 million floats in dicts, about 200 MB once built.
    tracemalloc.start()
    try:
        with pytest.raises(PayloadError) as refused:
            outputs.run("predict_proba", rows, max_answer_bytes=20 * 1024 * 1024)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert refused.value.status == 413
    message = str(refused.value)
    assert "MAX_ANSWER_BYTES (20971520)" in message and "2000 rows" in message
    assert "or ask for predict" in message
    assert peak < 20_000_000  # the model's array of 16 MB, and no more
    fewer = int(message.split("at most ")[1].split(" rows")[0])
    answer: Any = outputs.run("predict_proba", rows[:fewer], max_answer_bytes=20 * 1024 * 1024)
    assert len(answer) == fewer  # the number of rows the error offers passes
    assert outputs.run("predict", rows, max_answer_bytes=20 * 1024 * 1024) == [0] * 2000
