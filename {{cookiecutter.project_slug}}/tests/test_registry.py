"""The image-lifetime check: a registry is asked whether it still holds a digest, as OCIR is.

The stand-in speaks the Docker Registry API v2 with OCIR's token challenge: a HEAD
of a manifest without a token gets 401 and a Bearer challenge; the token comes from
the realm, for the login's user and password (HTTP Basic); a HEAD with it gets 200 or
404. The template's own tests ask a real registry (Debian's docker-registry).
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from {{ cookiecutter.package_name }}_ops.registry import (
    RegistryError,
    check_image_exists,
    split_image,
)

DIGEST = "sha256:" + "a" * 64
TOKEN = "token-for-tests"


@dataclass
class StandIn:
    host: str
    asked: list[str] = field(default_factory=list)


@contextmanager
def registry_stand_in(
    holds: set[tuple[str, str]], credentials: tuple[str, str] | None = None
) -> Iterator[StandIn]:
    """A registry holding ``holds`` (repository, digest); its token needs ``credentials`` when given."""
    stand_in = StandIn("")

    class Registry(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # the token realm
            wanted = (
                "Basic " + base64.b64encode(":".join(credentials).encode()).decode() if credentials else None
            )
            if wanted and self.headers.get("Authorization") != wanted:
                self.answer(401, b"")
                return
            self.answer(200, json.dumps({"token": TOKEN}).encode())

        def do_HEAD(self) -> None:  # a manifest
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                realm = f'Bearer realm="http://{stand_in.host}/token",service="{stand_in.host}"'
                self.answer(401, b"", {"WWW-Authenticate": realm})
                return
            stand_in.asked.append(self.path)
            name, _, digest = self.path.removeprefix("/v2/").partition("/manifests/")
            self.answer(200 if (name, digest) in holds else 404, b"")

        def answer(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Registry)
    stand_in.host = f"127.0.0.1:{server.server_port}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield stand_in
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def login(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty podman auth file, as REGISTRY_AUTH_FILE; tests write their logins into it."""
    auth = tmp_path / "auth.json"
    auth.write_text(json.dumps({"auths": {}}))
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(auth))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "no-docker"))
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    return auth


def logged_in(auth: Path, host: str, user: str, password: str) -> None:
    secret = base64.b64encode(f"{user}:{password}".encode()).decode()
    auth.write_text(json.dumps({"auths": {host: {"auth": secret}}}))


def test_a_digest_the_registry_holds_passes_with_the_logins_token(login: Path) -> None:
    with registry_stand_in({("ns/repo", DIGEST)}, ("ns/jane", "secret")) as registry:
        logged_in(login, registry.host, "ns/jane", "secret")
        check_image_exists(f"{registry.host}/ns/repo:1.0.1", DIGEST)
    assert registry.asked == [f"/v2/ns/repo/manifests/{DIGEST}"]


def test_a_digest_no_longer_there_is_refused_saying_why_it_matters(login: Path) -> None:
    with registry_stand_in({("ns/repo", DIGEST)}) as registry:
        other = "sha256:" + "b" * 64
        with pytest.raises(RegistryError, match=r"is no longer in .*for as long as it lives"):
            check_image_exists(f"{registry.host}/ns/repo:1.0.0", other)


def test_without_a_login_the_refusal_says_to_log_in(login: Path) -> None:
    with (
        registry_stand_in({("ns/repo", DIGEST)}, ("ns/jane", "secret")) as registry,
        pytest.raises(RegistryError, match="make login"),
    ):
        check_image_exists(f"{registry.host}/ns/repo:1.0.0", DIGEST)


def test_an_unreachable_registry_is_one_clear_error(login: Path) -> None:
    with pytest.raises(RegistryError, match=r"could not ask 127\.0\.0\.1:9"):
        check_image_exists("127.0.0.1:9/ns/repo:1.0.0", DIGEST)


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("iad.ocir.io/ns/repo:1.0.0", ("iad.ocir.io", "ns/repo")),
        ("iad.ocir.io/ns/team/repo:1.0.0", ("iad.ocir.io", "ns/team/repo")),
        ("127.0.0.1:5000/ns/repo:1.0.0", ("127.0.0.1:5000", "ns/repo")),
        ("iad.ocir.io/ns/repo@" + DIGEST, ("iad.ocir.io", "ns/repo")),
        ("iad.ocir.io/ns/repo", ("iad.ocir.io", "ns/repo")),
    ],
)
def test_image_references_split_into_host_and_repository(image: str, expected: tuple[str, str]) -> None:
    assert split_image(image) == expected
