"""See the model deployment, follow it while it changes, activate, deactivate or delete it (OCI SDK).

The deployment is the one ``make deploy`` recorded in deploy/deployment-id.txt, or
``--deployment-id``. ``status --wait`` polls until the deployment is no longer
CREATING, UPDATING or DELETING; when it ends FAILED or NEEDS_ATTENTION, it prints
the errors of the deployment's latest work request and exits 1. ``deactivate`` and
``delete`` ask you to type the deployment's display name first (``--yes`` skips that,
for CI); ``delete`` then forgets the recorded OCID.

    python -m {{ cookiecutter.package_name }}_ops status [--deployment-id ocid1...] [--wait] [--interval 15] [--timeout 1800] [--json FILE]
    python -m {{ cookiecutter.package_name }}_ops activate [--deployment-id ocid1...]
    python -m {{ cookiecutter.package_name }}_ops deactivate [--deployment-id ocid1...] [--yes]
    python -m {{ cookiecutter.package_name }}_ops delete [--deployment-id ocid1...] [--yes]
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import oci_client
from .failure_risks import add_record_arguments, explain_failure
from .project import (
    DEPLOYMENT_ID_FILE,
    PROJECT,
    SETTINGS,
    SettingsError,
    read_settings,
    recorded_deployment_id,
    write_json,
)
from .push_record import RECORD as PUSH_RECORD
from .push_record import RecordError, load_record

HELP = {
    "status": "Print the deployment's state, URL, image and shape; --wait follows it until it settles",
    "activate": "Activate the inactive deployment (no confirmation): it serves again",
    "deactivate": "Deactivate the deployment, after you type its name (--yes skips): it stops serving",
    "delete": "Delete the deployment, after you type its name (--yes skips), and forget its recorded OCID",
}
# ModelDeployment.lifecycle_state: these change by themselves; the others stay until asked.
CHANGING = frozenset({"CREATING", "UPDATING", "DELETING"})
FAILED = frozenset({"FAILED", "NEEDS_ATTENTION"})
# What each request leads to, and the commands that ask first.
ENDS_IN = {"activate": "ACTIVE", "deactivate": "INACTIVE", "delete": "DELETED"}
CONFIRMED = {"deactivate": "deactivated", "delete": "deleted"}
RECORD = DEPLOYMENT_ID_FILE.relative_to(PROJECT)


class Refused(Exception):
    """An SDK call failed; ``doing`` says what it was for."""

    def __init__(self, doing: str, error: Exception) -> None:
        super().__init__(doing)
        self.doing, self.error = doing, error


def add_arguments(parser: argparse.ArgumentParser) -> None:
    command = parser.prog.rsplit(" ", 1)[-1]
    parser.add_argument("--deployment-id", help=f"the deployment (default: the OCID in {RECORD})")
    if command == "status":
        parser.add_argument("--wait", action="store_true", help="poll while it is CREATING/UPDATING/DELETING")
        parser.add_argument("--interval", type=float, default=15.0, help="seconds between polls (default 15)")
        parser.add_argument("--timeout", type=float, default=1800.0, help="give up after (default 1800 s)")
        parser.add_argument("--json", type=Path, help="write the deployment's JSON (camelCase) here")
        parser.add_argument(
            "--settings", type=Path, default=SETTINGS, help="for FAILED: the settings deployed"
        )
        add_record_arguments(parser, "for FAILED: ")
    if command in CONFIRMED:
        parser.add_argument("--yes", action="store_true", help="do not ask for the deployment's name")
    oci_client.add_arguments(parser)


def call(doing: str, method: Callable[..., Any], *arguments: Any, **options: Any) -> Any:
    try:
        return method(*arguments, **options)
    except oci_client.SDK_ERRORS as error:
        raise Refused(doing, error) from error


def get(client: Any, deployment_id: str) -> Any:
    return call("get the deployment", client.get_model_deployment, deployment_id).data


def infrastructure(deployment: Any) -> Any:
    """The part of the deployment that holds its instance configuration and scaling policy."""
    details = deployment.model_deployment_configuration_details
    return getattr(details, "infrastructure_configuration_details", None) or getattr(
        details, "model_configuration_details", None
    )


def shape(deployment: Any) -> str | None:
    """Shape, OCPUs and memory, and instances, e.g. "VM.Standard.E4.Flex (1 OCPU, 16 GB), 1 instance"."""
    instance = getattr(infrastructure(deployment), "instance_configuration", None)
    if instance is None:
        return None
    text = instance.instance_shape_name or "unknown shape"
    config = instance.model_deployment_instance_shape_config_details
    if config is not None and config.ocpus:
        text += f" ({config.ocpus:g} OCPU" + (
            f", {config.memory_in_gbs:g} GB)" if config.memory_in_gbs else ")"
        )
    return f"{text}, {instances(getattr(infrastructure(deployment), 'scaling_policy', None))}"


def instances(policy: Any) -> str:
    if getattr(policy, "instance_count", None) is not None:
        return f"{policy.instance_count} instance{'s' if policy.instance_count != 1 else ''}"
    for rule in getattr(policy, "auto_scaling_policies", None) or []:
        if getattr(rule, "maximum_instance_count", None) is not None:
            return f"autoscaling {rule.minimum_instance_count}-{rule.maximum_instance_count} instances"
    return "instances unknown"


def describe(deployment: Any) -> list[str]:
    state = deployment.lifecycle_state
    if deployment.lifecycle_details:
        state += f" ({deployment.lifecycle_details})"
    lines = [f"{deployment.display_name}: {state}", f"  id       {deployment.id}"]
    if deployment.model_deployment_url:
        lines.append(f"  predict  {deployment.model_deployment_url}/predict")
    details = deployment.model_deployment_configuration_details
    environment = getattr(details, "environment_configuration_details", None)
    if getattr(environment, "image", None):
        lines.append(f"  image    {environment.image}")
        lines.append(f"  digest   {environment.image_digest or '(none: the tag is pulled)'}")
    if found := shape(deployment):
        lines.append(f"  shape    {found}")
    return lines


def wait(client: Any, deployment: Any, interval: float, timeout: float) -> tuple[Any, float]:
    """Poll until the deployment stops changing or ``timeout`` passes; the last answer and seconds waited."""
    start = time.monotonic()
    while deployment.lifecycle_state in CHANGING and time.monotonic() - start < timeout:
        time.sleep(max(0.0, min(interval, timeout - (time.monotonic() - start))))
        deployment = get(client, deployment.id)
        if deployment.lifecycle_state in CHANGING:
            print(f"  {deployment.lifecycle_state} after {time.monotonic() - start:.0f} s", flush=True)
    return deployment, time.monotonic() - start


def work_request_errors(client: Any, deployment: Any) -> list[str]:
    """The latest work request on the deployment, and each error it recorded."""
    summaries = call(
        "list the deployment's work requests",
        client.list_work_requests,
        deployment.compartment_id,
        resource_id=deployment.id,
        sort_by="timeAccepted",
        sort_order="DESC",
    ).data
    mine = [work for work in summaries if any(r.identifier == deployment.id for r in work.resources or [])]
    if not mine:
        return ["no work request found for the deployment"]
    latest = mine[0]
    errors = call("list the work request's errors", client.list_work_request_errors, latest.id).data
    lines = [f"work request {latest.id}: {latest.operation_type} {latest.status}"]
    lines += [f"  {error.code}: {error.message}" for error in errors] or ["  (it recorded no errors)"]
    predict_log = getattr(getattr(deployment.category_log_details, "predict", None), "log_id", None)
    if predict_log:
        lines.append(f"  the container's output is in the predict log {predict_log}")
    return lines


def as_deployed(settings: dict[str, Any] | None, deployment: Any) -> dict[str, Any]:
    """``settings`` with what the deployment runs with in their place: its environment variables
    (STORAGE_SIZE_IN_GB, DEPLOYMENT_TIMEOUT_IN_MINUTES, WORKERS, the endpoint variables ...), its
    shape and OCPUs, where the deployment states them."""
    deployed = copy.deepcopy(settings) if settings else {}
    details = deployment.model_deployment_configuration_details
    environment = getattr(details, "environment_configuration_details", None)
    if environment is not None:
        deployed.setdefault("container", {})["environment"] = dict(environment.environment_variables or {})
    instance = getattr(infrastructure(deployment), "instance_configuration", None)
    if instance is not None and instance.instance_shape_name:
        instances = deployed.setdefault("instances", {})
        instances["shape"] = instance.instance_shape_name
        config = instance.model_deployment_instance_shape_config_details
        if config is not None and config.ocpus:
            instances["ocpus"] = int(config.ocpus) if float(config.ocpus).is_integer() else config.ocpus
    return deployed


def explanation(deployment: Any, errors: str, args: argparse.Namespace) -> list[str]:
    """The likely causes of the errors, with the evidence of this project's records and settings as
    deployed, then where to look next."""
    try:
        settings = read_settings(args.settings, ())
    except SettingsError:
        settings = None  # the explanation goes without the settings' evidence
    local = ((settings or {}).get("container") or {}).get("environment") or {}
    deployed = as_deployed(settings, deployment)
    try:
        deployed["pushed"] = load_record(args.settings.parent / PUSH_RECORD.name)
    except RecordError:
        deployed["pushed"] = None  # the start record's image is not compared
    return explain_failure(errors, deployed, local if settings else None, args.records, args.sizes)


def status(client: Any, deployment_id: str, args: argparse.Namespace) -> int:
    deployment = get(client, deployment_id)
    print("\n".join(describe(deployment)), flush=True)
    if args.wait and deployment.lifecycle_state in CHANGING:
        print(
            f"waiting while it is {deployment.lifecycle_state} (every {args.interval:g} s, at most {args.timeout:g} s)"
        )
        try:
            deployment, waited = wait(client, deployment, args.interval, args.timeout)
        except KeyboardInterrupt:
            print("\nstopped waiting", file=sys.stderr)
            return 130
        print(f"{deployment.lifecycle_state} after {waited:.0f} s")
        print("\n".join(describe(deployment)))
    if args.json:
        document = client.base_client.sanitize_for_serialization(deployment)
        write_json(args.json, document)
        print(f"wrote the deployment to {args.json}")
    state = deployment.lifecycle_state
    if state in FAILED:
        errors = work_request_errors(client, deployment)
        print("\n".join(errors), file=sys.stderr)
        if explained := explanation(deployment, "\n".join(errors), args):
            print("\n".join(explained), file=sys.stderr)
        return 1
    if state in CHANGING and args.wait:
        print(f"still {state} after {args.timeout:g} s: give it more --timeout", file=sys.stderr)
        return 1
    if state in CHANGING:
        print(f"still {state}: --wait (make status) follows it")
    return 0


def confirmed(command: str, deployment: Any, assume_yes: bool) -> bool:
    """Whether the user typed the deployment's display name (or said ``--yes``)."""
    name = deployment.display_name or deployment.id
    print(f"{command}: {name} ({deployment.id}), now {deployment.lifecycle_state}", flush=True)
    if assume_yes:
        return True
    print(f"type its name ({name}) to {command} it: ", end="", flush=True)
    try:
        answer = sys.stdin.readline().strip()
    except KeyboardInterrupt:
        answer = ""
    if answer != name:
        print(f"\nnot {CONFIRMED[command]}: the name typed was not {name!r}", file=sys.stderr)
        return False
    return True


