"""The schema save_model writes is ADS's: field by field against Oracle's real oracle-ads.

The same DataFrame (numbers, whole numbers, numbers and whole numbers with gaps, free text,
an ordered and an unordered category, a boolean, a date) is described twice: by ADS's writer
(``df.ads.model_schema()``, what ``SklearnModel.prepare`` writes, in ADS's own venv with pandas 2)
and by the generated project's ``save_model`` (pandas 3) with a pipeline fitted on it. Every
field must match, except the differences in ``ALLOWED``, each with its reason (the README's
schema section lists them too). No value of the free text appears in the schema files or in
the catalog entry ``make catalog`` writes, and a schema file ADS wrote is served.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from baking import DEFAULT_FLASK, run

# The default flask project, baked once per session: its tests run in one xdist worker.
pytestmark = pytest.mark.xdist_group(DEFAULT_FLASK.id)

# The DataFrame both sides describe: it runs under pandas 2 (ADS) and 3 (the project), where
# the free text is "object" and "str" respectively.
SAMPLE = """
import numpy as np
import pandas as pd

rows = 60
rng = np.random.default_rng(7)
tenure = [None if i % 9 == 4 else int(v) for i, v in enumerate(rng.integers(1, 120, rows))]
frame = pd.DataFrame(
    {
        "amount": rng.normal(100.0, 25.0, rows).round(2),
        "visits": rng.integers(0, 50, rows),
        "tenure": pd.array(tenure, dtype="Int64"),
        "score": [None if i % 7 == 3 else float(v) for i, v in enumerate(rng.uniform(0, 1, rows).round(3))],
        "review": [
            f"{word} service, said customer {1000 + i}"
            for i, word in enumerate(rng.choice(["great", "awful", "fine"], rows))
        ],
        "size": pd.Categorical(
            rng.choice(["low", "medium", "high"], rows), categories=["low", "medium", "high"], ordered=True
        ),
        "color": pd.Categorical(["blue" if i % 3 else "red" for i in range(rows)]),
        "member": rng.random(rows) < 0.5,
        "signup": (pd.Timestamp("2023-03-01") + pd.to_timedelta(rng.integers(0, 700, rows), unit="D")).astype(
            "datetime64[ns]"
        ),
    }
)
labels = np.where(frame["amount"] > 100, "high", "low")
"""

# In the project: the pipeline both project scripts fit (with or without the date).
PIPELINE = """
from operator import methodcaller

from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler


def fitted(frame, labels, dated=True):
    numbers = make_pipeline(SimpleImputer(), StandardScaler())
    steps = [
        ("numbers", numbers, ["amount", "visits", "tenure", "score"]),
        ("kinds", OneHotEncoder(handle_unknown="ignore"), ["size", "color", "member"]),
        ("text", TfidfVectorizer(), "review"),
    ]
    if dated:
        when = make_pipeline(FunctionTransformer(methodcaller("astype", "int64")), StandardScaler())
        steps.append(("when", when, ["signup"]))
    return make_pipeline(ColumnTransformer(steps), LogisticRegression(max_iter=1000)).fit(frame, labels)
"""

# In the project: the pipeline fitted on the sample, saved with save_model; its predictions.
SAVE = """
import json
import sys
from pathlib import Path

from pipeline import fitted

from {package} import save_model

out = Path(sys.argv[1])
exec((out / "sample.py").read_text())
model = fitted(frame, labels)
save_model(model, frame, out / "artifact" / "{model_file}")
(out / "predictions.json").write_text(json.dumps(model.predict(frame).tolist()))
(out / "reviews.json").write_text(json.dumps(frame["review"].tolist()))
"""

# In ADS's venv: what ADS writes for the sample and for the predictions (its y_sample).
ADS = """
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import ads  # noqa: F401 (the .ads accessor)
from ads.common import utils
from ads.feature_engineering.schema import Schema

out = Path(sys.argv[1])
exec((out / "sample.py").read_text())
schema = frame.ads.model_schema()
(out / "ads_input.json").write_text(json.dumps(schema.to_dict(), default=lambda stamp: stamp.isoformat()))
try:
    schema.to_json_file(str(out / "ads_dated.json"))
    (out / "ads_dates.txt").write_text("written")
