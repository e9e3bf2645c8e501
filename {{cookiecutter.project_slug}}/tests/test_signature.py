"""save_model: the model and its signature in OCI's model-catalog schema format, read back by the scorer."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder
from template_hooks import server_environment

from {{ cookiecutter.package_name }} import processing, save_model, signature
from {{ cookiecutter.package_name }}.scorer import Scorer
from {{ cookiecutter.package_name }}.settings import Settings
from {{ cookiecutter.package_name }}.signature import (
    INPUT_EXAMPLE,
    INPUT_SCHEMA,
    OUTPUT_SCHEMA,
    Feature,
    project_root,
    read_signature,
    signature_of,
)
from {{ cookiecutter.package_name }}_ops.samples import customers

MODEL_FILE = "{{ cookiecutter.__model_file }}"
PROJECT = Path(__file__).resolve().parent.parent
# The rules of OCI ADS's data_schema.json (ads/feature_engineering): the key, its types, whether it
# must be there, and whether it may be null.
ADS_RULES = {
    "dtype": ((str,), True, False),
    "name": ((str, int, float), True, False),
    "required": ((bool,), True, False),
    "feature_type": ((str,), False, True),
    "order": ((int,), False, True),
    "description": ((str,), False, True),
    "domain": ((dict,), False, True),
}
DOMAIN_RULES = {"values": (str,), "stats": (dict,), "constraints": (list,)}


# The statistics ADS writes for numbers (ads/feature_engineering/feature_type/continuous.py).
ADS_NUMBER_STATS = [
    "count",
    "mean",
    "standard deviation",
    "sample minimum",
    "lower quartile",
    "median",
    "upper quartile",
    "sample maximum",
    "skew",
]


def check_ads_schema(document: dict[str, Any]) -> None:
    assert list(document)[:2] == ["schema", "version"] and set(document) <= {"schema", "version", "pandas"}
    assert document["version"] == "1.1"
    for attribute in document["schema"]:
        assert set(attribute) <= set(ADS_RULES), attribute
        for key, (types, required, nullable) in ADS_RULES.items():
            if key not in attribute:
                assert not required, (key, attribute)
            elif attribute[key] is None:
                assert nullable, (key, attribute)
            else:
                assert isinstance(attribute[key], types), (key, attribute)
        for key, value in (attribute.get("domain") or {}).items():
            assert isinstance(value, DOMAIN_RULES[key]), (key, attribute)
        for constraint in attribute["domain"]["constraints"]:
            assert set(constraint) == {"expression", "language"}


def test_save_model_writes_the_model_and_its_signature_in_the_catalog_format(
    churn_dir: Path, churn_model: Any
) -> None:
    inputs = json.loads((churn_dir / INPUT_SCHEMA).read_text())
    outputs = json.loads((churn_dir / OUTPUT_SCHEMA).read_text())
    check_ads_schema(inputs)
    check_ads_schema(outputs)
    assert [
        (a["name"], a["order"], a["dtype"], a["feature_type"], a["required"]) for a in inputs["schema"]
    ] == [
        ("age", 0, "float64", "Continuous", True),
        ("income", 1, "float64", "Continuous", False),
        ("city", 2, "object", "String", True),  # ADS's dtype; pandas 3's "str" kept apart
    ]
    assert inputs["pandas"] == {"city": {"dtype": "str"}}
    city = inputs["schema"][2]["domain"]
    assert city == {"values": "String", "stats": {"count": 600, "unique": 3}, "constraints": []}
    assert list(inputs["schema"][0]["domain"]["stats"]) == ADS_NUMBER_STATS
    assert list(inputs["schema"][1]["domain"]["stats"]) == [*ADS_NUMBER_STATS, "missing"]
    assert inputs["schema"][1]["domain"]["stats"]["missing"] > 0
    (prediction,) = outputs["schema"]  # text labels: String, counted, never listed (as ADS)
    assert (prediction["name"], prediction["dtype"], prediction["feature_type"]) == (
        "prediction",
        "object",
        "String",
    )
    assert prediction["domain"]["stats"] == {"count": 600, "unique": 2}
    example = json.loads((churn_dir / INPUT_EXAMPLE).read_text())
    assert list(example) == ["data"] and list(example["data"][0]) == ["age", "income", "city"]


def test_the_signature_reads_back_as_it_was_made(churn_dir: Path, churn_model: Any) -> None:
    features, _ = customers()
    made = signature_of(churn_model, features)
    read = read_signature(churn_dir)
    assert read.features == made.features and read.example == made.example
    assert read.features[2] == Feature("city", "text", "str", True, None)
    assert (
        read.features[0].typical
        == json.loads((churn_dir / INPUT_SCHEMA).read_text())["schema"][0]["domain"]["stats"]["median"]
    )


def test_optional_features_may_be_missing_though_the_sample_has_none_missing() -> None:
    sample = pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]})
    model = LogisticRegression().fit(sample[["a"]], [0, 1])
    signature = signature_of(model, sample, optional=("b",))
    assert [feature.required for feature in signature.features] == [True, False]
    with pytest.raises(ValueError, match="optional names features that X_sample lacks"):
        signature_of(model, sample, optional=("c",))


def test_save_model_refuses_what_it_cannot_describe(tmp_path: Path) -> None:
    model = LogisticRegression().fit([[1.0], [2.0]], [0, 1])
    with pytest.raises(TypeError, match="must be a pandas DataFrame"):
        save_model(model, [[1.0]], tmp_path / MODEL_FILE)
    with pytest.raises(ValueError, match="has no rows"):
        save_model(model, pd.DataFrame({"a": []}), tmp_path / MODEL_FILE)
    assert list(tmp_path.iterdir()) == []


def test_the_project_is_found_from_the_package_else_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert project_root() == PROJECT  # installed editable from src/, as make install does
    monkeypatch.chdir(tmp_path)
    installed = tmp_path / "site-packages" / "{{ cookiecutter.package_name }}"
    assert project_root(installed) == tmp_path


def test_a_relative_path_is_the_projects_whatever_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    project, notebooks = tmp_path / "project", tmp_path / "notebooks"
    notebooks.mkdir()
    monkeypatch.chdir(notebooks)
    monkeypatch.setattr(signature, "project_root", lambda: project)
    sample = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0]})
    model = LogisticRegression().fit(sample, [0, 1, 0, 1])

    save_model(model, sample, "models/mine.joblib")
    saved = project / "models" / "mine.joblib"
    assert saved.is_file() and (project / "models" / INPUT_EXAMPLE).is_file()
    assert list(notebooks.iterdir()) == []
    shown = capsys.readouterr().out.splitlines()
    assert shown[0].startswith(f"saved {saved} (") and INPUT_SCHEMA in shown[0]
    assert shown[1] == f"next: make serve MODEL={saved} (or make smoke MODEL=...: start, one /predict, stop)"

    save_model(model, sample, f"model_artifact/{MODEL_FILE}")
    assert (project / "model_artifact" / MODEL_FILE).is_file()
    shown = capsys.readouterr().out.splitlines()
    assert shown[-1] == "next: make serve (or make smoke: start, one /predict, stop)"


def test_the_model_make_serves_gets_a_sample_request_it_takes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """sample_request.json is what make smoke, make predict and the test of your model send: saved
    as the model make serves, a model gets its example there unless the request there fits it (make
    train's sample request was for the sample, and `make train` again would replace your model)."""
    monkeypatch.setattr(signature, "project_root", lambda: tmp_path)
    request, example = tmp_path / "sample_request.json", tmp_path / "model_artifact" / INPUT_EXAMPLE
    sample = pd.DataFrame({"tenure": [1.0, 2.0, 3.0, 4.0], "plan": ["a", "b", "a", "b"]})
    encode = make_column_transformer((OneHotEncoder(), ["plan"]), remainder="passthrough")
    model = make_pipeline(encode, LogisticRegression()).fit(sample, [0, 1, 0, 1])
    request.write_text(json.dumps({"instances": [[5.1, 3.5, 1.4, 0.2]]}))  # make train's iris request

    save_model(model, sample, f"model_artifact/{MODEL_FILE}")
    assert request.read_bytes() == example.read_bytes()
    said = capsys.readouterr().out
    assert "wrote sample_request.json (what make smoke and make test send): this model's example; " in said
    assert "the one there did not fit this model: " in said

    mine = {"data": [{"tenure": 7.0, "plan": "b"}, {"tenure": 1.5, "plan": "a"}]}
    request.write_text(json.dumps(mine))  # a request of the user's that fits: theirs
    save_model(model, sample, f"model_artifact/{MODEL_FILE}")
    assert json.loads(request.read_text()) == mine
    assert "sample_request.json" not in capsys.readouterr().out

    request.unlink()
    save_model(model, sample, f"model_artifact/{MODEL_FILE}")
    assert request.read_bytes() == example.read_bytes()
    assert "this model's example; there was none" in capsys.readouterr().out
    save_model(model, sample, tmp_path / "other" / MODEL_FILE)  # not the model make serves: left alone
    assert request.read_bytes() == example.read_bytes()


def test_a_model_the_scorer_cannot_serve_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sample = pd.DataFrame({"a": [1.0, 2.0]})
    model = LogisticRegression().fit(sample, [0, 1])

    calls = []

    def refuse(features: Any) -> Any:  # passes save_model's own call, fails in the scorer's check
        calls.append(features)
        if len(calls) > 1:
            raise ValueError("not this model")
        return features

    monkeypatch.setattr(processing, "preprocess", refuse)
    with pytest.raises(ValueError, match="the scorer can't serve this model: not this model"):
        save_model(model, sample, tmp_path / "out" / MODEL_FILE)
    assert list((tmp_path / "out").iterdir()) == []


def test_a_schema_written_by_oci_ads_is_served(
    tmp_path: Path, serve: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """An artifact prepared with OCI's ADS library: its input_schema.json, no example row."""
    import joblib
    from sklearn.compose import make_column_transformer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    sample = pd.DataFrame({"Attrition": ["Yes", "No", "No", "Yes"], "Age": [41, 49, 37, 33]})
    columns = make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), ["Attrition"]), remainder="passthrough"
    )
    model = make_pipeline(columns, LogisticRegression()).fit(sample, [1, 0, 0, 1])
    joblib.dump(model, tmp_path / MODEL_FILE)
    ads = {
        "schema": [
            {
                "dtype": "object",
                "feature_type": "String",
                "name": "Attrition",
                "domain": {"values": "String", "stats": {"count": 1470, "unique": 2}, "constraints": []},
                "required": True,
                "description": "Attrition",
            },
            {
                "dtype": "int64",
                "feature_type": "Integer",
                "name": "Age",
                "domain": {"values": "Integer", "stats": {"count": 1470.0, "mean": 37.9}, "constraints": []},
                "required": True,
                "description": "Age",
            },
        ]
    }
    (tmp_path / INPUT_SCHEMA).write_text(json.dumps(ads))
    with caplog.at_level(logging.INFO):
        client = serve(tmp_path)
    assert client.get("/health").status == 200
    (ready,) = [record for record in caplog.records if record.getMessage() == "model ready"]
    assert ready.fields["warm_up"] == "schema"  # ADS writes no example: a row from the schema
    reply = client.post("/predict", json_body={"data": [{"Attrition": "Yes", "Age": 40}]})
    assert reply.json == {
        "predictions": model.predict(pd.DataFrame({"Attrition": ["Yes"], "Age": [40]})).tolist()
    }
    assert client.post("/predict", json_body={"data": [{"Attrition": "Yes", "Age": 40.5}]}).status == 400


