"""Your processing.py, on your model: the one test that runs your hooks.

The other tests check the template's machinery with its own hooks (template_hooks.py), whatever
processing.py holds, so that your edits to it break none of them; the first test here checks
they do, in the tests' process and in the servers they start. The second serves your model with
your processing.py and sends your sample request, as `make smoke` does: it fails when they
disagree (a column preprocess derives that the model was not trained with, a postprocess that
fails on its answers). Without a model yet (a fresh clone: `make train` writes it) it is skipped.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import template_hooks
from conftest import free_port
from template_hooks import server_environment

from {{ cookiecutter.package_name }} import processing
from {{ cookiecutter.package_name }}.model_path import (
    ModelNotFoundError,
    resolve_model_path,
)

PROJECT = Path(__file__).resolve().parent.parent
MODEL_FILE = "{{ cookiecutter.__model_file }}"


def test_the_other_tests_run_the_templates_hooks_in_process_and_in_their_servers() -> None:
    assert processing.preprocess is template_hooks.preprocess
    assert processing.postprocess is template_hooks.postprocess
    code = (
        "from {{ cookiecutter.package_name }} import processing\n"
        "print(processing.preprocess.__module__, processing.postprocess.__module__)"
    )
    env = server_environment(os.environ)
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert run.stdout.split() == ["template_hooks", "template_hooks"], run.stderr


def test_your_model_answers_through_your_processing() -> None:
    """`make smoke`'s check: the real server on your model (MODEL_DIR, model_artifact/ by default),
    with your processing.py, sent SAMPLE_REQUEST (sample_request.json; the example saved beside the
    model when there is none): its answer is 200 with ``predictions``."""
    model_dir = Path(os.environ.get("MODEL_DIR") or PROJECT / "model_artifact")
    model_file = os.environ.get("MODEL_FILE") or MODEL_FILE  # as make exports it
    try:
        resolve_model_path(model_dir, model_file)
    except ModelNotFoundError:  # a fresh clone (CI): the model is yours to train, not the tests'
        pytest.skip(f"no model in {model_dir} yet: make train writes it, then this test serves it")
    request = PROJECT / (os.environ.get("SAMPLE_REQUEST") or "sample_request.json")
    env = {**os.environ, "MODEL_DIR": str(model_dir), "MODEL_FILE": model_file}
    command = [sys.executable, "scripts/smoke.py", "--port", str(free_port()), "--request", str(request)]
    run = subprocess.run(command, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=300)
    disagree = (
        f"your processing.py, the model in {model_dir} and {request.name} disagree: fix processing.py or "
        f"the request (the model's input_example.json is one it takes)\n{run.stdout}{run.stderr}"
    )
    assert run.returncode == 0, disagree
    answer = next(line for line in run.stdout.splitlines() if line.startswith("POST /predict"))
    assert "predictions" in json.loads(answer.split(" -> 200 ", 1)[1]), disagree
