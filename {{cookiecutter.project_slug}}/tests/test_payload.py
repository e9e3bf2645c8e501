"""The /predict body parser on its own, without a web framework."""

from __future__ import annotations

import numpy as np
import pytest

from {{ cookiecutter.package_name }}.payload import (
    COLUMNS,
    RECORDS,
    ROWS,
    ArrayInput,
    PayloadError,
    check_content_type,
    read_body,
)

NAMES = ["a", "b"]


def parse(
    body: bytes, n_features: int | None = 2, names: list[str] | None = NAMES, integers=()
) -> np.ndarray:
    return ArrayInput(n_features, names, integers).features(read_body(body, names))


def test_rows_become_a_float_array() -> None:
    array = parse(b'{"instances": [[1, 2.5], [3, 4]]}')
    assert array.dtype == np.float64
    assert array.tolist() == [[1.0, 2.5], [3.0, 4.0]]


def test_single_row_records_and_columns_give_the_same_rows() -> None:
    assert parse(b'{"instances": [1, 2]}').tolist() == [[1.0, 2.0]]
    assert parse(b'{"data": [{"b": 2, "a": 1}]}').tolist() == [[1.0, 2.0]]
    assert parse(b'{"data": {"b": [2, 4], "a": [1, 3]}}').tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert parse(b'{"data": {"a": 1, "b": 2}}').tolist() == [[1.0, 2.0]]


def test_the_body_says_its_form_and_method() -> None:
    assert read_body(b'{"instances": [[1, 2]]}', NAMES) == read_body(b'{"data": [[1, 2]]}', NAMES)
    assert (
        read_body(b'{"data": [{"a": 1, "b": 2}], "method": "predict_proba"}', NAMES).method == "predict_proba"
    )
    assert read_body(b'{"data": {"a": [1], "b": [2]}}', NAMES).form == COLUMNS
    assert read_body(b'{"data": {"a": 1, "b": 2}}', NAMES).form == RECORDS
    assert read_body(b'{"instances": [1, 2]}', NAMES).form == ROWS


def test_pandas_to_json_columns_are_a_columns_form_in_row_label_order() -> None:
    # What OCI's ADS library sends for a DataFrame: df.to_json(), feature names then row labels.
    body = read_body(b'{"b": {"7": 2, "3": 4}, "a": {"3": 3, "7": 1}}', NAMES)
    assert (body.form, body.value, body.method) == (COLUMNS, {"a": [1, 3], "b": [2, 4]}, None)
    assert parse(b'{"b": {"7": 2, "3": 4}, "a": {"3": 3, "7": 1}}').tolist() == [[1.0, 2.0], [3.0, 4.0]]
    with pytest.raises(PayloadError, match="same row labels"):
        read_body(b'{"a": {"0": 1}, "b": {"1": 2}}', NAMES)
    with pytest.raises(PayloadError, match="exactly one of"):
        read_body(b'{"a": {"0": 1}}', NAMES)  # not every feature: not this form


def test_width_comes_from_the_first_row_when_the_model_does_not_say() -> None:
    assert parse(b'{"instances": [[1, 2, 3]]}', n_features=None, names=None).shape == (1, 3)
    with pytest.raises(PayloadError, match="row 1 has 1 values"):
        parse(b'{"instances": [[1, 2, 3], [1]]}', n_features=None, names=None)


def test_records_need_feature_names() -> None:
    with pytest.raises(PayloadError, match="without feature names"):
        parse(b'{"data": [{"a": 1, "b": 2}]}', names=None)


def test_columns_of_different_lengths_are_refused() -> None:
    with pytest.raises(PayloadError, match="same length"):
        parse(b'{"data": {"a": [1, 2], "b": [1]}}')


def test_errors_name_the_row_the_feature_the_value_and_what_is_expected() -> None:
    with pytest.raises(PayloadError, match='row 1, feature "b": "x" is not a number'):
        parse(b'{"instances": [[1, 2], [3, "x"]]}')
    with pytest.raises(
        PayloadError, match=r'row 0, feature "a": 1\.5 is not a whole number; expected an integer'
    ):
        parse(b'{"instances": [[1.5, 2]]}', integers=(0,))
    assert parse(b'{"instances": [[1.0, 2.5]]}', integers=(0,)).tolist() == [[1.0, 2.5]]


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
