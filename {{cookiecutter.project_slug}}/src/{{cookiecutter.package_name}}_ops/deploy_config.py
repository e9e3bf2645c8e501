"""Write the OCI model deployment requests from deploy/deployment.toml, after a pre-flight.

The pre-flight checks what OCI would reject, before anything is sent: ports,
CMD + ENTRYPOINT size, environment variables (OCI's configuration overrides in their ranges and
forms: MODEL_DEPLOY_PREDICT_ENDPOINT, WEB_CONCURRENCY ...), the image and its digest as one
pushed pair (deploy/pushed-image.json, written by ``make push``), the registry (OCIR
of the deployment's region), the pushed image's size (16 GB) and platform (the
shape's CPU), the OCIDs filled in (each matched whole), the shape's name, its OCPUs and
memory, the instance count, the bandwidth and the autoscaling policy within what OCI takes
(oci_rules.py says where each limit comes from); and, for a Triton image (``CONTAINER_TYPE=TRITON``),
that tritonserver listens on the deployment's port and reads its models from the
artifact's mount. The JSON written is the body of the create and update calls, as
the OCI CLI takes it (``--from-json``) and the SDK sends it; each is checked against
the SDK's models. Nothing is sent as "", [] or {} (the document's rule), except a
``cmd``, ``entrypoint`` or ``environment`` given empty on purpose, which the update
body sends empty to clear it.

    python -m {{ cookiecutter.package_name }}_ops deploy-config [--settings deploy/deployment.toml]
    python -m {{ cookiecutter.package_name }}_ops deploy-config --print-cmd    # the container's command, for a local run
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any

from {{ cookiecutter.package_name }}.oci_rules import (
    DIGEST_RE,
    MAX_IMAGE_BYTES,
    MODEL_MOUNT,
    check_autoscaling,
    check_command,
    check_environment,
    check_freeform_tags,
    check_instances,
    check_ocid,
    check_overrides,
    check_port,
    check_registry,
    platform_of_shape,
)
from {{ cookiecutter.package_name }}.oci_rules import (
    is_triton as triton_environment,
)

from .failure_risks import add_record_arguments, risk_warnings
from .oci_models import ModelMismatch, check_body
from .project import (
    OCID_KINDS,
    REQUIRED_KEYS,
    SETTINGS,
    SettingsError,
    read_settings,
    unset_ocid,
    write_json,
)
from .push_record import RECORD, RecordError, load_record

CREATE_FILE, UPDATE_FILE = "create_model_deployment.json", "update_model_deployment.json"
LOG_KINDS = {"_group": ("loggroup",), "": ("log",)}
# Lists and maps that an update may send empty on purpose: [] or {} clears them.
CLEARABLE = {"cmd": "cmd", "entrypoint": "entrypoint", "environment": "environmentVariables"}
LIFETIME = (
    "the image and its digest must stay in OCIR for as long as the deployment lives: "
    "keep the tag, and no retention policy that removes it"
)
Body = dict[str, Any]
# What pushes the image the deployment runs and records it in deploy/pushed-image.json.
PUSH_TARGET = "{{ 'make triton-push' if cookiecutter.server == 'triton' else 'make push' }}"
TRITON_HTTP_PORT = 8000  # tritonserver's default --http-port


class PreflightError(Exception):
    """Settings OCI would reject; one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def load_settings(path: Path, record: Path | None = None) -> dict[str, Any]:
    """The TOML settings, with ``pushed``: the push recorded beside them (None when nothing was pushed).
    SettingsError (one line) when the file can't be read or a key is missing or of another kind."""
    settings = read_settings(path, REQUIRED_KEYS)
    settings["pushed"] = load_record(record or path.parent / RECORD.name)
    settings["container"].setdefault("image", "")
    settings["container"].setdefault("digest", "")
    settings.setdefault("freeform_tags", {})
    settings.setdefault("logging", {})
    return settings


def deployed_image(settings: dict[str, Any]) -> tuple[str, str]:
    """The image and digest the deployment gets: the recorded push, unless the settings name another."""
    container, pushed = settings["container"], settings.get("pushed")
    image, digest = container["image"], container["digest"]
    if pushed and (not image or (image == pushed["image"] and not digest)):
        return pushed["image"], pushed["digest"]
    return image, digest