except TypeError as error:
    (out / "ads_dates.txt").write_text(str(error))
predictions = np.array(json.loads((out / "predictions.json").read_text()))
(out / "ads_output.json").write_text(utils.to_dataframe(predictions).ads.model_schema().to_json())
read = Schema.from_file(str(out / "artifact" / "input_schema.json"))  # ADS reads save_model's
(out / "ads_reads_ours.json").write_text(json.dumps(list(read.keys)))
(out / "ads_artifact").mkdir()
undated = frame.drop(columns="signup")
undated.ads.model_schema().to_json_file(str(out / "ads_artifact" / "input_schema.json"))
"""

# In the project: the model without the date, beside the input_schema.json ADS wrote (no example
# row, as ADS writes none), loaded by the scorer.
SERVE_ADS_SCHEMA = """
import json
import sys
from pathlib import Path

import joblib
from pipeline import fitted

from {package}.scorer import Scorer
from {package}.settings import Settings

out = Path(sys.argv[1])
exec((out / "sample.py").read_text())
undated = frame.drop(columns="signup")
model = fitted(undated, labels, dated=False)
joblib.dump(model, out / "ads_artifact" / "{model_file}")
scorer = Scorer(Settings(model_dir=out / "ads_artifact", model_file="{model_file}"))
scorer.load()
rows = json.loads(undated.head(8).to_json(orient="records"))
features, method = scorer.parse(json.dumps({{"data": rows}}).encode())
print(json.dumps({{
    "state": scorer.state.value,
    "warm_up": scorer.warm_up,
    "served": scorer.predict(features, method),
    "model": model.predict(undated.head(8)).tolist(),
    "review_dtype": str(features["review"].dtype),
}}))
"""

# What differs from ADS on purpose, and why.
ALLOWED = {
    ("input_schema.json", "size", "domain.constraints"): (
        "an ordered category's values in the order of its categories (low, medium, high), as the "
        "model means them; ADS lists the values in their order of appearance in the sample"
    ),
    ("input_schema.json", "color", "domain.constraints"): (
        "a category's values are its categories in their order (what the model was fitted on, "
        "including categories the sample lacks); ADS lists the values seen, as they appear"
    ),
    ("input_schema.json", "pandas"): (
        "a top-level object ADS ignores (Schema.from_file reads only 'schema' and 'version'), for "
        "what ADS's attributes have no field for: pandas 3's 'str' dtype of the text (written "
        "'object' as ADS writes it) and 'ordered' of an ordered category"
    ),
    ("output_schema.json", "prediction", "name"): (
        "the predictions are named 'prediction' (ADS's answer key); ADS names its y_sample's "
        "column, 0 for an array"
    ),
    ("output_schema.json", "prediction", "description"): "the name, as ADS's description is",
}


def differences(ours: dict[str, Any], theirs: dict[str, Any], file: str) -> dict[tuple[str, ...], Any]:
    """Every field that differs: (file, key) at the top, (file, feature, field) in the list."""
    found: dict[tuple[str, ...], Any] = {}
    for key in set(ours) | set(theirs):
        if key != "schema" and ours.get(key) != theirs.get(key):
            found[(file, key)] = (ours.get(key), theirs.get(key))
    assert len(ours["schema"]) == len(theirs["schema"])
    for mine, ads in zip(ours["schema"], theirs["schema"], strict=True):
        fields = {key: value for key, value in mine.items() if key != "domain"}
        fields |= {f"domain.{key}": value for key, value in mine["domain"].items()}
        expected = {key: value for key, value in ads.items() if key != "domain"}
        expected |= {f"domain.{key}": value for key, value in ads["domain"].items()}
        for field in set(fields) | set(expected):
            left, right = fields.get(field), expected.get(field)
            if field == "domain.stats" and left.keys() == right.keys():
                equal = all(
                    left[name] == pytest.approx(right[name], rel=1e-12)
                    if isinstance(right[name], float)
                    else left[name] == right[name]
                    for name in right
                )
            else:
                equal = left == right
            if not equal:
                found[(file, mine["name"], field)] = (left, right)
    return found


@pytest.fixture(scope="module")
def written(baked: Any, ads_python: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(project, folder): the sample's schemas, as save_model and as ADS write them."""
    project = baked(DEFAULT_FLASK)
    answers = {"package": "my_model_service", "model_file": "model.joblib"}
    out = tmp_path_factory.mktemp("ads_schema")
    (out / "sample.py").write_text(SAMPLE)
    (out / "pipeline.py").write_text(PIPELINE)
    (out / "save.py").write_text(SAVE.format(**answers))
    (out / "ads_side.py").write_text(ADS)  # not ads.py: it would shadow the ads package
    (out / "serve_ads_schema.py").write_text(SERVE_ADS_SCHEMA.format(**answers))
    run([str(project / ".venv/bin/python"), str(out / "save.py"), str(out)], project)
    run([str(ads_python), str(out / "ads_side.py"), str(out)], project)
    return project, out


