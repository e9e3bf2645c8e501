"""The model's input signature, saved beside it: what callers send and what comes back.

``save_model(model, X_sample, path)`` writes the model with joblib and, in the same
folder, the files that the scorer reads to build and check its input:

    {{ cookiecutter.model_file }}          the fitted model
    input_schema.json     every feature: name, order, type, whether it may be missing,
                          the values seen (text, categories, booleans) and statistics
    output_schema.json    the prediction; for a classifier its class labels
    input_example.json    one training row as a /predict body: the warm-up and an example

The two schema files are in the form OCI's model catalog stores as a model's input and
output schema, the one OCI's ADS library writes (``ads.feature_engineering.schema``): a
``schema`` list of attributes with ``name``, ``dtype`` (the pandas dtype), ``feature_type``,
``order``, ``required`` (no missing values), ``description`` and ``domain`` (``values``,
``stats``, ``constraints``). ``make catalog`` sends them with the model.
"""

from __future__ import annotations

import ast
import json
import math
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

INPUT_SCHEMA = "input_schema.json"
OUTPUT_SCHEMA = "output_schema.json"
INPUT_EXAMPLE = "input_example.json"
NUMBER, INTEGER, BOOLEAN, TEXT, CATEGORY = "number", "integer", "boolean", "text", "category"
# The ADS feature type of each kind, as ADS names them.
FEATURE_TYPES = {
    NUMBER: "Continuous",
    INTEGER: "Integer",
    BOOLEAN: "Boolean",
    TEXT: "String",
    CATEGORY: "Category",
}
# Values listed for a text feature with at most this many distinct values; the catalog
# keeps at most 32,000 bytes of schema (make catalog trims what it sends, not the file).
MAX_LISTED_VALUES = 1000
IN = "$x in "  # ADS writes a feature's values as the constraint "$x in [...]"


@dataclass(frozen=True)
class Feature:
    """One input feature: ``kind`` says which JSON values it takes, ``dtype`` what the model saw."""

    name: str
    kind: str
    dtype: str
    required: bool = True
    values: tuple[Any, ...] | None = None  # seen in training (text, category, boolean), None if not listed


@dataclass(frozen=True)
class Signature:
    features: tuple[Feature, ...]
    example: bytes | None = None  # a /predict body of one training row
    classes: tuple[Any, ...] | None = None

    @property
    def names(self) -> list[str]:
        return [feature.name for feature in self.features]


def kind_of(dtype: str, feature_type: str = "", values: Any = ()) -> str:
    """The kind of a feature from its pandas dtype (and ADS feature type, for object columns)."""
    lowered = dtype.lower()
    if lowered.startswith(("float", "double")):
        return NUMBER
    if lowered.startswith(("int", "uint")):
        return INTEGER
    if lowered in ("bool", "boolean") or feature_type.lower() == "boolean":
        return BOOLEAN
    if lowered == "category":
        return CATEGORY
    if lowered == "object" and values and all(type(value) is bool for value in values):
        return BOOLEAN
    return TEXT


def plain(value: Any) -> Any:
    """A numpy or pandas scalar as a JSON value; missing values (NaN, NA, NaT) as None."""
    if isinstance(value, str):
        return str(value)  # numpy's str_ too
    if hasattr(value, "item"):
        value = value.item()
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if type(value).__name__ in ("NAType", "NaTType"):
        return None
    return value if isinstance(value, (bool, int, float)) else str(value)


def signature_of(model: Any, sample: Any, optional: tuple[str, ...] = ()) -> Signature:
    """The signature of ``model`` from ``sample``, a pandas DataFrame of its training input."""
    import pandas as pd

    if not isinstance(sample, pd.DataFrame):
        raise TypeError(
            f"X_sample must be a pandas DataFrame of the training input, not {type(sample).__name__}"
        )
    if sample.empty:
        raise ValueError(
            "X_sample has no rows; pass some training rows (they give the example and the values)"
        )
    unknown = set(optional) - {str(name) for name in sample.columns}
    if unknown:
        raise ValueError(f"optional names features that X_sample lacks: {sorted(unknown)}")
    features = []
    for name, column in sample.items():
        present = column.dropna()
        distinct = present.unique().tolist() if column.dtype.name != "category" else column.cat.categories
        kind = kind_of(column.dtype.name, values=list(distinct)[:100])
        listed = None
        if kind in (TEXT, CATEGORY, BOOLEAN) and len(distinct) <= MAX_LISTED_VALUES:
            listed = tuple(sorted((plain(value) for value in distinct), key=str))
        required = not column.isna().any() and str(name) not in optional
        features.append(Feature(str(name), kind, column.dtype.name, required, listed))
    first = {str(name): plain(value) for name, value in sample.iloc[0].items()}
    example = json.dumps({"data": [first]}).encode()
    classes = getattr(model, "classes_", None)
    return Signature(tuple(features), example, None if classes is None else tuple(plain(c) for c in classes))


