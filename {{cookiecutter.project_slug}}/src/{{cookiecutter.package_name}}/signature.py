"""The model's input signature, saved beside it: what callers send and what comes back.

``save_model(model, X_sample, path)`` writes the model with joblib and, in the same
folder, the files that the scorer reads to build and check its input:

    {{ cookiecutter.__model_file }}          the fitted model
    input_schema.json     every feature: name, order, type, whether it may be missing,
                          statistics, and the values of categories and booleans
    output_schema.json    the predictions of ``X_sample``, described the same way
    input_example.json    one training row as a /predict body: the warm-up and an example

The two schema files are the ones OCI's ADS library writes for the same sample
(``SklearnModel.prepare``, ``ads.feature_engineering.schema``, version "1.1"), and that
OCI's model catalog stores as a model's input and output schema (``make catalog``): a
``schema`` list of attributes with ``name``, ``dtype`` (the pandas dtype), ``feature_type``,
``order``, ``required`` (no missing values), ``description`` and ``domain`` (``values``,
``stats``, ``constraints``), with ADS's statistics (``count, mean, standard deviation,
sample minimum, lower quartile, median, upper quartile, sample maximum, skew, missing`` for
numbers; ``count, unique, missing`` for text, categories and booleans; ``count, sample
maximum, sample minimum, missing`` for dates).

Text or category is decided as ADS decides it, by the pandas dtype alone: a ``category``
column is a category, and its categories are listed (``$x in [...]``, in their order); an
``object`` or ``str`` column is free text (``String``), and no value of it is written,
whatever its number of distinct values (make the column a ``category`` to have its values
listed and checked). A ``datetime64`` column is ``DateTime`` and lists no dates.

What ADS's attributes have no field for goes in a top-level ``"pandas"`` object, which ADS
ignores: the dtype the model was fitted on when ADS's differs (pandas 3's ``str``, written
``object`` as ADS writes it) and ``"ordered": true`` for an ordered category.
"""

from __future__ import annotations

import ast
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

INPUT_SCHEMA = "input_schema.json"
OUTPUT_SCHEMA = "output_schema.json"
INPUT_EXAMPLE = "input_example.json"
PACKAGE_DIR = Path(__file__).resolve().parent  # src/<package>/ when installed editable
SERVED_FILE = "{{ cookiecutter.__model_file }}"  # make serve's MODEL_FILE, in model_artifact/
NUMBER, INTEGER, BOOLEAN, TEXT, CATEGORY = "number", "integer", "boolean", "text", "category"
DATETIME = "datetime"
# The ADS feature type of each kind, as ADS names them.
FEATURE_TYPES = {
    NUMBER: "Continuous",
    INTEGER: "Integer",
    BOOLEAN: "Boolean",
    TEXT: "String",
    CATEGORY: "Category",
    DATETIME: "DateTime",
}
SCHEMA_VERSION = "1.1"  # ADS's Schema.to_json
PANDAS = "pandas"  # top-level: {feature: {"dtype": ..., "ordered": true}}, what ADS has no field for
IN = "$x in "  # ADS writes a feature's values as the constraint "$x in [...]"
BOOLEAN_VALUES = (True, False)  # ADS's constraint of every boolean: "$x in [True, False]"
# pandas' describe() names, and ADS's (ads.feature_engineering.utils._format_stat).
ADS_STATS = {
    "std": "standard deviation",
    "min": "sample minimum",
    "25%": "lower quartile",
    "50%": "median",
    "75%": "upper quartile",
    "max": "sample maximum",
}


@dataclass(frozen=True)
class Feature:
    """One input feature: ``kind`` says which JSON values it takes, ``dtype`` what the model saw."""

    name: str
    kind: str
    dtype: str
    required: bool = True
    values: tuple[Any, ...] | None = None  # a category's categories in their order; True, False
    ordered: bool = False  # a category whose order means something (pandas' ordered=True)
    typical: Any = field(default=None, compare=False)  # from the statistics: the schema's warm-up


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
    if lowered.startswith("datetime64"):
        return DATETIME
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
    if hasattr(value, "isoformat"):  # a pandas Timestamp or a datetime: ISO 8601
        return value.isoformat()
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
        required = not column.isna().any() and str(name) not in optional
        if column.dtype.name == "category":
            categories = tuple(plain(value) for value in column.cat.categories)
            ordered = bool(column.cat.ordered)
            features.append(Feature(str(name), CATEGORY, "category", required, categories, ordered))
            continue
        seen = column.dropna().unique()[:100].tolist() if column.dtype.name == "object" else ()
        kind = kind_of(column.dtype.name, values=seen)
        listed = BOOLEAN_VALUES if kind == BOOLEAN else None  # never a value of text
        features.append(Feature(str(name), kind, column.dtype.name, required, listed))
    first = {str(name): plain(value) for name, value in sample.iloc[0].items()}
    example = json.dumps({"data": [first]}).encode()
    classes = getattr(model, "classes_", None)
    return Signature(tuple(features), example, None if classes is None else tuple(plain(c) for c in classes))


