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


# Rows of numbers that the hot path decodes straight from the bytes (ArrayInput.decode):
# (body, integer columns).
DECODED = [
    (b'{"instances": [[1, 2.5], [3, 4]]}', ()),
    (b'{"data": [[1e308, -0.0]], "method": "predict_proba"}', ()),
    (b'{"instances": [[18446744073709551617, 2]]}', ()),  # an integer past 64 bits, as a double
    (b' {"inst\\u0061nces":[[1,2]]}\n', ()),  # an escaped key, white space around
    (b'{"instances": [[1, 2], [3, 4]], "instances": [[5, 6]]}', ()),  # the last key wins, as in json
    (b'{"instances": [[1, 2.0]]}', (1,)),  # a whole number in an integer feature
]
# Any other body: not decoded here, so the full path reads it or says what is wrong.
NOT_DECODED = [
    (b'{"instances": [1, 2]}', ()),  # a single row
    (b'{"data": [{"a": 1, "b": 2}]}', ()),  # records
    (b'{"instances": [[true, 2]]}', ()),
    (b'{"instances": [["1", 2]]}', ()),
    (b'{"instances": [[null, 2]]}', ()),
    (b'{"instances": [[1e400, 2]]}', ()),
    (b'{"instances": [[NaN, 2]]}', ()),
    (b'{"instances": [[1, 2, 3]]}', ()),
    (b'{"instances": [[1, 2], [3]]}', ()),
    (b'{"instances": []}', ()),
    (b'{"instances": [[1, 2]], "method": ""}', ()),
    (b'{"instances": [[1, 2]], "method": null}', ()),
    (b'{"instances": [[1, 2]], "method": "fit"}', ()),
    (b'{"instances": [[1, 2]], "data": [[1, 2]]}', ()),
    (b'{"instances": [[1, 2]], "extra": 1}', ()),
    (b'\xef\xbb\xbf{"instances": [[1, 2]]}', ()),
    (b'{"instances": [[1, 2]]} {}', ()),
    (b'{"instances": [[1, 2.5]]}', (1,)),
]


@pytest.mark.parametrize(("body", "integers"), DECODED)
def test_rows_of_numbers_are_decoded_straight_from_the_bytes_as_the_full_path_reads_them(
    body: bytes, integers: tuple[int, ...]
) -> None:
    array_input = ArrayInput(2, NAMES, integers)
    decoded = array_input.decode(body)
    assert decoded is not None
    array, method = decoded
    assert array.dtype == np.float64
    full = read_body(body, NAMES)
    assert np.array_equal(array, array_input.features(full)) and method == full.method


@pytest.mark.parametrize(("body", "integers"), NOT_DECODED)
def test_any_other_body_is_left_to_the_full_path(body: bytes, integers: tuple[int, ...]) -> None:
    array_input = ArrayInput(2, NAMES, integers)
    assert array_input.decode(body) is None
    try:
        full = read_body(body, NAMES)
        array_input.features(full)
        assert full.method in (None, "predict", "predict_proba", "decision_function")
    except PayloadError as error:
        assert str(error)  # the full path names the problem
