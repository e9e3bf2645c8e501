"""The /predict body parser on its own, without a web framework."""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.payload import (
    COLUMNS,
    RECORDS,
    ROWS,
    ArrayInput,
    PayloadError,
    check_content_type,
    check_keys,
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


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"a": {"0": 1}}', r"data: features do not match the model's \(missing \['b'\]\)"),
        (b'{"a": {"0": 1}, "b": {"0": 2}, "c": {"0": 3}}', r"\(unknown \['c'\]\)"),
        (b'{"a": {"0": 1}, "x": {"0": 2}}', r"\(missing \['b'\]; unknown \['x'\]\)"),
        (b'{"x": {"0": 1}}', r"\(missing \['a', 'b'\]; unknown \['x'\]\)"),
    ],
)
def test_pandas_columns_that_are_not_the_features_are_named(body: bytes, message: str) -> None:
    with pytest.raises(PayloadError, match=message):
        parse(body)


def test_a_name_close_to_a_feature_not_given_is_suggested() -> None:
    """A typo or another case of a feature the request left out (an optional one too: nothing is
    missing then) is named with the feature it likely meant; a name close to none is not."""
    names = ["age", "income", "city"]
    typo = r"\(unknown \['incme'\]; did you mean 'income' for 'incme'\)$"
    with pytest.raises(PayloadError, match=typo):
        check_keys({"age": 1, "incme": 2, "city": 3}, names, "data[0]", optional=frozenset({"income"}))
    case = r"\(missing \['age'\]; unknown \['Age'\]; did you mean 'age' for 'Age'\)$"
    with pytest.raises(PayloadError, match=case):
        check_keys({"Age": 1, "income": 2, "city": 3}, names, "data[0]")
    with pytest.raises(PayloadError, match=r"\(unknown \['colour'\]\)$"):
        check_keys({"age": 1, "income": 2, "city": 3, "colour": 4}, names, "data[0]")
    many = {f"feature_{index}": index for index in range(5000)}  # a hostile body: only a few are looked at
    with pytest.raises(PayloadError, match=r"\['feature_0', .* and 4995 more\)$"):
        check_keys(many, names, "data[0]")


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


def npy_text(array: np.ndarray, allow_pickle: bool = False) -> str:
    """An array as ADS sends it: base64 of np.save."""
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return base64.b64encode(buffer.getvalue()).decode()


def envelope(data: Any, data_type: str, **more: Any) -> bytes:
    return json.dumps({"data": data, "data_type": data_type, **more}).encode()


FRAME = pd.DataFrame({"b": [2.0, 4.0], "a": [1, 3]}, index=[7, 3])
ENVELOPES = [
    pytest.param(FRAME.to_json(), "<class 'pandas.core.frame.DataFrame'>", id="dataframe-text"),
    pytest.param(json.loads(FRAME.to_json()), "<class 'pandas.core.frame.DataFrame'>", id="dataframe-object"),
    pytest.param(FRAME.to_json(), "<class 'pandas.DataFrame'>", id="dataframe-pandas-3"),
    pytest.param(FRAME.to_json(), "<class 'str'>", id="str"),
    pytest.param(npy_text(np.array([[1, 2], [3, 4]])), "<class 'numpy.ndarray'>", id="numpy-ints"),
    pytest.param(
        npy_text(np.array([[1.0, 2.0], [3.0, 4.0]], "float32")), "<class 'numpy.ndarray'>", id="numpy-f4"
    ),
    pytest.param(
        npy_text(np.asfortranarray([[1.0, 2.0], [3.0, 4.0]])), "<class 'numpy.ndarray'>", id="numpy-F"
    ),
    pytest.param([[1, 2], [3, 4]], "<class 'list'>", id="list"),
    pytest.param([{"a": 1, "b": 2}, {"a": 3, "b": 4}], "<class 'list'>", id="list-of-records"),
    pytest.param({"a": [1, 3], "b": [2, 4]}, "<class 'dict'>", id="dict-of-columns"),
    pytest.param(json.dumps([[1, 2], [3, 4]]), "<class 'tuple'>", id="json-text"),
]


