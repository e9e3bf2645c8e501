"""Typed columns as a pandas DataFrame, for models fitted on DataFrames or with text features.

With a signature (``signature.py``) each feature takes one kind of JSON value, and its
column gets the dtype the model was trained on:

| kind | JSON values | column |
|---|---|---|
| number | numbers | float (the signature's dtype) |
| integer | whole numbers | int; float with NaN when some are missing |
| boolean | ``true``, ``false`` | bool |
| text | strings | the signature's dtype (pandas ``str``, or ``object``) |
| category | values of the categories' type | pandas ``category``: the training categories (in order, ``ordered`` kept), then new ones |
| datetime | ISO 8601 text, or epoch milliseconds (what ``DataFrame.to_json`` sends) | the signature's ``datetime64`` dtype |

A date's text may carry an offset (``2024-09-27T10:00:00+02:00``): it is converted to UTC,
and to the feature's time zone if it has one; text without an offset and epoch milliseconds
are UTC. Anything else (text that is not ISO 8601, a fraction of a millisecond, ``true``, a
date out of the dtype's range) is a 400 naming the row and the feature.

``null`` is a missing value where the feature may be missing, and a 400 elsewhere. Values
the model never saw (a new city) go to the model, which decides (``handle_unknown``).
Without a signature (a model saved with plain ``joblib.dump`` that knows its
``feature_names_in_``) every column keeps the JSON type of its values.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from .payload import COLUMNS, RECORDS, Body, PayloadError, check_columns, check_keys, named_forms, shown
from .signature import BOOLEAN, CATEGORY, DATETIME, INTEGER, NUMBER, TEXT, Feature

NONE = type(None)
NUMBERS = {int, float}
EXPECTED = {
    NUMBER: "a number",
    INTEGER: "a whole number",
    BOOLEAN: "true or false",
    TEXT: "text (a JSON string)",
    DATETIME: "a date: ISO 8601 text or epoch milliseconds",
}
JSON_SCHEMA_TYPES = {
    NUMBER: ["number"],
    INTEGER: ["integer"],
    BOOLEAN: ["boolean"],
    TEXT: ["string"],
    DATETIME: ["string", "integer"],
}
WHOLE = (INTEGER, DATETIME)  # floats only when whole


def _expected(feature: Feature) -> str:
    if feature.kind == CATEGORY:
        what = "text" if _text_categories(feature) else "a number"
        example = f", such as {shown(feature.values[0])}" if feature.values else ""
        return f"one of its categories ({what}{example})"
    return EXPECTED[feature.kind]


def _text_categories(feature: Feature) -> bool:
    return not feature.values or all(isinstance(value, str) for value in feature.values)


class FrameInput:
    """Builds the DataFrame of a /predict body: ``features`` from a signature, or None (untyped)."""

    def __init__(self, names: list[str], features: tuple[Feature, ...] | None = None) -> None:
        self.names = names
        self.typed = {feature.name: feature for feature in features} if features else None
        self.optional = frozenset(f.name for f in features if not f.required) if features else frozenset()

    def decode(self, body: bytes) -> None:
        """No shortcut from the bytes: every body goes through ``read_body`` and ``features``."""
        return None

    def features(self, body: Body) -> pd.DataFrame:
        columns = self._columns(body)
        built = {name: self._column(name, columns[name]) for name in self.names}
        return pd.DataFrame(built, copy=False)

    def _columns(self, body: Body) -> dict[str, list[Any]]:
        names, width = self.names, len(self.names)
        if body.form == COLUMNS:
            rows = check_columns(body.value, names, self.optional)
            return {name: body.value.get(name) or [None] * rows for name in names}
        if body.form == RECORDS:
            for index, record in enumerate(body.value):
                check_keys(record, names, f"data[{index}]", self.optional)
            return {name: [record.get(name) for record in body.value] for name in names}
        for index, row in enumerate(body.value):
            if not isinstance(row, list):
                raise PayloadError(f"row {index} must be a list of {width} values, one per feature")
            if len(row) != width:
                raise PayloadError(f"row {index} has {len(row)} values; the model expects {width} features")
        return {name: [row[position] for row in body.value] for position, name in enumerate(names)}

    def _column(self, name: str, values: list[Any]) -> Any:
        if self.typed is None:
            return _untyped(name, values)
        feature = self.typed[name]
        allowed = _ALLOWED[feature.kind](feature) | ({NONE} if not feature.required else set())
        types = set(map(type, values))
        if not types <= allowed or (feature.kind in WHOLE and float in types):
            _check_each(feature, values, allowed)
        return _BUILD[feature.kind](feature, values, NONE in types)

    def schema(self) -> dict[str, Any]:
        """The JSON Schemas of the forms this input takes, for ``payload.request_schema``."""
        values = {name: self._value_schema(name) for name in self.names}
        required = set(self.names) - self.optional
        row = {
            "type": "array",
            "description": f"values in feature order: {', '.join(self.names)}",
            "items": {"anyOf": list({str(v): v for v in values.values()}.values())},
            "minItems": len(self.names),
            "maxItems": len(self.names),
        }
        return {
            "rows": {"type": "array", "items": row, "minItems": 1},
            "row": row,
            **named_forms(values, required),
        }

    def _value_schema(self, name: str) -> dict[str, Any]:
        if self.typed is None:
            return {"type": ["number", "string", "boolean", "null"]}
        feature = self.typed[name]
        if feature.kind == CATEGORY:
            types = ["string" if _text_categories(feature) else "number"]
        else:
            types = JSON_SCHEMA_TYPES[feature.kind]
        types = types + ([] if feature.required else ["null"])
        schema: dict[str, Any] = {"type": types[0] if len(types) == 1 else types}
        if feature.values and feature.kind != BOOLEAN:
            schema["examples"] = list(feature.values[:5])
        return schema


def _check_each(feature: Feature, values: list[Any], allowed: set[type]) -> None:
    """Refuse the first value of a wrong type (or a fraction for an integer feature)."""
    for index, value in enumerate(values):
        whole = feature.kind not in WHOLE or type(value) is not float or value.is_integer()
        if type(value) in allowed and whole:
            continue
        if value is None:
            detail = f"got null, expected {_expected(feature)}; this feature may not be missing"
        else:
            optional = " or null" if NONE in allowed else ""
            detail = f"got {shown(value)}, expected {_expected(feature)}{optional}"
        raise PayloadError(f'row {index}, feature "{feature.name}": {detail}')


def _floats(name: str, values: list[Any], missing: bool) -> np.ndarray:
    try:
        array = np.array(
            [np.nan if value is None else value for value in values] if missing else values, float
        )
    except OverflowError:
        array = None
    if array is None or np.isinf(array).any():
        raise PayloadError(
            f'row {_first_out_of_range(values, -np.inf, np.inf)}, feature "{name}": the number is too large'
        )
    return array


def _first_out_of_range(values: list[Any], low: float, high: float) -> int:
    for index, value in enumerate(values):
        try:
            if value is not None and not low < float(value) < high:
                return index
        except OverflowError:
            return index
    return 0


def _number(feature: Feature, values: list[Any], missing: bool) -> np.ndarray:
    return _floats(feature.name, values, missing).astype(feature.dtype.lower(), copy=False)


def _integer(feature: Feature, values: list[Any], missing: bool) -> Any:
    if missing:
        floats = _floats(feature.name, values, missing)
        return pd.array(floats, dtype=feature.dtype) if feature.dtype[0] == "I" else floats  # pandas' Int64
    dtype = np.dtype(feature.dtype.lower())
    try:
        return np.array(values, dtype=dtype)
    except OverflowError:
        limits = np.iinfo(dtype)
        index = _first_out_of_range(values, limits.min - 1, limits.max + 1)
        raise PayloadError(
            f'row {index}, feature "{feature.name}": the number is outside {limits.min}..{limits.max}'
        ) from None


def _boolean(feature: Feature, values: list[Any], missing: bool) -> Any:
    if not missing:
        return np.array(values, dtype=bool)
    if feature.dtype == "boolean":
        return pd.array(values, dtype="boolean")
    return np.array([np.nan if value is None else value for value in values], dtype=object)


def _text(feature: Feature, values: list[Any], missing: bool) -> Any:
    if feature.dtype in ("str", "string"):
        return pd.array(values, dtype=feature.dtype)
    # A Series: pandas 3 would make an object array of text a "str" column.
    return pd.Series(
        [np.nan if value is None else value for value in values] if missing else values, dtype=object
    )


def _category(feature: Feature, values: list[Any], missing: bool) -> pd.Categorical:
    known = list(feature.values or ())
    seen = set(known)
    new = [value for value in dict.fromkeys(values) if value is not None and value not in seen]
    return pd.Categorical(values, categories=known + new, ordered=feature.ordered)


def _datetime(feature: Feature, values: list[Any], missing: bool) -> Any:
    dtype = pd.api.types.pandas_dtype(feature.dtype)
    try:
        return _dates(values, dtype)
    except (ValueError, TypeError, OverflowError):  # pandas' OutOfBoundsDatetime is a ValueError
        pass
    for index, value in enumerate(values):  # which row: the first that fails alone
        try:
            _dates([value], dtype)
        except (ValueError, TypeError, OverflowError):
            if type(value) is str:
                detail = f"expected {EXPECTED[DATETIME]}"
            else:
                detail = f"a date outside the range of the model's {dtype}"
            raise PayloadError(
                f'row {index}, feature "{feature.name}": got {shown(value)}, {detail}'
            ) from None
    raise PayloadError(f'feature "{feature.name}": the dates could not be read')


def _dates(values: list[Any], dtype: Any) -> Any:
    """ISO 8601 text and epoch milliseconds as ``dtype`` (``ValueError`` when one is neither)."""
    texts = pd.Series([value if type(value) is str else None for value in values], dtype=object)
    # ISO 8601 starts with the year's digits; pandas would also take "now" and "today" (the clock).
    if any(type(value) is str and value[:1] not in "0123456789" for value in values):
        raise ValueError("not ISO 8601")
    epochs = pd.Series([value if type(value) in NUMBERS else np.nan for value in values], dtype="float64")
    dates = pd.to_datetime(texts, format="ISO8601", utc=True)
    dates = dates.fillna(pd.to_datetime(epochs, unit="ms", utc=True))
    if (dates.isna() & pd.Series([value is not None for value in values])).any():
        raise ValueError("not a date")  # empty text
    timezone = getattr(dtype, "tz", None)
    dates = dates.dt.tz_convert(timezone) if timezone is not None else dates.dt.tz_localize(None)
    return dates.astype(dtype).array


_ALLOWED: dict[str, Callable[[Feature], set[type]]] = {
    NUMBER: lambda feature: NUMBERS,
    INTEGER: lambda feature: NUMBERS,  # floats only when whole (checked apart)
    BOOLEAN: lambda feature: {bool},
    TEXT: lambda feature: {str},
    CATEGORY: lambda feature: {str} if _text_categories(feature) else NUMBERS,
    DATETIME: lambda feature: {str} | NUMBERS,  # floats only when whole (checked apart)
}
_BUILD: dict[str, Callable[[Feature, list[Any], bool], Any]] = {
    NUMBER: _number,
    INTEGER: _integer,
    BOOLEAN: _boolean,
    TEXT: _text,
    CATEGORY: _category,
    DATETIME: _datetime,
}


def _untyped(name: str, values: list[Any]) -> Any:
    """A column of the JSON types sent: numbers, text or booleans, one kind per column."""
    types = set(map(type, values))
    missing = NONE in types
    types.discard(NONE)
    if not types or types <= NUMBERS:
        if types == {int} and not missing:
            try:
                return np.array(values, dtype=np.int64)
            except OverflowError:
                pass
        return _floats(name, values, missing)
    if types == {str}:
        return pd.array(values, dtype="str")
    if types == {bool}:
        return np.array(values, dtype=bool) if not missing else np.array(values, dtype=object)
    kinds = {float: "number", int: "number", str: "text", bool: "true/false"}
    first = {}
    for index, value in enumerate(values):
        if type(value) not in kinds:
            raise PayloadError(
                f'row {index}, feature "{name}": got {shown(value)}, expected a number, text or true/false'
            )
        first.setdefault(kinds[type(value)], (index, value))
    (a, (row_a, value_a)), (b, (row_b, value_b)) = list(first.items())[:2]
    raise PayloadError(
        f'feature "{name}" mixes kinds of values (row {row_a}: {shown(value_a)}, {a}; row {row_b}: '
        f"{shown(value_b)}, {b}); send one kind per feature"
    )
