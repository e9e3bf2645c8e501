"""Parse and check a /predict body, without any web framework.

Accepted bodies (one JSON object):

- ``{"instances": [[5.1, 3.5, 1.4, 0.2], ...]}``: rows, in feature order
- ``{"instances": [5.1, 3.5, 1.4, 0.2]}``: a single row
- ``{"data": [[...], ...]}``: rows, as with ``instances``
- ``{"data": [{"sepal_length": 5.1, ...}, ...]}``: records keyed by feature name
- ``{"data": {"sepal_length": [5.1, 6.2], ...}}``: columns keyed by feature name
- ``{"data": {"sepal_length": 5.1, ...}}``: a single record
- ``{"sepal_length": {"0": 5.1, "1": 6.2}, ...}``: a pandas ``DataFrame.to_json()``, the
  body OCI's ADS library sends by default: its keys exactly the model's features

Beside ``instances`` or ``data``, ``"method"`` may ask for ``predict_proba`` or
``decision_function`` instead of the default. ``read_body`` checks the structure;
``ArrayInput`` (numbers only, the fast path) and ``frame_input.FrameInput`` (typed
columns as a DataFrame) check the values. Anything wrong raises ``PayloadError``,
whose message names the problem.

The hot path: ``ArrayInput.decode`` takes rows of numbers straight from the bytes,
decoded and type-checked in compiled code (msgspec: 5 times the standard library's
``json`` and a check of each value in Python, on 100 rows of 160 features). Any body
it does not take whole goes the full way above, which says what is wrong with it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import msgspec
import numpy as np

EXAMPLE = '{"instances": [[...feature values...]]}'
JSON_TYPES = ("application/json",)
METHODS = ("predict", "predict_proba", "decision_function")
# Numbers past the double range (1.8e308) are refused too; a decimal bound in the
# schema would not match the binary one at its edge, so the schema leaves it out.
NUMBER = {"type": "number", "description": "a finite double-precision number"}
ROWS, RECORDS, COLUMNS = "rows", "records", "columns"


class PayloadError(ValueError):
    """A bad request body; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Body:
    """A body whose structure is checked: ``form`` is ROWS (a list of lists), RECORDS (a
    list of objects) or COLUMNS (an object of lists); ``method`` is None for the default."""

    form: str
    value: Any
    method: str | None = None


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
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as error:
        where = f"line {error.lineno} column {error.colno}"
        raise PayloadError(f"malformed JSON: {error.msg} at {where}") from None
    except RecursionError:
        raise PayloadError("JSON is nested too deeply") from None
    except PayloadError:  # NaN or Infinity (_reject_constant)
        raise
    except ValueError:  # an integer of more digits than Python converts (sys.get_int_max_str_digits)
        raise PayloadError("a number in the body has too many digits") from None


def shown(value: Any) -> str:
    """A sent value as JSON, cut short for an error message."""
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def read_body(body: bytes, names: list[str] | None) -> Body:
    """The structure of a /predict body: its form, its rows/records/columns and the method."""
    document = load_json(body)
    if not isinstance(document, dict):
        raise PayloadError(f"body must be a JSON object such as {EXAMPLE}")
    if names and set(document) == set(names) and all(isinstance(value, dict) for value in document.values()):
        return Body(COLUMNS, _indexed_columns(document, names))
    method = document.get("method")
    if "method" in document and method not in METHODS:
        raise PayloadError(f'"method" must be one of {", ".join(METHODS)} (got {shown(method)})')
    keys = set(document) - {"method"}
    if len(keys & {"instances", "data"}) != 1 or keys - {"instances", "data"}:
        raise PayloadError(
            f'body must have exactly one of "instances" or "data", and may have "method" '
            f"(got {sorted(document) or 'no keys'})"
        )
    if "instances" in document:
        return Body(ROWS, _rows(document["instances"], "instances"), method)
    value = document["data"]
    if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        return Body(RECORDS, value, method)
    if isinstance(value, dict):
        if value and all(isinstance(column, list) for column in value.values()):
            return Body(COLUMNS, value, method)
        return Body(RECORDS, [value], method)
    return Body(ROWS, _rows(value, "data"), method)


def _rows(value: Any, field: str) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise PayloadError(f'"{field}" must be a non-empty list of rows, such as {EXAMPLE}')
    if all(not isinstance(item, (list, dict)) for item in value):
        return [value]  # a single row
    return value


def _indexed_columns(document: dict[str, dict[str, Any]], names: list[str]) -> dict[str, list[Any]]:
    """pandas' ``{"feature": {"row label": value}}`` as columns, rows in the first column's order."""
    first = next(iter(document))
    labels = list(document[first])
    for name in names:
        if document[name].keys() != set(labels):
            raise PayloadError(f'column "{name}" does not have the same row labels as "{first}"')
    if not labels:
        raise PayloadError("the columns hold no rows")
    return {name: [document[name][label] for label in labels] for name in names}


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
        ]
        raise PayloadError(f"{where}: features do not match the model's ({'; '.join(p for p in parts if p)})")


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
            "required": list(values),
            "additionalProperties": False,
        },
    }


def request_schema(forms: dict[str, dict[str, Any]], methods: list[str]) -> dict[str, Any]:
    """The JSON Schema of exactly the bodies an input takes, for OpenAPI.

    Two things it can't say: the columns must be of one length, and the pandas form's
    columns must have the same row labels.
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
    return {"type": "object", "oneOf": options}


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
