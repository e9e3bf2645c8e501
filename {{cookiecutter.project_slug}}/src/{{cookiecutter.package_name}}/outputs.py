"""What /predict answers for each row, by method, as JSON-ready values.

| method | each row's answer |
|---|---|
| ``predict`` (the default, ``PREDICT_METHOD``) | the prediction: a class label or a number |
| ``predict_proba`` | ``{class label: probability}`` |
| ``decision_function`` | ``{class label: score}``; a binary classifier's one score, for ``classes_[1]`` |

Class labels become JSON object keys, which are strings: a label 1 is ``"1"``. The list
goes under ``predictions``, or ``prediction`` for a body in ADS's envelope (``payload``).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from .payload import METHODS, PayloadError


class Outputs:
    """The methods ``model`` has, and their answers as JSON-ready lists."""

    def __init__(self, model: Any) -> None:
        self.model = model
        # hasattr, as scikit-learn means it: a Pipeline has predict_proba only if its last step does.
        self.methods = [method for method in METHODS if callable(getattr(model, method, None))]
        classes = getattr(model, "classes_", None)
        self.labels: list[str] | None = None
        if classes is not None:
            self.labels = [
                str(label) if isinstance(label, str) else json.dumps(label)
                for label in np.asarray(classes).tolist()
            ]

    def check(self, method: str) -> str:
        if method not in self.methods:
            raise PayloadError(f'this model has no {method}; "method" may be {" or ".join(self.methods)}')
        return method

    def run(self, method: str, features: Any) -> list[Any]:
        """The model's answers; ValueError when they are not finite (JSON has no NaN or infinity)."""
        answers = np.asarray(getattr(self.model, method)(features))
        if answers.dtype.kind in "fc" and not np.isfinite(answers).all():
            # Finite input that overflows inside the model (1e308 through a scaler and a dot product).
            raise ValueError(f"{method} gave a value that is not a finite number")
        if method == "predict":
            return answers.tolist()
        scores = answers.astype(np.float64, copy=False)
        if scores.ndim == 2 and self.labels and scores.shape[1] == len(self.labels):
            return [dict(zip(self.labels, row, strict=True)) for row in scores.tolist()]
        return scores.tolist()

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
