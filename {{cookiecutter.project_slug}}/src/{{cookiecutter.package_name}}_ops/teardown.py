"""Delete what this project created in OCI, from what it recorded when it created each thing.

``make teardown`` lists, from the project's records: the deployment (deploy/deployment-id.txt,
``make deploy``), the debug jobs (deploy/debug-job.json, ``make debug-job DEBUG_JOB_RUN=1``),
the model in the catalog (deploy/catalog-model-id.txt, ``make catalog CATALOG_RUN=1``), the
pushed images (deploy/pushed-image.json and the scorer's, ``make push``: the last push and those
it replaced) and the scan target and recipe (deploy/scan-setup.json, ``make scan-setup
SCAN_RUN=1``). It asks you to type the project's name ({{ cookiecutter.project_slug }}; ``--yes``
skips that), then deletes in the order OCI needs: deactivates the deployment and waits until it
is inactive, deletes it and waits until it is gone; cancels each debug job's runs still going,
waits until they stop, deletes the job with its runs and waits until it is gone; then the model
the deployment served, the images, the scan target and its recipe. Each record is removed once
its thing is gone; one that is already gone in OCI counts as deleted. The end lists what is
left, if anything (exit 1), and why.

    python -m {{ cookiecutter.package_name }}_ops teardown [--yes] [--interval 15] [--timeout 1800]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import oci_client
from .project import (
    CATALOG_MODEL_ID_FILE,
    DEBUG_JOB_RECORD,
    DEPLOY,
    DEPLOYMENT_ID_FILE,
    PROJECT,
    SLUG,
    read_json,
    read_settings,
    write_json,
)
from .push_record import EARLIER

PUSH_RECORDS = (DEPLOY / "pushed-image.json", DEPLOY / "scorer-pushed-image.json")
SCAN_RECORD = DEPLOY / "scan-setup.json"
GONE = frozenset({"DELETED"})
CHANGING = frozenset({"CREATING", "UPDATING", "DELETING"})
SETTLED = frozenset({"ACTIVE", "INACTIVE", "FAILED", "NEEDS_ATTENTION", "DELETED"})
# JobRun.lifecycle_state (the SDK's values): a job can't be deleted while a run is in one of
# RUNNING ("The deletion fails when associated job runs are in progress", Oracle's "Deleting a
# Job"); those are the states a run can be canceled in (ADS's Job.delete(force_delete=True)).
RUNNING = frozenset({"ACCEPTED", "IN_PROGRESS", "NEEDS_ATTENTION"})
RUN_ENDED = frozenset({"SUCCEEDED", "FAILED", "CANCELED", "DELETED"})
ENDPOINTS = {"artifacts": "OCI_ARTIFACTS_ENDPOINT", "scanning": "OCI_VULNERABILITY_SCANNING_ENDPOINT"}


class Left(Exception):
    """A thing could not be deleted; the message says why."""


@dataclass
class Thing:
    """One thing in OCI, its record, and how to delete it."""

    kind: str
    ocid_or_image: str
    record: Path
    delete: Callable[[], None]
    forget: Callable[[], None]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--yes", action="store_true", help="do not ask for the project's name")
    parser.add_argument("--interval", type=float, default=15.0, help="seconds between polls (default 15)")
    parser.add_argument(
        "--timeout", type=float, default=1800.0, help="give up waiting after (default 1800 s)"
    )
    parser.add_argument("--artifacts-endpoint", default=os.environ.get(ENDPOINTS["artifacts"]))
    parser.add_argument("--scanning-endpoint", default=os.environ.get(ENDPOINTS["scanning"]))
    oci_client.add_arguments(parser)


def call(doing: str, method: Callable[..., Any], *arguments: Any, **options: Any) -> Any:
    """The SDK call; a 404 is None (already gone), any other failure is ``Left``."""
    try:
        return method(*arguments, **options)
    except oci_client.SDK_ERRORS as error:
        if getattr(error, "status", None) == 404:
            return None
        raise Left(oci_client.failure(error, doing)) from error


def wait_for(get: Callable[[], Any], wanted: frozenset[str], args: argparse.Namespace, what: str) -> None:
    """Poll until the thing is in a ``wanted`` state, or gone (404); ``Left`` after the timeout."""
    start = time.monotonic()
    while (found := get()) is not None and found.lifecycle_state not in wanted:
        if time.monotonic() - start > args.timeout:
            raise Left(
                f"{what} still {found.lifecycle_state} after {args.timeout:g} s: run make teardown again"
            )
        print(f"  {what}: {found.lifecycle_state} after {time.monotonic() - start:.0f} s", flush=True)
        time.sleep(args.interval)


def clients(args: argparse.Namespace) -> dict[str, Any]:
    import oci

    made = {"data_science": oci_client.data_science_client(args)}
    for name, client_class, endpoint in (
        ("artifacts", oci.artifacts.ArtifactsClient, args.artifacts_endpoint),
        ("scanning", oci.vulnerability_scanning.VulnerabilityScanningClient, args.scanning_endpoint),
    ):
        made[name] = oci_client.client(
            argparse.Namespace(**{**vars(args), "endpoint": endpoint}), client_class
        )
    return made


def deployment_thing(client: Any, deployment_id: str, args: argparse.Namespace) -> Thing:
    def get() -> Any:
        response = call("get the deployment", client.get_model_deployment, deployment_id)
        return None if response is None else response.data

    def delete() -> None:
        found = get()
        if found is not None and found.lifecycle_state in CHANGING:
            wait_for(get, SETTLED, args, "deployment")
            found = get()
        if found is None or found.lifecycle_state in GONE:
            return
        if found.lifecycle_state == "ACTIVE":
            call("deactivate the deployment", client.deactivate_model_deployment, deployment_id)
            print("  deactivating: it stops serving (and billing for its instances)", flush=True)
            wait_for(get, frozenset({"INACTIVE", "FAILED"}), args, "deployment")
        call("delete the deployment", client.delete_model_deployment, deployment_id)
        print("  deleting the deployment", flush=True)
        wait_for(get, GONE, args, "deployment")

    return Thing("deployment", deployment_id, DEPLOYMENT_ID_FILE, delete, DEPLOYMENT_ID_FILE.unlink)


def job_thing(
    client: Any, job: dict[str, Any], args: argparse.Namespace, record: Path, forget: Callable[[], None]
) -> Thing:
    """A debug job: its runs still going canceled and waited for, then the job with its runs."""
    job_id = job["job_id"]

    def get(what: str, method: Callable[..., Any], ocid: str) -> Callable[[], Any]:
        def found() -> Any:
            response = call(f"get the {what}", method, ocid)
            return None if response is None else response.data

        return found

    def delete() -> None:
        runs = call("list the debug job's runs", client.list_job_runs, job["compartment_id"], job_id=job_id)
        for run in runs.data if runs is not None else []:
            if run.lifecycle_state in RUNNING:
                call("cancel the debug job's run", client.cancel_job_run, run.id)
                print(f"  canceling its run {run.id}: it stops (and stops billing for its shape)", flush=True)
                wait_for(get("job run", client.get_job_run, run.id), RUN_ENDED, args, "job run")
        call("delete the debug job", client.delete_job, job_id, delete_related_job_runs=True)
        wait_for(get("debug job", client.get_job, job_id), GONE, args, "debug job")

    return Thing("debug job", job_id, record, delete, forget)


def job_things(client: Any, record: Path, recorded: dict[str, Any], args: argparse.Namespace) -> list[Thing]:
    """The jobs of earlier debug runs, each dropped from the record once gone, then its last job."""
    earlier = [job for job in recorded.get(EARLIER) or [] if isinstance(job, dict)]
    things = [job_thing(client, job, args, record, dropping(record, job)) for job in earlier]
    return [*things, job_thing(client, recorded, args, record, forgetting_last(record))]


def model_thing(client: Any, model_id: str) -> Thing:
    def delete() -> None:
        call("delete the model", client.delete_model, model_id)

    return Thing("model", model_id, CATALOG_MODEL_ID_FILE, delete, CATALOG_MODEL_ID_FILE.unlink)


def image_thing(
    client: Any, record: Path, pushed: dict[str, Any], compartment_id: str, forget: Callable[[], None]
) -> Thing:
    image, digest = pushed["image"], pushed["digest"]
    repository = image.split("/", 2)[2].rsplit(":", 1)[0]  # host/namespace/<repository>:tag

    def delete() -> None:
        found = call(
            f"find {image} in the registry",
            client.list_container_images,
            compartment_id,
            compartment_id_in_subtree=True,
            repository_name=repository,
            image_digest=digest,
        )
        for item in found.data.items if found is not None else []:
            call(f"delete {image}", client.delete_container_image, item.id)

    return Thing("image", f"{image}@{digest}", record, delete, forget)


def dropping(record: Path, entry: dict[str, Any]) -> Callable[[], None]:
    """Forgets an earlier entry of ``record`` (a push, a debug job), keeping the others."""

    def forget() -> None:
        kept = json.loads(record.read_text())
        write_json(record, kept | {EARLIER: [other for other in kept[EARLIER] if other != entry]})

    return forget


def forgetting_last(record: Path) -> Callable[[], None]:
    """Forgets ``record`` with its last entry, unless an earlier entry is left in it."""

    def forget() -> None:
        if not json.loads(record.read_text()).get(EARLIER):
            record.unlink()

    return forget


def image_things(client: Any, record: Path, pushed: dict[str, Any], compartment_id: str) -> list[Thing]:
    """The pushes a record replaced, each dropped from it once gone, then its last push: the
    record goes with that one, unless an earlier push is left in it."""
    things = [
        image_thing(client, record, entry, compartment_id, dropping(record, entry))
        for entry in pushed.get(EARLIER, [])
    ]
    return [*things, image_thing(client, record, pushed, compartment_id, forgetting_last(record))]


def scan_things(client: Any, record: Path, setup: dict[str, Any]) -> list[Thing]:
    """The target first: it names the recipe, which can't go while a target uses it."""
    things = []
    if setup.get("target_id"):
        target_id = setup["target_id"]

        def forget_target() -> None:
            record.write_text(json.dumps({**setup, "target_id": None}, indent=2) + "\n")

        things.append(
            Thing(
                "scan target",
                target_id,
                record,
                lambda: call("delete the scan target", client.delete_container_scan_target, target_id),
                forget_target,
            )
        )
    if setup.get("recipe_id"):
        recipe_id = setup["recipe_id"]
        things.append(
            Thing(
                "scan recipe",
                recipe_id,
                record,
                lambda: call("delete the scan recipe", client.delete_container_scan_recipe, recipe_id),
                record.unlink,
            )
        )
    return things


