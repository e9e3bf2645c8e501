"""Fixtures: the template's own processing hooks, the trained sample models (iris, churn), loaded
scorers and test clients of the app."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import socket
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

import joblib
import oci
import pytest
import template_hooks
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
{%- if cookiecutter.framework == "fastapi" %}
from fastapi.testclient import TestClient
{%- endif %}

from {{ cookiecutter.package_name }} import processing
from {{ cookiecutter.package_name }}.app import create_app
from {{ cookiecutter.package_name }}.scorer import Scorer
from {{ cookiecutter.package_name }}.settings import Settings
from {{ cookiecutter.package_name }}_ops.project import DEPLOYMENT_ID_FILE
from {{ cookiecutter.package_name }}_ops.samples import train_sample

MODEL_FILE = "{{ cookiecutter.__model_file }}"
TENANCY = "ocid1.tenancy.oc1..test"
USER = "ocid1.user.oc1..test"


@dataclass
class ApiKey:
    """A throwaway OCI API key: the config profile (TEST) that signs with it, and what OCI knows of it."""

    config: Path
    key_id: str
    public_key: rsa.RSAPublicKey


class Call(NamedTuple):
    """One request a stand-in of an OCI API received: its headers' names in lower case."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class JsonStandIn(BaseHTTPRequestHandler):
    """A loopback stand-in of an OCI API: subclasses answer each request with ``_send``.

    ``start_stand_in`` gives the class ``script`` (what to answer) and ``serialize`` (the SDK's JSON form).
    """

    script: Any
    serialize: Callable[[Any], Any]
    answer_headers: ClassVar[dict[str, str]] = {}  # headers every answer carries, before the call's own

    def _send(self, status: int, answer: Any = None, headers: Mapping[str, str] | None = None) -> None:
        """Answers ``status`` with ``answer`` serialized as JSON (no body for None) and ``headers``."""
        payload = b"" if answer is None else json.dumps(self.serialize(answer)).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        for name, value in {**self.answer_headers, **(headers or {})}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":  # the answer to a HEAD is its headers only
            self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        """Quiet: what a stand-in was asked is in its script, not on stderr."""


def received(handler: BaseHTTPRequestHandler, limit: int = 10**7) -> Call:
    """The request ``handler`` is answering, read whole (a body over ``limit`` bytes is not read:
    a test gone wrong fills no memory)."""
    length = int(handler.headers.get("Content-Length") or 0)
    headers = {name.lower(): value for name, value in handler.headers.items()}
    body = handler.rfile.read(length) if 0 < length <= limit else b""
    return Call(handler.command, handler.path, headers, body)


def signed_by(api_key: ApiKey, call: Call, body_signed: bool = True) -> bool:
    """Whether the request carries an OCI signature (version 1, rsa-sha256) by ``api_key``; with
    ``body_signed``, of the body too (``x-content-sha256`` signed, and the body's)."""
    fields = dict(re.findall(r'(\w+)="([^"]*)"', call.headers.get("authorization", "")))
    names = fields.get("headers", "").split()
    needed = {"(request-target)", "x-content-sha256"} if body_signed else {"(request-target)"}
    if fields.get("keyId") != api_key.key_id or not needed <= set(names):
        return False
    headers = {**call.headers, "(request-target)": f"{call.method.lower()} {call.path}"}
    signed = "\n".join(f"{name}: {headers[name]}" for name in names).encode()
    try:
        signature = base64.b64decode(fields["signature"])
        api_key.public_key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, KeyError, ValueError):  # a bad signature, a header not sent, no signature
        return False
    digest = base64.b64encode(hashlib.sha256(call.body).digest()).decode()
    return not body_signed or headers["x-content-sha256"] == digest


def free_port() -> int:
    """A loopback port nothing listens on (for a server a test starts)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def write_private_key(path: Path) -> rsa.RSAPrivateKey:
    """A new RSA key, written as an unencrypted PEM file as the OCI config's key_file."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return key


@pytest.fixture
def api_key(tmp_path: Path) -> ApiKey:
    key_file = tmp_path / "key.pem"
    public = write_private_key(key_file).public_key()
    der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    fingerprint = ":".join(f"{byte:02x}" for byte in hashlib.md5(der).digest())
    config = tmp_path / "config"
    config.write_text(
        f"[TEST]\nuser={USER}\nfingerprint={fingerprint}\nkey_file={key_file}\n"
        f"tenancy={TENANCY}\nregion={{ cookiecutter.__oci_region }}\n"
    )
    return ApiKey(config, f"{TENANCY}/{USER}/{fingerprint}", public)


@pytest.fixture
def oci_config(api_key: ApiKey) -> Path:
    """A ~/.oci/config with a profile TEST that signs with a throwaway API key."""
    return api_key.config


