"""Write the OCI model deployment requests from deploy/deployment.toml, after a pre-flight.

The pre-flight checks what OCI would reject, before anything is sent: ports,
CMD + ENTRYPOINT size, image and digest both present, the registry in the
deployment's region, the image under 16 GB, the OCIDs filled in; and, for a
Triton image (``CONTAINER_TYPE=TRITON``), that tritonserver listens on the
deployment's port and reads its models from the artifact's mount. The JSON
written is the body of the create and update calls, as the OCI CLI takes it
(``--from-json``) and the SDK sends it; each is checked against the SDK's models.

    python scripts/deploy_config.py [--settings deploy/deployment.toml] [--local-image NAME:TAG]
    python scripts/deploy_config.py --print-cmd    # the container's command, for a local run
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

from oci_models import ModelMismatch, check_body

from {{ cookiecutter.package_name }}.oci_rules import (
    DIGEST_RE,
    MAX_CMD_ENTRYPOINT_BYTES,
    MAX_IMAGE_BYTES,
    MODEL_MOUNT,
    check_port,
    command_bytes,
    region_of_registry,
)

PROJECT = Path(__file__).resolve().parent.parent
DEPLOY = PROJECT / "deploy"
CREATE_FILE, UPDATE_FILE = "create_model_deployment.json", "update_model_deployment.json"
OCID_PREFIXES = {
    "compartment_id": "ocid1.compartment.",
    "project_id": "ocid1.datascienceproject.",
    "model_id": "ocid1.datasciencemodel.",
}
Body = dict[str, Any]
TRITON_HTTP_PORT = 8000  # tritonserver's default --http-port


class PreflightError(Exception):
    """Settings OCI would reject; one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def load_settings(path: Path) -> dict[str, Any]:
    settings = tomllib.loads(path.read_text())
    digest_file = path.parent / "image-digest.txt"
    settings["container"].setdefault(
        "digest", digest_file.read_text().strip() if digest_file.is_file() else ""
    )
    return settings


def preflight(settings: dict[str, Any], image_bytes: int | None = None) -> None:
    """Raise ``PreflightError`` listing every rule the settings break."""
    container = settings["container"]
    problems = [
        problem
        for name in ("server_port", "health_check_port")
        if (problem := check_port(f"container.{name}", str(container[name])))
    ]
    size = command_bytes(container["cmd"], container["entrypoint"])
    if size > MAX_CMD_ENTRYPOINT_BYTES:
        problems.append(
            f"container.cmd + entrypoint: {size} bytes, over the {MAX_CMD_ENTRYPOINT_BYTES} allowed"
        )
    if not container["image"]:
        problems.append("container.image: empty; give the image pushed with `make push`")
    if not DIGEST_RE.fullmatch(container["digest"]):
        problems.append(
            f"container.digest: {container['digest']!r} is not a sha256 digest; "
            "`make push` writes it to deploy/image-digest.txt"
        )
    registry = container["image"].split("/", 1)[0]
    if region_of_registry(registry) != settings["region"]:
        problems.append(
            f"container.image: registry {registry} is not the Container Registry of {settings['region']}; "
            "a deployment only pulls from its own region"
        )
    if image_bytes is not None and image_bytes > MAX_IMAGE_BYTES:
        problems.append(f"image: {image_bytes} bytes uncompressed, over the 16 GB limit")
    for name, prefix in OCID_PREFIXES.items():
        if not str(settings.get(name, "")).startswith(prefix):
            problems.append(f"{name}: {settings.get(name)!r} is not an OCID ({prefix}...)")
    if is_triton(container):
        problems += triton_problems(container)
    if problems:
        raise PreflightError(problems)


def is_triton(container: dict[str, Any]) -> bool:
    """OCI maps its endpoints onto Triton's when the environment says CONTAINER_TYPE=TRITON."""
    return container.get("environment", {}).get("CONTAINER_TYPE") == "TRITON"


def triton_problems(container: dict[str, Any]) -> list[str]:
    """A Triton deployment: tritonserver on the deployment's ports, its models under the artifact's mount."""
    words = [*container["entrypoint"], *container["cmd"]]
    options = dict(word[2:].split("=", 1) for word in words if word.startswith("--") and "=" in word)
    problems = []
    if "tritonserver" not in words:
        problems.append("container.cmd: CONTAINER_TYPE=TRITON but the command does not start tritonserver")
    repository = options.get("model-repository", "")
    if repository != MODEL_MOUNT and not repository.startswith(MODEL_MOUNT + "/"):
        problems.append(
            f"container.cmd: --model-repository={repository} is not under {MODEL_MOUNT}, "
            "where OCI mounts the model artifact"
        )
    port = int(options.get("http-port", TRITON_HTTP_PORT))
    for name in ("server_port", "health_check_port"):
        if container[name] != port:
            problems.append(f"container.{name}: {container[name]}, but tritonserver listens on {port}")
    return problems


def local_image_bytes(cli: str, image: str) -> int | None:
    """The uncompressed size of a local image, or None when it is not there."""
    try:
        result = subprocess.run([cli, "image", "inspect", image], capture_output=True, text=True, timeout=60)
        return int(json.loads(result.stdout)[0]["Size"]) if result.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired, ValueError, LookupError, TypeError):
        return None  # no such CLI or image, or an answer without a size