def image_problems(settings: dict[str, Any]) -> list[str]:
    """The image and digest: both there, of one push, from OCIR of the region, fit for the shape."""
    container, pushed = settings["container"], settings.get("pushed")
    named = container["image"]
    if container["digest"] and not named:
        return ["container.digest: set without container.image; give both (another push), or neither"]
    if not named and not pushed:
        return [
            f"container.image: empty, and nothing pushed: `{PUSH_TARGET}` records the image with its digest "
            f"in {RECORD.parent.name}/{RECORD.name}; or set container.image and container.digest"
        ]
    image, digest = deployed_image(settings)
    problems = [problem] if (problem := check_registry(image, settings["region"])) else []
    if named and not container["digest"] and (not pushed or pushed["image"] != named):
        last = f"the last push was {pushed['image']}" if pushed else "nothing was pushed"
        return [
            *problems,
            f"container.image: {named} has no digest, and {last}: an image and a digest that don't belong "
            "together are refused. Leave container.image empty to deploy the recorded push, "
            f"or give {named}'s digest as container.digest",
        ]
    if not DIGEST_RE.fullmatch(digest):
        problems.append(f"container.digest: {digest!r} is not a sha256 digest")
    if pushed and (image, digest) == (pushed["image"], pushed["digest"]):
        if pushed["size_bytes"] > MAX_IMAGE_BYTES:
            problems.append(
                f"image: {image} is {pushed['size_bytes']} bytes uncompressed, over the 16 GB limit"
            )
        wanted = platform_of_shape(settings["instances"]["shape"])
        if pushed["platform"] != wanted:
            problems.append(
                f"image: {image} is built for {pushed['platform']}, but {settings['instances']['shape']} "
                f"runs {wanted}: `make build` builds for the shape's platform"
            )
    return problems


def preflight(settings: dict[str, Any]) -> None:
    """Raise ``PreflightError`` listing every rule the settings break."""
    container = settings["container"]
    problems = [
        problem
        for name in ("server_port", "health_check_port")
        if (problem := check_port(f"container.{name}", str(container[name])))
    ]
    if problem := check_command(container.get("cmd", []), container.get("entrypoint", [])):
        problems.append(problem)
    problems += check_environment(environment_variables(container))
    # OCI's configuration overrides (oci_rules.OVERRIDES): ranges, forms, WORKERS = WEB_CONCURRENCY.
    problems += check_overrides(
        container.get("environment", {}),
        memory_gbs=settings["instances"].get("memory_in_gbs"),
        triton=is_triton(container),
    )
    problems += image_problems(settings)
    problems += check_freeform_tags(settings["freeform_tags"])
    problems += check_instances(settings["instances"])
    problems += check_autoscaling(settings["autoscaling"], settings["instances"].get("count"))
    for name, kinds in OCID_KINDS.items():
        if problem := check_ocid(name, settings.get(name, ""), kinds, unset_ocid(name)):
            problems.append(problem)
    for kind in ("access", "predict"):
        group, log = (settings["logging"].get(f"{kind}_log{part}_id", "") for part in LOG_KINDS)
        if bool(group) != bool(log):
            problems.append(f"logging: give both {kind}_log_group_id and {kind}_log_id, or neither")
        problems += [
            problem
            for part, kinds in LOG_KINDS.items()
            if (value := settings["logging"].get(f"{kind}_log{part}_id"))
            and (problem := check_ocid(f"logging.{kind}_log{part}_id", value, kinds))
        ]
    if is_triton(container):
        problems += triton_problems(container)
    if problems:
        raise PreflightError(problems)


def is_triton(container: dict[str, Any]) -> bool:
    """Whether the container's environment says CONTAINER_TYPE=TRITON (oci_rules.is_triton)."""
    return triton_environment(container.get("environment") or {})


def triton_problems(container: dict[str, Any]) -> list[str]:
    """A Triton deployment: tritonserver on the deployment's ports, its models under the artifact's mount."""
    words = [*container.get("entrypoint", []), *container.get("cmd", [])]
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
    port_text = options.get("http-port", str(TRITON_HTTP_PORT))
    if problem := check_port("container.cmd: --http-port", port_text):
        return [*problems, problem]
    port = int(port_text)
    for name in ("server_port", "health_check_port"):
        if container[name] != port:
            problems.append(f"container.{name}: {container[name]}, but tritonserver listens on {port}")
    return problems


def environment_variables(container: dict[str, Any]) -> dict[str, str]:
    """The container's variables; the scorer also gets PORT, the port the deployment sends to."""
    environment = {key: str(value) for key, value in container.get("environment", {}).items()}
    if is_triton(container):
        return environment
    return {"PORT": str(container["server_port"]), **environment}


