"""`make status / activate / deactivate / delete` against a stand-in for OCI Data Science.

The stand-in is a loopback HTTP server that answers the SDK's requests with the
SDK's own models (serialized as the SDK sends and reads them), in a scripted
order of states, and records each call. The API key is made for the test and
thrown away.
"""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import oci
import pytest
from baked_settings import AS_BAKED
from conftest import JsonStandIn
from oci.data_science import models

PROJECT = Path(__file__).resolve().parent.parent
DEPLOYMENT_ID = "ocid1.datasciencemodeldeployment.oc1.iad.lifecycle"
OTHER_ID = "ocid1.datasciencemodeldeployment.oc1.iad.other"
COMPARTMENT_ID = "ocid1.compartment.oc1..lifecycle"
NAME = "scorer-prod"
IMAGE = "iad.ocir.io/mytenancy/scorer:1.0.0"
DIGEST = "sha256:" + "ab" * 32
URL = f"https://modeldeployment.us-ashburn-1.oci.customer-oci.com/{DEPLOYMENT_ID}"
PATH = f"/20190101/modelDeployments/{DEPLOYMENT_ID}"
SHAPE = "VM.Standard.E4.Flex (1 OCPU, 16 GB), 2 instances"


def deployment(state: str, environment: dict[str, str] | None = None) -> models.ModelDeployment:
    """A BYOC deployment as GetModelDeployment answers it, with ``environment``'s variables."""
    return models.ModelDeployment(
        id=DEPLOYMENT_ID,
        display_name=NAME,
        compartment_id=COMPARTMENT_ID,
        project_id="ocid1.datascienceproject.oc1.iad.lifecycle",
        lifecycle_state=state,
        time_created=datetime(2025, 1, 1, tzinfo=UTC),
        model_deployment_url=URL,
        model_deployment_configuration_details=models.SingleModelDeploymentConfigurationDetails(
            model_configuration_details=models.ModelConfigurationDetails(
                model_id="ocid1.datasciencemodel.oc1.iad.lifecycle",
                instance_configuration=models.InstanceConfiguration(
                    instance_shape_name="VM.Standard.E4.Flex",
                    model_deployment_instance_shape_config_details=models.ModelDeploymentInstanceShapeConfigDetails(
                        ocpus=1.0, memory_in_gbs=16.0
                    ),
                ),
                scaling_policy=models.FixedSizeScalingPolicy(instance_count=2),
            ),
            environment_configuration_details=models.OcirModelDeploymentEnvironmentConfigurationDetails(
                image=IMAGE,
                image_digest=DIGEST,
                server_port=8080,
                health_check_port=8080,
                environment_variables=environment,
            ),
        ),
    )


def work_request(identifier: str, status: str, operation: str, day: int) -> models.WorkRequestSummary:
    return models.WorkRequestSummary(
        id=f"ocid1.datascienceworkrequest.oc1.iad.{operation.lower()}{day}",
        operation_type=operation,
        status=status,
        compartment_id=COMPARTMENT_ID,
        percent_complete=100.0,
        resources=[
            models.WorkRequestResource(
                entity_type="modelDeployment", action_type="UPDATED", identifier=identifier
            )
        ],
        time_accepted=datetime(2025, 1, day, tzinfo=UTC),
    )


@dataclass
class Script:
    """What the stand-in answers, and what it was asked."""

    states: list[str]  # GetModelDeployment answers these in turn, then repeats the last
    work_requests: list[models.WorkRequestSummary] = field(default_factory=list)
    errors: dict[str, list[models.WorkRequestError]] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)
    queries: list[dict[str, list[str]]] = field(default_factory=list)
    environment: dict[str, str] | None = None  # the deployment's environment variables

    def next_state(self) -> str:
        return self.states.pop(0) if len(self.states) > 1 else self.states[0]

    def methods(self) -> list[str]:
        return [f"{method} {path}" for method, path in self.calls]


class StandIn(JsonStandIn):
    script: Script
    answer_headers: ClassVar[dict[str, str]] = {"opc-request-id": "test-request"}

    def _not_found(self, path: str) -> None:
        self._send(404, {"code": "NotAuthorizedOrNotFound", "message": f"{path} not found"})

    def _record(self) -> tuple[str, list[str]]:
        url = urlsplit(self.path)
        self.script.calls.append((self.command, url.path))
        self.script.queries.append(parse_qs(url.query))
        return url.path, url.path.split("/")[2:]  # after /20190101

    def do_GET(self) -> None:
        path, parts = self._record()
        if path == PATH:
            self._send(200, deployment(self.script.next_state(), self.script.environment))
        elif parts == ["workRequests"]:
            self._send(200, self.script.work_requests)
        elif len(parts) == 3 and parts[0] == "workRequests" and parts[2] == "errors":
            self._send(200, self.script.errors.get(parts[1], []))
        else:
            self._not_found(path)

    def do_POST(self) -> None:
        path, parts = self._record()
        if path.startswith(PATH + "/actions/"):
            self._send(
                202, headers={"opc-work-request-id": f"ocid1.datascienceworkrequest.oc1.iad.{parts[-1]}"}
            )
        else:
            self._not_found(path)

    def do_DELETE(self) -> None:
        path, _ = self._record()
        if path == PATH:
            self._send(202, headers={"opc-work-request-id": "ocid1.datascienceworkrequest.oc1.iad.delete"})
        else:
            self._not_found(path)