def test_no_value_of_free_text_is_written_whatever_its_number_of_values(tmp_path: Path) -> None:
    """Text or category as ADS decides it, by the dtype: object or str is free text (no values),
    a pandas category lists its categories in their order, and an ordered one says so."""
    sample = pd.DataFrame(
        {
            "note": ["call back tuesday", "vip: ana", "call back tuesday", "vip: ana"],
            "tier": pd.Categorical(
                ["low", "high", "mid", "low"], categories=["low", "mid", "high"], ordered=True
            ),
            "x": [1.0, 2.0, 3.0, 4.0],
        }
    )
    columns = make_column_transformer((OneHotEncoder(), ["note", "tier"]), remainder="passthrough")
    model = make_pipeline(columns, LogisticRegression()).fit(sample, [0, 1, 0, 1])
    save_model(model, sample, tmp_path / MODEL_FILE)
    written = (tmp_path / INPUT_SCHEMA).read_text() + (tmp_path / OUTPUT_SCHEMA).read_text()
    assert "call back" not in written and "vip" not in written
    inputs = json.loads((tmp_path / INPUT_SCHEMA).read_text())
    note, tier, _ = inputs["schema"]
    assert (note["feature_type"], note["domain"]["constraints"]) == ("String", [])
    assert tier["domain"]["constraints"] == [
        {"expression": "$x in ['low', 'mid', 'high']", "language": "python"}
    ]
    assert inputs["pandas"] == {"note": {"dtype": "str"}, "tier": {"ordered": True}}
    read = read_signature(tmp_path)
    assert read.features[1] == Feature("tier", "category", "category", True, ("low", "mid", "high"), True)