def _stats(column: Any, kind: str) -> dict[str, Any]:
    """A column's statistics as ADS's feature types write them (``feature_stat``): the same
    names, order, rounding (3 decimals for Continuous) and counts (``count`` is every row,
    ``missing`` is there only when some are, and counts empty text as missing)."""
    import pandas as pd

    if kind in (NUMBER, INTEGER):
        numbers = column.astype("float64")
        stats = numbers.describe().rename(ADS_STATS)
        stats["count"] = len(column)
        if kind == NUMBER:
            stats["skew"] = numbers.skew()
        if missing := int(column.isna().sum()):
            stats["missing"] = missing
        stats = stats.astype("float64").round(3) if kind == NUMBER else stats.astype("float64")
        return {key: plain(value) for key, value in stats.items()}
    blank = column.isna() | (column.astype(object) == "")
    if kind == DATETIME:
        present = column[~column.isna()]
        written = {
            "count": len(column),
            "sample maximum": plain(present.max()) if len(present) else None,
            "sample minimum": plain(present.min()) if len(present) else None,
        }
    else:
        written = {"count": len(column), "unique": int(pd.Series(column[~blank]).nunique())}
    if missing := int(blank.sum()):
        written["missing"] = missing
    return written


def ads_dtype(feature: Feature) -> str:
    """The dtype ADS writes: pandas 2's ``object`` for pandas 3's ``str`` text."""
    return "object" if feature.dtype == "str" else feature.dtype


def _attribute(feature: Feature, order: int, stats: dict[str, Any]) -> dict[str, Any]:
    constraints = []
    if feature.values is not None:
        constraints.append({"expression": f"{IN}{list(feature.values)!r}", "language": "python"})
    return {
        "dtype": ads_dtype(feature),
        "feature_type": FEATURE_TYPES[feature.kind],
        "name": feature.name,
        "domain": {"values": FEATURE_TYPES[feature.kind], "stats": stats, "constraints": constraints},
        "required": feature.required,
        "description": feature.name,
        "order": order,
    }


def input_schema(signature: Signature, sample: Any = None) -> dict[str, Any]:
    """``input_schema.json``: every feature as an ADS attribute (statistics from ``sample``)."""
    document: dict[str, Any] = {
        "schema": [
            _attribute(feature, order, {} if sample is None else _stats(sample[feature.name], feature.kind))
            for order, feature in enumerate(signature.features)
        ],
        "version": SCHEMA_VERSION,
    }
    details = {}
    for feature in signature.features:
        detail = {"dtype": feature.dtype} if ads_dtype(feature) != feature.dtype else {}
        details[feature.name] = detail | ({"ordered": True} if feature.ordered else {})
    if details := {name: detail for name, detail in details.items() if detail}:
        document[PANDAS] = details
    return document


def output_schema(predictions: Any) -> dict[str, Any]:
    """``output_schema.json``: the predictions of the sample, as ADS describes a ``y_sample``
    (``SklearnModel.prepare``): by their dtype (class labels that are text are ``String``,
    unlisted), with their statistics; one attribute, ``prediction``, per output column."""
    import numpy as np
    import pandas as pd

    answers = np.asarray(predictions)
    columns = {"prediction": answers.ravel()}
    if answers.ndim == 2:
        columns = {f"prediction_{index}": answers[:, index] for index in range(answers.shape[1])}
    attributes = []
    for order, (name, values) in enumerate(columns.items()):
        column = pd.Series(values)
        kind = kind_of(column.dtype.name, values=column.dropna().unique()[:100].tolist())
        listed = BOOLEAN_VALUES if kind == BOOLEAN else None
        feature = Feature(name, kind, column.dtype.name, not column.isna().any(), listed)
        attributes.append(_attribute(feature, order, _stats(column, kind)))
    return {"schema": attributes, "version": SCHEMA_VERSION}


