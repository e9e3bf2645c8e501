"""The model, loaded once per worker process, and its readiness state.

``Scorer.start()`` loads and warms the model in a background thread, so the
server answers ``/health`` with 503 while it loads and 200 once the model has
answered a warm-up prediction (under gunicorn, a worker takes connections only
once ``wait()`` says the load is over: see gunicorn.conf.py). A model that fails to load leaves the server
up with ``/health`` saying why (state ``failed``) instead of a crash loop.
"""

from __future__ import annotations

import enum
import logging
import os
import threading
import warnings
import weakref
from typing import Any

import joblib
import numpy as np
import sklearn
from sklearn.exceptions import InconsistentVersionWarning

from .model_path import resolve_model_path
from .settings import Settings

log = logging.getLogger(__name__)


class State(enum.Enum):
    STARTING = "starting"
    LOADING = "loading"
    READY = "ready"
    FAILED = "failed"


class Scorer:
    """Holds one model and predicts with it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.state = State.STARTING
        self.reason = "model not loaded yet"
        self.model: Any = None
        self.n_features: int | None = None
        self.feature_names: list[str] | None = None
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
        """Load the model file and answer one warm-up prediction."""
        self.state = State.LOADING
        try:
            self._adopt(self._read_model())
        except Exception as error:  # any failure is reported by /health, not raised
            self.state = State.FAILED
            self.reason = str(error)
            log.error("model failed to load; /health answers 503", extra={"fields": {"reason": self.reason}})
            return
        self.state = State.READY
        self.reason = "model loaded and warmed up"
        log.info("model ready", extra={"fields": {"n_features": self.n_features}})

    def _read_model(self) -> Any:
        path = resolve_model_path(self.settings.model_dir, self.settings.model_file)
        log.info("loading model", extra={"fields": {"model_path": str(path)}})
        try:
            with warnings.catch_warnings():
                # A model pickled by another scikit-learn version may predict
                # wrongly: refuse it rather than serve it.
                warnings.simplefilter("error", category=InconsistentVersionWarning)
                return joblib.load(path)
        except Exception as error:
            raise RuntimeError(
                f"{path} could not be loaded ({type(error).__name__}: {error}); save it with joblib "
                f"and this project's scikit-learn ({sklearn.__version__})"
            ) from error

    def _adopt(self, model: Any) -> None:
        if not hasattr(model, "predict"):
            raise TypeError(f"{type(model).__name__} has no predict() method")
        names = getattr(model, "feature_names_in_", None)
        self.feature_names = None if names is None else [str(name) for name in names]
        self.n_features = getattr(model, "n_features_in_", None)
        self.model = model
        # Rows are sent in feature_names order (the payload parser checks it), so
        # scikit-learn's warning about arrays without column names is noise.
        warnings.filterwarnings("ignore", message="X does not have valid feature names")
        if self.n_features is not None:
            self.predict(np.zeros((1, self.n_features)))  # warm-up

    def predict(self, rows: np.ndarray) -> list[Any]:
        """Predictions for a 2-D array of rows, as plain JSON-ready values."""
        return np.asarray(self.model.predict(rows)).tolist()