def test_a_schema_written_before_version_1_1_is_still_served(tmp_path: Path, serve: Any) -> None:
    """Artifacts in the field: 25%-style statistics, dtype "str", the values of text listed, and the
    class labels as a Category output."""
    sample = pd.DataFrame(
        {"city": pd.array(["oslo", "lima", "pune", "oslo"], dtype="str"), "n": [1, 2, 3, 4]}
    )
    columns = make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), ["city"]), remainder="passthrough"
    )
    model = make_pipeline(columns, LogisticRegression()).fit(sample, ["a", "b", "a", "b"])
    joblib.dump(model, tmp_path / MODEL_FILE)
    old = {
        "schema": [
            {
                "dtype": "str",
                "feature_type": "String",
                "name": "city",
                "domain": {
                    "values": "String",
                    "stats": {"count": 4, "missing": 0, "unique": 3},
                    "constraints": [{"expression": "$x in ['lima', 'oslo', 'pune']", "language": "python"}],
                },
                "required": True,
                "description": "city",
                "order": 0,
            },
            {
                "dtype": "int64",
                "feature_type": "Integer",
                "name": "n",
                "domain": {
                    "values": "Integer",
                    "stats": {"count": 4, "50%": 2.5, "max": 4.0},
                    "constraints": [],
                },
                "required": True,
                "description": "n",
                "order": 1,
            },
        ]
    }
    labels = {"expression": "$x in ['a', 'b']", "language": "python"}
    output = {
        "schema": [
            {
                "dtype": "str",
                "feature_type": "Category",
                "name": "prediction",
                "required": True,
                "domain": {"values": "Category", "stats": {}, "constraints": [labels]},
            }
        ]
    }
    (tmp_path / INPUT_SCHEMA).write_text(json.dumps(old))
    (tmp_path / OUTPUT_SCHEMA).write_text(json.dumps(output))
    read = read_signature(tmp_path)
    assert read.features == (Feature("city", "text", "str"), Feature("n", "integer", "int64"))
    assert (read.features[1].typical, read.classes) == (2, ("a", "b"))
    client = serve(tmp_path)
    reply = client.post("/predict", json_body={"data": [{"city": "rome", "n": 3}]})
    assert reply.json == {"predictions": model.predict(pd.DataFrame({"city": ["rome"], "n": [3]})).tolist()}


