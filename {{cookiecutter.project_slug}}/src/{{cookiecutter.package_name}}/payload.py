"""Parse and check a /predict body, without any web framework.

Accepted bodies (one JSON object):

- ``{"instances": [[5.1, 3.5, 1.4, 0.2], ...]}``: rows, in feature order
- ``{"instances": [5.1, 3.5, 1.4, 0.2]}``: a single row
- ``{"data": [[...], ...]}``: rows, as with ``instances``
- ``{"data": [{"sepal_length": 5.1, ...}, ...]}``: records keyed by feature name
- ``{"data": {"sepal_length": [5.1, 6.2], ...}}``: columns keyed by feature name
- ``{"data": {"sepal_length": 5.1, ...}}``: a single record
- ``{"sepal_length": {"0": 5.1, "1": 6.2}, ...}``: a pandas ``DataFrame.to_json()``, its
  keys the model's features (features that may be missing may be left out)
- ``{"data": ..., "data_type": "<class '...'>"}``: the envelope of OCI's ADS library
  (``SklearnModel.predict``, ``ModelDeployment.predict``), read as ADS's own score.py reads it:

  | ``data_type`` (``"<class '...'>"``) | ``data`` |
  |---|---|
  | ``pandas.core.frame.DataFrame``, ``list``, ``tuple``, ``dict``, ``str`` | ``to_json()``'s columns or any form of ``"data"`` above, as JSON text (ADS sends a DataFrame as the text of ``df.to_json()``) or as it is |
  | ``numpy.ndarray`` | base64 of ``np.save``: rows (2-D), or one row (1-D) |
  | ``pandas.core.series.Series`` | ``series.tolist()``: one row, in feature order |

  (pandas 3 names its classes ``pandas.DataFrame`` and ``pandas.Series``: read too), and
  answered as ADS's score.py answers: ``{"prediction": [...]}``. Every other form is
  answered ``{"predictions": [...]}``.

Beside ``instances`` or ``data``, ``"method"`` may ask for ``predict_proba`` or
``decision_function`` instead of the default (in ADS's envelope too, though ADS never
sends it). ``read_body`` checks the structure; ``ArrayInput`` (numbers only, the fast
path) and ``frame_input.FrameInput`` (typed columns as a DataFrame) check the values,
whichever form they came in. Anything wrong raises ``PayloadError``, whose message names
the problem.

The hot path: ``ArrayInput.decode`` takes rows of numbers straight from the bytes,
decoded and type-checked in compiled code (msgspec: 5 times the standard library's
``json`` and a check of each value in Python, on 100 rows of 160 features). Any body
it does not take whole goes the full way above, which says what is wrong with it.
"""

from __future__ import annotations

import difflib
import json
import math
from dataclasses import dataclass
from typing import Any

import msgspec
import numpy as np

from . import npy_input

EXAMPLE = '{"instances": [[...feature values...]]}'
JSON_TYPES = ("application/json",)
METHODS = ("predict", "predict_proba", "decision_function")
# Numbers past the double range (1.8e308) are refused too; a decimal bound in the
# schema would not match the binary one at its edge, so the schema leaves it out.
NUMBER = {"type": "number", "description": "a finite double-precision number"}
ROWS, RECORDS, COLUMNS = "rows", "records", "columns"
PREDICTIONS, ADS_PREDICTION = "predictions", "prediction"  # the answer's key: ours, ADS's
ENVELOPE_KEYS = frozenset({"instances", "data", "data_type", "method"})
# ADS's data_type, str(type(data)) in the client (pandas 3 names its classes pandas.DataFrame):
NUMPY, SERIES, JSON_DATA = "numpy", "series", "json"
DATA_TYPES = {
    "<class 'pandas.core.frame.DataFrame'>": JSON_DATA,
    "<class 'pandas.DataFrame'>": JSON_DATA,
    "<class 'numpy.ndarray'>": NUMPY,
    "<class 'pandas.core.series.Series'>": SERIES,
    "<class 'pandas.Series'>": SERIES,
    "<class 'list'>": JSON_DATA,
    "<class 'tuple'>": JSON_DATA,
    "<class 'dict'>": JSON_DATA,
    "<class 'str'>": JSON_DATA,
}


class PayloadError(ValueError):
    """A bad request body; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Body:
    """A body whose structure is checked: ``form`` is ROWS (a list of lists), RECORDS (a
    list of objects) or COLUMNS (an object of lists); ``method`` is None for the default;
    ``answer_key``: ``prediction`` for ADS's envelope, else ``predictions``."""

    form: str
    value: Any
    method: str | None = None
    answer_key: str = PREDICTIONS


