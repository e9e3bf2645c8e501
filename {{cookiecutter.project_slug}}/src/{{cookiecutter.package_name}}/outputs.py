"""What /predict answers for each row, by method, as JSON-ready values.

| method | each row's answer |
|---|---|
| ``predict`` (the default, ``PREDICT_METHOD``) | the prediction: a class label or a number |
| ``predict_proba`` | ``{class label: probability}`` |
| ``decision_function`` | ``{class label: score}``; a binary classifier's one score, for ``classes_[1]`` |

Class labels become JSON object keys, which are strings: a label 1 is ``"1"``. The list
goes under ``predictions``, or ``prediction`` for a body in ADS's envelope (``payload``).

An answer is counted before it is built (``answer_bytes``, from the model's array of answers
and the labels): one longer than ``MAX_ANSWER_BYTES`` is refused with 413, as its Python lists
and JSON text would take several times that in the worker's memory.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from .payload import METHODS, PayloadError

# The longest JSON text of one value, by numpy kind: a double is at most 24 characters
# (-2.2250738585072014e-308), an int64 20, false 5; any other kind is counted as a double.
NUMBER_BYTES = 24
VALUE_BYTES = {"f": NUMBER_BYTES, "i": 20, "u": 20, "b": 5}
ENVELOPE_BYTES = 20  # {"predictions":[...]}


class Outputs:
    """The methods ``model`` has, and their answers as JSON-ready lists."""

    def __init__(self, model: Any) -> None:
        self.model = model
        # hasattr, as scikit-learn means it: a Pipeline has predict_proba only if its last step does.
        self.methods = [method for method in METHODS if callable(getattr(model, method, None))]
        classes = getattr(model, "classes_", None)
        self.labels: list[str] | None = None
        self.label_bytes = 0  # the longest label as a JSON value: predict's answer of a classifier
        self.key_bytes = 0  # a {label: score} row's keys, with their colons and commas
        if classes is not None:
            values = np.asarray(classes).tolist()
            self.labels = [str(label) if isinstance(label, str) else json.dumps(label) for label in values]
            self.label_bytes = max((len(json.dumps(label, default=str)) for label in values), default=0)
            self.key_bytes = sum(len(json.dumps(label)) + 2 for label in self.labels)

    def check(self, method: str) -> str:
        if method not in self.methods:
            raise PayloadError(f'this model has no {method}; "method" may be {" or ".join(self.methods)}')
        return method

    def run(self, method: str, features: Any, max_answer_bytes: int | None = None) -> list[Any]:
        """The model's answers; ValueError when they are not finite (JSON has no NaN or infinity),
        PayloadError (413) when their JSON would be longer than ``max_answer_bytes``."""
        answers = np.asarray(getattr(self.model, method)(features))
        if answers.dtype.kind in "fc" and not np.isfinite(answers).all():
            # Finite input that overflows inside the model (1e308 through a scaler and a dot product).
            raise ValueError(f"{method} gave a value that is not a finite number")
        if max_answer_bytes is not None:
            self.check_size(method, answers, max_answer_bytes)
        if method == "predict":
            return answers.tolist()
        scores = answers.astype(np.float64, copy=False)
        if scores.ndim == 2 and self.labels and scores.shape[1] == len(self.labels):
            return [dict(zip(self.labels, row, strict=True)) for row in scores.tolist()]
        return scores.tolist()

    def answer_bytes(self, method: str, answers: np.ndarray) -> int:
        """At most how long the JSON answer of ``answers`` is, counted from their shape and kind
        without building it (text and objects other than labels are counted as numbers)."""
        rows = len(answers) if answers.ndim else 1
        per_row = answers.size // rows if rows else 0  # values a row
        brackets = 2 if answers.ndim > 1 else 0
        if method == "predict":
            width = self.label_bytes or VALUE_BYTES.get(answers.dtype.kind, NUMBER_BYTES)
            if answers.dtype.kind == "U" and not self.label_bytes:
                width = answers.dtype.itemsize // 4 + 2
            row_bytes = per_row * (width + 1) + brackets
        elif answers.ndim == 2 and self.labels and per_row == len(self.labels):
            row_bytes = 2 + self.key_bytes + per_row * NUMBER_BYTES  # {"label": score, ...}
        else:
            row_bytes = per_row * (NUMBER_BYTES + 1) + brackets
        return ENVELOPE_BYTES + rows * (row_bytes + 1)

    def check_size(self, method: str, answers: np.ndarray, limit: int) -> None:
        """PayloadError (413) naming MAX_ANSWER_BYTES when the answer would be longer than ``limit``."""
        size, rows = self.answer_bytes(method, answers), len(answers) if answers.ndim else 1
        if size <= limit or not rows:  # no rows: nothing fewer to send
            return
        row_bytes = (size - ENVELOPE_BYTES) / rows
        fewer = f"at most {max(int((limit - ENVELOPE_BYTES) // row_bytes), 1)} rows a request"
        instead = "" if method == "predict" else ", or ask for predict (one value a row)"
        raise PayloadError(
            f"the {method} answer to {rows} rows would be up to {size} bytes, over this server's "
            f"MAX_ANSWER_BYTES ({limit}): send {fewer}{instead}",
            status=413,
        )

    def schema(self) -> dict[str, Any]:
        """The JSON Schema of a 200 answer, for OpenAPI."""
        by_label: dict[str, Any] = {"type": "object", "additionalProperties": {"type": "number"}}
        if self.labels:
            by_label["properties"] = {label: {"type": "number"} for label in self.labels}
        answer = {
            "anyOf": [{"type": ["string", "number", "integer", "boolean"]}, by_label],
            "description": "predict: a label or a number; predict_proba: {label: probability}; "
            "decision_function: {label: score}, or one score for a binary classifier",
        }
        answers = {"type": "array", "items": answer, "description": "one per row"}
        return {
            "type": "object",
            "oneOf": [
                {"properties": {"predictions": answers}, "required": ["predictions"]},
                {
                    "properties": {"prediction": answers},
                    "required": ["prediction"],
                    "description": "the answer to OCI ADS's envelope, as ADS's own score.py answers",
                },
            ],
            "minProperties": 1,
            "maxProperties": 1,
        }
