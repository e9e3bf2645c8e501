"""`make deploy` and `make deploy-update`: the OCI SDK sends the bodies, signed, to an endpoint that records them.

The endpoint is a loopback HTTP server standing in for OCI Data Science; the
API key is made for the test and thrown away.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from baked_settings import AS_BAKED
from test_registry import registry_stand_in

from {{ cookiecutter.package_name }}_ops.deploy_config import (
    load_settings,
    request_bodies,
)

PROJECT = Path(__file__).resolve().parent.parent
DEPLOYMENT_ID = "ocid1.datasciencemodeldeployment.oc1.iad.test"


class Recorder(BaseHTTPRequestHandler):
    """Records each request; answers as OCI would, or with a canned error."""

    calls: list[dict[str, Any]]
    error: tuple[int, dict[str, str]] | None

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.calls.append(
            {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body}
        )
        status, answer = self.error or (200, {"id": DEPLOYMENT_ID, "lifecycleState": "CREATING"})
        if self.error is None and self.command == "PUT":
            status, answer = 202, {}
        payload = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("opc-request-id", "test-request")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_POST = do_PUT = do_GET = _answer

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def endpoint() -> Iterator[tuple[str, type[Recorder]]]:
    handler = type("Handler", (Recorder,), {"calls": [], "error": None})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", handler
    server.shutdown()


@pytest.fixture
def bodies(tmp_path: Path) -> dict[str, Path]:
    settings = load_settings(AS_BAKED)
    settings["compartment_id"] = "ocid1.compartment.oc1..test"
    settings["project_id"] = "ocid1.datascienceproject.oc1.iad.test"
    settings["model_id"] = "ocid1.datasciencemodel.oc1.iad.test"
    settings["container"]["image"] = "iad.ocir.io/mytenancy/my-model:1.0.0"
    settings["container"]["digest"] = "sha256:" + "0" * 64
    create, update = request_bodies(settings)
    paths = {"create": tmp_path / "create.json", "update": tmp_path / "update.json"}
    paths["create"].write_text(json.dumps(create))
    paths["update"].write_text(json.dumps(update))
    return paths


def deploy(oci_config: Path, endpoint: str, *arguments: str) -> subprocess.CompletedProcess:
    command = [
        sys.executable,
        "-m",
        "{{ cookiecutter.package_name }}_ops",
        *arguments,
        "--config",
        str(oci_config),
        "--profile",
        "TEST",
    ]
    env = {**os.environ, "OCI_DATA_SCIENCE_ENDPOINT": endpoint}
    return subprocess.run(command, cwd=PROJECT, capture_output=True, text=True, env=env, timeout=120)


def test_create_sends_the_config_body_signed_and_records_the_deployment(
    oci_config: Path, endpoint: tuple, bodies: dict[str, Path], deployment_record: Path
) -> None:
    url, recorder = endpoint
    result = deploy(oci_config, url, "deploy", "--body", str(bodies["create"]))
    assert result.returncode == 0, result.stderr
    assert f"deploy: {DEPLOYMENT_ID} is CREATING" in result.stdout
    assert deployment_record.read_text().strip() == DEPLOYMENT_ID
    (call,) = recorder.calls
    assert (call["method"], call["path"]) == ("POST", "/20190101/modelDeployments")
    assert json.loads(call["body"]) == json.loads(bodies["create"].read_text())
    signature = call["headers"]["authorization"]
    assert signature.startswith("Signature ") and 'algorithm="rsa-sha256"' in signature
    assert 'keyId="ocid1.tenancy.oc1..test/ocid1.user.oc1..test/' in signature


def pinned_in(bodies: dict[str, Path], image: str) -> Path:
    """The update body, pinning ``image`` with its digest."""
    body = json.loads(bodies["update"].read_text())
    body["modelDeploymentConfigurationDetails"]["environmentConfigurationDetails"]["image"] = image
    bodies["update"].write_text(json.dumps(body))
    return bodies["update"]


def test_update_sends_the_body_once_the_registry_holds_its_digest(
    oci_config: Path, endpoint: tuple, bodies: dict[str, Path]
) -> None:
    url, recorder = endpoint
    digest = "sha256:" + "0" * 64
    with registry_stand_in({("mytenancy/my-model", digest)}) as registry:
        body = pinned_in(bodies, f"{registry.host}/mytenancy/my-model:1.0.0")
        result = deploy(
            oci_config, url, "deploy-update", "--deployment-id", DEPLOYMENT_ID, "--body", str(body)
        )
    assert result.returncode == 0, result.stderr
    assert registry.asked == [f"/v2/mytenancy/my-model/manifests/{digest}"]
    put = recorder.calls[0]
    assert (put["method"], put["path"]) == ("PUT", f"/20190101/modelDeployments/{DEPLOYMENT_ID}")
    assert json.loads(put["body"]) == json.loads(body.read_text())


def test_update_sends_a_planned_body_as_it_is(oci_config: Path, endpoint: tuple, tmp_path: Path) -> None:
    """make update-plan, then make deploy-update BODY=deploy/update_plan.json: only the new image goes out."""
    url, recorder = endpoint
    digest = "sha256:" + "1" * 64
    with registry_stand_in({("mytenancy/my-model", digest)}) as registry:
        environment = {
            "environmentConfigurationType": "OCIR_CONTAINER",
            "image": f"{registry.host}/mytenancy/my-model:1.0.1",
            "imageDigest": digest,
        }
        plan = {
            "modelDeploymentConfigurationDetails": {
                "deploymentType": "SINGLE_MODEL",
                "environmentConfigurationDetails": environment,
            }
        }
        body = tmp_path / "update_plan.json"
        body.write_text(json.dumps(plan))
        result = deploy(
            oci_config, url, "deploy-update", "--deployment-id", DEPLOYMENT_ID, "--body", str(body)
        )
    assert result.returncode == 0, result.stderr
    put = recorder.calls[0]
    assert put["method"] == "PUT" and json.loads(put["body"]) == plan


def test_update_is_not_sent_when_the_registry_lost_the_digest(
    oci_config: Path, endpoint: tuple, bodies: dict[str, Path]
) -> None:
    url, recorder = endpoint
    with registry_stand_in(set()) as registry:
        body = pinned_in(bodies, f"{registry.host}/mytenancy/my-model:1.0.0")
        result = deploy(
            oci_config, url, "deploy-update", "--deployment-id", DEPLOYMENT_ID, "--body", str(body)
        )
    assert result.returncode == 1
    assert "not sent: mytenancy/my-model@sha256:" in result.stderr
    assert "for as long as it lives" in result.stderr
    assert recorder.calls == []


def test_update_without_a_deployment_says_how_to_get_one(
    oci_config: Path, endpoint: tuple, bodies: dict[str, Path], deployment_record: Path
) -> None:
    url, recorder = endpoint
    result = deploy(
        oci_config, url, "deploy-update", "--body", str(bodies["update"]), "--skip-registry-check"
    )
    assert result.returncode == 1
    assert "no deployment to update: give --deployment-id, or `make deploy`" in result.stderr
    assert recorder.calls == []


def test_a_4xx_becomes_a_clear_message(oci_config: Path, endpoint: tuple, bodies: dict[str, Path]) -> None:
    url, recorder = endpoint
    recorder.error = (400, {"code": "InvalidParameter", "message": "serverPort 8446 is not allowed"})
    result = deploy(oci_config, url, "deploy", "--body", str(bodies["create"]))
    assert result.returncode == 1
    assert (
        "OCI refused to create the deployment (400 InvalidParameter): serverPort 8446 is not allowed"
        in result.stderr
    )
    assert "Traceback" not in result.stderr


def test_an_endpoint_that_refuses_connections_is_one_line_after_a_bounded_retry(
    oci_config: Path, bodies: dict[str, Path]
) -> None:
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}"
    started = time.monotonic()
    result = deploy(oci_config, url, "deploy", "--body", str(bodies["create"]))
    assert time.monotonic() - started < 45
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"cannot create the deployment: {url} did not answer (")


def test_a_missing_profile_is_a_clear_message(
    oci_config: Path, endpoint: tuple, bodies: dict[str, Path]
) -> None:
    url, _ = endpoint
    oci_config.write_text("[OTHER]\nuser=x\n")
    result = deploy(oci_config, url, "deploy", "--body", str(bodies["create"]))
    assert result.returncode == 1 and "cannot create the deployment" in result.stderr
    assert "Traceback" not in result.stderr
