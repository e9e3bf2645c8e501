"""The model, loaded once per worker process, its input and its readiness state.

``Scorer.start()`` loads and warms the model in a background thread, so the
server answers ``/health`` with 503 while it loads and 200 once the model has
answered a warm-up prediction (under gunicorn, a worker takes connections only
once ``wait()`` says the load is over: see gunicorn.conf.py). A model that fails to load leaves the server
up with ``/health`` saying why (state ``failed``) instead of a crash loop.

A request goes: ``parse`` (the body into the model's input: ``model_input.py``), then
``predict``: ``processing.preprocess``, the model's method, ``processing.postprocess``.
"""

from __future__ import annotations

import enum
import logging
import os
import threading
import warnings
import weakref
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import sklearn
from sklearn.exceptions import InconsistentVersionWarning

from . import processing
from .model_input import choose_input
from .model_path import ModelNotFoundError, resolve_model_path
from .outputs import Outputs
from .payload import ArrayInput, read_body
from .settings import Settings
from .signature import Signature, read_signature

log = logging.getLogger(__name__)


class State(enum.Enum):
    STARTING = "starting"
    LOADING = "loading"
    READY = "ready"
    FAILED = "failed"


class ModelRefused(ValueError):
    """The model's own input checks refused the features (scikit-learn raises ValueError)."""


class UnfitModel(ValueError):
    """A loaded file or setting the scorer can't serve; its message holds no path or version."""


class UnreadableModel(RuntimeError):
    """The model file could not be unpickled (another scikit-learn, not a joblib file)."""


def public_reason(error: Exception) -> str:
    """What the unauthenticated /health says of a failed load: no paths, no library
    versions (the log line has the whole message)."""
    if isinstance(error, UnfitModel):
        return str(error)
    if isinstance(error, ModelNotFoundError):
        return "model file not found in MODEL_DIR; the server log has the details"
    if isinstance(error, UnreadableModel):
        return "model file could not be loaded; the server log has the details"
    return f"model failed to load ({type(error).__name__}); the server log has the details"


class Scorer:
    """Holds one model and predicts with it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.state = State.STARTING
        self.reason = "model not loaded yet"  # what /health says: short, no paths
        self.detail = ""  # the whole message of a failed load, for the log and the tools
        self.model: Any = None
        self.input: Any = None  # payload.ArrayInput or frame_input.FrameInput
        self.outputs: Outputs | None = None
        self.signature: Signature | None = None
        self.input_kind = ""
        self._lock = threading.Lock()
        self._loader: threading.Thread | None = None
        # A fork in the middle of loading (gunicorn --preload forks its workers
        # from the process that loads) would leave the child half-imported
        # modules and no loader: let the fork wait for the load to finish.
        # (A weak reference: the fork hook can't be removed, the scorer can.)
        this = weakref.ref(self)
        os.register_at_fork(before=lambda: (scorer := this()) and scorer.wait())

    @property
    def ready(self) -> bool:
        return self.state is State.READY

    def start(self) -> None:
        """Load the model in a background thread, once."""
        with self._lock:
            if self.state is not State.STARTING:
                return
            self.state = State.LOADING
            self.reason = "model is loading"
            self._loader = threading.Thread(target=self.load, name="model-loader", daemon=True)
        self._loader.start()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until a background load has finished; False if it still runs after ``timeout``."""
        loader = self._loader
        if loader is None or loader is threading.current_thread():
            return True
        loader.join(timeout)
        return not loader.is_alive()

    def load(self) -> None:
        """Load the model file and its signature, and answer the warm-up predictions."""
        self.state = State.LOADING
        try:
            path = resolve_model_path(self.settings.model_dir, self.settings.model_file)
            self._adopt(self._read_model(path), read_signature(path.parent))
        except Exception as error:  # any failure is reported by /health, not raised
            self.state = State.FAILED
            self.reason, self.detail = public_reason(error), str(error)
            log.error("model failed to load; /health answers 503", extra={"fields": {"reason": self.detail}})
            return
        self.state = State.READY
        self.reason = "model loaded and warmed up"
        fields = {"input": self.input_kind, "methods": self.outputs.methods if self.outputs else []}
        log.info("model ready", extra={"fields": fields})

    def _read_model(self, path: Path) -> Any:
        log.info("loading model", extra={"fields": {"model_path": str(path)}})
        try:
            with warnings.catch_warnings():
                # A model pickled by another scikit-learn version may predict
                # wrongly: refuse it rather than serve it.
                warnings.simplefilter("error", category=InconsistentVersionWarning)
                return joblib.load(path)
        except Exception as error:
            raise UnreadableModel(
                f"{path} could not be loaded ({type(error).__name__}: {error}); save it with joblib "
                f"and this project's scikit-learn ({sklearn.__version__})"
            ) from error

    def _adopt(self, model: Any, signature: Signature | None) -> None:
        if not hasattr(model, "predict"):
            raise UnfitModel(f"{type(model).__name__} has no predict() method")
        method = self.settings.predict_method
        outputs = Outputs(model)
        if method not in outputs.methods:
            raise UnfitModel(f"PREDICT_METHOD={method}, but the model has only {', '.join(outputs.methods)}")
        self.model, self.outputs, self.signature = model, outputs, signature
        # Arrays are sent in the order of the signature or of feature_names_in_, so
        # scikit-learn's warning about arrays without column names is noise.
        warnings.filterwarnings("ignore", message="X does not have valid feature names")
        self.input, self.input_kind = choose_input(model, signature, outputs.methods, self.predict)
        if signature is not None and signature.example:
            features, _ = self.parse(signature.example)
            for each in outputs.methods:  # warm-up: the example through every method
                self.predict(features, each)
        elif isinstance(self.input, ArrayInput) and self.input.n_features is not None:
            self.predict(np.zeros((1, self.input.n_features)), method)
        else:
            log.warning(
                "no example row to warm up with: ready once loaded; save the model with save_model() "
                "for a signature, typed checks and the warm-up",
                extra={"fields": {"signature": signature is not None}},
            )

    @property
    def names(self) -> list[str] | None:
        """The feature names requests use, if the model has them."""
        return self.input.names if self.input is not None else None

    def parse(self, body: bytes) -> tuple[Any, str]:
        """The model's input and the method asked for, from a /predict body (``PayloadError``)."""
        assert self.outputs is not None
        if (decoded := self.input.decode(body)) is not None:  # rows of numbers, the hot path
            features, method = decoded
        else:
            request = read_body(body, self.names)
            features, method = self.input.features(request), request.method
        return features, self.outputs.check(method or self.settings.predict_method)

    def predict(self, features: Any, method: str | None = None) -> list[Any]:
        """The answers for ``features``: preprocess, the model's ``method``, postprocess."""
        assert self.outputs is not None
        method = method or self.settings.predict_method
        features = processing.preprocess(features)
        try:
            answers = self.outputs.run(method, features)
        except ValueError as error:
            raise ModelRefused(str(error)) from error
        return processing.postprocess(answers, method)
