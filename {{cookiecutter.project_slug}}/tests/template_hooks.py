"""The template's own ``preprocess`` and ``postprocess`` (both do nothing, as processing.py ships
them): the tests of the template's machinery run these whatever your processing.py holds, so that
your edits to it break none of them. test_your_processing.py runs yours, on your model.

The tests' process gets them from conftest.py (a fixture for the whole session); a server the
tests start, from ``server_environment``: template_hooks_site/sitecustomize.py, run by Python as
each of its processes starts, puts them in ``processing`` before the app is imported.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

SITE = Path(__file__).resolve().parent / "template_hooks_site"


def preprocess(features: Any) -> Any:
    """The model's input, from the features of a request."""
    return features


def postprocess(predictions: list[Any], method: str) -> list[Any]:
    """The answer's ``predictions``, from the model's answers (``method``: predict, predict_proba ...)."""
    return predictions


HOOKS = {"preprocess": preprocess, "postprocess": postprocess}


def server_environment(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` for a process the tests start (a server, or a script that starts one): SITE first on
    its PYTHONPATH, so it and the processes it starts (gunicorn's workers) run these hooks."""
    path = [str(SITE), *(entry for entry in env.get("PYTHONPATH", "").split(os.pathsep) if entry)]
    return {**env, "PYTHONPATH": os.pathsep.join(path)}