def check_content_type(content_type: str | None) -> None:
    """Accept ``application/json`` (any charset) and ``application/*+json``."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type not in JSON_TYPES and not (
        media_type.startswith("application/") and media_type.endswith("+json")
    ):
        shown = media_type or "none"
        raise PayloadError(f"Content-Type must be application/json (got {shown})", status=415)


def _reject_constant(name: str) -> float:
    raise PayloadError(f"{name} is not a valid number here; send finite numbers only")


def load_json(body: bytes) -> Any:
    """Decode a JSON body strictly (UTF-8, no NaN/Infinity)."""
    if not body.strip():
        raise PayloadError(f"empty body; send a JSON object such as {EXAMPLE}")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise PayloadError("body is not UTF-8 text") from None
    return parse_json(text)


def parse_json(text: str, where: str = "") -> Any:
    """Decode JSON text strictly (no NaN/Infinity); ``where`` begins each error message."""
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as error:
        at = f"line {error.lineno} column {error.colno}"
        message = f"malformed JSON: {error.msg} at {at}"
    except RecursionError:
        message = "JSON is nested too deeply"
    except PayloadError as error:  # NaN or Infinity (_reject_constant)
        message = str(error)
    except ValueError:  # an integer of more digits than Python converts (sys.get_int_max_str_digits)
        message = "a number in the body has too many digits"
    raise PayloadError(where + message)


def shown(value: Any) -> str:
    """A sent value as JSON, cut short for an error message."""
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def read_body(body: bytes, names: list[str] | None, max_rows: int | None = None) -> Body:
    """The structure of a /predict body: its form, its rows/records/columns and the method.
    More than ``max_rows`` rows are refused (413) as soon as it is parsed, before any row is read."""
    document = load_json(body)
    if not isinstance(document, dict):
        raise PayloadError(f"body must be a JSON object such as {EXAMPLE}")
    if max_rows is not None:
        check_rows(rows_at_most(document), max_rows)
    if (
        names
        and _pandas_columns(document)
        and (set(document) == set(names) or not ENVELOPE_KEYS & set(document))
    ):
        return Body(COLUMNS, _indexed_columns(document, names))
    method = _method(document)
    if "data_type" in document:
        return _envelope(document, names, method)
    keys = set(document) - {"method"}
    if len(keys & {"instances", "data"}) != 1 or keys - {"instances", "data"}:
        raise PayloadError(
            f'body must have exactly one of "instances" or "data", and may have "method" '
            f"(got {sorted(document) or 'no keys'})"
        )
    if "instances" in document:
        return Body(ROWS, _rows(document["instances"], "instances"), method)
    return _data(document["data"], method)


def rows_at_most(document: dict[str, Any]) -> int:
    """The most rows ``document`` can hold: its longest list or object, or that of its "data"
    object (columns), counted without reading one."""
    values = list(document.values())
    if isinstance(data := document.get("data"), dict):
        values += data.values()
    return max((len(value) for value in values if isinstance(value, list | dict)), default=0)


def check_rows(rows: int, limit: int) -> None:
    """PayloadError (413) naming MAX_ROWS for more than ``limit`` rows."""
    if rows > limit:
        raise PayloadError(
            f"{rows} rows; this server takes at most {limit} a request (MAX_ROWS): send them in smaller batches",
            status=413,
        )


def _method(document: dict[str, Any]) -> str | None:
    method = document.get("method")
    if "method" in document and method not in METHODS:
        raise PayloadError(f'"method" must be one of {", ".join(METHODS)} (got {shown(method)})')
    return method


def _data(value: Any, method: str | None, answer_key: str = PREDICTIONS) -> Body:
    """The form of the value of ``"data"``: rows, a row, records, a record or columns."""
    if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        return Body(RECORDS, value, method, answer_key)
    if isinstance(value, dict):
        if value and all(isinstance(column, list) for column in value.values()):
            return Body(COLUMNS, value, method, answer_key)
        return Body(RECORDS, [value], method, answer_key)
    return Body(ROWS, _rows(value, "data"), method, answer_key)


def _pandas_columns(document: dict[str, Any]) -> bool:
    """Whether ``document`` has the shape of ``DataFrame.to_json()``: objects of row labels."""
    return bool(document) and all(isinstance(value, dict) for value in document.values())


def _envelope(document: dict[str, Any], names: list[str] | None, method: str | None) -> Body:
    """ADS's ``{"data": ..., "data_type": ...}``, read as its score.py reads it."""
    if "data" not in document or set(document) - {"data", "data_type", "method"}:
        raise PayloadError(
            f'ADS\'s body must have "data" and "data_type", and may have "method" (got {sorted(document)})'
        )
    data_type, data = document["data_type"], document["data"]
    kind = DATA_TYPES.get(data_type) if isinstance(data_type, str) else None
    if kind is None:
        raise PayloadError(
            f'"data_type" {shown(data_type)} is not one ADS sends for a DataFrame, a numpy array, a '
            f"Series, a list, a tuple, a dict or a str, such as \"<class 'pandas.core.frame.DataFrame'>\""
        )
    if kind == NUMPY:
        try:
            rows = npy_input.rows(data)
        except ValueError as error:
            raise PayloadError(f'"data": {error}') from None
        return Body(ROWS, rows, method, ADS_PREDICTION)
    if kind == SERIES:  # ADS sends series.tolist(): the values of one row, without the index
        if not isinstance(data, list) or not data:
            raise PayloadError('"data" of a Series must be a non-empty list of values, one per feature')
        return Body(ROWS, [data], method, ADS_PREDICTION)
    if isinstance(data, str):  # a DataFrame's to_json(), or any JSON text (ADS reads a str so)
        data = parse_json(data, '"data" (the JSON text of a DataFrame): ')
    if names and isinstance(data, dict) and _pandas_columns(data):
        return Body(COLUMNS, _indexed_columns(data, names), method, ADS_PREDICTION)
    return _data(data, method, ADS_PREDICTION)


