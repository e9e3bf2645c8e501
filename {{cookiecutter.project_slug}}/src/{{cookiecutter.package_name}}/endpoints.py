"""What /health and /predict answer, shared by the Flask and FastAPI apps.

Each function returns ``(status, body)``; the web layer only moves bytes in and
JSON out, so both frameworks behave the same.
"""

from __future__ import annotations

import logging
from typing import Any, NamedTuple

from .payload import PayloadError, check_content_type
from .scorer import ModelRefused, Scorer

log = logging.getLogger(__name__)
Answer = tuple[int, dict[str, Any]]


class Predicted(NamedTuple):
    """What /predict answers, and how many requests shared the model call that answered it (0: none did)."""

    status: int
    body: dict[str, Any]
    shared: int = 0


MAX_ERROR_CHARS = 500  # an error message quoting a huge value is cut here


def health(scorer: Scorer) -> Answer:
    """200 once the model answered its warm-up prediction, 503 before or on failure."""
    if scorer.ready:
        return 200, {"status": "ready"}
    return 503, {"status": scorer.state.value, "reason": scorer.reason}


def predict(scorer: Scorer, body: bytes, content_type: str | None, wait: bool = True) -> Predicted:
    """Predictions for a JSON body (``{"predictions": [...]}``, or ``{"prediction": [...]}``
    for ADS's envelope), or a 4xx/5xx JSON error that names the problem. ``wait=False`` on the
    server's main loop: the model is called at once, never queued behind a shared call."""
    if not scorer.ready:
        return Predicted(503, {"error": f"model not ready ({scorer.state.value}): {scorer.reason}"})
    try:
        check_content_type(content_type)
        features, method, answer_key = scorer.parse_request(body)
    except PayloadError as error:
        return Predicted(error.status, {"error": bounded(str(error))})
    try:
        predictions, shared = scorer.predict_shared(features, method, wait)
    except PayloadError as error:  # an answer over MAX_ANSWER_BYTES, refused before it is built
        return Predicted(error.status, {"error": bounded(str(error))})
    except ModelRefused as error:
        # scikit-learn's own input checks, on values that passed ours: for example a
        # scaler step that turns 1e308 into infinity. The request, not the server, is at fault.
        log.warning("model refused the rows", extra={"fields": {"reason": bounded(str(error))}})
        return Predicted(400, {"error": bounded(f"the model could not use these rows: {error}")})
    except ValueError as error:  # raised on purpose by processing.preprocess or postprocess
        return Predicted(400, {"error": bounded(str(error))})
    except Exception:
        log.exception("prediction failed")
        return Predicted(500, {"error": "prediction failed; the server log has the details"})
    return Predicted(200, {answer_key: predictions}, shared)


def bounded(message: str) -> str:
    return message if len(message) <= MAX_ERROR_CHARS else message[: MAX_ERROR_CHARS - 3] + "..."


def too_large(limit: int) -> str:
    return f"body is larger than {limit} bytes, the limit of a /predict request"