@pytest.fixture
def serve(start_stand_in: Callable[..., str]) -> Callable[[Script], str]:
    """Starts a stand-in that plays a script; gives its URL."""
    return lambda script: start_stand_in(StandIn, oci.data_science.DataScienceClient, script)


def ops(oci_config: Path, endpoint: str, *arguments: str, stdin: Any = None) -> subprocess.CompletedProcess:
    command = [
        sys.executable,
        "-m",
        "{{ cookiecutter.package_name }}_ops",
        *arguments,
    ]
    command += ["--config", str(oci_config), "--profile", "TEST", "--auth", "api_key"]
    env = {**os.environ, "OCI_DATA_SCIENCE_ENDPOINT": endpoint}
    stdin = subprocess.DEVNULL if stdin is None else stdin
    return subprocess.run(
        command, cwd=PROJECT, capture_output=True, text=True, env=env, timeout=60, stdin=stdin
    )


def typed(oci_config: Path, endpoint: str, answer: str, *arguments: str) -> subprocess.CompletedProcess:
    """Runs the command with a terminal as stdin, on which ``answer`` was typed."""
    typist, terminal = pty.openpty()
    try:
        os.write(typist, answer.encode() + b"\n")
        return ops(oci_config, endpoint, *arguments, stdin=terminal)
    finally:
        os.close(terminal)
        os.close(typist)


def test_status_prints_state_url_image_and_shape(oci_config: Path, serve: Callable, tmp_path: Path) -> None:
    script = Script(["ACTIVE"])
    saved = tmp_path / "deployment.json"
    result = ops(oci_config, serve(script), "status", "--deployment-id", DEPLOYMENT_ID, "--json", str(saved))
    assert result.returncode == 0, result.stderr
    assert f"{NAME}: ACTIVE" in result.stdout
    assert f"{URL}/predict" in result.stdout
    assert IMAGE in result.stdout and DIGEST in result.stdout
    assert SHAPE in result.stdout
    assert script.methods() == [f"GET {PATH}"]
    document = json.loads(saved.read_text())
    assert document["lifecycleState"] == "ACTIVE" and document["displayName"] == NAME
    environment = document["modelDeploymentConfigurationDetails"]["environmentConfigurationDetails"]
    assert environment == {
        "environmentConfigurationType": "OCIR_CONTAINER",
        "image": IMAGE,
        "imageDigest": DIGEST,
        "serverPort": 8080,
        "healthCheckPort": 8080,
    }


def test_wait_polls_until_active(oci_config: Path, serve: Callable) -> None:
    script = Script(["UPDATING", "UPDATING", "UPDATING", "ACTIVE"])
    arguments = ("--deployment-id", DEPLOYMENT_ID, "--wait", "--interval", "0.1")
    result = ops(oci_config, serve(script), "status", *arguments)
    assert result.returncode == 0, result.stderr
    assert len(re.findall(r"^  UPDATING after \d+ s$", result.stdout, re.MULTILINE)) == 2
    assert re.search(r"^ACTIVE after \d+ s$", result.stdout, re.MULTILINE)
    assert result.stdout.rstrip().endswith(f"shape    {SHAPE}")
    assert script.methods() == [f"GET {PATH}"] * 4


def test_wait_gives_up_at_the_timeout(oci_config: Path, serve: Callable) -> None:
    arguments = ("--deployment-id", DEPLOYMENT_ID, "--wait", "--interval", "0.1", "--timeout", "0.35")
    result = ops(oci_config, serve(Script(["CREATING"])), "status", *arguments)
    assert result.returncode == 1
    assert "still CREATING after 0.35 s" in result.stderr