def test_the_input_schema_is_adss_field_by_field(written: tuple[Path, Path]) -> None:
    _, out = written
    ours = json.loads((out / "artifact" / "input_schema.json").read_text())
    theirs = json.loads((out / "ads_input.json").read_text())
    found = differences(ours, theirs, "input_schema.json")
    assert set(found) == {key for key in ALLOWED if key[0] == "input_schema.json"}, found
    assert found[("input_schema.json", "size", "domain.constraints")][0] == [
        {"expression": "$x in ['low', 'medium', 'high']", "language": "python"}
    ]
    assert ours["pandas"] == {"review": {"dtype": "str"}, "size": {"ordered": True}}
    assert json.loads((out / "ads_reads_ours.json").read_text()) == [a["name"] for a in ours["schema"]]
    # ADS describes a date by Timestamps its own JSON writer can't write (prepare fails on a
    # datetime column); save_model writes them as ISO 8601 text, compared as such above.
    assert "Timestamp is not JSON serializable" in (out / "ads_dates.txt").read_text()


def test_the_output_schema_is_adss_for_the_predictions(written: tuple[Path, Path]) -> None:
    _, out = written
    ours = json.loads((out / "artifact" / "output_schema.json").read_text())
    theirs = json.loads((out / "ads_output.json").read_text())
    found = differences(ours, theirs, "output_schema.json")
    assert set(found) == {key for key in ALLOWED if key[0] == "output_schema.json"}, found
    assert found[("output_schema.json", "prediction", "name")] == ("prediction", 0)


def test_no_value_of_the_free_text_is_in_the_schemas_or_the_catalog_entry(written: tuple[Path, Path]) -> None:
    project, out = written
    entry = project / "deploy" / "catalog_model.json"
    run(["make", "catalog", f"MODEL_DIR={out / 'artifact'}"], project)
    try:
        files = {
            "input_schema.json": (out / "artifact" / "input_schema.json").read_text(),
            "output_schema.json": (out / "artifact" / "output_schema.json").read_text(),
            "catalog_model.json": entry.read_text(),
        }
    finally:
        entry.unlink(missing_ok=True)
    catalog = json.loads(files["catalog_model.json"])
    assert json.loads(catalog["inputSchema"])["schema"][4]["name"] == "review"
    assert "'low', 'medium', 'high'" in catalog["inputSchema"]  # a category's values do go
    reviews = json.loads((out / "reviews.json").read_text())
    for name, text in files.items():
        leaked = [review for review in reviews if review in text or review.split(", ")[1] in text]
        assert leaked == [], f"{name} holds free text of the training data: {leaked[:3]}"


def test_a_schema_ads_wrote_is_served_and_warms_the_model(written: tuple[Path, Path]) -> None:
    project, out = written
    result = run([str(project / ".venv/bin/python"), str(out / "serve_ads_schema.py"), str(out)], project)
    served = json.loads(result.stdout.strip().splitlines()[-1])
    assert served["state"] == "ready"
    assert served["warm_up"] == "schema"  # ADS writes no example row: a row from the schema
    assert served["served"] == served["model"]
    assert served["review_dtype"] == "object"  # the dtype ADS's schema says
