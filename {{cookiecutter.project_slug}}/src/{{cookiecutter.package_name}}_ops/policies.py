"""The IAM policy a BYOC model deployment needs, for the compartment of deploy/deployment.toml.

Prints the policy's statements and the ``oci iam policy create`` command that makes it
(a dry run), or with ``--run`` creates it with the OCI SDK and prints its OCID (signed as
every OCI command signs: ``--profile``, ``--config``, ``--auth``; ``OCI_IDENTITY_ENDPOINT`` or
``--endpoint`` sends it elsewhere). IAM takes policies in the tenancy's home region only:
run it with a profile of that region. The statements let the group of the
users who deploy (``--group``) manage Data Science (projects, catalog models, model
deployments), read the image's repository and make and read the deployment's logs, and
let the deployments themselves (their resource principal) pull the image and write their
access and predict logs.

The repository's compartment is the deployment's unless ``--repository-compartment-id``
names another: a repository that a first ``docker push`` created lies in the root
compartment, so pass the tenancy OCID then. The policy is attached to the deployment's
compartment, or to the tenancy when the repository is there; for a repository in a third
compartment, ``--policy-compartment-id`` names one that holds both (the tenancy always does).

    python -m {{ cookiecutter.package_name }}_ops policies --group GROUP [--repository-compartment-id OCID]
        [--policy-compartment-id OCID] [--name NAME] [--write FILE] [--run] [--settings FILE]
        [--profile DEFAULT] [--config ~/.oci/config] [--auth api_key] [--endpoint URL]

GROUP is a group name (``DataScientists``), ``domain/group`` for a group of another
identity domain than the default one, or a group OCID.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import sys
from pathlib import Path
from typing import Any

import oci
from oci.identity.models import identity_type_mapping

from . import oci_client
from .oci_models import ModelMismatch, check_body, to_sdk_model
from .project import SETTINGS, SLUG, SettingsError, compartment_of, read_settings, write_json

DEFAULT_NAME = f"{SLUG}-model-deployment"
DESCRIPTION = f"BYOC model deployment of {SLUG}: manage it, pull its image, write and read its logs"
# The resource principal of every model deployment: the service's own condition.
DEPLOYMENTS = "any-user"
DEPLOYMENTS_ONLY = "where ALL {request.principal.type='datasciencemodeldeployment'}"
# Policy names: at most 100 letters, digits, hyphens, periods and underscores; no spaces.
POLICY_NAME_RE = re.compile(r"[A-Za-z0-9._-]{1,100}")
# Group names the IAM API takes as they are; others (an identity domain's, with spaces) are quoted.
PLAIN_GROUP_RE = re.compile(r"[A-Za-z0-9._-]+")
QUOTABLE_RE = re.compile(r"[^'/\x00-\x1f\x7f]+")
# ocid1.<resource type>.<realm>.[region][.future use].<unique ID>
OCID_RE = re.compile(r"ocid1\.(?P<kind>[a-z0-9]+)\.[a-z0-9-]+\.[a-z0-9-]*(\.[a-z0-9-]*)?\.[a-z0-9]+")
DEFAULT_DOMAIN = "Default"
ENDPOINT_ENV = "OCI_IDENTITY_ENDPOINT"

HELP = {"policies": "Print the IAM policy a BYOC model deployment needs and the oci command that creates it"}


class PolicyError(ValueError):
    """The policy can't be written as asked; the message says why."""


def ocid(value: str, what: str, kinds: tuple[str, ...]) -> str:
    """``value`` if it is the OCID of one of ``kinds``; else a PolicyError naming ``what``."""
    found = OCID_RE.fullmatch(value)
    if not found or found["kind"] not in kinds:
        raise PolicyError(f"{what}: {value!r} is not the OCID of a {' or '.join(kinds)}")
    return value


def location(compartment_id: str, what: str) -> str:
    """Where a statement applies: ``tenancy`` for the root compartment, else ``compartment id OCID``."""
    ocid(compartment_id, what, ("compartment", "tenancy"))
    return "tenancy" if compartment_id.startswith("ocid1.tenancy.") else f"compartment id {compartment_id}"


def quoted(name: str, what: str) -> str:
    if not QUOTABLE_RE.fullmatch(name) or name != name.strip():
        raise PolicyError(
            f"{what} {name!r}: a policy can't name it (no quote, slash, control character, "
            f"or space at either end)"
        )
    return f"'{name}'"


def group_subject(group: str) -> str:
    """The policy subject for ``group``: a name, ``domain/name``, or a group OCID."""
    if not group.strip():
        raise PolicyError(
            "--group is empty: name the group of the users who deploy (make policies GROUP=...)"
        )
    if group.startswith("ocid1."):
        return f"group id {ocid(group, '--group', ('group',))}"
    domain, _, name = group.rpartition("/")
    if not domain and PLAIN_GROUP_RE.fullmatch(name):
        return f"group {name}"
    return f"group {quoted(domain or DEFAULT_DOMAIN, 'identity domain')}/{quoted(name, 'group')}"