@pytest.mark.parametrize("dtype", ["str", "object"])
def test_text_reaches_the_model_in_the_dtype_it_was_fitted_on(tmp_path: Path, dtype: str) -> None:
    """ADS's "object" is written for both; pandas 3's "str" is kept apart and comes back."""
    sample = pd.DataFrame(
        {"city": pd.Series(["oslo", "lima", "pune", "oslo"], dtype=dtype), "n": [1.0, 2, 3, 4]}
    )
    columns = make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), ["city"]), remainder="passthrough"
    )
    model = make_pipeline(columns, LogisticRegression()).fit(sample, [0, 1, 0, 1])
    save_model(model, sample, tmp_path / MODEL_FILE)
    assert json.loads((tmp_path / INPUT_SCHEMA).read_text())["schema"][0]["dtype"] == "object"
    scorer = Scorer(Settings(model_dir=tmp_path, model_file=MODEL_FILE))
    scorer.load()
    features, method = scorer.parse(json.dumps({"data": [{"city": "lima", "n": 2.0}]}).encode())
    assert features["city"].dtype == sample["city"].dtype
    assert scorer.predict(features, method) == model.predict(sample.iloc[[1]]).tolist()
    assert scorer.warm_up == "example"


def test_a_model_of_plain_numbers_warms_up_with_zeros(tmp_path: Path) -> None:
    joblib.dump(LogisticRegression().fit([[1.0, 2.0], [2.0, 1.0]], [0, 1]), tmp_path / MODEL_FILE)
    scorer = Scorer(Settings(model_dir=tmp_path, model_file=MODEL_FILE))
    scorer.load()
    assert (scorer.ready, scorer.warm_up) == (True, "zeros")