@pytest.mark.parametrize(("data", "data_type"), ENVELOPES)
def test_ads_envelope_gives_the_rows_of_the_plain_form_and_asks_for_ads_answer(
    data: Any, data_type: str
) -> None:
    body = read_body(envelope(data, data_type), NAMES)
    assert body.answer_key == "prediction" and body.method is None
    assert ArrayInput(2, NAMES).features(body).tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert ArrayInput(2, NAMES).decode(envelope(data, data_type)) is None  # the full path reads it


def test_ads_envelope_of_one_row_a_series_or_a_1_d_array_and_a_method() -> None:
    series = envelope(pd.Series([1.0, 2.0], index=NAMES).tolist(), "<class 'pandas.core.series.Series'>")
    vector = envelope(npy_text(np.array([1.0, 2.0])), "<class 'numpy.ndarray'>", method="predict_proba")
    for body in (series, vector):
        assert parse(body).tolist() == [[1.0, 2.0]]
    assert read_body(vector, NAMES).method == "predict_proba"
    assert read_body(b'{"data": [[1, 2]]}', NAMES).answer_key == "predictions"


def test_a_nan_in_an_ads_numpy_array_is_a_missing_value() -> None:
    body = read_body(envelope(npy_text(np.array([[1.0, np.nan]])), "<class 'numpy.ndarray'>"), NAMES)
    assert body.value == [[1.0, None]]


def pickled_objects() -> str:
    return npy_text(np.array([1, "a"], dtype=object), allow_pickle=True)


def forged_shape(shape: tuple[int, ...] = (10**9, 1), descr: str = "<f8") -> str:
    """A header that claims ``shape`` of ``descr`` (8 GB of floats by default), followed by 16
    bytes (none when the claim needs none: a size 0)."""
    buffer = io.BytesIO()
    header = {"descr": descr, "fortran_order": False, "shape": shape}
    np.lib.format.write_array_header_1_0(buffer, header)
    empty = 0 in shape or np.dtype(descr).itemsize == 0
    return base64.b64encode(buffer.getvalue() + bytes(0 if empty else 16)).decode()


def broken_header() -> str:
    """A header numpy reads with Python's tokenizer, which raises its own TokenError."""
    buffer = io.BytesIO()
    np.save(buffer, np.zeros((3, 2)))
    return base64.b64encode(buffer.getvalue().replace(b"}", b"\x02", 1)).decode()


def not_unicode() -> str:
    """Text whose code point (0xFFFFFFFF) is past Unicode's last."""
    buffer = io.BytesIO()
    np.save(buffer, np.array(["a"]))
    return base64.b64encode(buffer.getvalue()[:-4] + b"\xff" * 4).decode()


