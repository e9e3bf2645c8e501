"""Call the deployed model: POST the sample request to its /predict endpoint, signed as OCI asks.

The request is signed like any OCI API call, by the API key of a ``~/.oci/config``
profile or by the resource or instance principal (``--auth``), and must be let
through by a policy (``manage data-science-model-deployments`` or the permission
DATA_SCIENCE_MODEL_DEPLOYMENT_PREDICT). The URL is ``--url``, the deployment's
URL as the console shows it under "Invoking your model", else the one Data Science
gives the deployment of ``--deployment-id`` or of deploy/deployment-id.txt. The
answer goes to stdout (JSON, for jq), and its ``opc-request-id``, the id Oracle
support asks for, to stderr. A Triton deployment (``--triton``, the model repository: what a
Triton project's make passes) takes the request's rows as the KServe-v2 body of the repository's
model, with the headers ``model_name`` and ``model_version`` that name it.

    python -m {{ cookiecutter.package_name }}_ops predict-remote [--request sample_request.json] [--profile DEFAULT]
    python -m {{ cookiecutter.package_name }}_ops predict-remote --url https://modeldeployment.<region>.oci.customer-oci.com/ocid1...
    python -m {{ cookiecutter.package_name }}_ops predict-remote --deployment-id ocid1... --auth resource_principal
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import uuid
from pathlib import Path
from typing import Any

import requests

from . import oci_client
from .project import DEPLOYMENT_ID_FILE, PROJECT, recorded_deployment_id

HELP = {"predict-remote": "Send the sample request to the deployed model, signed, and print its answer"}
REQUEST = PROJECT / "sample_request.json"
# OCI ends a predict call after 60 s with an answer of its own: wait a little longer for it.
TIMEOUT = (10, 65)
SHOWN = 500  # characters of an error's body
HINTS = {
    401: "OCI did not accept the signature: check the profile's key_file and fingerprint, or the principal",
    404: "OCI answers 404 to a deployment that is not there and to a caller no policy lets predict",
}


class Failure(Exception):
    """Why the call was not made or failed, in one line."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--request", type=Path, default=REQUEST, help=f"the JSON to send (default: {REQUEST.name})"
    )
    parser.add_argument("--url", help="the deployment's URL, /predict appended (default: asked of OCI)")
    parser.add_argument(
        "--deployment-id", help=f"the deployment to call (default: the one in {DEPLOYMENT_ID_FILE.name})"
    )
    parser.add_argument(
        "--triton",
        type=Path,
        metavar="REPOSITORY",
        help="a Triton deployment of this model repository: send the rows as its KServe-v2 body",
    )
    oci_client.add_arguments(parser)


def read_request(path: Path) -> bytes:
    """The request body, checked to be JSON; sent as it is in the file."""
    if not path.is_file():
        raise Failure(f"{path} is missing: run `make train`, which writes the sample request")
    body = path.read_bytes()
    try:
        json.loads(body)
    except ValueError as error:
        raise Failure(f"{path} is not JSON: {error}") from None
    return body


def triton_request(path: Path, repository: Path) -> tuple[bytes, dict[str, str]]:
    """The request's rows as the KServe-v2 body of the repository's model (as triton-predict sends
    them), and the headers that name the model and its version to OCI's Triton endpoint."""
    from .triton_client import RequestError, check_fits, model_config, request_body  # Triton projects only
    from .triton_repository import MODEL_NAME, VERSION

    request = json.loads(read_request(path))
    try:
        config = model_config(repository / MODEL_NAME / "config.pbtxt")
        check_fits(config, request, path)
    except RequestError as error:
        raise Failure(str(error)) from None
    body = request_body(config, request)
    return json.dumps(body).encode(), {"model_name": config.name, "model_version": VERSION}


def deployment_url(args: argparse.Namespace) -> str:
    """The URL Data Science gives the deployment of --deployment-id, or of the one `make deploy` recorded."""
    deployment_id = args.deployment_id or recorded_deployment_id()
    if not deployment_id:
        raise Failure("no deployment to call: give --url or --deployment-id, or `make deploy` to record one")
    try:
        deployment = oci_client.data_science_client(args).get_model_deployment(deployment_id).data
    except oci_client.SDK_ERRORS as error:
        raise Failure(oci_client.failure(error, "get the deployment", args.endpoint)) from None
    state = deployment.lifecycle_state
    if not deployment.model_deployment_url:
        raise Failure(f"{deployment_id} has no URL yet: it is {state}")
    if state != "ACTIVE":
        print(f"note: {deployment_id} is {state}, it answers when ACTIVE", file=sys.stderr)
    return deployment.model_deployment_url


def predict_url(args: argparse.Namespace) -> str:
    base = (args.url or deployment_url(args)).rstrip("/")
    return base if base.endswith("/predict") else base + "/predict"


def signer(args: argparse.Namespace) -> Any:
    try:
        return oci_client.config_and_signer(args)[1]
    except oci_client.SDK_ERRORS as error:
        raise Failure(oci_client.failure(error, "sign the request")) from None


def why(error: Exception) -> str:
    """The cause of a connection error, short: its kind, and the OS's words when there are some."""
    cause = getattr(error.args[0], "reason", None) if error.args else None
    cause = cause or error
    errno = re.search(r"\[Errno [^\]]+\][^'\")]*", str(cause))
    return type(cause).__name__ + (f": {errno.group(0).strip()}" if errno else "")


def post(url: str, body: bytes, auth: Any, request_id: str, extra: dict[str, str] | None = None) -> Any:
    """POST the body, signed by ``auth``, with ``extra`` headers; our own opc-request-id goes along,
    as the SDK's calls send one."""
    headers = {"Content-Type": "application/json", "Accept": "application/json", "opc-request-id": request_id}
    headers.update(extra or {})
    try:
        return requests.post(
            url, data=body, headers=headers, auth=auth, timeout=TIMEOUT, allow_redirects=False
        )
    except requests.exceptions.Timeout as error:
        raise Failure(f"{url} did not answer in time ({why(error)}, opc-request-id {request_id})") from None
    except requests.exceptions.RequestException as error:
        raise Failure(f"cannot call {url}: {why(error)}") from None


def shown(response: Any) -> str:
    """The answer: its JSON, indented, or its text."""
    try:
        return json.dumps(response.json(), indent=2)
    except ValueError:
        return response.text


def report(response: Any, sent_id: str) -> int:
    request_id = response.headers.get("opc-request-id") or f"{sent_id} (ours; none came back)"
    if 200 <= response.status_code < 300:
        print(shown(response))
        print(f"opc-request-id: {request_id}", file=sys.stderr)
        return 0
    body = " ".join(response.text.split())
    body = body if len(body) <= SHOWN else body[:SHOWN] + "..."
    print(f"{response.url} answered {response.status_code} {response.reason}: {body}", file=sys.stderr)
    print(f"opc-request-id: {request_id}", file=sys.stderr)
    if response.status_code in HINTS:
        print(HINTS[response.status_code], file=sys.stderr)
    return 1


def run(args: argparse.Namespace) -> int:
    request_id = uuid.uuid4().hex.upper()
    try:
        body, headers = (
            triton_request(args.request, args.triton) if args.triton else (read_request(args.request), {})
        )
        url = predict_url(args)
        auth = signer(args)
        print(f"POST {url}", file=sys.stderr)
        response = post(url, body, auth, request_id, headers)
    except Failure as failure:
        print(failure, file=sys.stderr)
        return 1
    return report(response, request_id)