def environment_configuration(container: dict[str, Any]) -> Body:
    body: Body = {
        "environmentConfigurationType": "OCIR_CONTAINER",
        "image": container["image"],
        "imageDigest": container["digest"],
        "serverPort": container["server_port"],
        "healthCheckPort": container["health_check_port"],
    }
    environment = dict(container.get("environment", {}))
    if not is_triton(container):  # the scorer listens on PORT: tell it the port the deployment uses
        environment = {"PORT": str(container["server_port"]), **environment}
    body["environmentVariables"] = environment
    # OCI asks for null, not "", [] or {}, for what is not set: leave those out.
    for name in ("cmd", "entrypoint"):
        if container.get(name):
            body[name] = container[name]
    return body


def scaling_policy(settings: dict[str, Any]) -> Body:
    instances, autoscaling = settings["instances"], settings["autoscaling"]
    if not autoscaling["enabled"]:
        return {"policyType": "FIXED_SIZE", "instanceCount": instances["count"]}

    def threshold(percent: int) -> Body:
        return {"scalingConfigurationType": "THRESHOLD", "threshold": percent}

    rule = {
        "metricExpressionRuleType": "PREDEFINED_EXPRESSION",
        "metricType": "CPU_UTILIZATION",
        "scaleOutConfiguration": threshold(autoscaling["cpu_scale_out_percent"]),
        "scaleInConfiguration": threshold(autoscaling["cpu_scale_in_percent"]),
    }
    return {
        "policyType": "AUTOSCALING",
        "isEnabled": True,
        "coolDownInSeconds": autoscaling["cool_down_seconds"],
        "autoScalingPolicies": [
            {
                "autoScalingPolicyType": "THRESHOLD",
                "initialInstanceCount": instances["count"],
                "minimumInstanceCount": autoscaling["minimum_instances"],
                "maximumInstanceCount": autoscaling["maximum_instances"],
                "rules": [rule],
            }
        ],
    }


def deployment_configuration(settings: dict[str, Any]) -> Body:
    instances = settings["instances"]
    return {
        "deploymentType": "SINGLE_MODEL",
        "modelConfigurationDetails": {
            "modelId": settings["model_id"],
            "instanceConfiguration": {
                "instanceShapeName": instances["shape"],
                "modelDeploymentInstanceShapeConfigDetails": {
                    "ocpus": instances["ocpus"],
                    "memoryInGBs": instances["memory_in_gbs"],
                },
            },
            "scalingPolicy": scaling_policy(settings),
            "bandwidthMbps": instances["bandwidth_mbps"],
        },
        "environmentConfigurationDetails": environment_configuration(settings["container"]),
    }


def log_details(logging: dict[str, str]) -> Body | None:
    details = {
        kind: {"logGroupId": logging[f"{kind}_log_group_id"], "logId": logging[f"{kind}_log_id"]}
        for kind in ("access", "predict")
        if logging.get(f"{kind}_log_id")
    }
    return details or None


def request_bodies(settings: dict[str, Any]) -> tuple[Body, Body]:
    """The create and update bodies, each accepted by the SDK's models as it is."""
    common: Body = {"displayName": settings["display_name"], "description": settings["description"]}
    configuration = deployment_configuration(settings)
    logs = log_details(settings["logging"])
    create = {
        **common,
        "compartmentId": settings["compartment_id"],
        "projectId": settings["project_id"],
        "modelDeploymentConfigurationDetails": configuration,
    }
    update = {**common, "modelDeploymentConfigurationDetails": configuration}
    if logs:
        create["categoryLogDetails"] = update["categoryLogDetails"] = logs
    check_body(create, "CreateModelDeploymentDetails")
    check_body(update, "UpdateModelDeploymentDetails")
    return create, update


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settings", type=Path, default=DEPLOY / "deployment.toml")
    parser.add_argument(
        "--container-cli", default="docker", help="docker or podman, to read the image's size"
    )
    parser.add_argument("--local-image", help="the local image; its size is checked against the 16 GB limit")
    parser.add_argument("--print-cmd", action="store_true", help="print the container's command and stop")
    args = parser.parse_args()
    settings = load_settings(args.settings)
    if args.print_cmd:
        print(shlex.join(settings["container"]["cmd"]))
        return 0
    image_bytes = local_image_bytes(args.container_cli, args.local_image) if args.local_image else None
    if args.local_image and image_bytes is None:
        print(f"note: {args.local_image} is not here, so its size was not checked", file=sys.stderr)
    try:
        preflight(settings, image_bytes)
        create, update = request_bodies(settings)
    except PreflightError as error:
        print("pre-flight failed; nothing was written:", file=sys.stderr)
        for problem in error.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    except ModelMismatch as error:
        print(f"the OCI SDK's models refuse the request: {error}", file=sys.stderr)
        return 1
    for name, body in ((CREATE_FILE, create), (UPDATE_FILE, update)):
        path = args.settings.parent / name
        path.write_text(json.dumps(body, indent=2) + "\n")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