def recorded(args: argparse.Namespace, made: dict[str, Any], tenancy: str) -> list[Thing]:
    """Everything the records name, in the order it must be deleted; InputError (one line, before
    anything is deleted) names a record that is not a JSON object."""
    things = []
    if DEPLOYMENT_ID_FILE.is_file() and (deployment_id := DEPLOYMENT_ID_FILE.read_text().strip()):
        things.append(deployment_thing(made["data_science"], deployment_id, args))
    if DEBUG_JOB_RECORD.is_file():
        job = read_json(DEBUG_JOB_RECORD, "make debug-job's record")
        things += job_things(made["data_science"], DEBUG_JOB_RECORD, job, args)
    if CATALOG_MODEL_ID_FILE.is_file() and (model_id := CATALOG_MODEL_ID_FILE.read_text().strip()):
        things.append(model_thing(made["data_science"], model_id))
    for record in PUSH_RECORDS:
        if record.is_file():
            things += image_things(made["artifacts"], record, read_json(record, "a push record"), tenancy)
    if SCAN_RECORD.is_file():
        scan = read_json(SCAN_RECORD, "make scan-setup's record")
        things += scan_things(made["scanning"], SCAN_RECORD, scan)
    return things


def confirmed(things: list[Thing], assume_yes: bool) -> bool:
    if assume_yes:
        return True
    if not (sys.stdin and sys.stdin.isatty()):
        print(
            "not deleted: teardown asks you to type the project's name; pass --yes (YES=1)", file=sys.stderr
        )
        return False
    print(f"type the project's name ({SLUG}) to delete these {len(things)}: ", end="", flush=True)
    if sys.stdin.readline().strip() != SLUG:
        print(f"not deleted: the name typed was not {SLUG}", file=sys.stderr)
        return False
    return True


