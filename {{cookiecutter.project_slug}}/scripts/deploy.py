"""Create or update the model deployment with the OCI Python SDK.

Sends deploy/create_model_deployment.json (or the update body) as written by
``make deploy-config``, signed with the API key of a ~/.oci/config profile.

    python scripts/deploy.py create [--profile DEFAULT] [--config ~/.oci/config]
    python scripts/deploy.py update --deployment-id ocid1.datasciencemodeldeployment... [--body FILE]

OCI_DATA_SCIENCE_ENDPOINT (or --endpoint) sends the request to another endpoint,
for a private endpoint or a test server.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import oci
from oci_models import to_sdk_model

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
BODIES = {
    "create": DEPLOY / "create_model_deployment.json",
    "update": DEPLOY / "update_model_deployment.json",
}
# Connect and read timeouts (seconds), and a retry that gives up within RETRY_SECONDS
# (the SDK's default retries for ten minutes), on connection errors, 429 and 5xx.
TIMEOUTS = (10, 60)
RETRY_SECONDS = 30
RETRY = oci.retry.RetryStrategyBuilder(
    max_attempts=3,
    total_elapsed_time_seconds=RETRY_SECONDS,
    retry_max_wait_between_calls_seconds=10,
).get_retry_strategy()


def data_science_client(
    config_file: str, profile: str, endpoint: str | None
) -> oci.data_science.DataScienceClient:
    config = oci.config.from_file(os.path.expanduser(config_file), profile)
    oci.config.validate_config(config)
    options = {"service_endpoint": endpoint} if endpoint else {}
    return oci.data_science.DataScienceClient(config, retry_strategy=RETRY, timeout=TIMEOUTS, **options)


def send(
    client: oci.data_science.DataScienceClient, action: str, body: dict[str, Any], deployment_id: str | None
) -> Any:
    if action == "create":
        return client.create_model_deployment(to_sdk_model(body, "CreateModelDeploymentDetails")).data
    if not deployment_id:
        raise ValueError("update needs --deployment-id (the OCID of the model deployment)")
    client.update_model_deployment(deployment_id, to_sdk_model(body, "UpdateModelDeploymentDetails"))
    return client.get_model_deployment(deployment_id).data


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=sorted(BODIES))
    parser.add_argument("--body", type=Path, help="the request body (default: the one deploy-config wrote)")
    parser.add_argument("--deployment-id", help="the model deployment to update")
    parser.add_argument("--profile", default=os.environ.get("OCI_CLI_PROFILE", "DEFAULT"))
    parser.add_argument("--config", default=os.environ.get("OCI_CLI_CONFIG_FILE", "~/.oci/config"))
    parser.add_argument("--endpoint", default=os.environ.get("OCI_DATA_SCIENCE_ENDPOINT"))
    args = parser.parse_args()
    path = args.body or BODIES[args.action]
    if not path.is_file():
        print(f"{path} is missing: run `make deploy-config` first", file=sys.stderr)
        return 1
    try:
        client = data_science_client(args.config, args.profile, args.endpoint)
        deployment = send(client, args.action, json.loads(path.read_text()), args.deployment_id)
    except oci.exceptions.ServiceError as error:
        print(
            f"OCI refused the {args.action} ({error.status} {error.code}): {error.message}", file=sys.stderr
        )
        return 1
    except (oci.exceptions.ClientError, ValueError) as error:  # config file, profile, key, arguments
        print(f"cannot {args.action} the deployment: {error}", file=sys.stderr)
        return 1
    except oci.exceptions.RequestException as error:  # refused, unreachable, timed out: after the retries
        where = args.endpoint or "the Data Science endpoint of the profile's region"
        reason = type(error.__cause__ or error).__name__
        print(f"cannot {args.action} the deployment: {where} did not answer ({reason})", file=sys.stderr)
        return 1
    print(f"{args.action}: {deployment.id} is {deployment.lifecycle_state}")
    if deployment.model_deployment_url:
        print(f"  predict at {deployment.model_deployment_url}/predict (signed requests)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