def _rows(value: Any, field: str) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise PayloadError(f'"{field}" must be a non-empty list of rows, such as {EXAMPLE}')
    if all(not isinstance(item, (list, dict)) for item in value):
        return [value]  # a single row
    return value


def _indexed_columns(document: dict[str, dict[str, Any]], names: list[str]) -> dict[str, list[Any]]:
    """pandas' ``{"feature": {"row label": value}}`` as columns, rows in the first feature's
    order. Columns that are not features are kept (empty) for ``check_columns`` to name."""
    features = set(names)
    present = [name for name in document if name in features]
    if not present:
        return {name: [] for name in document}
    first = present[0]
    labels = list(document[first])
    for name in present:
        if document[name].keys() != set(labels):
            raise PayloadError(f'column "{name}" does not have the same row labels as "{first}"')
    if not labels:
        raise PayloadError("the columns hold no rows")
    return {
        name: [document[name][label] for label in labels] if name in features else [] for name in document
    }


def require_names(feature_names: list[str] | None) -> list[str]:
    if not feature_names:
        raise PayloadError(
            "this model was trained without feature names, so records and columns can't be "
            f"matched to features; send rows such as {EXAMPLE}"
        )
    return feature_names


def check_keys(
    given: dict[str, Any], names: list[str], where: str, optional: frozenset[str] = frozenset()
) -> None:
    """The keys of a record or of the columns are the model's features (optional ones may be left out)."""
    missing = [name for name in names if name not in given and name not in optional]
    unknown = [name for name in given if name not in names]
    if missing or unknown:
        parts = [
            f"missing {a_few(missing)}" if missing else "",
            f"unknown {a_few(unknown)}" if unknown else "",
            likely_meant(unknown, [name for name in names if name not in given]),
        ]
        raise PayloadError(f"{where}: features do not match the model's ({'; '.join(p for p in parts if p)})")


def likely_meant(unknown: list[str], left: list[str], looked_at: int = 3) -> str:
    """The features the first few unknown names likely meant, as "did you mean 'income' for
    'incme'": close to a feature not given (a typo, another case); "" for none. Bounded: a body
    may hold thousands of names."""
    lowered = {name.lower(): name for name in left[:1000]}
    pairs = []
    for name in unknown[:looked_at]:
        if len(name) <= 100 and (close := difflib.get_close_matches(name.lower(), lowered, n=1, cutoff=0.75)):
            pairs.append(f"{lowered[close[0]]!r} for {name!r}")
    return f"did you mean {', '.join(pairs)}" if pairs else ""


def a_few(names: list[str], shown_names: int = 5) -> str:
    """Some names for an error message, and how many more: a body may hold thousands."""
    listed = ", ".join(repr(name if len(name) <= 40 else name[:37] + "...") for name in names[:shown_names])
    more = len(names) - shown_names
    return f"[{listed}]" + (f" and {more} more" if more > 0 else "")