def change(client: Any, deployment_id: str, args: argparse.Namespace) -> int:
    """Activate, deactivate or delete the deployment; print the work request that does it."""
    command = args.command
    if command in CONFIRMED and not confirmed(command, get(client, deployment_id), args.yes):
        return 1
    method = {
        "activate": client.activate_model_deployment,
        "deactivate": client.deactivate_model_deployment,
        "delete": client.delete_model_deployment,
    }[command]
    response = call(f"{command} the deployment", method, deployment_id)
    recorded = recorded_deployment_id() == deployment_id
    follow = (
        "make status" if recorded and command != "delete" else f"make status DEPLOYMENT_ID={deployment_id}"
    )
    work_request = response.headers.get("opc-work-request-id") or "(no id returned)"
    print(f"{command} requested: work request {work_request}")
    print(f"  `{follow}` follows it until it is {ENDS_IN[command]}")
    if command == "delete" and recorded:
        DEPLOYMENT_ID_FILE.unlink()
        print(f"  removed {RECORD}")
    return 0


def run(args: argparse.Namespace) -> int:
    deployment_id = args.deployment_id or recorded_deployment_id()
    if not deployment_id:
        print(
            f"no deployment given: give --deployment-id, or run `make deploy`, which records it in {RECORD}",
            file=sys.stderr,
        )
        return 1
    if args.command in CONFIRMED and not args.yes and not (sys.stdin and sys.stdin.isatty()):
        print(
            f"not {CONFIRMED[args.command]}: {args.command} asks you to type the deployment's name, and stdin "
            f"is not a terminal; pass --yes (make {args.command} YES=1) to skip the question",
            file=sys.stderr,
        )
        return 1
    try:
        doing = "get the deployment" if args.command == "status" else f"{args.command} the deployment"
        client = call(doing, oci_client.data_science_client, args)
        return (status if args.command == "status" else change)(client, deployment_id, args)
    except Refused as refused:
        print(oci_client.failure(refused.error, refused.doing, args.endpoint), file=sys.stderr)
        return 1
