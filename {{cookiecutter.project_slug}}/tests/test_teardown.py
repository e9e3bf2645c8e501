"""`make teardown` against a loopback stand-in for OCI that refuses what the real one refuses.

The stand-in answers the SDK's Data Science, Artifacts and Vulnerability Scanning requests,
records each call, and says 409 Conflict to a model deleted while its deployment lives and to
a scan recipe deleted while its target lives; a deployment goes through the states OCI shows.
The project's records are its real files under deploy/, put back after each test.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import oci
import pytest
from oci.artifacts.models import ContainerImageCollection, ContainerImageSummary
from oci.data_science.models import ModelDeployment

from {{ cookiecutter.package_name }}_ops.cli import main
from {{ cookiecutter.package_name }}_ops.push_record import with_earlier
from {{ cookiecutter.package_name }}_ops.teardown import (
    CATALOG_MODEL_ID_FILE,
    DEPLOYMENT_ID_FILE,
    PUSH_RECORDS,
    SCAN_RECORD,
)

DEPLOYMENT_ID = "ocid1.datasciencemodeldeployment.oc1.iad.teardown"
MODEL_ID = "ocid1.datasciencemodel.oc1.iad.teardown"
IMAGE_ID = "ocid1.containerimage.oc1.iad.teardown"
OLD_IMAGE_ID = "ocid1.containerimage.oc1.iad.replaced"
TARGET_ID = "ocid1.vsscontainerscantarget.oc1.iad.teardown"
RECIPE_ID = "ocid1.vsscontainerscanrecipe.oc1.iad.teardown"
DIGEST = "sha256:" + "cd" * 32
IMAGE = "iad.ocir.io/mytenancy/my-model-service:1.0.0"
OLD_DIGEST = "sha256:" + "0e" * 32
OLD_IMAGE = "iad.ocir.io/mytenancy/my-model-service:0.9.0"  # a push the last one replaced
RECORDS = (DEPLOYMENT_ID_FILE, CATALOG_MODEL_ID_FILE, *PUSH_RECORDS, SCAN_RECORD)


class Oci(BaseHTTPRequestHandler):
    """Just enough of the three services, with their refusals."""

    script: dict[str, Any]
    serialize: Callable[[Any], Any]

    def _send(self, status: int, answer: Any = None) -> None:
        payload = b"" if answer is None else json.dumps(self.serialize(answer)).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _error(self, status: int, code: str) -> None:
        self._send(status, {"code": code, "message": f"{self.command} {self.path}: {code}"})

    def _path(self) -> str:
        path = urlsplit(self.path).path
        self.script["calls"].append(f"{self.command} {path}")
        return path

    def _state(self) -> str | None:
        states = self.script["states"]
        return states.pop(0) if len(states) > 1 else (states[0] if states else None)

    def do_GET(self) -> None:
        path = self._path()
        if path == f"/20190101/modelDeployments/{DEPLOYMENT_ID}":
            state = self._state()
            if state is None:
                return self._error(404, "NotAuthorizedOrNotFound")
            found = ModelDeployment(
                id=DEPLOYMENT_ID,
                display_name="my-model-service",
                compartment_id="ocid1.compartment.oc1..teardown",
                lifecycle_state=state,
                time_created=datetime(2026, 1, 1, tzinfo=UTC),
            )
            return self._send(200, found)
        if path == "/20160918/container/images":
            query = parse_qs(urlsplit(self.path).query)
            self.script["image_queries"].append(query)
            items = [
                ContainerImageSummary(
                    id=IMAGE_ID, digest=DIGEST, version="1.0.0", lifecycle_state="AVAILABLE"
                ),
                ContainerImageSummary(
                    id=OLD_IMAGE_ID, digest=OLD_DIGEST, version="0.9.0", lifecycle_state="AVAILABLE"
                ),
            ]
            found = [item for item in items if query.get("imageDigest") == [item.digest]]
            return self._send(200, ContainerImageCollection(items=found, remaining_items_count=0))
        self._error(404, "NotAuthorizedOrNotFound")

    def do_POST(self) -> None:
        path = self._path()
        if path == f"/20190101/modelDeployments/{DEPLOYMENT_ID}/actions/deactivate":
            self.script["states"] = ["UPDATING", "INACTIVE"]
            return self._send(202)
        self._error(404, "NotAuthorizedOrNotFound")

    def do_DELETE(self) -> None:
        path = self._path()
        if path == f"/20190101/modelDeployments/{DEPLOYMENT_ID}":
            self.script["states"] = ["DELETING", "DELETED"]
            return self._send(202)
        if path == f"/20190101/models/{MODEL_ID}":
            in_use = self.script["states"] and self.script["states"][-1] != "DELETED"
            return self._error(409, "Conflict") if in_use else self._send(204)
        if path in (f"/20160918/container/images/{IMAGE_ID}", f"/20160918/container/images/{OLD_IMAGE_ID}"):
            return self._send(204)
        if path == f"/20210215/containerScanTargets/{TARGET_ID}":
            self.script["target_deleted"] = True
            return self._send(204)
        if path == f"/20210215/containerScanRecipes/{RECIPE_ID}":
            return self._send(204) if self.script.get("target_deleted") else self._error(409, "Conflict")
        self._error(404, "NotAuthorizedOrNotFound")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def records() -> Iterator[None]:
    """Every teardown record written as `make deploy`, `catalog`, `push` and `scan-setup` leave them."""
    saved = {path: path.read_bytes() for path in RECORDS if path.is_file()}
    DEPLOYMENT_ID_FILE.write_text(DEPLOYMENT_ID + "\n")
    CATALOG_MODEL_ID_FILE.write_text(MODEL_ID + "\n")
    earlier = [{"image": OLD_IMAGE, "digest": OLD_DIGEST}]
    PUSH_RECORDS[0].write_text(json.dumps({"image": IMAGE, "digest": DIGEST, "earlier": earlier}))
    PUSH_RECORDS[1].unlink(missing_ok=True)
    SCAN_RECORD.write_text(
        json.dumps({"repositories": ["my-model-service"], "recipe_id": RECIPE_ID, "target_id": TARGET_ID})
    )
    yield
    for path in RECORDS:
        path.unlink(missing_ok=True)
        if path in saved:
            path.write_bytes(saved[path])


@pytest.fixture
def teardown(
    oci_config: Path, start_stand_in: Callable[..., str]
) -> Callable[..., tuple[int, dict[str, Any]]]:
    def run(states: list[str], *options: str) -> tuple[int, dict[str, Any]]:
        script: dict[str, Any] = {"calls": [], "image_queries": [], "states": list(states)}
        url = start_stand_in(Oci, oci.data_science.DataScienceClient, script)
        endpoints = ["--endpoint", url, "--artifacts-endpoint", url, "--scanning-endpoint", url]
        argv = ["teardown", "--config", str(oci_config), "--profile", "TEST", *endpoints, "--interval", "0"]
        return main([*argv, *options]), script

    return run


def test_teardown_deletes_in_the_order_oci_needs_and_forgets_each_record(
    records: None, teardown: Callable[..., tuple[int, dict[str, Any]]], capsys: pytest.CaptureFixture[str]
) -> None:
    status, script = teardown(["ACTIVE"], "--yes")
    out = capsys.readouterr().out
    assert status == 0, out
    assert script["calls"] == [
        f"GET /20190101/modelDeployments/{DEPLOYMENT_ID}",  # ACTIVE
        f"POST /20190101/modelDeployments/{DEPLOYMENT_ID}/actions/deactivate",
        f"GET /20190101/modelDeployments/{DEPLOYMENT_ID}",  # UPDATING
        f"GET /20190101/modelDeployments/{DEPLOYMENT_ID}",  # INACTIVE
        f"DELETE /20190101/modelDeployments/{DEPLOYMENT_ID}",
        f"GET /20190101/modelDeployments/{DEPLOYMENT_ID}",  # DELETING
        f"GET /20190101/modelDeployments/{DEPLOYMENT_ID}",  # DELETED
        f"DELETE /20190101/models/{MODEL_ID}",
        "GET /20160918/container/images",  # the push the last one replaced
        f"DELETE /20160918/container/images/{OLD_IMAGE_ID}",
        "GET /20160918/container/images",
        f"DELETE /20160918/container/images/{IMAGE_ID}",
        f"DELETE /20210215/containerScanTargets/{TARGET_ID}",
        f"DELETE /20210215/containerScanRecipes/{RECIPE_ID}",
    ]
    old_query, query = script["image_queries"]
    assert old_query["imageDigest"] == [OLD_DIGEST]
    assert query["repositoryName"] == ["my-model-service"] and query["imageDigest"] == [DIGEST]
    assert query["compartmentIdInSubtree"] == [
        "true"
    ]  # from the tenancy: a first push's repository is in the root
    assert not any(path.exists() for path in RECORDS)
    assert f"  image        {IMAGE}@{DIGEST}  (deploy/pushed-image.json)" in out
    assert f"  image        {OLD_IMAGE}@{OLD_DIGEST}  (deploy/pushed-image.json)" in out
    assert "nothing left" in out

    status, script = teardown(["ACTIVE"], "--yes")  # the records are gone: nothing to do, nothing called
    assert status == 0 and script["calls"] == []
    assert "nothing recorded" in capsys.readouterr().out


def test_a_deployment_that_will_not_go_keeps_its_model_and_images(
    records: None, teardown: Callable[..., tuple[int, dict[str, Any]]], capsys: pytest.CaptureFixture[str]
) -> None:
    status, script = teardown(["ACTIVE"], "--yes", "--timeout", "0")  # gives up while it is UPDATING
    err = capsys.readouterr().err
    assert status == 1
    assert "deployment still UPDATING after 0 s" in err
    assert "model ocid1.datasciencemodel.oc1.iad.teardown: the deployment that uses it is still there" in err
    assert not any(call.startswith("DELETE /20190101/models") for call in script["calls"])
    assert DEPLOYMENT_ID_FILE.is_file() and CATALOG_MODEL_ID_FILE.is_file() and PUSH_RECORDS[0].is_file()
    assert not SCAN_RECORD.exists()  # the scan target and recipe don't depend on the deployment


def test_things_already_gone_count_as_deleted(
    records: None, teardown: Callable[..., tuple[int, dict[str, Any]]], capsys: pytest.CaptureFixture[str]
) -> None:
    status, _ = teardown([], "--yes")  # the deployment answers 404
    assert status == 0, capsys.readouterr()
    assert not any(path.exists() for path in RECORDS)


def test_teardown_asks_for_the_project_s_name(
    records: None, teardown: Callable[..., tuple[int, dict[str, Any]]], capsys: pytest.CaptureFixture[str]
) -> None:
    status, script = teardown(["ACTIVE"])  # stdin is not a terminal here: nothing is deleted
    assert status == 1 and "pass --yes (YES=1)" in capsys.readouterr().err
    assert not any(call.startswith(("DELETE", "POST")) for call in script["calls"])
    assert all(path.exists() for path in (DEPLOYMENT_ID_FILE, CATALOG_MODEL_ID_FILE, SCAN_RECORD))


def test_a_push_record_keeps_the_pushes_it_replaced_each_once() -> None:
    first = {"image": OLD_IMAGE, "digest": OLD_DIGEST, "size_bytes": 1, "platform": "linux/amd64"}
    second = {"image": IMAGE, "digest": DIGEST, "size_bytes": 2, "platform": "linux/amd64"}
    assert with_earlier(first, None) == first
    assert with_earlier(first, first) == first  # the same push again replaces nothing
    recorded = with_earlier(second, first)
    assert recorded["earlier"] == [{"image": OLD_IMAGE, "digest": OLD_DIGEST}]
    again = with_earlier(first, recorded)  # back to the first image: it is the last push, not an earlier one
    assert again["earlier"] == [{"image": IMAGE, "digest": DIGEST}]
    rebuilt = {**second, "digest": "sha256:" + "77" * 32}  # the same tag pushed with a new image
    assert with_earlier(rebuilt, recorded)["earlier"] == [
        {"image": OLD_IMAGE, "digest": OLD_DIGEST},
        {"image": IMAGE, "digest": DIGEST},
    ]
