"""`make teardown` against a loopback stand-in for OCI that refuses what the real one refuses.

The stand-in answers the SDK's Data Science, Artifacts and Vulnerability Scanning requests,
records each call, and says 409 Conflict to a model deleted while its deployment lives, to a
debug job deleted while its run goes on and to a scan recipe deleted while its target lives;
a deployment, a job and a job run go through the states OCI shows.
The project's records are its real files under deploy/, put back after each test.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import oci
import pytest
from conftest import JsonStandIn
from oci.artifacts.models import ContainerImageCollection, ContainerImageSummary
from oci.data_science.models import Job, JobRun, JobRunSummary, ModelDeployment

from {{ cookiecutter.package_name }}_ops.cli import main
from {{ cookiecutter.package_name }}_ops.push_record import with_earlier
from {{ cookiecutter.package_name }}_ops.teardown import (
    CATALOG_MODEL_ID_FILE,
    DEBUG_JOB_RECORD,
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
COMPARTMENT_ID = "ocid1.compartment.oc1..teardown"
JOB_ID = "ocid1.datasciencejob.oc1.iad.teardown"
RUN_ID = "ocid1.datasciencejobrun.oc1.iad.teardown"
OLD_JOB_ID = "ocid1.datasciencejob.oc1.iad.earlier"  # an earlier debug run's job, its run ended
OLD_RUN_ID = "ocid1.datasciencejobrun.oc1.iad.earlier"
RUNS = {JOB_ID: RUN_ID, OLD_JOB_ID: OLD_RUN_ID}
RECORDS = (DEPLOYMENT_ID_FILE, DEBUG_JOB_RECORD, CATALOG_MODEL_ID_FILE, *PUSH_RECORDS, SCAN_RECORD)


class Oci(JsonStandIn):
    """Just enough of the three services, with their refusals."""

    script: dict[str, Any]

    def _error(self, status: int, code: str) -> None:
        self._send(status, {"code": code, "message": f"{self.command} {self.path}: {code}"})

    def _path(self) -> str:
        path = urlsplit(self.path).path
        self.script["calls"].append(f"{self.command} {path}")
        return path

    def _state(self, key: str = "states") -> str | None:
        states = self.script[key]
        return states.pop(0) if len(states) > 1 else (states[0] if states else None)

    def _run_state(self, job_id: str) -> str:
        return self.script["run_states"][-1] if job_id == JOB_ID else "SUCCEEDED"

    def _jobs(self, path: str) -> bool:
        """The debug jobs and their runs; False when ``path`` is none of theirs."""
        query = parse_qs(urlsplit(self.path).query)
        job_id = path.rsplit("/", 1)[-1]
        if self.command == "GET" and path == "/20190101/jobRuns":
            self.script["run_queries"].append(query)
            (job_id,) = query["jobId"]
            run = JobRunSummary(id=RUNS[job_id], job_id=job_id, lifecycle_state=self._run_state(job_id))
            self._send(200, [run] if job_id in self.script["jobs"] else [])
        elif self.command == "GET" and path == f"/20190101/jobRuns/{RUN_ID}":
            self._send(200, JobRun(id=RUN_ID, job_id=JOB_ID, lifecycle_state=self._state("run_states")))
        elif self.command == "POST" and path == f"/20190101/jobRuns/{RUN_ID}/actions/cancelJobRun":
            self.script["run_states"] = ["CANCELING"] if self.script["stuck"] else ["CANCELING", "CANCELED"]
            self._send(202)
        elif path.startswith("/20190101/jobs/") and job_id not in self.script["jobs"]:
            self._error(404, "NotAuthorizedOrNotFound")
        elif self.command == "GET" and path.startswith("/20190101/jobs/"):
            states = self.script["jobs"][job_id]
            self._send(200, Job(id=job_id, lifecycle_state=states.pop(0) if len(states) > 1 else states[0]))
        elif self.command == "DELETE" and path.startswith("/20190101/jobs/"):
            self.script["job_deletes"].append(query)
            if self._run_state(job_id) in ("SUCCEEDED", "FAILED", "CANCELED", "DELETED"):
                self.script["jobs"][job_id] = ["DELETING", "DELETED"]
                self._send(202)
            else:  # "The deletion fails when associated job runs are in progress"
                self._error(409, "Conflict")
        else:
            return False
        return True

    def do_GET(self) -> None:
        path = self._path()
        if self._jobs(path):
            return None
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
        if self._jobs(path):
            return None
        if path == f"/20190101/modelDeployments/{DEPLOYMENT_ID}/actions/deactivate":
            self.script["states"] = ["UPDATING", "INACTIVE"]
            return self._send(202)
        self._error(404, "NotAuthorizedOrNotFound")

    def do_DELETE(self) -> None:
        path = self._path()
        if self._jobs(path):
            return None
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


@pytest.fixture
def records() -> Iterator[None]:
    """Every teardown record written as `make deploy`, `debug-job`, `catalog`, `push` and
    `scan-setup` leave them."""
    saved = {path: path.read_bytes() for path in RECORDS if path.is_file()}
    DEPLOYMENT_ID_FILE.write_text(DEPLOYMENT_ID + "\n")
    earlier_job = {"job_id": OLD_JOB_ID, "compartment_id": COMPARTMENT_ID, "job_run_id": OLD_RUN_ID}
    job = {"job_id": JOB_ID, "compartment_id": COMPARTMENT_ID, "job_run_id": RUN_ID}
    DEBUG_JOB_RECORD.write_text(json.dumps({**job, "earlier": [earlier_job]}))
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
    def run(
        states: list[str], *options: str, jobs: bool = True, stuck: bool = False
    ) -> tuple[int, dict[str, Any]]:
        """``states``: the deployment's, from the first GET on (none: gone); ``jobs``: the debug
        jobs there, the last one's run going on; ``stuck``: that run never ends once canceled."""
        script: dict[str, Any] = {"calls": [], "image_queries": [], "states": list(states)}
        script |= {"run_queries": [], "job_deletes": [], "run_states": ["IN_PROGRESS"], "stuck": stuck}
        script["jobs"] = {JOB_ID: ["ACTIVE"], OLD_JOB_ID: ["ACTIVE"]} if jobs else {}
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
        "GET /20190101/jobRuns",  # the earlier debug job's: its run ended
        f"DELETE /20190101/jobs/{OLD_JOB_ID}",
        f"GET /20190101/jobs/{OLD_JOB_ID}",  # DELETING
        f"GET /20190101/jobs/{OLD_JOB_ID}",  # DELETED
        "GET /20190101/jobRuns",  # the last debug job's: its run goes on, canceled first
        f"POST /20190101/jobRuns/{RUN_ID}/actions/cancelJobRun",
        f"GET /20190101/jobRuns/{RUN_ID}",  # CANCELING
        f"GET /20190101/jobRuns/{RUN_ID}",  # CANCELED
        f"DELETE /20190101/jobs/{JOB_ID}",
        f"GET /20190101/jobs/{JOB_ID}",  # DELETING
        f"GET /20190101/jobs/{JOB_ID}",  # DELETED
        f"DELETE /20190101/models/{MODEL_ID}",
        "GET /20160918/container/images",  # the push the last one replaced
        f"DELETE /20160918/container/images/{OLD_IMAGE_ID}",
        "GET /20160918/container/images",
        f"DELETE /20160918/container/images/{IMAGE_ID}",
        f"DELETE /20210215/containerScanTargets/{TARGET_ID}",
        f"DELETE /20210215/containerScanRecipes/{RECIPE_ID}",
    ]
    assert [query["jobId"] for query in script["run_queries"]] == [[OLD_JOB_ID], [JOB_ID]]
    assert all(query["compartmentId"] == [COMPARTMENT_ID] for query in script["run_queries"])
    assert script["job_deletes"] == [{"deleteRelatedJobRuns": ["true"]}] * 2  # the job with its runs
    assert f"  debug job    {OLD_JOB_ID}  (deploy/debug-job.json)" in out
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
    assert f"DELETE /20190101/jobs/{OLD_JOB_ID}" in script["calls"]  # nor do the debug jobs


