"""The model, loaded once per worker process, its input and its readiness state.

``Scorer.start()`` loads and warms the model in a background thread, so the
server answers ``/health`` with 503 while it loads and 200 once the model has
answered a warm-up prediction (under gunicorn, a worker takes connections only
once ``wait()`` says the load is over: see gunicorn.conf.py). A model that fails to load leaves the server
up with ``/health`` saying why (state ``failed``) instead of a crash loop.

The warm-up (logged in the "model ready" line as ``warm_up``): the signature's example
row (``example``); without one, as ADS saves models, a row built from the input schema
(``schema``; a model that refuses it is served without warm-up, with a warning); a row of
zeros for a model of plain numbers (``zeros``); else ``none``.

A request goes: ``parse`` (the body into the model's input: ``model_input.py``; more rows
than ``MAX_ROWS`` are refused there: ``row_limit.py``), then ``predict``: ``processing.preprocess``,
the model's method (an answer longer than ``MAX_ANSWER_BYTES`` is refused before it is built:
``outputs.py``), ``processing.postprocess``. With ``MAX_BATCH_SIZE`` above 1 (the default), the
model's method is called through ``batching.Batcher``: requests that arrive while the model is
busy share its next call, each with its own preprocess and postprocess.
"""

from __future__ import annotations

import enum
import logging
import os
import re
import threading
import warnings
import weakref
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import sklearn
from sklearn.exceptions import InconsistentVersionWarning

from . import processing, row_limit
from .batching import Batcher
from .model_input import choose_input
from .model_path import ModelNotFoundError, resolve_model_path
from .outputs import Outputs
from .payload import PREDICTIONS, ArrayInput, PayloadError, check_rows, read_body
from .settings import Settings
from .signature import Signature, read_signature, schema_row

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
    """The model file could not be unpickled (a function the server can't import, another
    scikit-learn, not a joblib file); ``public`` is what /health may say of it."""

    def __init__(self, message: str, public: str = "") -> None:
        super().__init__(message)
        self.public = public or "model file could not be loaded; the server log has the details"


def public_reason(error: Exception) -> str:
    """What the unauthenticated /health says of a failed load: no paths, no library
    versions (the log line has the whole message)."""
    if isinstance(error, UnfitModel):
        return str(error)
    if isinstance(error, ModelNotFoundError):
        return "model file not found in MODEL_DIR; the server log has the details"
    if isinstance(error, UnreadableModel):
        return error.public
    return f"model failed to load ({type(error).__name__}); the server log has the details"


def missing_import(error: BaseException) -> str | None:
    """What a pickled model refers to that this process can't import, as "name from module
    module" (a function defined in a notebook lives in ``__main__``), or None."""
    found = re.search(r"Can't get attribute '([^']+)' on <module '([^']+)'", str(error))
    if isinstance(error, AttributeError) and found:  # __main__ shows as its spec's name: pytest.__main__
        return f"{found[1]} from module {'__main__' if found[2].endswith('__main__') else found[2]}"
    found = re.search(r"module '([^']+)' has no attribute '([^']+)'", str(error))  # newer pythons
    if isinstance(error, AttributeError) and found:
        return f"{found[2]} from module {found[1]}"
    if isinstance(error, ModuleNotFoundError) and error.name:
        return f"module {error.name}"
    return None