def _stats(column: Any, kind: str) -> dict[str, Any]:
    stats: dict[str, Any] = {"count": int(column.notna().sum()), "missing": int(column.isna().sum())}
    if kind in (NUMBER, INTEGER) and stats["count"]:
        described = column.astype("float64").describe()
        stats.update({key: float(value) for key, value in described.items() if key != "count"})
    elif kind != BOOLEAN:
        stats["unique"] = int(column.nunique())
    return {
        key: value for key, value in stats.items() if not isinstance(value, float) or math.isfinite(value)
    }


def _attribute(feature: Feature, order: int, stats: dict[str, Any]) -> dict[str, Any]:
    constraints = []
    if feature.values is not None:
        constraints.append({"expression": f"{IN}{list(feature.values)!r}", "language": "python"})
    return {
        "dtype": feature.dtype,
        "feature_type": FEATURE_TYPES[feature.kind],
        "name": feature.name,
        "domain": {"values": FEATURE_TYPES[feature.kind], "stats": stats, "constraints": constraints},
        "required": feature.required,
        "description": feature.name,
        "order": order,
    }


def input_schema(signature: Signature, sample: Any = None) -> dict[str, Any]:
    """``input_schema.json``: every feature as an ADS attribute (statistics from ``sample``)."""
    return {
        "schema": [
            _attribute(feature, order, {} if sample is None else _stats(sample[feature.name], feature.kind))
            for order, feature in enumerate(signature.features)
        ]
    }


def output_schema(signature: Signature, predictions: Any) -> dict[str, Any]:
    """``output_schema.json``: the prediction, with the class labels of a classifier."""
    dtype = str(getattr(predictions, "dtype", "object"))
    if signature.classes is not None:
        prediction = Feature("prediction", CATEGORY, dtype, True, signature.classes)
    else:
        prediction = Feature("prediction", kind_of(dtype) if kind_of(dtype) != TEXT else NUMBER, dtype)
    return {"schema": [_attribute(prediction, 0, {})]}


def _listed(attribute: dict[str, Any]) -> tuple[Any, ...] | None:
    for constraint in (attribute.get("domain") or {}).get("constraints") or []:
        expression = str(constraint.get("expression", "")).strip()
        if expression.startswith(IN):
            try:
                return tuple(ast.literal_eval(expression[len(IN) :].strip()))
            except (ValueError, SyntaxError, TypeError):
                return None
    return None


def read_signature(folder: Path) -> Signature | None:
    """The signature saved in ``folder``, or None when there is no ``input_schema.json``."""
    path = folder / INPUT_SCHEMA
    if not path.is_file():
        return None
    try:
        document = json.loads(path.read_text())
        attributes = sorted(document["schema"], key=lambda item: item.get("order") or 0)
        features = tuple(
            Feature(
                name=str(item["name"]),
                kind=kind_of(str(item["dtype"]), str(item.get("feature_type") or ""), _listed(item)),
                dtype=str(item["dtype"]),
                required=bool(item["required"]),
                values=_listed(item),
            )
            for item in attributes
        )
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{path} is not an input schema ({type(error).__name__}: {error})") from None
    if not features:
        raise ValueError(f"{path} lists no features")
    example = folder / INPUT_EXAMPLE
    classes = None
    output = folder / OUTPUT_SCHEMA
    if output.is_file():
        attributes = json.loads(output.read_text()).get("schema") or []
        classes = _listed(attributes[0]) if attributes else None
    return Signature(features, example.read_bytes() if example.is_file() else None, classes)


def save_model(model: Any, X_sample: Any, path: str | Path, *, optional: tuple[str, ...] = ()) -> Signature:
    """Save a fitted model and its signature; check that the scorer loads it and answers.

    ``X_sample``: rows of the training input as a pandas DataFrame, as callers will send them
    (the model sees them through ``processing.preprocess``); a few hundred rows are plenty,
    and the first becomes the example. ``optional``:
    features that may be missing (``null``) in requests though ``X_sample`` has none missing.
    Everything is written to a temporary folder first, so a failure leaves nothing behind.
    """
    import joblib

    from . import processing
    from .scorer import Scorer
    from .settings import Settings

    path = Path(path)
    signature = signature_of(model, X_sample, tuple(optional))
    predictions = model.predict(processing.preprocess(X_sample.iloc[:1]))
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".saving-") as scratch:
        folder = Path(scratch)
        joblib.dump(model, folder / path.name)
        (folder / INPUT_SCHEMA).write_text(json.dumps(input_schema(signature, X_sample), indent=1) + "\n")
        (folder / OUTPUT_SCHEMA).write_text(
            json.dumps(output_schema(signature, predictions), indent=1) + "\n"
        )
        (folder / INPUT_EXAMPLE).write_bytes(signature.example or b"")
        scorer = Scorer(Settings(model_dir=folder, model_file=path.name))
        scorer.load()
        if not scorer.ready:
            raise ValueError(f"the scorer can't serve this model: {scorer.detail}")
        for name in (path.name, INPUT_SCHEMA, OUTPUT_SCHEMA, INPUT_EXAMPLE):
            shutil.move(folder / name, path.parent / name)
    return signature