@pytest.fixture
def start_stand_in(oci_config: Path) -> Iterator[Callable[..., str]]:
    """``start(handler, client_class, script)``: a loopback stand-in of an OCI API, its URL.

    The handler class gets ``script`` (what to answer) and ``serialize``, the JSON form that
    ``client_class`` of the SDK reads back; every stand-in stops after the test.
    """
    servers: list[ThreadingHTTPServer] = []

    def start(handler: type[JsonStandIn], client_class: type[Any], script: Any) -> str:
        client = client_class(oci.config.from_file(str(oci_config), "TEST"))
        attributes = {
            "script": script,
            "serialize": staticmethod(client.base_client.sanitize_for_serialization),
        }
        server = ThreadingHTTPServer(("127.0.0.1", 0), type("Handler", (handler,), attributes))
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def deployment_record() -> Iterator[Path]:
    """deploy/deployment-id.txt, absent when the test starts; the project's own is put back after it."""
    saved = DEPLOYMENT_ID_FILE.read_bytes() if DEPLOYMENT_ID_FILE.is_file() else None
    DEPLOYMENT_ID_FILE.unlink(missing_ok=True)
    yield DEPLOYMENT_ID_FILE
    DEPLOYMENT_ID_FILE.unlink(missing_ok=True)
    if saved is not None:
        DEPLOYMENT_ID_FILE.write_bytes(saved)


@pytest.fixture(scope="session", autouse=True)
def the_templates_hooks() -> Iterator[None]:
    """processing's hooks are the template's own (template_hooks.py) for the whole session, the
    samples it trains included: the tests check the machinery, whatever your processing.py holds
    (test_your_processing.py runs yours). A test that sets hooks of its own (monkeypatch) gets
    these back after it."""
    with pytest.MonkeyPatch.context() as patch:
        for name, hook in template_hooks.HOOKS.items():
            patch.setattr(processing, name, hook)
        yield


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("model_artifact")
    train_sample(folder, MODEL_FILE, sample_request=folder.parent / "sample_request.json")
    return folder


@pytest.fixture(scope="session")
def model(model_dir: Path) -> Any:
    return joblib.load(model_dir / MODEL_FILE)


@pytest.fixture(scope="session")
def churn_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The churn sample: a DataFrame pipeline with a text column and missing incomes."""
    folder = tmp_path_factory.mktemp("churn_artifact")
    train_sample(folder, MODEL_FILE, sample_request=folder.parent / "churn_request.json", sample="churn")
    return folder


@pytest.fixture(scope="session")
def churn_model(churn_dir: Path) -> Any:
    return joblib.load(churn_dir / MODEL_FILE)


@pytest.fixture(scope="session")
def sample_rows(model_dir: Path) -> list[list[float]]:
    return json.loads((model_dir.parent / "sample_request.json").read_text())["instances"]


@pytest.fixture
def settings(model_dir: Path) -> Settings:
    return Settings(model_dir=model_dir, model_file=MODEL_FILE)


@pytest.fixture
def scorer(settings: Settings) -> Scorer:
    loaded = Scorer(settings)
    loaded.load()
    assert loaded.ready, loaded.detail
    return loaded


class Reply(NamedTuple):
    status: int
    json: Any
    headers: Mapping[str, str]


class Client:
    """The framework's test client behind one small interface, so the tests are shared."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def get(self, path: str, headers: Mapping[str, str] | None = None) -> Reply:
        return self._reply(self.client.get(path, headers=dict(headers or {})))

    def post(
        self,
        path: str,
        body: bytes | None = None,
        *,
        json_body: Any = None,
        content_type: str | None = "application/json",
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        if json_body is not None:
            body = json.dumps(json_body).encode()
        all_headers = dict(headers or {})
        if content_type is not None:
            all_headers["Content-Type"] = content_type
        return self._reply(self.client.post(path, {{ "content" if cookiecutter.framework == "fastapi" else "data" }}=body or b"", headers=all_headers))

    @staticmethod
    def _reply(response: Any) -> Reply:
        content_type = response.headers.get("Content-Type", "")
        assert content_type.startswith("application/json"), f"not JSON: {content_type}"
        return Reply(response.status_code, json.loads(response.{{ "content" if cookiecutter.framework == "fastapi" else "data" }}), response.headers)


@pytest.fixture
def make_client() -> Iterator[Any]:
    """``make_client(settings, scorer)``: a client of a new app."""
{%- if cookiecutter.framework == "fastapi" %}
    opened: list[TestClient] = []

    def make(settings: Settings, scorer: Scorer) -> Client:
        client = TestClient(create_app(settings, scorer), raise_server_exceptions=False)
        opened.append(client.__enter__())  # runs the app's lifespan
        return Client(client)

    yield make
    for client in opened:
        client.__exit__(None, None, None)
{%- else %}

    def make(settings: Settings, scorer: Scorer) -> Client:
        return Client(create_app(settings, scorer).test_client())

    yield make
{%- endif %}


@pytest.fixture
def client(make_client: Any, settings: Settings, scorer: Scorer) -> Client:
    return make_client(settings, scorer)


@pytest.fixture
def serve(make_client: Any) -> Any:
    """``serve(model_dir, **settings)``: a client of an app whose scorer loaded that folder's model."""

    def make(model_dir: Path, **changes: Any) -> Client:
        settings = Settings(model_dir=model_dir, model_file=MODEL_FILE, **changes)
        loaded = Scorer(settings)
        loaded.load()
        return make_client(settings, loaded)

    return make