def test_failed_prints_the_latest_work_request_errors(oci_config: Path, serve: Callable) -> None:
    failed = work_request(DEPLOYMENT_ID, "FAILED", "MODEL_DEPLOYMENT_CREATE", 3)
    script = Script(
        ["CREATING", "FAILED"],
        work_requests=[  # newest first, as asked; the stand-in does not filter, the command must
            work_request(OTHER_ID, "FAILED", "MODEL_DEPLOYMENT_UPDATE", 4),
            failed,
            work_request(DEPLOYMENT_ID, "SUCCEEDED", "MODEL_DEPLOYMENT_CREATE", 2),
        ],
        errors={
            failed.id: [
                models.WorkRequestError(code="InternalError", message="image pull failed: manifest unknown"),
                models.WorkRequestError(code="InternalError", message="health check did not pass"),
            ]
        },
    )
    arguments = ("--deployment-id", DEPLOYMENT_ID, "--wait", "--interval", "0.1")
    arguments += ("--settings", str(AS_BAKED))  # what FAILED explains the errors with: not the user's
    result = ops(oci_config, serve(script), "status", *arguments)
    assert result.returncode == 1
    assert re.search(r"^FAILED after \d+ s$", result.stdout, re.MULTILINE)
    assert f"work request {failed.id}: MODEL_DEPLOYMENT_CREATE FAILED" in result.stderr
    assert "  InternalError: image pull failed: manifest unknown" in result.stderr
    assert "  InternalError: health check did not pass" in result.stderr
    assert "Traceback" not in result.stderr
    listed = script.queries[script.calls.index(("GET", "/20190101/workRequests"))]
    assert listed["compartmentId"] == [COMPARTMENT_ID] and listed["resourceId"] == [DEPLOYMENT_ID]
    assert script.calls[-1] == ("GET", f"/20190101/workRequests/{failed.id}/errors")


def test_failed_is_explained_with_the_deployed_settings_the_local_evidence_and_the_fix(
    oci_config: Path, serve: Callable, tmp_path: Path
) -> None:
    failed = work_request(DEPLOYMENT_ID, "FAILED", "MODEL_DEPLOYMENT_CREATE", 3)
    script = Script(
        ["FAILED"],
        work_requests=[failed],
        errors={
            failed.id: [
                models.WorkRequestError(
                    code="InternalError", message="Workflow timed out. Maximum runtime was: 10 minutes"
                ),
                models.WorkRequestError(
                    code="InternalError", message="Errors occurred while bootstrapping the Model Deployment"
                ),
            ]
        },
        environment={"WORKERS": "4", "MODEL_DEPLOY_HEALTH_ENDPOINT": "/v1/health"},
    )
    # The file says 4 OCPUs, 2 workers and a 500 GB volume; the deployment runs on 1 OCPU with 4
    # workers and no STORAGE_SIZE_IN_GB: the explanation weighs what was deployed.
    settings = tmp_path / "deployment.toml"
    settings.write_text(
        'region = "us-ashburn-1"\n[instances]\nshape = "VM.Standard.E4.Flex"\nocpus = 4\n'
        '[container.environment]\nWORKERS = "2"\nSTORAGE_SIZE_IN_GB = "500"\n'
        '[logging]\npredict_log_id = "ocid1.log.oc1.iad.predict"\n'
    )
    records = tmp_path / "dist"
    records.mkdir()
    start = {"source": "make run", "healthy_seconds": 420, "load_seconds": 380.5, "workers": 2, "cpus": 8}
    (records / "start-time.json").write_text(json.dumps(start))
    sizes = {"artifact": "model.zip", "zip_bytes": 1 << 30, "unpacked_bytes": 30 << 30}
    (records / "model.zip.json").write_text(json.dumps(sizes))  # make artifact ARTIFACT=dist/model.zip
    arguments = ("--deployment-id", DEPLOYMENT_ID, "--settings", str(settings), "--records", str(records))
    result = ops(oci_config, serve(script), "status", *arguments, "--sizes", str(records / "model.zip.json"))
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    explained = lines[lines.index("what it likely means (docs/troubleshooting.md):") :]
    assert explained == [
        "what it likely means (docs/troubleshooting.md):",
        '"Workflow timed out" (10 minutes): the container was not healthy in time',
        "  start time: make run was healthy after 420 s (model load 380.5 s, 2 workers) on 8 CPUs; on the shape: "
        "420 s here (2 workers loading on 8 CPUs: 1.00 CPU each); VM.Standard.E4.Flex with 1 OCPU = 2 vCPUs, "
        "4 workers: 0.50 vCPU each; 420 x 1.00 / 0.50 = 840 s",
        '  fix: set DEPLOYMENT_TIMEOUT_IN_MINUTES = "28" (ceil(840 s x 2 / 60) = 28; at most 240) in '
        "[container.environment] of deploy/deployment.toml",
        '"Errors occurred while bootstrapping": the artifact did not fit once unzipped, or the container never answered',
        "  storage: model.zip zips to 1.00 GB and unpacks to 30.00 GB (30.0x); OCI holds both while it "
        "unzips: 31.00 GB, against half of the volume (50 GB assumed (Oracle documents no default)); "
        'set STORAGE_SIZE_IN_GB = "62" (ceil(31.00 GB x 2)) in [container.environment] of deploy/deployment.toml',
        "  endpoints: MODEL_DEPLOY_HEALTH_ENDPOINT=/v1/health: the scorer serves it besides /health (set on the "
        "deployment, not by deploy/deployment.toml: an image of before this setting answers 404 there)",
        "where to look next:",
        "  `make logs-remote SINCE=1h`: what the container wrote (the predict log of [logging]; OCI collects it "
        "minutes late)",
        "  `make debug-job`: a container that never becomes healthy runs as a job, and its output lands in the "
        "run's log",
    ]