def policy_statements(compartment_id: str, group: str, repository_compartment_id: str) -> list[str]:
    """The statements, for the deployment's compartment and the repository's."""
    subject = group_subject(group)
    here = location(compartment_id, "compartment_id")
    repos = location(repository_compartment_id, "--repository-compartment-id")
    return [
        f"Allow {subject} to manage data-science-family in {here}",
        f"Allow {subject} to read repos in {repos}",
        f"Allow {DEPLOYMENTS} to read repos in {repos} " + DEPLOYMENTS_ONLY,
        f"Allow {subject} to manage log-groups in {here}",
        f"Allow {subject} to read log-content in {here}",
        f"Allow {DEPLOYMENTS} to use log-content in {here} " + DEPLOYMENTS_ONLY,
    ]


def attached_to(compartment_id: str, repository_compartment_id: str, chosen: str | None) -> str:
    """The compartment the policy is attached to: one that holds every compartment it names."""
    if chosen:
        return ocid(chosen, "--policy-compartment-id", ("compartment", "tenancy"))
    if repository_compartment_id == compartment_id or repository_compartment_id.startswith("ocid1.tenancy."):
        return repository_compartment_id
    raise PolicyError(
        "the repository's compartment is not the deployment's: pass --policy-compartment-id with a "
        "compartment that holds both (the tenancy OCID always does)"
    )


def policy_body(
    settings: dict[str, Any],
    group: str,
    name: str = DEFAULT_NAME,
    repository_compartment_id: str | None = None,
    policy_compartment_id: str | None = None,
    source: str = "deploy/deployment.toml",
) -> dict[str, Any]:
    """The ``CreatePolicyDetails`` body, checked against the OCI SDK's identity model."""
    compartment_id = compartment_of(settings, source)
    if not POLICY_NAME_RE.fullmatch(name):
        raise PolicyError(
            f"--name {name!r}: a policy name is 1 to 100 letters, digits, hyphens, periods or underscores"
        )
    repository = repository_compartment_id or compartment_id
    body = {
        "compartmentId": attached_to(compartment_id, repository, policy_compartment_id),
        "name": name,
        "description": DESCRIPTION,
        "statements": policy_statements(compartment_id, group, repository),
    }
    try:
        check_body(body, "CreatePolicyDetails", mapping=identity_type_mapping)
    except ModelMismatch as error:
        raise PolicyError(str(error)) from None
    return body


def create_command(body: dict[str, Any]) -> list[str]:
    """``oci iam policy create`` with the body's fields, the statements inline as a JSON list."""
    return [
        "oci",
        "iam",
        "policy",
        "create",
        "--compartment-id",
        body["compartmentId"],
        "--name",
        body["name"],
        "--description",
        body["description"],
        "--statements",
        json.dumps(body["statements"]),
    ]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--group", required=True, help="the users who deploy: NAME, DOMAIN/NAME or a group OCID"
    )
    parser.add_argument(
        "--repository-compartment-id",
        help="where the image's repository is (default: the deployment's compartment; the tenancy "
        "OCID for a repository a first push created)",
    )
    parser.add_argument("--policy-compartment-id", help="where to attach the policy (default: see above)")
    parser.add_argument("--name", default=DEFAULT_NAME, help=f"the policy's name (default: {DEFAULT_NAME})")
    parser.add_argument("--write", type=Path, metavar="FILE", help="write the CreatePolicyDetails body there")
    parser.add_argument(
        "--run", action="store_true", help="create the policy (OCI SDK) instead of printing the oci command"
    )
    parser.add_argument(
        "--settings", type=Path, default=SETTINGS, help="the deployment's settings (deploy/deployment.toml)"
    )
    oci_client.add_arguments(parser)
    parser.set_defaults(endpoint=os.environ.get(ENDPOINT_ENV))


def create(args: argparse.Namespace, body: dict[str, Any]) -> Any:
    """Sends the CreatePolicyDetails body through the SDK's IAM client; the policy OCI made."""
    client = oci_client.client(args, oci.identity.IdentityClient)
    details = to_sdk_model(body, "CreatePolicyDetails", mapping=identity_type_mapping)
    return client.create_policy(details).data


def run(args: argparse.Namespace) -> int:
    try:
        settings = read_settings(args.settings)
        body = policy_body(
            settings,
            args.group,
            args.name,
            args.repository_compartment_id,
            args.policy_compartment_id,
            source=str(args.settings),
        )
    except (SettingsError, PolicyError) as error:
        print(f"policies: {error}", file=sys.stderr)
        return 1
    if args.write:
        write_json(args.write, body)
        print(f"# {args.write}: the CreatePolicyDetails body")
    print(f"# policy {body['name']}, attached to {body['compartmentId']}:")
    print("\n".join(body["statements"]))
    if not args.run:
        print("# create it (an administrator of that compartment):")
        print(shlex.join(create_command(body)))
        return 0
    try:
        policy = create(args, body)
    except oci_client.SDK_ERRORS as error:
        where = args.endpoint or "the Identity endpoint of the profile's region"
        print(f"policies: {oci_client.failure(error, 'create the policy', where)}", file=sys.stderr)
        return 1
    print(f"created policy {policy.id} ({policy.lifecycle_state}; in effect within about 10 seconds)")
    return 0
