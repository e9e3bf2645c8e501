"""make catalog: the catalog entry carries the signature's schemas, within the catalog's limit.

With CATALOG_RUN=1 the OCI SDK creates the model and uploads the zip, signed, to a loopback
stand-in of Data Science that records each request; the API key is made for the test.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import oci
import pytest
from baked_settings import write_settings
from conftest import MODEL_FILE, ApiKey, Call, JsonStandIn, received, signed_by
from oci.data_science.models import Model

from {{ cookiecutter.package_name }}.oci_rules import MAX_SCHEMA_BYTES
from {{ cookiecutter.package_name }}_ops import catalog
from {{ cookiecutter.package_name }}_ops.catalog import (
    CatalogError,
    catalog_body,
    fit_schema,
)
from {{ cookiecutter.package_name }}_ops.cli import main
from {{ cookiecutter.package_name }}_ops.oci_models import check_body
from {{ cookiecutter.package_name }}_ops.project import SettingsError

PROJECT = Path(__file__).resolve().parent.parent
SETTINGS = {"compartment_id": "ocid1.compartment.oc1..a", "project_id": "ocid1.datascienceproject.oc1..b"}
MODEL_ID = "ocid1.datasciencemodel.oc1.iad.catalog"
EARLIER_MODEL_ID = "ocid1.datasciencemodel.oc1.iad.earlier"


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


def settings_with(path: Path, compartment_id: str = "", project_id: str = "") -> Path:
    """``path``: the settings as baked with these OCIDs (none: as a new project has them)."""
    return write_settings(path, compartment_id=compartment_id, project_id=project_id)


def test_the_command_writes_the_entry_and_prints_the_cli_commands(churn_dir: Path, tmp_path: Path) -> None:
    entry = tmp_path / "catalog_model.json"
    settings = settings_with(tmp_path / "deployment.toml")
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
    unset = f"# compartment_id and project_id not set in {settings} yet: the entry holds <compartment OCID>"
    assert unset in result.stdout
    assert "make catalog CATALOG_RUN=1 does both with the OCI SDK" in result.stdout


def md5_of(data: bytes) -> str:
    """What OCI's content-md5 header says of ``data``: its MD5, base64."""
    return base64.b64encode(hashlib.md5(data).digest()).decode()


class DataScience(JsonStandIn):
    """Just enough of Data Science's models: create, get, upload an artifact, ask for it; with refusals.

    ``script``: ``calls`` (each request), ``models`` (OCID: lifecycle state), ``entries`` (OCID: the
    CreateModelDetails it was made with), ``artifacts`` (OCID: bytes uploaded), and ``refuse``
    (``create`` or ``upload``: the error code of a 400 to answer it with).
    """

    script: dict[str, Any]

    def _call(self) -> Call:
        call = received(self)
        self.script["calls"].append(call)
        return call

    def _error(self, status: int, code: str) -> None:
        self._send(status, {"code": code, "message": f"{self.command} {self.path}: {code}"})

    def do_POST(self) -> None:
        call = self._call()
        if call.path == "/20190101/models":
            if "create" in self.script["refuse"]:
                return self._error(400, self.script["refuse"]["create"])
            self.script["models"][MODEL_ID] = "ACTIVE"
            self.script["entries"][MODEL_ID] = json.loads(call.body)
            return self._send(200, Model(id=MODEL_ID, lifecycle_state="ACTIVE"))
        model_id = call.path.removeprefix("/20190101/models/").removesuffix("/artifact")
        if model_id not in self.script["models"] or not call.path.endswith("/artifact"):
            return self._error(404, "NotAuthorizedOrNotFound")
        if "upload" in self.script["refuse"]:
            return self._error(400, self.script["refuse"]["upload"])
        self.script["artifacts"][model_id] = call.body
        self._send(200)

    def do_GET(self) -> None:
        model_id = self._call().path.removeprefix("/20190101/models/")
        if model_id not in self.script["models"]:
            return self._error(404, "NotAuthorizedOrNotFound")
        entry = self.script["entries"].get(model_id, {})
        model = Model(
            id=model_id,
            lifecycle_state=self.script["models"][model_id],
            compartment_id=entry.get("compartmentId"),
            project_id=entry.get("projectId"),
            display_name=entry.get("displayName"),
            description=entry.get("description"),
            freeform_tags=entry.get("freeformTags"),
        )
        self._send(200, model)

    def do_HEAD(self) -> None:
        path = self._call().path
        model_id = path.removeprefix("/20190101/models/").removesuffix("/artifact/content")
        if not path.endswith("/artifact/content") or model_id not in self.script["artifacts"]:
            return self._error(404, "NotAuthorizedOrNotFound")
        self._send(200, headers={"Content-MD5": md5_of(self.script["artifacts"][model_id])})