def read_model(path: Path) -> Any:
    """The model in ``path``, unpickled as the server does; ``UnreadableModel`` says why not."""
    try:
        with warnings.catch_warnings():
            # A model pickled by another scikit-learn version may predict
            # wrongly: refuse it rather than serve it.
            warnings.simplefilter("error", category=InconsistentVersionWarning)
            return joblib.load(path)
    except Exception as error:
        if needed := missing_import(error):
            raise UnreadableModel(
                f"{path} needs {needed}, which the server can't import: it imports only the "
                f"package and its dependencies (src on its path, not a notebook's __main__ nor "
                f"its folder). Put the code in a module of the package, such as "
                f"src/{{ cookiecutter.package_name }}/features.py, "
                f"import it from there, then fit and save the model again (save_model checks this)",
                f"model needs {needed}, which the server can't import; the server log has the details",
            ) from error
        raise UnreadableModel(
            f"{path} could not be loaded ({type(error).__name__}: {error}); save it with joblib "
            f"and this project's scikit-learn ({sklearn.__version__})"
        ) from error


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
        self.warm_up = ""  # which warm-up ran: "example", "schema", "zeros" or "none"
        self._lock = threading.Lock()
        self._loader: threading.Thread | None = None
        self.batcher: Batcher | None = None
        if settings.max_batch_size > 1:
            delay = settings.max_batch_delay_ms / 1000
            self.batcher = Batcher(self._run, settings.max_batch_size, delay)
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
        self.reason = "model loaded and warmed up" if self.warm_up != "none" else "model loaded"
        fields = {
            "input": self.input_kind,
            "methods": self.outputs.methods if self.outputs else [],
            "warm_up": self.warm_up,
        }
        log.info("model ready", extra={"fields": fields})

    def _read_model(self, path: Path) -> Any:
        log.info("loading model", extra={"fields": {"model_path": str(path)}})
        return read_model(path)

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
        example = None if signature is None else signature.example or schema_row(signature)
        self.input, self.input_kind = choose_input(model, signature, outputs.methods, self.predict, example)
        if signature is not None and signature.example:
            self._warm_up(signature.example, "example")  # the example through every method
        elif signature is not None and example:
            try:  # no example row (ADS writes none): a row built from the input schema
                self._warm_up(example, "schema")
            except Exception as error:  # the model's to judge: ready without warm-up
                self.warm_up = "none"
                log.warning(
                    "the model refused the warm-up row built from the input schema: ready without "
                    "warm-up; save the model with save_model() for an example row",
                    extra={"fields": {"error": f"{type(error).__name__}: {error}"[:500]}},
                )
        elif isinstance(self.input, ArrayInput) and self.input.n_features is not None:
            self.predict(np.zeros((1, self.input.n_features)), method)
            self.warm_up = "zeros"
        else:
            self.warm_up = "none"
            log.warning(
                "no example row to warm up with: ready once loaded; save the model with save_model() "
                "for a signature, typed checks and the warm-up",
                extra={"fields": {"signature": signature is not None}},
            )

    def _warm_up(self, body: bytes, source: str) -> None:
        """Answer the /predict body ``body`` with every method; ``source`` names it for the log."""
        assert self.outputs is not None
        features, _ = self.parse(body)
        for each in self.outputs.methods:
            self.predict(features, each)
        self.warm_up = source

    @property
    def names(self) -> list[str] | None:
        """The feature names requests use, if the model has them."""
        return self.input.names if self.input is not None else None

    def parse(self, body: bytes) -> tuple[Any, str]:
        """The model's input and the method asked for, from a /predict body (``PayloadError``)."""
        features, method, _ = self.parse_request(body)
        return features, method

    def parse_request(self, body: bytes) -> tuple[Any, str, str]:
        """``parse``, and the key to answer under: ``prediction`` for ADS's envelope, else
        ``predictions``."""
        assert self.outputs is not None
        row_limit.check_body(body, self.settings.max_rows)
        if (decoded := self.input.decode(body)) is not None:  # rows of numbers, the hot path
            features, method = decoded
            answer_key = PREDICTIONS
        else:
            request = read_body(body, self.names, self.settings.max_rows)
            features, method, answer_key = self.input.features(request), request.method, request.answer_key
        check_rows(len(features), self.settings.max_rows)  # an array's or a DataFrame's length
        return features, self.outputs.check(method or self.settings.predict_method), answer_key

    def predict(self, features: Any, method: str | None = None) -> list[Any]:
        """The answers for ``features``: preprocess, the model's ``method``, postprocess;
        PayloadError (413) for an answer longer than MAX_ANSWER_BYTES."""
        return self.predict_shared(features, method)[0]

    def predict_shared(
        self, features: Any, method: str | None = None, wait: bool = True
    ) -> tuple[list[Any], int]:
        """``predict``, and how many requests shared the model call (1: alone). ``wait=False``
        (a caller on the server's main loop, which must not wait behind a batch): the model is
        called at once, alone, beside any call running."""
        method = method or self.settings.predict_method
        features = processing.preprocess(features)
        try:
            if self.batcher is None or not wait:
                answers, shared = self._run(method, features), 1
            else:
                answers, shared = self.batcher.run(features, method)
        except PayloadError:
            raise
        except ValueError as error:
            raise ModelRefused(str(error)) from error
        return processing.postprocess(answers, method), shared

    def _run(self, method: str, features: Any) -> list[Any]:
        """The model's answers to ``features``, before postprocess."""
        assert self.outputs is not None
        return self.outputs.run(method, features, self.settings.max_answer_bytes)
