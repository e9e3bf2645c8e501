"""`make deploy`: the OCI SDK sends the deploy-config body, signed, to an endpoint that records it.

The endpoint is a loopback HTTP server standing in for OCI Data Science; the
API key is made for the test and thrown away.
"""

from __future__ import annotations

import hashlib
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
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from deploy_config import load_settings, request_bodies

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
def oci_config(tmp_path: Path) -> Path:
    """A ~/.oci/config profile with a throwaway API key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file = tmp_path / "key.pem"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    fingerprint = ":".join(f"{byte:02x}" for byte in hashlib.md5(public).digest())
    config = tmp_path / "config"
    config.write_text(
        "[TEST]\n"
        "user=ocid1.user.oc1..test\n"
        f"fingerprint={fingerprint}\n"
        f"key_file={key_file}\n"
        "tenancy=ocid1.tenancy.oc1..test\n"
        "region={{ cookiecutter.oci_region }}\n"
    )
    return config


@pytest.fixture
def bodies(tmp_path: Path) -> dict[str, Path]:
    settings = load_settings(PROJECT / "deploy" / "deployment.toml")
    settings["compartment_id"] = "ocid1.compartment.oc1..test"
    settings["project_id"] = "ocid1.datascienceproject.oc1.iad.test"
    settings["model_id"] = "ocid1.datasciencemodel.oc1.iad.test"
    settings["container"]["digest"] = "sha256:" + "0" * 64
    create, update = request_bodies(settings)
    paths = {"create": tmp_path / "create.json", "update": tmp_path / "update.json"}
    paths["create"].write_text(json.dumps(create))
    paths["update"].write_text(json.dumps(update))
    return paths


def deploy(oci_config: Path, endpoint: str, *arguments: str) -> subprocess.CompletedProcess:
    command = [
        sys.executable,
        "scripts/deploy.py",
        *arguments,
        "--config",
        str(oci_config),
        "--profile",
        "TEST",
    ]
    env = {**os.environ, "PYTHONPATH": "src", "OCI_DATA_SCIENCE_ENDPOINT": endpoint}
    return subprocess.run(command, cwd=PROJECT, capture_output=True, text=True, env=env, timeout=120)


def test_create_sends_the_config_body_signed(
    oci_config: Path, endpoint: tuple, bodies: dict[str, Path]
) -> None:
    url, recorder = endpoint
    result = deploy(oci_config, url, "create", "--body", str(bodies["create"]))
    assert result.returncode == 0, result.stderr
    assert f"create: {DEPLOYMENT_ID} is CREATING" in result.stdout
    (call,) = recorder.calls
    assert (call["method"], call["path"]) == ("POST", "/20190101/modelDeployments")
    assert json.loads(call["body"]) == json.loads(bodies["create"].read_text())
    signature = call["headers"]["authorization"]
    assert signature.startswith("Signature ") and 'algorithm="rsa-sha256"' in signature
    assert 'keyId="ocid1.tenancy.oc1..test/ocid1.user.oc1..test/' in signature


def test_update_sends_the_update_body(oci_config: Path, endpoint: tuple, bodies: dict[str, Path]) -> None:
    url, recorder = endpoint
    result = deploy(
        oci_config, url, "update", "--deployment-id", DEPLOYMENT_ID, "--body", str(bodies["update"])
    )
    assert result.returncode == 0, result.stderr
    put = recorder.calls[0]
    assert (put["method"], put["path"]) == ("PUT", f"/20190101/modelDeployments/{DEPLOYMENT_ID}")
    assert json.loads(put["body"]) == json.loads(bodies["update"].read_text())


def test_a_4xx_becomes_a_clear_message(oci_config: Path, endpoint: tuple, bodies: dict[str, Path]) -> None:
    url, recorder = endpoint
    recorder.error = (400, {"code": "InvalidParameter", "message": "serverPort 8446 is not allowed"})
    result = deploy(oci_config, url, "create", "--body", str(bodies["create"]))
    assert result.returncode == 1
    assert "OCI refused the create (400 InvalidParameter): serverPort 8446 is not allowed" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_endpoint_that_refuses_connections_is_one_line_after_a_bounded_retry(
    oci_config: Path, bodies: dict[str, Path]
) -> None:
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}"
    started = time.monotonic()
    result = deploy(oci_config, url, "create", "--body", str(bodies["create"]))
    assert time.monotonic() - started < 45
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"cannot create the deployment: {url} did not answer (")


def test_a_missing_profile_is_a_clear_message(
    oci_config: Path, endpoint: tuple, bodies: dict[str, Path]
) -> None:
    url, _ = endpoint
    oci_config.write_text("[OTHER]\nuser=x\n")
    result = deploy(oci_config, url, "create", "--body", str(bodies["create"]))
    assert result.returncode == 1 and "cannot create the deployment" in result.stderr
    assert "Traceback" not in result.stderr