NOTEBOOK = """
    import sys
    import pandas as pd
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer
    from {{ cookiecutter.package_name }} import save_model

    def dt_features(frame):
        return frame[["a"]] * 2

    sample = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0]})
    model = make_pipeline(FunctionTransformer(dt_features), LogisticRegression()).fit(sample, [0, 1, 0, 1])
    if sys.argv[2] == "joblib":
        import joblib
        joblib.dump(model, sys.argv[1] + "/{{ cookiecutter.__model_file }}")
    else:
        save_model(model, sample, sys.argv[1] + "/{{ cookiecutter.__model_file }}")
"""


def run_notebook(tmp_path: Path, how: str) -> subprocess.CompletedProcess:
    """A script run as `python script.py` (its functions live in __main__, as a notebook's do)."""
    script = tmp_path / "notebook.py"
    script.write_text(textwrap.dedent(NOTEBOOK))
    (tmp_path / "out").mkdir()
    env = server_environment({**os.environ, "PYTHONPATH": str(PROJECT / "src")})  # save_model runs the hooks
    command = [sys.executable, str(script), str(tmp_path / "out"), how]
    return subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)


def test_save_model_refuses_a_model_that_needs_the_notebooks_main(tmp_path: Path) -> None:
    result = run_notebook(tmp_path, "save_model")
    assert result.returncode != 0
    message = result.stderr.strip().splitlines()[-1]
    assert f"the server can't load this model: {MODEL_FILE} needs dt_features from module __main__" in message
    assert "src/{{ cookiecutter.package_name }}/features.py" in message
    assert list((tmp_path / "out").iterdir()) == []


def test_the_server_names_the_function_it_cannot_import(tmp_path: Path, serve: Any) -> None:
    assert run_notebook(tmp_path, "joblib").returncode == 0
    client = serve(tmp_path / "out")
    health = client.get("/health")
    assert health.status == 503
    reason = "model needs dt_features from module __main__, which the server can't import"
    assert reason in json.dumps(health.json) and str(tmp_path) not in json.dumps(health.json)
    scorer = Scorer(Settings(model_dir=tmp_path / "out", model_file=MODEL_FILE))
    scorer.load()
    assert "src/{{ cookiecutter.package_name }}/features.py" in scorer.detail


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the log of -4 inside the model: the point
def test_a_model_that_refuses_the_schemas_row_is_ready_without_warm_up(
    tmp_path: Path, serve: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """No example row, and the schema's medians are not numbers the model takes (log of -4)."""
    sample = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0]})
    model = make_pipeline(FunctionTransformer(np.log), LogisticRegression()).fit(sample, [0, 1, 0, 1])
    joblib.dump(model, tmp_path / MODEL_FILE)
    stats = {"count": 4.0, "median": -4.0}
    attribute = {
        "dtype": "float64",
        "feature_type": "Continuous",
        "name": "a",
        "required": True,
        "domain": {"values": "Continuous", "stats": stats, "constraints": []},
    }
    (tmp_path / INPUT_SCHEMA).write_text(json.dumps({"schema": [attribute], "version": "1.1"}))
    with caplog.at_level(logging.INFO):
        client = serve(tmp_path)
    assert client.get("/health").status == 200
    (ready,) = [record for record in caplog.records if record.getMessage() == "model ready"]
    assert ready.fields["warm_up"] == "none"
    assert any(
        "refused the warm-up row built from the input schema" in r.getMessage() for r in caplog.records
    )
    reply = client.post("/predict", json_body={"data": [{"a": 2.0}]})
    assert reply.json == {"predictions": model.predict(sample.iloc[[1]]).tolist()}
