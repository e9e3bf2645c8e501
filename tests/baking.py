"""Bake the template with the real cookiecutter; shared by the template tests."""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cookiecutter.main import cookiecutter

from local_extensions import CONFIG, OPTIONS, cookiecutter_key

TEMPLATE = Path(__file__).resolve().parent.parent
# Each option's default by its name (cookiecutter.json names an option it does not ask ``__name``).
DEFAULTS = {name: CONFIG[cookiecutter_key(name)] for name in OPTIONS}


@dataclass(frozen=True)
class Combo:
    """One set of answers to bake; ``id`` names it in test ids."""

    id: str
    answers: dict[str, str] = field(default_factory=dict)

    def param(self) -> object:
        """A pytest param that keeps the combo's tests on one xdist worker."""
        return pytest.param(self, id=self.id, marks=pytest.mark.xdist_group(self.id))


# Every option value at least once; each combo is baked, linted and its own
# tests run in its own virtual environment with its own Python version.
COMBOS = [
    Combo("framework:flask-python:3.11", {"framework": "flask", "python_version": "3.11"}),
    Combo("framework:fastapi-python:3.11", {"framework": "fastapi", "python_version": "3.11"}),
    # A workshop participant's project: the owner in the slug, tag, display name and tags.
    Combo(
        "framework:flask-python:3.12-owner", {"framework": "flask", "python_version": "3.12", "owner": "ana"}
    ),
    Combo("framework:fastapi-python:3.12", {"framework": "fastapi", "python_version": "3.12"}),
    Combo("framework:flask-python:3.13", {"framework": "flask", "python_version": "3.13"}),
    Combo("framework:fastapi-python:3.13", {"framework": "fastapi", "python_version": "3.13"}),
    # Triton: the ONNX model repository, its artifact and deployment, the KServe-v2 client.
    Combo(
        "framework:flask-server:triton", {"framework": "flask", "server": "triton", "python_version": "3.11"}
    ),
    Combo(
        "framework:fastapi-server:triton",
        {"framework": "fastapi", "server": "triton", "python_version": "3.13"},
    ),
    Combo(
        "framework:fastapi-custom-names",
        {
            "framework": "fastapi",
            "python_version": "3.11",
            "project_name": "Fraud Scorer",
            "package_name": "fraud",
            "server_port": "9000",
            "workers": "3",
            "model_file": "clf.pkl",
            "oci_region": "eu-frankfurt-1",
            "tenancy_namespace": "acme01",
            "ocir_repository": "ml/fraud-scorer",
            "image_tag": "2024.06-rc1",
        },
    ),
]
DEFAULT_FLASK, DEFAULT_FASTAPI = COMBOS[0], COMBOS[1]
TRITON_COMBOS = [combo for combo in COMBOS if combo.answers.get("server") == "triton"]
# The default projects with LightGBM added, serving the models of tests/models/make_models.py.
ZOO_COMBOS = [
    Combo("zoo:flask", {"framework": "flask", "python_version": "3.11"}),
    Combo("zoo:fastapi", {"framework": "fastapi", "python_version": "3.11"}),
]
LIGHTGBM = "lightgbm==4.7.0"
# Oracle's ADS, in a venv of its own (it needs pandas < 3): the scikit-learn, numpy and joblib of
# the generated projects, so a model ADS prepares is one the scorer loads.
PROJECT_PINS = {
    line.split("==")[0].lower(): line.strip()
    for line in (TEMPLATE / "{{cookiecutter.project_slug}}" / "requirements.in").read_text().splitlines()
    if "==" in line and not line.startswith(("#", "{"))
}
ADS_REQUIREMENTS = [
    "oracle-ads==2.16.1",
    "pandas<3",
    PROJECT_PINS["scikit-learn"],
    PROJECT_PINS["numpy"],
    PROJECT_PINS["joblib"],
]


def hook_scratch(output_dir: Path) -> Path:
    """A folder beside ``output_dir`` for the rendered hook scripts of a bake.

    cookiecutter writes each hook to a temporary file it never removes (by design,
    cookiecutter#886): left in /tmp, the tests' bakes piled up thousands of them.
    """
    scratch = output_dir.with_name(output_dir.name + "-hooks")
    scratch.mkdir(parents=True, exist_ok=True)
    return scratch


