"""Your processing.py, on your model: the one test that runs your hooks.

The other tests check the template's machinery with its own hooks (template_hooks.py), whatever
processing.py holds, so that your edits to it break none of them; the first test here checks
they do, in the tests' process and in the servers they start. The second serves the model
`make smoke` serves with your processing.py, as `make smoke` does: it fails when your hooks and
your model disagree (a column preprocess derives that the model was not trained with, a
postprocess that fails on its answers).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import template_hooks
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


def your_model(scratch: Path, model_file: str) -> Path:
    """The MODEL_DIR `make smoke` serves: yours (model_artifact/) when it holds your model, else
    ``scratch`` with the model your scripts/train.py trains, as `make train` runs it (without a
    model, `make smoke` trains one first)."""
    model_dir = Path(os.environ.get("MODEL_DIR") or PROJECT / "model_artifact")
    try:
        resolve_model_path(model_dir, model_file)
        return model_dir
    except ModelNotFoundError:
        pass
    env = {**os.environ, "MODEL_DIR": str(scratch), "SAMPLE_REQUEST": str(scratch / "sample_request.json")}
    command = [sys.executable, "scripts/train.py"]
    trained = subprocess.run(command, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=1800)
    assert trained.returncode == 0, f"scripts/train.py failed:\n{trained.stdout}{trained.stderr}"
    return scratch


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_your_model_answers_its_example_through_your_processing(tmp_path: Path) -> None:
    """`make smoke --example`'s check: the real server, your processing.py, the example saved
    beside your model; its answer is 200 with its ``predictions``."""
    model_file = os.environ.get("MODEL_FILE") or MODEL_FILE  # as make exports it
    model_dir = your_model(tmp_path, model_file)
    env = {**os.environ, "MODEL_DIR": str(model_dir), "MODEL_FILE": model_file}
    command = [sys.executable, "scripts/smoke.py", "--port", str(free_port()), "--example"]
    run = subprocess.run(command, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=300)
    disagree = (
        f"your processing.py and the model in {model_dir} disagree: fix processing.py, or train "
        f"the model again with it (make train)\n{run.stdout}{run.stderr}"
    )
    assert run.returncode == 0, disagree
    answer = next(line for line in run.stdout.splitlines() if line.startswith("POST /predict"))
    assert "predictions" in json.loads(answer.split(" -> 200 ", 1)[1]), disagree