@pytest.fixture
def record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The record of the catalog model (deploy/catalog-model-id.txt, which make teardown reads), here in
    the test's folder: the project's own record is never touched."""
    path = tmp_path / "catalog-model-id.txt"
    monkeypatch.setattr(catalog, "CATALOG_MODEL_ID_FILE", path)
    return path


@pytest.fixture
def zipped(tmp_path: Path) -> Path:
    """An artifact zip of a little over 0.1 MB, its bytes random."""
    path = tmp_path / "model_artifact.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(MODEL_FILE, os.urandom(120_000))
    return path


@pytest.fixture
def run_catalog(
    start_stand_in: Callable[..., str], oci_config: Path, churn_dir: Path, tmp_path: Path, zipped: Path
) -> Callable[..., tuple[int, dict[str, Any]]]:
    """``run_catalog(script, *options)``: `make catalog CATALOG_RUN=1` against a new stand-in, its status
    and script. The settings name a compartment and a project."""
    settings = settings_with(tmp_path / "deployment.toml", SETTINGS["compartment_id"], SETTINGS["project_id"])

    def run(script: dict[str, Any], *options: str) -> tuple[int, dict[str, Any]]:
        script = {"calls": [], "models": {}, "entries": {}, "artifacts": {}, "refuse": {}, **script}
        url = start_stand_in(DataScience, oci.data_science.DataScienceClient, script)
        argv = ["catalog", "--run", "--model-dir", str(churn_dir), "--settings", str(settings)]
        argv += ["--body", str(tmp_path / "catalog_model.json"), "--artifact", str(zipped)]
        argv += ["--config", str(oci_config), "--profile", "TEST", "--endpoint", url, *options]
        return main(argv), script

    return run


def test_run_creates_the_model_records_it_and_uploads_the_zip(
    run_catalog: Callable[..., tuple[int, dict[str, Any]]],
    record: Path,
    zipped: Path,
    tmp_path: Path,
    api_key: ApiKey,
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, script = run_catalog({})
    out, err = capsys.readouterr()
    assert status == 0, err
    create, upload = script["calls"]
    assert (create.method, create.path) == ("POST", "/20190101/models")
    written = json.loads((tmp_path / "catalog_model.json").read_text())
    assert json.loads(create.body) == written and "inputSchema" in written
    check_body(written, "CreateModelDetails")
    assert (upload.method, upload.path) == ("POST", f"/20190101/models/{MODEL_ID}/artifact")
    assert upload.body == zipped.read_bytes()
    assert upload.headers["content-disposition"] == "attachment; filename=model_artifact.zip"
    assert signed_by(api_key, create) and signed_by(api_key, upload, body_signed=False)
    assert record.read_text() == MODEL_ID + "\n"
    assert f"uploading {zipped} (0.1 MB) to {MODEL_ID}" in out
    assert f'model {MODEL_ID} has its artifact: put model_id = "{MODEL_ID}" in ' in out


def test_a_refused_create_is_one_line_and_records_nothing(
    run_catalog: Callable[..., tuple[int, dict[str, Any]]], record: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, script = run_catalog({"refuse": {"create": "InvalidParameter"}})
    err = capsys.readouterr().err
    assert status == 1
    assert err.splitlines() == [
        "OCI refused to create the model in the catalog (400 InvalidParameter): "
        "POST /20190101/models: InvalidParameter"
    ]
    assert [call.path for call in script["calls"]] == ["/20190101/models"]
    assert not record.exists()


def test_a_failed_upload_keeps_the_record_and_the_next_run_uploads_to_that_model(
    run_catalog: Callable[..., tuple[int, dict[str, Any]]],
    record: Path,
    zipped: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, script = run_catalog({"refuse": {"upload": "InvalidArtifact"}})
    err = capsys.readouterr().err
    assert status == 1
    assert err.splitlines() == [
        "OCI refused to upload the artifact (400 InvalidArtifact): "
        f"POST /20190101/models/{MODEL_ID}/artifact: InvalidArtifact",
        f"model {MODEL_ID} is in the catalog without its artifact (recorded in {record}): run "
        "`make catalog CATALOG_RUN=1` again to upload the zip to it, or `make teardown` to delete it",
    ]
    assert record.read_text() == MODEL_ID + "\n"

    status, script = run_catalog({"models": {MODEL_ID: "ACTIVE"}})  # the model is there, without artifact
    out = capsys.readouterr().out
    assert status == 0
    assert [(call.method, call.path) for call in script["calls"]] == [
        ("GET", f"/20190101/models/{MODEL_ID}"),
        ("HEAD", f"/20190101/models/{MODEL_ID}/artifact/content"),
        ("POST", f"/20190101/models/{MODEL_ID}/artifact"),
    ]
    assert script["artifacts"] == {MODEL_ID: zipped.read_bytes()}
    assert f"model {MODEL_ID} ({record}) has no artifact yet: uploading the zip to it" in out


def test_the_same_command_again_sends_nothing_unless_the_entry_changed(
    run_catalog: Callable[..., tuple[int, dict[str, Any]]],
    record: Path,
    zipped: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An upload whose answer was lost (a timeout after OCI stored the zip), or the command run
    again: the recorded model has this zip and this entry, so nothing is created or sent (no second
    model). Another project in the settings: a new model, in that project."""
    status, first = run_catalog({})
    assert status == 0 and record.read_text() == MODEL_ID + "\n"
    capsys.readouterr()
    kept = {key: first[key] for key in ("models", "entries", "artifacts")}
    status, again = run_catalog(kept)
    out = capsys.readouterr().out
    assert status == 0
    assert [(call.method, call.path) for call in again["calls"]] == [
        ("GET", f"/20190101/models/{MODEL_ID}"),
        ("HEAD", f"/20190101/models/{MODEL_ID}/artifact/content"),
    ]
    assert f"model {MODEL_ID} ({record}) has {zipped} already: nothing to send" in out
    assert f'put model_id = "{MODEL_ID}" in ' in out

    other_project = "ocid1.datascienceproject.oc1..other"
    settings_with(tmp_path / "deployment.toml", SETTINGS["compartment_id"], other_project)
    kept["models"] = {EARLIER_MODEL_ID: "ACTIVE"}  # what the first run made, under another OCID
    kept["entries"] = {EARLIER_MODEL_ID: first["entries"][MODEL_ID]}
    kept["artifacts"] = {EARLIER_MODEL_ID: first["artifacts"][MODEL_ID]}
    record.write_text(EARLIER_MODEL_ID + "\n")
    status, changed = run_catalog(kept)
    assert status == 0
    assert [call.path for call in changed["calls"]][-2:] == [
        "/20190101/models",
        f"/20190101/models/{MODEL_ID}/artifact",
    ]
    assert changed["entries"][MODEL_ID]["projectId"] == other_project
    assert record.read_text() == MODEL_ID + "\n"


