"""make catalog: the catalog entry carries the signature's schemas, within the catalog's limit."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.oci_rules import MAX_SCHEMA_BYTES
from {{ cookiecutter.package_name }}_ops.catalog import (
    CatalogError,
    catalog_body,
    fit_schema,
)
from {{ cookiecutter.package_name }}_ops.oci_models import check_body
from {{ cookiecutter.package_name }}_ops.project import SettingsError

PROJECT = Path(__file__).resolve().parent.parent
SETTINGS = {"compartment_id": "ocid1.compartment.oc1..a", "project_id": "ocid1.datascienceproject.oc1..b"}


def test_the_entry_carries_the_input_and_output_schema(churn_dir: Path) -> None:
    body, trimmed = catalog_body({**SETTINGS, "display_name": "Churn", "description": ""}, churn_dir)
    assert trimmed == []
    assert json.loads(body["inputSchema"]) == json.loads((churn_dir / "input_schema.json").read_text())
    assert json.loads(body["outputSchema"]) == json.loads((churn_dir / "output_schema.json").read_text())
    assert "description" not in body, "an empty description is left out, never sent as an empty string"
    model = check_body(body, "CreateModelDetails")  # the SDK's own model keeps it whole
    assert model.input_schema == body["inputSchema"]


def test_a_model_without_signature_gets_an_entry_without_schemas(tmp_path: Path) -> None:
    body, _ = catalog_body(SETTINGS, tmp_path)
    assert set(body) == {"compartmentId", "projectId"}


def test_the_entry_carries_the_projects_freeform_tags(tmp_path: Path) -> None:
    tags = {"service": "{{ cookiecutter.project_slug }}", "owner": "ana"}
    body, _ = catalog_body({**SETTINGS, "freeform_tags": tags}, tmp_path)
    assert check_body(body, "CreateModelDetails").freeform_tags == tags
    with pytest.raises(SettingsError, match="without periods or spaces"):
        catalog_body({**SETTINGS, "freeform_tags": {"bad key": "x"}}, tmp_path)


def test_a_schema_over_the_limit_loses_the_longest_value_lists_first() -> None:
    cities = [f"city-{index:05d}" for index in range(3000)]
    schema = {
        "schema": [
            {"name": "age", "domain": {"values": "Integer", "stats": {"count": 1}, "constraints": []}},
            {
                "name": "city",
                "domain": {"stats": {"count": 1}, "constraints": [{"expression": f"$x in {cities!r}"}]},
            },
        ]
    }
    assert len(json.dumps(schema)) > MAX_SCHEMA_BYTES
    text, trimmed = fit_schema(schema, "input_schema.json")
    assert len(text.encode()) <= MAX_SCHEMA_BYTES
    assert trimmed == [
        f"input_schema.json: the constraints of city, to fit the catalog's {MAX_SCHEMA_BYTES} bytes"
    ]
    assert json.loads(text)["schema"][0]["domain"]["stats"] == {"count": 1}
    with pytest.raises(CatalogError, match="even without values and statistics"):
        fit_schema({"schema": [{"name": "x" * 40000, "domain": {}}]}, "input_schema.json")


def test_no_value_of_free_text_reaches_the_catalog(tmp_path: Path) -> None:
    """A schema written before version 1.1 listed the values of text: the entry leaves them out."""
    reviews = ["great product, ana from oslo", "broke after a week"]
    old = {
        "schema": [
            {
                "dtype": "str",
                "feature_type": "String",
                "name": "review",
                "required": True,
                "domain": {
                    "values": "String",
                    "stats": {"count": 2},
                    "constraints": [{"expression": f"$x in {reviews!r}"}],
                },
            },
            {
                "dtype": "category",
                "feature_type": "Category",
                "name": "size",
                "required": True,
                "domain": {
                    "values": "Category",
                    "stats": {},
                    "constraints": [{"expression": "$x in ['s', 'm']"}],
                },
            },
        ]
    }
    (tmp_path / "input_schema.json").write_text(json.dumps(old))
    body, trimmed = catalog_body(SETTINGS, tmp_path)
    assert "ana from oslo" not in json.dumps(body) and "broke" not in json.dumps(body)
    assert json.loads(body["inputSchema"])["schema"][1]["domain"]["constraints"] == [
        {"expression": "$x in ['s', 'm']"}
    ]
    assert trimmed == ["input_schema.json: the values of review, free text (never sent)"]


def test_the_command_writes_the_entry_and_prints_the_cli_commands(churn_dir: Path, tmp_path: Path) -> None:
    entry = tmp_path / "catalog_model.json"
    # As a new project has them: OCIDs not filled in yet (whatever this project's own file says).
    toml = (PROJECT / "deploy" / "deployment.toml").read_text()
    unfilled = re.sub(r'^(compartment_id|project_id) = ".*"$', r'\1 = ""', toml, flags=re.MULTILINE)
    settings = tmp_path / "deployment.toml"
    settings.write_text(unfilled)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "{{ cookiecutter.package_name }}_ops",
            "catalog",
            "--model-dir",
            str(churn_dir),
            "--body",
            str(entry),
            "--settings",
            str(settings),
        ],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": "src"},
    )
    assert result.returncode == 0, result.stderr
    assert (
        f"oci data-science model create --from-json file://{entry} --query data.id --raw-output"
        in result.stdout
    )
    assert "with inputSchema and outputSchema" in result.stdout
    assert json.loads(entry.read_text())["compartmentId"] == "<compartment OCID>"
