"""Bring your own model to a baked project: a model fitted in a notebook outside the project (with
a custom transformer of the project's package, saved with a relative path) is served by one make
command and answers as it does in the notebook; scripts/train.py is the user's to rewrite, and
the project's tests stay green; `make install` leaves nothing for `git add -A`.

The project is baked for this module alone: its train.py and package are changed here.
"""

from __future__ import annotations

import json
import re
import subprocess
import zipfile
from pathlib import Path

import pytest
from baking import DEFAULT_FLASK, bake, find_python, free_port, run

pytestmark = pytest.mark.xdist_group("own-model")
PACKAGE = "my_model_service"

# Written into the project's package, as the README says custom functions must live.
FEATURES = '''"""Features of the user's model."""

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin


class LogIncome(BaseEstimator, TransformerMixin):
    """income -> log(1 + income)."""

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        X = X.copy()
        X["income"] = np.log1p(X["income"])
        return X
'''

# A notebook's cells, run from a folder outside the project with the project's .venv python.
NOTEBOOK = f"""
import json

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestRegressor
from sklearn.pipeline import make_pipeline

from {PACKAGE} import save_model
from {PACKAGE}.features import LogIncome

rng = np.random.default_rng(7)
X = pd.DataFrame({{"age": rng.uniform(20, 70, 300), "income": rng.uniform(1e4, 1e5, 300)}})
y = 3.0 * X["age"] + np.log1p(X["income"]) + rng.normal(0, 1, 300)
model = make_pipeline(LogIncome(), RandomForestRegressor(n_estimators=20, random_state=0)).fit(X, y)
save_model(model, X, "notebook_models/forest.joblib")  # relative: the project's folder
print("answer:", json.dumps(model.predict(X.iloc[[0]]).tolist()))  # the example is the first row
"""

# A user's own scripts/train.py: another model, another sample, no command-line options.
OWN_TRAIN = f'''"""My training: a gradient-boosted regressor of house prices."""

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor

from {PACKAGE} import save_model

rng = np.random.default_rng(3)
houses = pd.DataFrame({{"rooms": rng.integers(1, 8, 400), "area": rng.uniform(30, 250, 400)}})
price = 1_000 * houses["area"] + 5_000 * houses["rooms"] + rng.normal(0, 2_000, 400)
model = HistGradientBoostingRegressor(max_iter=50).fit(houses, price)
save_model(model, houses, "model_artifact/model.joblib")
'''


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A default project of its own, installed; no sample trained."""
    baked = bake(tmp_path_factory.mktemp("own-model"), DEFAULT_FLASK.answers)
    run(["make", "install", f"PYTHON={find_python('3.11')}"], baked)
    return baked


def smoke_answer(project: Path, model: Path) -> tuple[str, list]:
    """`make smoke MODEL=model`: the request it sent and the predictions it got."""
    smoke = run(["make", "smoke", f"MODEL={model}", f"PORT={free_port()}"], project, timeout=300)
    answer = re.search(r"^POST /predict (.+) -> 200 (\{.*\})$", smoke.stdout, re.MULTILINE)
    assert answer, smoke.stdout
    assert "training" not in smoke.stdout and "saved" not in smoke.stdout, smoke.stdout
    return answer.group(1), json.loads(answer.group(2))["predictions"]


def test_a_notebook_model_is_served_by_one_make_command(project: Path, tmp_path: Path) -> None:
    (project / "src" / PACKAGE / "features.py").write_text(FEATURES)
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    (notebooks / "notebook.py").write_text(NOTEBOOK)
    fitted = run([str(project / ".venv/bin/python"), "notebook.py"], notebooks).stdout
    saved = project / "notebook_models" / "forest.joblib"
    assert [path.name for path in notebooks.iterdir()] == ["notebook.py"], "saved in the notebook's folder"
    assert f"saved {saved} (" in fitted, fitted
    expected = json.loads(fitted.split("answer: ", 1)[1])
    # The command save_model prints, as printed.
    shown = re.search(r"^next: make serve MODEL=(\S+) ", fitted, re.MULTILINE)
    assert shown and shown.group(1) == str(saved), fitted

    request, predictions = smoke_answer(project, saved)
    assert request == "notebook_models/input_example.json"
    assert predictions == pytest.approx(expected) and predictions != [0.0]
    # make bench MODEL=: the same model under load, with rows of its example, not of the project's
    # sample request (the iris sample's rows, which this model refuses: a non-2xx fails the bench).
    sample = project / "sample_request.json"
    assert not sample.exists()
    sample.write_text(json.dumps({"instances": [[5.1, 3.5, 1.4, 0.2]]}))
    try:
        bench = run(["make", "bench", f"MODEL={saved}", "BENCH_SECONDS=0.5"], project, timeout=300)
    finally:
        sample.unlink()
    assert bench.stdout.count(" errors 0") == 12, bench.stdout
    # The same model as an artifact zip from anywhere: unpacked into build/, served the same.
    archive = tmp_path / "forest.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in sorted(saved.parent.iterdir()):
            zipped.write(path, path.name)
    request, predictions = smoke_answer(project, archive)
    assert request == "forest/input_example.json"
    assert predictions == pytest.approx(expected)
    assert (project / "build" / "model" / "forest" / "forest.joblib").is_file()


def test_the_users_own_train_py_leaves_the_projects_tests_green(project: Path) -> None:
    (project / "scripts" / "train.py").write_text(OWN_TRAIN)
    trained = run(["make", "train"], project)
    assert f"saved {project / 'model_artifact' / 'model.joblib'} (" in trained.stdout, trained.stdout
    assert "next: make serve (" in trained.stdout
    tests = run(["make", "test"], project, timeout=1800, check=False)
    assert tests.returncode == 0, tests.stdout[-5000:] + tests.stderr[-2000:]
    assert re.search(r"\d+ passed", tests.stdout) and " failed" not in tests.stdout


def test_what_make_install_and_serving_a_zip_write_is_ignored_by_git(project: Path) -> None:
    assert list((project / "src").glob("*.egg-info")), "make install writes src/*.egg-info"
    unpacked = project / "build" / "model" / "theirs"  # make serve MODEL=theirs.zip
    unpacked.mkdir(parents=True, exist_ok=True)
    (unpacked / "model.joblib").write_bytes(b"a model")
    run(["git", "init", "-q"], project)
    added = subprocess.run(
        ["git", "add", "--all", "--dry-run"], cwd=project, capture_output=True, text=True, check=True
    ).stdout
    assert "egg-info" not in added and ".venv" not in added and "build/" not in added, added
    assert "scripts/train.py" in added
