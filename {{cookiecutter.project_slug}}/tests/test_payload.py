"""The /predict body parser on its own, without a web framework."""

from __future__ import annotations

import numpy as np
import pytest

from {{ cookiecutter.package_name }}.payload import PayloadError, check_content_type, parse_predict_body

NAMES = ["a", "b"]


def parse(body: bytes, n_features: int | None = 2, names: list[str] | None = None) -> np.ndarray:
    return parse_predict_body(body, n_features, NAMES if names is None else names)


def test_rows_become_a_float_array() -> None:
    array = parse(b'{"instances": [[1, 2.5], [3, 4]]}')
    assert array.dtype == np.float64
    assert array.tolist() == [[1.0, 2.5], [3.0, 4.0]]


def test_single_row_records_and_columns_give_the_same_rows() -> None:
    assert parse(b'{"instances": [1, 2]}').tolist() == [[1.0, 2.0]]
    assert parse(b'{"data": [{"b": 2, "a": 1}]}').tolist() == [[1.0, 2.0]]
    assert parse(b'{"data": {"b": [2, 4], "a": [1, 3]}}').tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert parse(b'{"data": {"a": 1, "b": 2}}').tolist() == [[1.0, 2.0]]


def test_width_comes_from_the_first_row_when_the_model_does_not_say() -> None:
    assert parse(b'{"instances": [[1, 2, 3]]}', n_features=None).shape == (1, 3)
    with pytest.raises(PayloadError, match="row 1 has 1 values"):
        parse(b'{"instances": [[1, 2, 3], [1]]}', n_features=None)


def test_records_need_feature_names() -> None:
    with pytest.raises(PayloadError, match="without feature names"):
        parse_predict_body(b'{"data": [{"a": 1, "b": 2}]}', 2, None)


def test_columns_of_different_lengths_are_refused() -> None:
    with pytest.raises(PayloadError, match="same length"):
        parse(b'{"data": {"a": [1, 2], "b": [1]}}')


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=utf-8", "Application/JSON", "application/vnd.x+json"],
)
def test_json_content_types_are_accepted(content_type: str) -> None:
    check_content_type(content_type)


@pytest.mark.parametrize("content_type", [None, "", "text/plain", "application/x-www-form-urlencoded"])
def test_other_content_types_are_415(content_type: str | None) -> None:
    with pytest.raises(PayloadError) as error:
        check_content_type(content_type)
    assert error.value.status == 415