def check_columns(
    columns: dict[str, list[Any]], names: list[str], optional: frozenset[str] = frozenset()
) -> int:
    """The number of rows of a columns body, once its names and lengths are checked."""
    check_keys(columns, names, "data", optional)
    lengths = {len(column) for column in columns.values()}
    if len(lengths) != 1 or 0 in lengths:
        raise PayloadError("data: columns must be non-empty and of the same length")
    return lengths.pop()


class NumericRows(msgspec.Struct, forbid_unknown_fields=True):
    """``{"instances" or "data": [[numbers]], "method"?}``; a number is a JSON integer or
    float (not true or false, not text, within the double range)."""

    instances: list[list[float]] | msgspec.UnsetType = msgspec.UNSET
    data: list[list[float]] | msgspec.UnsetType = msgspec.UNSET
    method: str | msgspec.UnsetType = msgspec.UNSET


NUMERIC_ROWS = msgspec.json.Decoder(NumericRows)


class ArrayInput:
    """Numbers only, as a 2-D float array: the fast path, for models that need no column names.

    ``integer_columns``: the positions of integer features, whose numbers must be whole.
    """

    def __init__(
        self, n_features: int | None, names: list[str] | None, integer_columns: tuple[int, ...] = ()
    ) -> None:
        self.n_features = n_features
        self.names = names
        self.integer_columns = list(integer_columns)

    def decode(self, body: bytes) -> tuple[np.ndarray, str | None] | None:
        """The rows and the method of a body of rows of numbers that passes every check, straight
        from its bytes; None for any other body (``read_body`` and ``features`` then say why)."""
        try:
            document = NUMERIC_ROWS.decode(body)
        except msgspec.DecodeError:  # not JSON, another form, or a value that is not a number
            return None
        rows, other = document.instances, document.data
        if rows is msgspec.UNSET:
            rows, other = other, rows
        method = None if document.method is msgspec.UNSET else document.method
        if rows is msgspec.UNSET or other is not msgspec.UNSET or not rows or method not in (None, *METHODS):
            return None
        try:
            array = np.array(rows, dtype=np.float64)
        except ValueError:  # rows of different lengths
            return None
        width = self.n_features if self.n_features is not None else len(rows[0])
        if array.ndim != 2 or array.shape[1] != width or not np.isfinite(array).all():
            return None
        if self.integer_columns and not (np.mod(array[:, self.integer_columns], 1) == 0).all():
            return None
        return array, method

    def features(self, body: Body) -> np.ndarray:
        if body.form == ROWS:
            rows = body.value
        elif body.form == RECORDS:
            names = require_names(self.names)
            rows = []
            for index, record in enumerate(body.value):
                check_keys(record, names, f"data[{index}]")
                rows.append([record[name] for name in names])
        else:
            names = require_names(self.names)
            check_columns(body.value, names)
            rows = [list(row) for row in zip(*(body.value[name] for name in names), strict=True)]
        array = _to_array(rows, self.n_features, self.names)
        if self.integer_columns:
            whole = np.mod(array[:, self.integer_columns], 1) == 0
            if not whole.all():
                index, position = np.argwhere(~whole)[0]
                column = self.integer_columns[position]
                raise PayloadError(
                    f"row {index}, {_feature(column, self.names)}: {shown(rows[index][column])} is not "
                    "a whole number; expected an integer"
                )
        return array

    def schema(self) -> dict[str, Any]:
        """The JSON Schemas of the forms this input takes, for ``request_schema``."""
        n_features, names = self.n_features, self.names
        row: dict[str, Any] = {"type": "array", "items": NUMBER, "minItems": n_features or 1}
        if n_features is not None:
            row["maxItems"] = n_features
        forms = {"rows": {"type": "array", "items": row, "minItems": 1}, "row": row}
        if names:
            integers = {names[column] for column in self.integer_columns}
            values = {name: {"type": "integer"} if name in integers else NUMBER for name in names}
            forms.update(named_forms(values, set(names)))
        return forms