@pytest.mark.parametrize("action", ["activate", "deactivate"])
def test_activate_and_deactivate_send_their_action(oci_config: Path, serve: Callable, action: str) -> None:
    script = Script(["ACTIVE" if action == "deactivate" else "INACTIVE"])
    extra = ["--yes"] if action == "deactivate" else []
    result = ops(oci_config, serve(script), action, "--deployment-id", DEPLOYMENT_ID, *extra)
    assert result.returncode == 0, result.stderr
    assert ("POST", f"{PATH}/actions/{action}") in script.calls
    assert f"work request ocid1.datascienceworkrequest.oc1.iad.{action}" in result.stdout
    assert f"make status DEPLOYMENT_ID={DEPLOYMENT_ID}" in result.stdout


def test_deactivate_asks_for_the_name(oci_config: Path, serve: Callable) -> None:
    script = Script(["ACTIVE"])
    result = typed(oci_config, serve(script), NAME, "deactivate", "--deployment-id", DEPLOYMENT_ID)
    assert result.returncode == 0, result.stderr
    assert script.methods() == [f"GET {PATH}", f"POST {PATH}/actions/deactivate"]


def test_delete_refuses_without_a_terminal(oci_config: Path, serve: Callable) -> None:
    script = Script(["ACTIVE"])
    result = ops(oci_config, serve(script), "delete", "--deployment-id", DEPLOYMENT_ID)
    assert result.returncode == 1
    assert "stdin is not a terminal; pass --yes" in result.stderr
    assert script.calls == []


def test_delete_with_the_typed_name_forgets_the_record(
    oci_config: Path, serve: Callable, deployment_record: Path
) -> None:
    deployment_record.write_text(DEPLOYMENT_ID + "\n")
    script = Script(["ACTIVE"])
    result = typed(oci_config, serve(script), NAME, "delete")
    assert result.returncode == 0, result.stderr
    assert f"{NAME} ({DEPLOYMENT_ID})" in result.stdout
    assert script.methods() == [f"GET {PATH}", f"DELETE {PATH}"]
    assert not deployment_record.exists()


def test_delete_keeps_a_record_of_another_deployment(
    oci_config: Path, serve: Callable, deployment_record: Path
) -> None:
    deployment_record.write_text(OTHER_ID + "\n")
    result = ops(oci_config, serve(Script(["ACTIVE"])), "delete", "--deployment-id", DEPLOYMENT_ID, "--yes")
    assert result.returncode == 0, result.stderr
    assert deployment_record.read_text() == OTHER_ID + "\n"


def test_delete_with_a_wrong_name_sends_nothing(oci_config: Path, serve: Callable) -> None:
    script = Script(["ACTIVE"])
    result = typed(oci_config, serve(script), "scorer-dev", "delete", "--deployment-id", DEPLOYMENT_ID)
    assert result.returncode == 1
    assert f"not deleted: the name typed was not {NAME!r}" in result.stderr
    assert script.methods() == [f"GET {PATH}"]


def test_no_deployment_id_is_a_clear_message(
    oci_config: Path, serve: Callable, deployment_record: Path
) -> None:
    deployment_record.unlink(missing_ok=True)
    script = Script(["ACTIVE"])
    result = ops(oci_config, serve(script), "status")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "no deployment given: give --deployment-id, or run `make deploy`, "
        "which records it in deploy/deployment-id.txt"
    )
    assert script.calls == []


def test_an_unknown_deployment_is_one_line(oci_config: Path, serve: Callable) -> None:
    result = ops(oci_config, serve(Script(["ACTIVE"])), "status", "--deployment-id", "ocid1.unknown")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "OCI refused to get the deployment (404 NotAuthorizedOrNotFound): "
        "/20190101/modelDeployments/ocid1.unknown not found"
    ]