def test_a_debug_job_whose_run_will_not_stop_is_left_with_its_record(
    records: None, teardown: Callable[..., tuple[int, dict[str, Any]]], capsys: pytest.CaptureFixture[str]
) -> None:
    status, script = teardown(["ACTIVE"], "--yes", "--timeout", "0.2", "--interval", "0.05", stuck=True)
    err = capsys.readouterr().err
    assert status == 1
    assert f"debug job {JOB_ID}: job run still CANCELING after 0.2 s" in err
    assert f"DELETE /20190101/jobs/{JOB_ID}" not in script["calls"]  # OCI would refuse it
    assert json.loads(DEBUG_JOB_RECORD.read_text()) == {  # the earlier job is gone, and forgotten
        "job_id": JOB_ID,
        "compartment_id": COMPARTMENT_ID,
        "job_run_id": RUN_ID,
        "earlier": [],
    }
    assert not DEPLOYMENT_ID_FILE.exists() and not CATALOG_MODEL_ID_FILE.exists()


def test_things_already_gone_count_as_deleted(
    records: None, teardown: Callable[..., tuple[int, dict[str, Any]]], capsys: pytest.CaptureFixture[str]
) -> None:
    status, _ = teardown([], "--yes", jobs=False)  # the deployment and the debug jobs answer 404
    assert status == 0, capsys.readouterr()
    assert not any(path.exists() for path in RECORDS)


def test_teardown_asks_for_the_project_s_name(
    records: None, teardown: Callable[..., tuple[int, dict[str, Any]]], capsys: pytest.CaptureFixture[str]
) -> None:
    status, script = teardown(["ACTIVE"])  # stdin is not a terminal here: nothing is deleted
    assert status == 1 and "pass --yes (YES=1)" in capsys.readouterr().err
    assert not any(call.startswith(("DELETE", "POST")) for call in script["calls"])
    assert all(
        path.exists() for path in (DEPLOYMENT_ID_FILE, DEBUG_JOB_RECORD, CATALOG_MODEL_ID_FILE, SCAN_RECORD)
    )


def test_a_damaged_record_is_one_line_naming_it_before_anything_is_deleted(
    records: None, teardown: Callable[..., tuple[int, dict[str, Any]]], capsys: pytest.CaptureFixture[str]
) -> None:
    PUSH_RECORDS[0].write_text('{"image": "cut short')  # an editor's crash, a disk that filled up
    status, script = teardown(["ACTIVE"], "--yes")
    err = capsys.readouterr().err
    assert status == 2 and script["calls"] == []
    assert err.startswith(f"error: can't read {PUSH_RECORDS[0]}") and len(err.strip().splitlines()) == 1
    assert DEPLOYMENT_ID_FILE.is_file() and CATALOG_MODEL_ID_FILE.is_file()


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
