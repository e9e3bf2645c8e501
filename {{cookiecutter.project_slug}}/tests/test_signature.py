"""save_model: the model and its signature in OCI's model-catalog schema format, read back by the scorer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from {{ cookiecutter.package_name }} import processing, save_model
from {{ cookiecutter.package_name }}.signature import (
    INPUT_EXAMPLE,
    INPUT_SCHEMA,
    OUTPUT_SCHEMA,
    Feature,
    read_signature,
    signature_of,
)

MODEL_FILE = "{{ cookiecutter.model_file }}"
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


def check_ads_schema(document: dict[str, Any]) -> None:
    assert list(document) == ["schema"]
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
        ("city", 2, "str", "String", True),
    ]
    city = inputs["schema"][2]["domain"]
    assert city["constraints"] == [{"expression": "$x in ['lima', 'oslo', 'pune']", "language": "python"}]
    assert city["stats"] == {"count": 600, "missing": 0, "unique": 3}
    assert inputs["schema"][1]["domain"]["stats"]["missing"] > 0
    (prediction,) = outputs["schema"]
    assert prediction["domain"]["constraints"][0]["expression"] == "$x in ['churned', 'stayed']"
    example = json.loads((churn_dir / INPUT_EXAMPLE).read_text())
    assert list(example) == ["data"] and list(example["data"][0]) == ["age", "income", "city"]


def test_the_signature_reads_back_as_it_was_made(churn_dir: Path, churn_model: Any) -> None:
    from train import customers

    features, _ = customers()
    made = signature_of(churn_model, features)
    read = read_signature(churn_dir)
    assert read == made
    assert read.features[2] == Feature("city", "text", "str", True, ("lima", "oslo", "pune"))
    assert read.classes == ("churned", "stayed")


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


def test_a_schema_written_by_oci_ads_is_served(tmp_path: Path, serve: Any) -> None:
    """An artifact prepared with OCI's ADS library: its input_schema.json, no example row."""
    import joblib
    from sklearn.compose import make_column_transformer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    sample = pd.DataFrame({"Attrition": ["Yes", "No", "No", "Yes"], "Age": [41, 49, 37, 33]})
    columns = make_column_transformer((OneHotEncoder(), ["Attrition"]), remainder="passthrough")
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
    client = serve(tmp_path)
    assert client.get("/health").status == 200
    reply = client.post("/predict", json_body={"data": [{"Attrition": "Yes", "Age": 40}]})
    assert reply.json == {
        "predictions": model.predict(pd.DataFrame({"Attrition": ["Yes"], "Age": [40]})).tolist()
    }
    assert client.post("/predict", json_body={"data": [{"Attrition": "Yes", "Age": 40.5}]}).status == 400