def bake(output_dir: Path, answers: dict[str, str]) -> Path:
    """Render the template with cookiecutter's API; return the project folder."""
    output_dir.mkdir(parents=True, exist_ok=True)
    system_tempdir, tempfile.tempdir = tempfile.tempdir, str(hook_scratch(output_dir))
    try:
        context = {cookiecutter_key(name): value for name, value in answers.items()}
        project = cookiecutter(
            str(TEMPLATE), no_input=True, extra_context=context, output_dir=str(output_dir)
        )
    finally:
        tempfile.tempdir = system_tempdir
    return Path(project)


def find_python(version: str) -> str:
    """An interpreter of ``version`` that runs (pyenv's shims need a version set)."""
    candidates = [shutil.which(f"python{version}")]
    candidates += sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}.*/bin/python{version}")))
    for candidate in filter(None, candidates):
        if subprocess.run([candidate, "--version"], capture_output=True).returncode == 0:
            return candidate
    pytest.fail(f"python{version} is needed to test python_version={version}; install it")


def run(
    command: list[str], cwd: Path, timeout: float = 900, check: bool = True, **env: str
) -> subprocess.CompletedProcess:
    """Run a command; fail the test with its output when it fails (unless ``check`` is false)."""
    # As a user runs it: not as a sub-make of the template's `make test`.
    outer_make = {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES"}
    clean_env = {name: value for name, value in os.environ.items() if name not in outer_make}
    result = subprocess.run(
        command, cwd=cwd, env={**clean_env, **env}, capture_output=True, text=True, timeout=timeout
    )
    if check and result.returncode != 0:
        output = f"{result.stdout}\n{result.stderr}"
        pytest.fail(f"{' '.join(command)} failed ({result.returncode}) in {cwd}:\n{output}")
    return result


def model_predictions(project: Path, rows: list[list[float]]) -> list:
    """What model.predict says, computed in the project's own environment."""
    code = (
        "import json, sys, joblib, numpy as np; "
        "model = joblib.load(sys.argv[1]); "
        "print(json.dumps(model.predict(np.array(json.loads(sys.argv[2]))).tolist()))"
    )
    model = project / "model_artifact" / "model.joblib"
    result = subprocess.run(
        [str(project / ".venv/bin/python"), "-c", code, str(model), json.dumps(rows)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def model_answers(project: Path, model: Path, body: dict, method: str = "predict") -> list:
    """What the model's ``method`` says for a request's rows (``instances``) or records (``data``),
    as a DataFrame of pandas' own types, computed in the project's own environment."""
    code = (
        "import json, sys, joblib, numpy as np, pandas as pd; "
        "model = joblib.load(sys.argv[1]); body = json.loads(sys.argv[2]); "
        "features = pd.DataFrame(body['data']) if 'data' in body else np.array(body['instances']); "
        "print(json.dumps(np.asarray(getattr(model, sys.argv[3])(features)).tolist()))"
    )
    python = str(project / ".venv/bin/python")
    result = subprocess.run(
        [python, "-c", code, str(model), json.dumps(body), method], capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def deployment_settings(project: Path, **changes: str) -> Iterator[Path]:
    """The project's deploy/deployment.toml with OCIDs filled in (and ``changes``), put back after."""
    settings = project / "deploy" / "deployment.toml"
    original = settings.read_text()
    values = {
        "compartment_id": "ocid1.compartment.oc1..x",
        "project_id": "ocid1.datascienceproject.oc1.iad.x",
        "model_id": "ocid1.datasciencemodel.oc1.iad.x",
        **changes,
    }
    filled = original
    for name, value in values.items():
        filled = re.sub(rf'^{name} = ".*"$', f'{name} = "{value}"', filled, count=1, flags=re.MULTILINE)
    settings.write_text(filled)
    try:
        yield settings
    finally:
        settings.write_text(original)