@pytest.mark.parametrize("earlier", ["ACTIVE", "DELETED", None])
def test_a_recorded_model_with_its_artifact_or_gone_gets_a_new_model(
    run_catalog: Callable[..., tuple[int, dict[str, Any]]],
    record: Path,
    capsys: pytest.CaptureFixture[str],
    earlier: str | None,
) -> None:
    record.write_text(EARLIER_MODEL_ID + "\n")
    models = {EARLIER_MODEL_ID: earlier} if earlier else {}
    status, script = run_catalog({"models": models, "artifacts": {EARLIER_MODEL_ID: b"zip"}})
    out = capsys.readouterr().out
    assert status == 0
    assert [call.path for call in script["calls"]][-2:] == [
        "/20190101/models",
        f"/20190101/models/{MODEL_ID}/artifact",
    ]
    assert script["artifacts"][EARLIER_MODEL_ID] == b"zip"  # nothing uploaded to a model that has one
    assert record.read_text() == MODEL_ID + "\n"
    said = f"{EARLIER_MODEL_ID} ({record}) has its artifact and stays in the catalog"
    assert (said in out) == (earlier == "ACTIVE")


def test_run_checks_before_it_sends_anything(
    run_catalog: Callable[..., tuple[int, dict[str, Any]]],
    record: Path,
    zipped: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, script = run_catalog({}, "--settings", str(settings_with(tmp_path / "unfilled.toml")))
    assert status == 1 and script["calls"] == []
    assert "set compartment_id and project_id in " in capsys.readouterr().err

    status, script = run_catalog({}, "--artifact", str(tmp_path / "missing.zip"))
    assert status == 1 and script["calls"] == []
    assert "missing.zip is missing: run `make artifact` first" in capsys.readouterr().err

    with zipped.open("r+b") as stream:  # sparse: takes no disk
        stream.truncate(2 * 1000**3 + 1)
    status, script = run_catalog({})
    assert status == 1 and script["calls"] == []
    said = capsys.readouterr().err
    assert "OCI takes at most 2 GB uploaded directly; upload it through Object Storage" in said
    assert not record.exists()


def test_a_config_without_the_profile_is_one_line(
    run_catalog: Callable[..., tuple[int, dict[str, Any]]], record: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, script = run_catalog({}, "--profile", "NOPE")
    err = capsys.readouterr().err
    assert status == 1 and script["calls"] == [] and not record.exists()
    assert len(err.splitlines()) == 1 and err.startswith("cannot create the model in the catalog: ")