def tenancy_of(args: argparse.Namespace) -> str:
    """The tenancy, whose subtree holds every repository (a first push creates one in the root)."""
    config, _ = oci_client.config_and_signer(args)
    return config.get("tenancy") or read_settings().get("compartment_id") or ""


def run(args: argparse.Namespace) -> int:
    try:
        made = clients(args)
        things = recorded(args, made, tenancy_of(args))
    except oci_client.SDK_ERRORS as error:
        print(oci_client.failure(error, "reach OCI", args.endpoint), file=sys.stderr)
        return 1
    if not things:
        print(
            f"nothing recorded in {DEPLOY.relative_to(PROJECT)}: this project created nothing in OCI, or it is gone"
        )
        return 0
    print(f"{SLUG} created, by its records:")
    for thing in things:
        print(f"  {thing.kind:<12} {thing.ocid_or_image}  ({thing.record.relative_to(PROJECT)})")
    if not confirmed(things, args.yes):
        return 1
    left = []
    for thing in things:
        if thing.kind in ("model", "image") and any(other.kind == "deployment" for other, _ in left):
            left.append((thing, "the deployment that uses it is still there"))
            continue
        print(f"deleting the {thing.kind} {thing.ocid_or_image}", flush=True)
        try:
            thing.delete()
        except Left as why:
            left.append((thing, str(why)))
            continue
        thing.forget()
    if left:
        print("left in OCI:", file=sys.stderr)
        for thing, why in left:
            print(f"  {thing.kind} {thing.ocid_or_image}: {why}", file=sys.stderr)
        return 1
    print("nothing left: every recorded thing is deleted, and its record removed")
    return 0