NUMPY = "<class 'numpy.ndarray'>"
DATAFRAME = "<class 'pandas.core.frame.DataFrame'>"
BAD_ENVELOPES = [
    pytest.param("not base64!", NUMPY, "not base64 text", id="bad-base64"),
    pytest.param("héllo", NUMPY, "not base64 text", id="not-ascii"),
    pytest.param(
        base64.b64encode(b"just bytes").decode(), NUMPY, "not a numpy array written by np.save", id="not-npy"
    ),
    pytest.param(broken_header(), NUMPY, "its .npy header can't be read", id="broken-header"),
    pytest.param(pickled_objects(), NUMPY, "dtype object can't be read", id="pickled-objects"),
    pytest.param(not_unicode(), NUMPY, "text that is not Unicode", id="not-unicode"),
    pytest.param(npy_text(np.array([[1 + 2j, 0]])), NUMPY, "dtype complex128 can't be read", id="complex"),
    pytest.param(npy_text(np.zeros((1, 2, 2))), NUMPY, "has 3 dimensions", id="3-d"),
    pytest.param(npy_text(np.float64(1)), NUMPY, "has 0 dimensions", id="0-d"),
    pytest.param(npy_text(np.zeros((0, 2))), NUMPY, "holds no values", id="no-rows"),
    pytest.param(forged_shape((10**9, 0)), NUMPY, "holds no values (shape (1000000000, 0)", id="no-columns"),
    pytest.param(forged_shape((10**6,), "<U0"), NUMPY, "holds no values", id="text-of-no-characters"),
    pytest.param(npy_text(np.ones((1, 2), "longdouble")), NUMPY, "at most float64", id="float128"),
    pytest.param(
        npy_text(np.array([[1.0, 2.0], [3.0, -np.inf]])), NUMPY, "infinity (row 1, column 1)", id="-inf"
    ),
    pytest.param(npy_text(np.array([np.inf, 2.0])), NUMPY, "infinity (row 0, column 0)", id="inf"),
    pytest.param(forged_shape(), NUMPY, "does not match its shape (1000000000, 1)", id="forged-shape"),
    pytest.param(npy_text(np.array([[1.0, 2.0]]))[:-8], NUMPY, "does not match its shape", id="cut-short"),
    pytest.param([[1, 2]], NUMPY, "must be sent as text", id="numpy-not-text"),
    pytest.param(
        npy_text(np.array([[1, 2]]), allow_pickle=True), NUMPY, None, id="pickle-allowed-but-unused"
    ),
    pytest.param(
        '{"a": {"0": 1}, "b": ',
        DATAFRAME,
        '"data" (the JSON text of a DataFrame): malformed JSON',
        id="malformed",
    ),
    pytest.param('{"a": {"0": NaN}, "b": {"0": 1}}', DATAFRAME, "NaN is not a valid number", id="nan-text"),
    pytest.param(
        '{"a": {"0": ' + "9" * 5000 + '}, "b": {"0": 1}}', DATAFRAME, "too many digits", id="digits"
    ),
    pytest.param("[" * 100_000 + "]" * 100_000, DATAFRAME, "nested too deeply", id="deep"),
    pytest.param("", DATAFRAME, "malformed JSON", id="empty-text"),
    pytest.param('{"a": {"0": 1}, "c": {"0": 2}}', DATAFRAME, r"missing ['b']; unknown ['c']", id="columns"),
    pytest.param('{"a": {"0": 1}, "b": {"1": 2}}', DATAFRAME, "same row labels", id="row-labels"),
    pytest.param(
        '{"a": {"0": "x"}, "b": {"0": 2}}', DATAFRAME, 'feature "a": "x" is not a number', id="text"
    ),
    pytest.param(FRAME.to_json(), "<class 'pandas.core.frame.Frame'>", '"data_type" "<class', id="data-type"),
    pytest.param(FRAME.to_json(), 1, '"data_type" 1 is not one ADS sends', id="data-type-number"),
    pytest.param(
        "1, 2", "<class 'pandas.core.series.Series'>", "of a Series must be a non-empty list", id="series"
    ),
    pytest.param(
        [], "<class 'pandas.core.series.Series'>", "of a Series must be a non-empty list", id="series-empty"
    ),
    pytest.param([1, 2, 3], "<class 'pandas.core.series.Series'>", "row 0 has 3 values", id="series-long"),
]


@pytest.mark.parametrize(("data", "data_type", "message"), BAD_ENVELOPES)
def test_a_bad_ads_envelope_is_a_payload_error_that_names_the_problem(
    data: Any, data_type: Any, message: str | None
) -> None:
    body = envelope(data, data_type)
    if message is None:  # np.save's allow_pickle only matters for object arrays
        assert parse(body).tolist() == [[1.0, 2.0]]
        return
    with pytest.raises(PayloadError) as error:
        parse(body)
    assert message in str(error.value)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"data": [[1, 2]], "data_type": "<class 'list'>", "extra": 1}, "ADS's body must have"),
        ({"data_type": "<class 'list'>"}, "ADS's body must have"),
        ({"instances": [[1, 2]], "data_type": "<class 'list'>"}, "ADS's body must have"),
        ({"data": [[1, 2]], "data_type": "<class 'list'>", "method": "fit"}, '"method" must be one of'),
    ],
)
def test_an_ads_envelope_has_data_data_type_and_maybe_method(document: dict[str, Any], message: str) -> None:
    with pytest.raises(PayloadError, match=message):
        read_body(json.dumps(document).encode(), NAMES)
