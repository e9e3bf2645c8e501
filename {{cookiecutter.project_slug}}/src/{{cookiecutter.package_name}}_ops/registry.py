"""Ask a container registry whether it still holds an image digest (the Docker Registry HTTP API v2).

A deployment pulls its image by digest whenever it starts an instance (a restart,
scaling out, an update): the tag and digest must stay in OCIR for as long as the
deployment lives. ``make deploy-update`` asks here before it sends an update.

Credentials are those of ``make login``: podman's auth.json (REGISTRY_AUTH_FILE,
$XDG_RUNTIME_DIR/containers/auth.json) or docker's config.json (with its credential
helpers). OCIR answers with a token challenge, which is followed.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

MANIFEST_TYPES = ", ".join(
    (
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    )
)
TIMEOUT = 30
LOOPBACK = ("127.0.0.1", "localhost", "::1")  # plain http, as podman and docker allow
CHALLENGE_RE = re.compile(r'(\w+)="([^"]*)"')


class RegistryError(Exception):
    """The registry lacks the image, or could not be asked; the message says which and what to do."""


def split_image(image: str) -> tuple[str, str]:
    """``HOST/NAMESPACE/REPO:TAG`` -> (host, repository path)."""
    host, _, path = image.partition("/")
    if not path:
        raise RegistryError(f"{image} names no registry host")
    name = path.split("@", 1)[0]
    if ":" in name.rsplit("/", 1)[-1]:
        name = name.rsplit(":", 1)[0]
    return host, name


def auth_files() -> list[Path]:
    """Where podman and docker keep logins, in the order they read them."""
    found = [os.environ.get("REGISTRY_AUTH_FILE", "")]
    if runtime := os.environ.get("XDG_RUNTIME_DIR"):
        found.append(f"{runtime}/containers/auth.json")
    found += ["~/.config/containers/auth.json", f"{os.environ.get('DOCKER_CONFIG', '~/.docker')}/config.json"]
    return [Path(path).expanduser() for path in found if path]


def basic_credentials(host: str) -> str | None:
    """``user:password`` for ``host`` from the login files, base64 as HTTP Basic takes it."""
    for path in auth_files():
        try:
            config = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if entry := config.get("auths", {}).get(host, {}).get("auth"):
            return entry
        helper = config.get("credHelpers", {}).get(host) or config.get("credsStore")
        if helper and (secret := helper_credentials(helper, host)):
            return secret
    return None


def helper_credentials(helper: str, host: str) -> str | None:
    try:
        result = subprocess.run(
            [f"docker-credential-{helper}", "get"], input=host, capture_output=True, text=True, timeout=30
        )
        found = json.loads(result.stdout) if result.returncode == 0 else {}
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return None
    if not found.get("Secret"):
        return None
    return base64.b64encode(f"{found['Username']}:{found['Secret']}".encode()).decode()


def bearer_token(challenge: str, credentials: str | None) -> str:
    """A token from the realm a registry's ``WWW-Authenticate: Bearer ...`` names."""
    fields = dict(CHALLENGE_RE.findall(challenge))
    query = urllib.parse.urlencode({key: fields[key] for key in ("service", "scope") if key in fields})
    request = urllib.request.Request(f"{fields.get('realm', '')}?{query}")
    if credentials:
        request.add_header("Authorization", f"Basic {credentials}")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:
            token = json.loads(answer.read())
    except urllib.error.HTTPError as error:
        if error.code in (401, 403):
            return ""  # no token without a login: the manifest's 401 says so
        raise
    return token.get("token") or token["access_token"]


def manifest_status(url: str, authorization: str | None) -> tuple[int, str]:
    """The HTTP status of a HEAD of the manifest, and the challenge of a 401."""
    request = urllib.request.Request(url, method="HEAD", headers={"Accept": MANIFEST_TYPES})
    if authorization:
        request.add_header("Authorization", authorization)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:
            return answer.status, ""
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("WWW-Authenticate", "")


def check_image_exists(image: str, digest: str | None) -> None:
    """Raise RegistryError unless the registry holds ``digest`` in the repository of ``image``."""
    if not digest:
        raise RegistryError(f"{image} has no digest to look for")
    host, name = split_image(image)
    scheme = "http" if urllib.parse.urlsplit(f"//{host}").hostname in LOOPBACK else "https"
    url = f"{scheme}://{host}/v2/{name}/manifests/{digest}"
    credentials = basic_credentials(host)
    try:
        status, challenge = manifest_status(url, None)
        if status == 401 and challenge.lower().startswith("bearer"):
            status, challenge = manifest_status(url, f"Bearer {bearer_token(challenge, credentials)}")
        elif status == 401 and credentials:
            status, challenge = manifest_status(url, f"Basic {credentials}")
    except (OSError, ValueError, LookupError) as error:
        raise RegistryError(f"could not ask {host} for {name}@{digest}: {error}") from None
    if status in (401, 403):
        raise RegistryError(f"{host} refused to show {name} ({status}): `make login` to {host} first")
    if status == 404:
        raise RegistryError(
            f"{name}@{digest} is no longer in {host}: a deployment needs its image and digest in OCIR "
            "for as long as it lives; push the image again and update with the new digest"
        )
    if status != 200:
        raise RegistryError(f"{host} answered {status} for {name}@{digest}")