def environment_configuration(settings: dict[str, Any], update: bool = False) -> Body:
    """The container's part of a request; ``update`` sends a list or map given empty, to clear it."""
    container = settings["container"]
    image, digest = deployed_image(settings)
    body: Body = {
        "environmentConfigurationType": "OCIR_CONTAINER",
        "image": image,
        "imageDigest": digest,
        "serverPort": container["server_port"],
        "healthCheckPort": container["health_check_port"],
    }
    values = {"cmd": container.get("cmd"), "entrypoint": container.get("entrypoint")}
    if "environment" in container or not is_triton(container):
        values["environment"] = environment_variables(container)
    for name, value in values.items():
        # OCI takes null (left out) for "not set" and "keep"; [] or {} only to erase, in an update.
        if value or (update and value is not None):
            body[CLEARABLE[name]] = value
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


def shape_config(instances: dict[str, Any], key: str) -> Body:
    """``{key: {ocpus, memoryInGBs}}`` of ``[instances]`` for a flexible shape, {} for another: a
    fixed shape comes with its own (ADS sends them for ``Flex`` shapes only, to deployments and
    jobs alike: ModelDeployment's instance configuration; DataScienceJob refuses them otherwise)."""
    if not instances["shape"].endswith(".Flex"):
        return {}
    return {key: {"ocpus": instances["ocpus"], "memoryInGBs": instances["memory_in_gbs"]}}


def deployment_configuration(settings: dict[str, Any], update: bool = False) -> Body:
    instances = settings["instances"]
    return {
        "deploymentType": "SINGLE_MODEL",
        "modelConfigurationDetails": {
            "modelId": settings["model_id"],
            "instanceConfiguration": {
                "instanceShapeName": instances["shape"],
                **shape_config(instances, "modelDeploymentInstanceShapeConfigDetails"),
            },
            "scalingPolicy": scaling_policy(settings),
            "bandwidthMbps": instances["bandwidth_mbps"],
        },
        "environmentConfigurationDetails": environment_configuration(settings, update),
    }


def log_details(logging: dict[str, str]) -> Body | None:
    details = {
        kind: {"logGroupId": logging[f"{kind}_log_group_id"], "logId": logging[f"{kind}_log_id"]}
        for kind in ("access", "predict")
        if logging.get(f"{kind}_log_id") and logging.get(f"{kind}_log_group_id")
    }
    return details or None


def request_bodies(settings: dict[str, Any]) -> tuple[Body, Body]:
    """The create and update bodies, each accepted by the SDK's models as it is."""
    common: Body = {
        name: settings[key]
        for name, key in (("displayName", "display_name"), ("description", "description"))
        if settings.get(key)  # "" is never sent: absent keeps (update) or leaves unset (create)
    }
    if settings["freeform_tags"]:  # an update replaces the deployment's tags with these
        common["freeformTags"] = settings["freeform_tags"]
    create = {
        **common,
        "compartmentId": settings["compartment_id"],
        "projectId": settings["project_id"],
        "modelDeploymentConfigurationDetails": deployment_configuration(settings),
    }
    update = {
        **common,
        "modelDeploymentConfigurationDetails": deployment_configuration(settings, update=True),
    }
    if logs := log_details(settings["logging"]):
        create["categoryLogDetails"] = update["categoryLogDetails"] = logs
    check_body(create, "CreateModelDeploymentDetails")
    check_body(update, "UpdateModelDeploymentDetails")
    return create, update


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--settings", type=Path, default=SETTINGS)
    parser.add_argument("--print-cmd", action="store_true", help="print the container's command and stop")
    add_record_arguments(parser)


def run(args: argparse.Namespace) -> int:
    written = [args.settings.parent / CREATE_FILE, args.settings.parent / UPDATE_FILE]
    try:
        settings = load_settings(args.settings)
        if args.print_cmd:
            print(shlex.join(settings["container"].get("cmd", [])))
            return 0
        preflight(settings)
        bodies = request_bodies(settings)
    except (SettingsError, PreflightError, RecordError, ModelMismatch) as error:
        for path in written:  # never leave the bodies of an earlier run beside a failed one
            path.unlink(missing_ok=True)
        if isinstance(error, SettingsError):
            raise  # one line naming the key: the command line prints it
        problems = getattr(error, "problems", None) or [f"the OCI SDK's models refuse the request: {error}"]
        if isinstance(error, RecordError):
            problems = [str(error)]
        print("pre-flight failed; nothing was written:", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    image, digest = deployed_image(settings)
    pushed = settings["pushed"]
    if not pushed or (image, digest) != (pushed["image"], pushed["digest"]):
        print(
            f"note: {image} is not the recorded push: its size and platform were not checked", file=sys.stderr
        )
    for path, body in zip(written, bodies, strict=True):
        write_json(path, body)
        print(f"wrote {path}")
    print(f"deploys {image}@{digest}; {LIFETIME}")
    for warning in risk_warnings(settings, args.records, args.sizes):  # warnings: the bodies are written
        print(f"warning: {warning}", file=sys.stderr)
    return 0
