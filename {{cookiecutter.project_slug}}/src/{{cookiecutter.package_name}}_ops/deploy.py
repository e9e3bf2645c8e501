"""Create or update the model deployment with the OCI Python SDK.

``deploy`` sends deploy/create_model_deployment.json as written by ``make
deploy-config`` and records the new deployment's OCID in deploy/deployment-id.txt,
which the lifecycle commands read. ``deploy-update`` sends an update body (the one
deploy-config wrote, or a plan from ``update-plan``) to that deployment, once the
registry still holds the image digest the body pins.

    python -m {{ cookiecutter.package_name }}_ops deploy [--profile DEFAULT] [--config ~/.oci/config]
    python -m {{ cookiecutter.package_name }}_ops deploy-update [--deployment-id ocid1...] [--body deploy/update_plan.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from . import oci_client
from .oci_models import to_sdk_model
from .project import DEPLOY, DEPLOYMENT_ID_FILE, recorded_deployment_id
from .registry import RegistryError, check_image_exists

HELP = {
    "deploy": "Create the model deployment (OCI SDK), record its OCID",
    "deploy-update": "Send an update body to the deployment, after checking its image is still in the registry",
}
BODIES = {
    "deploy": DEPLOY / "create_model_deployment.json",
    "deploy-update": DEPLOY / "update_model_deployment.json",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--body", type=Path, help="the request body (default: the one deploy-config wrote)")
    parser.add_argument(
        "--deployment-id", help=f"the deployment to update (default: the one in {DEPLOYMENT_ID_FILE.name})"
    )
    parser.add_argument(
        "--skip-registry-check", action="store_true", help="send without asking the registry for the image"
    )
    oci_client.add_arguments(parser)


def create(args: argparse.Namespace, body: dict[str, Any]) -> Any:
    client = oci_client.data_science_client(args)
    deployment = client.create_model_deployment(to_sdk_model(body, "CreateModelDeploymentDetails")).data
    DEPLOYMENT_ID_FILE.write_text(deployment.id + "\n")
    print(f"recorded {deployment.id} in {DEPLOYMENT_ID_FILE.relative_to(DEPLOY.parent)}")
    return deployment


def update(args: argparse.Namespace, body: dict[str, Any]) -> Any:
    deployment_id = args.deployment_id or recorded_deployment_id()
    if not deployment_id:
        raise ValueError("no deployment to update: give --deployment-id, or `make deploy` to record one")
    environment = body.get("modelDeploymentConfigurationDetails", {}).get("environmentConfigurationDetails")
    if environment and environment.get("image") and not args.skip_registry_check:
        print(f"checking that {environment['image']}@{environment.get('imageDigest')} is in the registry")
        check_image_exists(environment["image"], environment.get("imageDigest"))
    client = oci_client.data_science_client(args)
    client.update_model_deployment(deployment_id, to_sdk_model(body, "UpdateModelDeploymentDetails"))
    return client.get_model_deployment(deployment_id).data


def run(args: argparse.Namespace) -> int:
    path = args.body or BODIES[args.command]
    if not path.is_file():
        print(f"{path} is missing: run `make deploy-config` first", file=sys.stderr)
        return 1
    body = json.loads(path.read_text())
    doing = "create the deployment" if args.command == "deploy" else "update the deployment"
    try:
        deployment = (create if args.command == "deploy" else update)(args, body)
    except RegistryError as error:
        print(f"not sent: {error}", file=sys.stderr)
        return 1
    except oci_client.SDK_ERRORS as error:
        print(oci_client.failure(error, doing, args.endpoint), file=sys.stderr)
        return 1
    print(f"{args.command}: {deployment.id} is {deployment.lifecycle_state}")
    if deployment.model_deployment_url:
        print(f"  predict at {deployment.model_deployment_url}/predict (signed: make predict-remote)")
    return 0
