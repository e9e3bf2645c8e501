"""Which input a model gets: a float array (the fast path) or a typed DataFrame.

- Saved with a signature, every feature a number that may not be missing, and the model
  answers the example as an array exactly as it does as a DataFrame: an array (numbers;
  whole numbers for integer features). Warm-up: the example.
- Saved with any other signature: a DataFrame of the signature's dtypes (each value's
  type and whether it may be missing are checked). Warm-up: the example.
- A signature without an example row (ADS writes none): as above, with a row built from
  the input schema (``signature.schema_row``) in place of the example; a model that refuses
  that row is served without warm-up.
- Plain ``joblib.dump``, fitted on a DataFrame (``feature_names_in_``): a DataFrame of
  the JSON types sent (one kind of value per feature); but when the model answers a row
  of zeros as an array exactly as it does as a DataFrame, bodies of numbers only still
  take the array (as fast as before signatures existed). No warm-up.
- Plain ``joblib.dump``, fitted on an array: an array. Warm-up: a row of zeros.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np

from .payload import ArrayInput, Body, PayloadError, read_body
from .signature import INTEGER, NUMBER, Signature

Run = Callable[[Any, str], list[Any]]  # features, method -> answers


def choose_input(
    model: Any, signature: Signature | None, methods: list[str], run: Run, example: bytes | None = None
) -> tuple[Any, str]:
    """The input for ``model`` and why, in words for the log; ``example``: a /predict body of
    one row to compare the array and the DataFrame on (the signature's example by default)."""
    from .frame_input import FrameInput  # pandas, imported only by models that may need it

    if signature is None:
        names = getattr(model, "feature_names_in_", None)
        if names is None:
            return ArrayInput(getattr(model, "n_features_in_", None), None), "array (no signature)"
        frame = FrameInput([str(name) for name in names])
        array = ArrayInput(len(frame.names), frame.names)
        zeros = json.dumps({"instances": [[0.0] * len(frame.names)]}).encode()
        if same_answers(array, frame, zeros, methods, run):
            why = "array for numbers, else DataFrame of the JSON types (no signature)"
            return NumbersFirst(array, frame), why
        return frame, "DataFrame of the JSON types (no signature: no typed checks, no warm-up)"
    frame = FrameInput(signature.names, signature.features)
    numbers = all(feature.kind in (NUMBER, INTEGER) and feature.required for feature in signature.features)
    example = example or signature.example
    if not numbers or not example:
        return frame, "typed DataFrame"
    integers = tuple(index for index, feature in enumerate(signature.features) if feature.kind == INTEGER)
    array = ArrayInput(len(signature.names), signature.names, integers)
    if same_answers(array, frame, example, methods, run):
        return array, "array (numbers only, same answers as the DataFrame)"
    return frame, "typed DataFrame (the model needs its column names)"


class NumbersFirst:
    """Bodies of numbers only as an array, any other as a DataFrame of the JSON types."""

    def __init__(self, array: ArrayInput, frame: Any) -> None:
        self.array, self.frame, self.names = array, frame, frame.names

    def decode(self, body: bytes) -> tuple[Any, str | None] | None:
        return self.array.decode(body)

    def features(self, body: Body) -> Any:
        try:
            return self.array.features(body)
        except PayloadError:  # text, null, true/false, or a wrong shape: the frame says which
            return self.frame.features(body)

    def schema(self) -> dict[str, Any]:
        return self.frame.schema()


def same_answers(array: ArrayInput, frame: Any, example: bytes, methods: list[str], run: Run) -> bool:
    """Whether the model answers the example as an array exactly as it does as a DataFrame."""
    try:
        body = read_body(example, frame.names)
        as_array, as_frame = array.features(body), frame.features(body)
        for method in methods:
            left, right = np.asarray(run(as_array, method)), np.asarray(run(as_frame, method))
            if left.dtype.kind in "fc" and right.dtype.kind in "fc":
                if not np.allclose(left, right, equal_nan=True):
                    return False
            elif left.tolist() != right.tolist():
                return False
    except Exception:  # the array path is an optimisation: any failure keeps the DataFrame
        return False
    return True