def named_forms(values: dict[str, dict[str, Any]], required: set[str]) -> dict[str, dict[str, Any]]:
    """The JSON Schemas of the forms by feature name (records, a record, columns, pandas'
    columns), from the schema of each feature's value; features not in ``required`` may be left out."""
    record = {
        "type": "object",
        "properties": values,
        "required": [name for name in values if name in required],
        "additionalProperties": False,
    }
    column_of = {name: {"type": "array", "items": value, "minItems": 1} for name, value in values.items()}
    labelled = {
        name: {"type": "object", "additionalProperties": value, "minProperties": 1}
        for name, value in values.items()
    }
    return {
        "records": {"type": "array", "items": record, "minItems": 1},
        "record": record,
        "columns": {**record, "properties": column_of},
        "pandas": {
            "type": "object",
            "properties": labelled,
            "required": [name for name in values if name in required],
            "additionalProperties": False,
        },
    }


def request_schema(forms: dict[str, dict[str, Any]], methods: list[str]) -> dict[str, Any]:
    """The JSON Schema of exactly the bodies an input takes, for OpenAPI.

    What it can't say: the columns must be of one length, the pandas form's columns must
    have the same row labels, and the text in ADS's envelope must be what it describes.
    """
    rows = [forms["rows"], forms["row"]]
    data = [forms[name] for name in ("rows", "row", "records", "record", "columns") if name in forms]
    method = {"enum": methods, "description": "what to answer; predict by default (PREDICT_METHOD)"}
    options = [
        {
            "properties": {"instances": {"oneOf": rows}, "method": method},
            "required": ["instances"],
            "additionalProperties": False,
        },
        {
            "properties": {"data": {"oneOf": data}, "method": method},
            "required": ["data"],
            "additionalProperties": False,
        },
    ]
    if "pandas" in forms:
        options.append(forms["pandas"])
    options.append(_envelope_schema(forms, data, method))
    return {"type": "object", "oneOf": options}


def _envelope_schema(
    forms: dict[str, dict[str, Any]], data: list[dict[str, Any]], method: dict[str, Any]
) -> dict[str, Any]:
    """ADS's envelope, one option per kind of ``data_type``; answered under ``prediction``."""
    json_text = {
        "type": "string",
        "contentMediaType": "application/json",
        "description": "JSON text of the forms beside it, such as a DataFrame's to_json()",
    }
    npy = {
        "type": "string",
        "contentEncoding": "base64",
        "description": "base64 of np.save: rows, or one row",
    }
    by_kind = {
        JSON_DATA: {"oneOf": [json_text, *data, *([forms["pandas"]] if "pandas" in forms else [])]},
        NUMPY: npy,
        SERIES: {**forms["row"], "description": "series.tolist(): one row, in feature order"},
    }
    return {
        "description": 'OCI ADS\'s envelope (SklearnModel.predict), answered {"prediction": [...]}',
        "oneOf": [
            {
                "type": "object",
                "properties": {
                    "data": schema,
                    "data_type": {"enum": [name for name, of in DATA_TYPES.items() if of == kind]},
                    "method": method,
                },
                "required": ["data", "data_type"],
                "additionalProperties": False,
            }
            for kind, schema in by_kind.items()
        ],
    }


def _feature(column: int, names: list[str] | None) -> str:
    return f'feature "{names[column]}"' if names and column < len(names) else f"feature {column}"


def _to_array(rows: list[Any], n_features: int | None, names: list[str] | None = None) -> np.ndarray:
    width = n_features if n_features is not None else _first_row_width(rows)
    for index, row in enumerate(rows):
        if not isinstance(row, list):
            raise PayloadError(f"row {index} must be a list of {width} numbers")
        if len(row) != width:
            raise PayloadError(f"row {index} has {len(row)} values; the model expects {width} features")
        for column, value in enumerate(row):
            # bool is an int subclass in Python, and JSON true is not a feature value.
            if type(value) is not float and type(value) is not int:
                raise PayloadError(f"row {index}, {_feature(column, names)}: {shown(value)} is not a number")
    try:
        array = np.array(rows, dtype=np.float64)
    except OverflowError:
        array = None
    if array is None or not np.isfinite(array).all():
        index, column = _first_bad_number(rows)
        raise PayloadError(f"row {index}, {_feature(column, names)}: number is too large or not finite")
    return array


def _first_row_width(rows: list[Any]) -> int:
    first = rows[0]
    return len(first) if isinstance(first, list) else 0


def _first_bad_number(rows: list[list[float]]) -> tuple[int, int]:
    for index, row in enumerate(rows):
        for column, value in enumerate(row):
            try:
                if not math.isfinite(float(value)):
                    return index, column
            except OverflowError:
                return index, column
    return 0, 0