def _listed(attribute: dict[str, Any]) -> tuple[Any, ...] | None:
    for constraint in (attribute.get("domain") or {}).get("constraints") or []:
        expression = str(constraint.get("expression", "")).strip()
        if expression.startswith(IN):
            try:
                return tuple(ast.literal_eval(expression[len(IN) :].strip()))
            except (ValueError, SyntaxError, TypeError):
                return None
    return None


def _feature(attribute: dict[str, Any], detail: dict[str, Any]) -> Feature:
    """A feature of an input schema: ours, ADS's, or ours from before version 1.1 (``str`` text
    dtypes, ``25%``-style statistics, values of text features: read, and not kept)."""
    dtype = str(detail.get("dtype") or attribute["dtype"])
    listed = _listed(attribute)
    kind = kind_of(dtype, str(attribute.get("feature_type") or ""), listed)
    values = listed if kind in (CATEGORY, BOOLEAN) else None
    required = bool(attribute["required"])
    stats = (attribute.get("domain") or {}).get("stats") or {}
    return Feature(
        str(attribute["name"]),
        kind,
        dtype,
        required,
        values,
        bool(detail.get("ordered")),
        _typical(kind, stats, values),
    )


def _typical(kind: str, stats: dict[str, Any], values: tuple[Any, ...] | None) -> Any:
    """A value of the feature for a warm-up row: the median (else the mean, else 0) of numbers,
    rounded for whole numbers; the first category (None when none is listed); false; empty
    text (no value of text is ever written); the earliest date (else 1970-01-01)."""
    if kind in (NUMBER, INTEGER):
        for name in ("median", "50%", "mean"):
            value = stats.get(name)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
                return float(value) if kind == NUMBER else round(value)
        return 0.0 if kind == NUMBER else 0
    if kind == CATEGORY:
        return values[0] if values else None
    if kind == DATETIME:
        earliest = stats.get("sample minimum")
        return earliest if isinstance(earliest, str) else "1970-01-01T00:00:00"
    return False if kind == BOOLEAN else ""


def schema_row(signature: Signature) -> bytes:
    """A /predict body of one row made of the features' ``typical`` values: the warm-up of a
    model saved without an example row, as ADS saves them."""
    row = {feature.name: feature.typical for feature in signature.features}
    return json.dumps({"data": [row]}).encode()


def read_signature(folder: Path) -> Signature | None:
    """The signature saved in ``folder``, or None when there is no ``input_schema.json``."""
    path = folder / INPUT_SCHEMA
    if not path.is_file():
        return None
    try:
        document = json.loads(path.read_text())
        attributes = sorted(document["schema"], key=lambda item: item.get("order") or 0)
        details = document.get(PANDAS) or {}
        features = tuple(_feature(item, details.get(str(item["name"])) or {}) for item in attributes)
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{path} is not an input schema ({type(error).__name__}: {error})") from None
    if not features:
        raise ValueError(f"{path} lists no features")
    example = folder / INPUT_EXAMPLE
    classes = None
    output = folder / OUTPUT_SCHEMA
    if output.is_file():
        attributes = json.loads(output.read_text()).get("schema") or []
        labels = attributes[0] if attributes and attributes[0].get("feature_type") == "Category" else None
        classes = _listed(labels) if labels else None  # written before version 1.1
    return Signature(features, example.read_bytes() if example.is_file() else None, classes)


