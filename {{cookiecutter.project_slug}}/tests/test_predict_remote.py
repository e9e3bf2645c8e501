"""`make predict-remote`: the sample request goes to the deployment's /predict, signed as OCI checks it.

The deployment (and Data Science, which gives its URL) is a loopback HTTP server
that verifies each request's OCI signature with the public half of an API key made
for the test, and answers 401 to a request the key did not sign.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from email.message import Message
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from conftest import ApiKey, write_private_key
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
{%- if cookiecutter.server == "triton" %}

from {{ cookiecutter.package_name }}_ops.triton_client import request_body
from {{ cookiecutter.package_name }}_ops.triton_repository import (
    MODEL_NAME,
    read_config,
    write_repository,
)
{%- endif %}

MODEL_FILE = "{{ cookiecutter.__model_file }}"
PROJECT = Path(__file__).resolve().parent.parent
DEPLOYMENT_ID = "ocid1.datasciencemodeldeployment.oc1.iad.test"
PREDICTION = {"prediction": ["setosa"]}
SERVER_REQUEST_ID = "STANDIN/REQUEST/ID"
# The headers OCI wants signed on every request, and on those with a body.
SIGNED = {"date", "(request-target)", "host"}
SIGNED_BODY = {"content-length", "content-type", "x-content-sha256"}


def signature_problem(api_key: ApiKey, method: str, path: str, headers: Message, body: bytes) -> str | None:
    """None when the request carries a good OCI signature by the key, else what is wrong with it."""
    authorization = headers.get("authorization", "")
    if not authorization.startswith("Signature "):
        return "the request is not signed"
    fields = dict(re.findall(r'(\w+)="([^"]*)"', authorization))
    if (fields.get("version"), fields.get("algorithm")) != ("1", "rsa-sha256"):
        return f"not a version 1 rsa-sha256 signature: {authorization}"
    if fields.get("keyId") != api_key.key_id:
        return f"unknown keyId {fields.get('keyId')}"
    names = fields.get("headers", "").split()
    missing = (SIGNED | (SIGNED_BODY if method in ("POST", "PUT") else set())) - set(names)
    if missing:
        return f"headers left out of the signature: {sorted(missing)}"
    if "x-content-sha256" in names:
        digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
        if headers.get("x-content-sha256") != digest:
            return "x-content-sha256 is not the body's"
    if "content-length" in names and headers.get("content-length") != str(len(body)):
        return "content-length is not the body's"
    if abs(time.time() - parsedate_to_datetime(headers.get("date", "")).timestamp()) > 300:
        return "the date is more than 5 minutes off"
    lines = []
    for name in names:
        value = f"{method.lower()} {path}" if name == "(request-target)" else headers.get(name)
        if value is None:
            return f"signed header {name} was not sent"
        lines.append(f"{name}: {value}")
    try:
        api_key.public_key.verify(
            base64.b64decode(fields.get("signature", "")),
            "\n".join(lines).encode(),
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
    except (InvalidSignature, ValueError):
        return "the signature does not match the key"
    return None


class Deployment(BaseHTTPRequestHandler):
    """The model deployment at /predict and /<id>/predict, and Data Science's GetModelDeployment."""

    api_key: ApiKey
    base_url: str
    calls: list[dict[str, Any]]

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        problem = signature_problem(self.api_key, self.command, self.path, self.headers, body)
        self.calls.append({"method": self.command, "path": self.path, "headers": self.headers, "body": body})
        status, answer = 404, {"code": "NotAuthorizedOrNotFound", "message": f"{self.path} is not here"}
        if problem:
            status, answer = 401, {"code": "NotAuthenticated", "message": problem}
        elif self.command == "POST" and self.path in ("/predict", f"/{DEPLOYMENT_ID}/predict"):
            status, answer = 200, PREDICTION
        elif self.command == "GET" and self.path == f"/20190101/modelDeployments/{DEPLOYMENT_ID}":
            url = f"{self.base_url}/{DEPLOYMENT_ID}"
            status, answer = 200, {"id": DEPLOYMENT_ID, "lifecycleState": "ACTIVE", "modelDeploymentUrl": url}
        payload = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("opc-request-id", SERVER_REQUEST_ID)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = _answer

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def deployment(api_key: ApiKey) -> Iterator[tuple[str, type[Deployment]]]:
    handler = type("Handler", (Deployment,), {"api_key": api_key, "calls": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    handler.base_url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield handler.base_url, handler
    server.shutdown()


@pytest.fixture
def request_file(tmp_path: Path) -> Path:
    path = tmp_path / "sample_request.json"
    path.write_text(json.dumps({"instances": [[5.1, 3.5, 1.4, 0.2]], "note": "caf\u00e9"}, indent=1))
    return path


def predict_remote(api_key: ApiKey, *arguments: str) -> subprocess.CompletedProcess:
    command = [
        sys.executable,
        "-m",
        "{{ cookiecutter.package_name }}_ops",
        "predict-remote",
        *arguments,
    ]
    command += ["--config", str(api_key.config), "--profile", "TEST", "--auth", "api_key"]
    env = {**os.environ, "PYTHONPATH": "src", "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}
    return subprocess.run(command, cwd=PROJECT, capture_output=True, text=True, env=env, timeout=120)


def test_the_signed_request_gets_the_answer_and_its_request_id(
    api_key: ApiKey, deployment: tuple[str, type[Deployment]], request_file: Path
) -> None:
    url, recorder = deployment
    result = predict_remote(api_key, "--url", url, "--request", str(request_file))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == PREDICTION
    assert f"opc-request-id: {SERVER_REQUEST_ID}" in result.stderr
    (call,) = recorder.calls
    assert (call["method"], call["path"]) == ("POST", "/predict")
    assert call["body"] == request_file.read_bytes()
    assert call["headers"]["content-type"] == "application/json"
    assert re.fullmatch(r"[0-9A-F]{32}", call["headers"]["opc-request-id"])


def test_a_request_signed_by_another_key_is_refused_in_one_clear_message(
    api_key: ApiKey, deployment: tuple[str, type[Deployment]], request_file: Path, tmp_path: Path
) -> None:
    url, recorder = deployment
    other_key = tmp_path / "other.pem"
    write_private_key(other_key)
    config = api_key.config.read_text()
    api_key.config.write_text(re.sub(r"key_file=.*", f"key_file={other_key}", config))
    result = predict_remote(api_key, "--url", url, "--request", str(request_file))
    assert result.returncode == 1
    assert result.stdout == ""
    assert f"{url}/predict answered 401 Unauthorized: " in result.stderr
    assert "the signature does not match the key" in result.stderr
    assert f"opc-request-id: {SERVER_REQUEST_ID}" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(recorder.calls) == 1


def test_without_a_url_the_deployment_gives_it(
    api_key: ApiKey, deployment: tuple[str, type[Deployment]], request_file: Path
) -> None:
    url, recorder = deployment
    arguments = ["--deployment-id", DEPLOYMENT_ID, "--endpoint", url, "--request", str(request_file)]
    result = predict_remote(api_key, *arguments)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == PREDICTION
    assert [(call["method"], call["path"]) for call in recorder.calls] == [
        ("GET", f"/20190101/modelDeployments/{DEPLOYMENT_ID}"),
        ("POST", f"/{DEPLOYMENT_ID}/predict"),
    ]
    assert recorder.calls[1]["body"] == request_file.read_bytes()


def test_a_missing_request_file_says_to_train(
    api_key: ApiKey, deployment: tuple[str, type[Deployment]], tmp_path: Path
) -> None:
    url, recorder = deployment
    result = predict_remote(api_key, "--url", url, "--request", str(tmp_path / "sample_request.json"))
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert "sample_request.json is missing" in line and "`make train`" in line
    assert recorder.calls == []


def test_a_deployment_that_refuses_connections_is_one_line(api_key: ApiKey, request_file: Path) -> None:
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}"
    result = predict_remote(api_key, "--url", url, "--request", str(request_file))
    assert result.returncode == 1
    (posted, line) = result.stderr.strip().splitlines()
    assert posted == f"POST {url}/predict"
    assert line.startswith(f"cannot call {url}/predict: NewConnectionError")
{%- if cookiecutter.server == "triton" %}


def test_a_triton_deployment_gets_the_rows_as_its_models_kserve_v2_body(
    api_key: ApiKey, deployment: tuple[str, type[Deployment]], request_file: Path, model_dir: Path
) -> None:
    """make predict-remote in a Triton project (--triton, the model repository): the rows as the
    KServe-v2 body of the repository's model, as triton-predict sends them, with the headers by
    which OCI's Triton endpoint finds the model."""
    repository = request_file.parent / "model_repository"
    url, recorder = deployment
    arguments = ["--url", url, "--request", str(request_file), "--triton", str(repository)]
    missing = predict_remote(api_key, *arguments)  # before make train wrote the repository
    assert missing.returncode == 1 and recorder.calls == []
    (line,) = missing.stderr.strip().splitlines()
    config_file = repository / MODEL_NAME / "config.pbtxt"
    assert line.startswith(f"{config_file} is missing: run `make train`")
    config_file.parent.mkdir(parents=True)
    config_file.write_text("input [ {")  # cut short
    damaged = predict_remote(api_key, *arguments)
    assert damaged.returncode == 1 and recorder.calls == []
    (line,) = damaged.stderr.strip().splitlines()
    assert line.startswith(f"{config_file} is not a Triton model configuration: ")

    write_repository(model_dir / MODEL_FILE, repository)
    result = predict_remote(api_key, *arguments)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == PREDICTION
    (call,) = recorder.calls
    config = read_config(repository / MODEL_NAME / "config.pbtxt")
    assert json.loads(call["body"]) == request_body(config, json.loads(request_file.read_text()))
    assert json.loads(call["body"])["inputs"][0]["shape"] == [1, 4]
    assert (call["headers"]["model_name"], call["headers"]["model_version"]) == (MODEL_NAME, "1")

    request_file.write_text(json.dumps({"instances": [[5.1, 3.5]]}))  # rows the model can't take
    refused = predict_remote(api_key, *arguments)
    assert refused.returncode == 1 and len(recorder.calls) == 1
    assert f"{request_file} does not fit the model's inputs" in refused.stderr
{%- endif %}
