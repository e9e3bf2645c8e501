"""Parse and check a /predict body, without any web framework.

Accepted bodies (one JSON object, one of the two keys):

- ``{"instances": [[5.1, 3.5, 1.4, 0.2], ...]}``: rows of numbers, in feature order
- ``{"instances": [5.1, 3.5, 1.4, 0.2]}``: a single row
- ``{"data": [[...], ...]}``: rows, as with ``instances``
- ``{"data": [{"sepal_length": 5.1, ...}, ...]}``: records keyed by feature name
- ``{"data": {"sepal_length": [5.1, 6.2], ...}}``: columns keyed by feature name
- ``{"data": {"sepal_length": 5.1, ...}}``: a single record

Anything else raises ``PayloadError`` whose message names the problem.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

EXAMPLE = '{"instances": [[...feature values...]]}'
JSON_TYPES = ("application/json",)
# Numbers past the double range (1.8e308) are refused too; a decimal bound in the
# schema would not match the binary one at its edge, so the schema leaves it out.
NUMBER = {"type": "number", "description": "a finite double-precision number"}


class PayloadError(ValueError):
    """A bad request body; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


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


def parse_predict_body(body: bytes, n_features: int | None, feature_names: list[str] | None) -> np.ndarray:
    """The rows to predict, as a 2-D float array with ``n_features`` columns."""
    document = load_json(body)
    if not isinstance(document, dict):
        raise PayloadError(f"body must be a JSON object such as {EXAMPLE}")
    keys = set(document)
    if len(keys & {"instances", "data"}) != 1 or keys - {"instances", "data"}:
        raise PayloadError(
            f'body must have exactly one of "instances" or "data" (got {sorted(keys) or "no keys"})'
        )
    if "instances" in document:
        rows = _rows_from_instances(document["instances"], "instances")
    else:
        rows = _rows_from_data(document["data"], feature_names)
    return _to_array(rows, n_features)


def body_schema(n_features: int | None, feature_names: list[str] | None) -> dict[str, Any]:
    """The JSON Schema of exactly the bodies ``parse_predict_body`` accepts, for OpenAPI.

    One thing it can't say: the columns of the column form must be of one length.
    """
    row: dict[str, Any] = {"type": "array", "items": NUMBER, "minItems": n_features or 1}
    if n_features is not None:
        row["maxItems"] = n_features
    rows = {"type": "array", "items": row, "minItems": 1}
    data_forms = [rows, row]
    if feature_names:
        record = {
            "type": "object",
            "properties": dict.fromkeys(feature_names, NUMBER),
            "required": feature_names,
            "additionalProperties": False,
        }
        column = {"type": "array", "items": NUMBER, "minItems": 1}
        columns = {**record, "properties": dict.fromkeys(feature_names, column)}
        data_forms += [{"type": "array", "items": record, "minItems": 1}, record, columns]
    return {
        "type": "object",
        "oneOf": [
            {
                "properties": {"instances": {"oneOf": [rows, row]}},
                "required": ["instances"],
                "additionalProperties": False,
            },
            {
                "properties": {"data": {"oneOf": data_forms}},
                "required": ["data"],
                "additionalProperties": False,
            },
        ],
    }


def _rows_from_instances(value: Any, field: str) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise PayloadError(f'"{field}" must be a non-empty list of rows, such as {EXAMPLE}')
    if all(not isinstance(item, (list, dict)) for item in value):
        return [value]  # a single row
    return value


def _rows_from_data(value: Any, feature_names: list[str] | None) -> list[Any]:
    if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        names = _require_names(feature_names)
        return [_record_to_row(record, names, f"data[{index}]") for index, record in enumerate(value)]
    if isinstance(value, dict):
        names = _require_names(feature_names)
        if value and all(isinstance(column, list) for column in value.values()):
            return _columns_to_rows(value, names)
        return [_record_to_row(value, names, "data")]
    return _rows_from_instances(value, "data")


def _require_names(feature_names: list[str] | None) -> list[str]:
    if not feature_names:
        raise PayloadError(
            "this model was trained without feature names, so records and columns can't be "
            f"matched to features; send rows such as {EXAMPLE}"
        )
    return feature_names


def _check_keys(given: dict[str, Any], names: list[str], where: str) -> None:
    missing = [name for name in names if name not in given]
    unknown = [name for name in given if name not in names]
    if missing or unknown:
        parts = [f"missing {missing}" if missing else "", f"unknown {unknown}" if unknown else ""]
        raise PayloadError(f"{where}: features do not match the model's ({'; '.join(p for p in parts if p)})")


def _record_to_row(record: dict[str, Any], names: list[str], where: str) -> list[Any]:
    _check_keys(record, names, where)
    return [record[name] for name in names]


def _columns_to_rows(columns: dict[str, list[Any]], names: list[str]) -> list[Any]:
    _check_keys(columns, names, "data")
    lengths = {len(column) for column in columns.values()}
    if len(lengths) != 1 or 0 in lengths:
        raise PayloadError("data: columns must be non-empty and of the same length")
    return [list(row) for row in zip(*(columns[name] for name in names), strict=True)]


def _to_array(rows: list[Any], n_features: int | None) -> np.ndarray:
    width = n_features if n_features is not None else _first_row_width(rows)
    for index, row in enumerate(rows):
        if not isinstance(row, list):
            raise PayloadError(f"row {index} must be a list of {width} numbers")
        if len(row) != width:
            raise PayloadError(f"row {index} has {len(row)} values; the model expects {width} features")
        for column, value in enumerate(row):
            # bool is an int subclass in Python, and JSON true is not a feature value.
            if type(value) is not float and type(value) is not int:
                raise PayloadError(f"row {index}, feature {column}: {json.dumps(value)[:40]} is not a number")
    try:
        array = np.array(rows, dtype=np.float64)
    except OverflowError:
        array = None
    if array is None or not np.isfinite(array).all():
        index, column = _first_bad_number(rows)
        raise PayloadError(f"row {index}, feature {column}: number is too large or not finite")
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