def load_in_fresh_process(path: Path) -> str:
    """Load the model at ``path`` in a new python process set up as the server is (run from
    the artifact's folder, ``src`` on the path): "" when it loads, else why not."""
    path = path.resolve()
    source = Path(__file__).resolve().parent.parent  # src/, or the site-packages holding the package
    env = {**os.environ, "PYTHONPATH": str(source)}
    check = f"import sys; from {__package__}.scorer import read_model; read_model(sys.argv[1])"
    try:
        run = subprocess.run(
            [sys.executable, "-c", check, str(path)],
            cwd=path.parent,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
    except subprocess.TimeoutExpired:
        return "loading it took more than 15 minutes"
    if run.returncode == 0:
        return ""
    lines = run.stderr.strip().splitlines() or ["no error output"]
    return lines[-1].removeprefix(f"{__package__}.scorer.UnreadableModel: ").replace(str(path), path.name)


def project_root(package: Path = PACKAGE_DIR) -> Path:
    """The project this package belongs to: the folder holding pyproject.toml above ``src/``
    (installed editable, as `make install` does); else, for a copy installed elsewhere, the
    current folder."""
    source = package.parent
    if source.name == "src" and (source.parent / "pyproject.toml").is_file():
        return source.parent
    return Path.cwd()


def next_command(path: Path, root: Path) -> str:
    """The command that serves the model saved at ``path``: plain `make serve` for the
    project's own model_artifact/{{ cookiecutter.__model_file }}, else with MODEL= naming it."""
    if path == root / "model_artifact" / SERVED_FILE:
        return "make serve (or make smoke: start, one /predict, stop)"
    return f"make serve MODEL={path} (or make smoke MODEL=...: start, one /predict, stop)"


def fit_sample_request(scorer: Any, request: Path, example: bytes) -> str | None:
    """Make ``request`` (sample_request.json: what `make smoke`, `make predict` and the project's
    test of your model send) a request the model just saved takes: left as it is when the scorer
    takes it, else ``example`` (the one there was for another model, such as make train's sample).
    What was done, in one line; None when nothing was."""
    from .payload import PayloadError

    why = "there was none"
    if request.is_file():
        try:
            scorer.parse(request.read_bytes())
            return None
        except (PayloadError, ValueError) as error:
            why = f"the one there did not fit this model: {error}"[:300]
    request.write_bytes(example)
    return f"wrote {request.name} (what make smoke and make test send): this model's example; {why}"


def save_model(model: Any, X_sample: Any, path: str | Path, *, optional: tuple[str, ...] = ()) -> Signature:
    """Save a fitted model and its signature; check that the scorer loads it and answers.

    ``path``: where the model goes; a relative path is the project's (``"model_artifact/model.joblib"``
    is the project's model_artifact/ from a notebook in any folder). It prints what it wrote
    and the command that serves it. ``X_sample``: rows of the training input as a pandas DataFrame, as callers will send them
    (the model sees them through ``processing.preprocess``); a few hundred rows are plenty,
    and the first becomes the example. ``optional``:
    features that may be missing (``null``) in requests though ``X_sample`` has none missing.

    The saved model is loaded in a fresh process as the server loads it (from a folder
    holding only the artifact, with ``src`` on the path: not the notebook's ``__main__`` nor
    its folder), and refused when it needs a function or class that process can't import,
    naming it and where to put it. Everything is written to a temporary folder first, so a
    failure leaves nothing behind.
    """
    import joblib

    from . import processing
    from .scorer import Scorer
    from .settings import Settings

    root = project_root()
    path = root / Path(path).expanduser()  # an absolute path stays as it is
    signature = signature_of(model, X_sample, tuple(optional))
    predictions = model.predict(processing.preprocess(X_sample))
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".saving-") as scratch:
        folder = Path(scratch)
        joblib.dump(model, folder / path.name)
        (folder / INPUT_SCHEMA).write_text(json.dumps(input_schema(signature, X_sample), indent=1) + "\n")
        (folder / OUTPUT_SCHEMA).write_text(json.dumps(output_schema(predictions), indent=1) + "\n")
        (folder / INPUT_EXAMPLE).write_bytes(signature.example or b"")
        if problem := load_in_fresh_process(folder / path.name):
            raise ValueError(f"the server can't load this model: {problem}")
        scorer = Scorer(Settings(model_dir=folder, model_file=path.name))
        scorer.load()
        if not scorer.ready:
            raise ValueError(f"the scorer can't serve this model: {scorer.detail}")
        for name in (path.name, INPUT_SCHEMA, OUTPUT_SCHEMA, INPUT_EXAMPLE):
            shutil.move(folder / name, path.parent / name)
    beside = ", ".join((INPUT_SCHEMA, OUTPUT_SCHEMA, INPUT_EXAMPLE))
    print(f"saved {path} ({path.stat().st_size:,} bytes) with its signature beside it: {beside}")
    request = root / "sample_request.json"
    served = path == root / "model_artifact" / SERVED_FILE  # the model make serves, smokes and tests
    if served and signature.example and (done := fit_sample_request(scorer, request, signature.example)):
        print(done)
    print(f"next: {next_command(path, root)}")
    return signature
