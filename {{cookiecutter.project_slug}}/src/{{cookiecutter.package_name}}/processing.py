"""Your own steps around the model: edit these two functions (both do nothing by default).

``preprocess`` gets the features the scorer built from a request (a pandas DataFrame with
the signature's columns or, for a numbers-only model, a 2-D numpy array) and returns what
the model is called with: derive a feature, rename or drop columns, parse dates.
``postprocess`` gets the answers (one JSON-ready value per row, see ``outputs.py``) and the
method that made them, and returns what the caller gets under ``"predictions"``
(``"prediction"`` for a body in ADS's envelope).

Raise ``ValueError`` for a request the model should not see: the caller gets a 400 with
its message. Anything else raised is a 500, its traceback in the log only. Both run in
every worker for every request (and on the warm-up example): keep them quick.
"""

from __future__ import annotations

from typing import Any


def preprocess(features: Any) -> Any:
    """The model's input, from the features of a request."""
    return features


def postprocess(predictions: list[Any], method: str) -> list[Any]:
    """The answer's ``predictions``, from the model's answers (``method``: predict, predict_proba ...)."""
    return predictions
