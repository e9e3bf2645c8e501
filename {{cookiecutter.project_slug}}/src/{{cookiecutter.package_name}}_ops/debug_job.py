"""Run the deployment's image as an OCI Data Science job, to read its own output (OCI SDK).

Oracle's advanced debugging path for a container that never becomes healthy (the
BYOC samples of oracle-samples/oci-data-science-ai-samples run the image as a job):
a job has no health check to fail, so the container runs until it stops or the job's
maximum runtime ends, and everything it writes goes to the job run's log in OCI Logging.

The job runs the image and digest the deployment uses (deploy/pushed-image.json, or
``[container]`` image and digest), its cmd, entrypoint and environment, on the shape,
OCPUs and memory of ``[instances]``, with the artifact zip (dist/model_artifact.zip)
uploaded as the job's artifact: OCI unzips a job's artifact into
/home/datascience/decompressed_artifact, so the scorer gets ``MODEL_DIR`` there (Triton,
its ``--model-repository``) instead of the deployment's /opt/ds/model/deployed_model. The
run logs into the predict log group of ``[logging]``, a log of its own for each run
(``[debug_job]`` ``log_id`` names one instead). ``[debug_job]`` also sets the maximum
runtime, the block storage and a subnet.

By default it prints the job's body (the SDK's ``CreateJobDetails``, checked against its
model). ``--run`` checks the zip's size, creates the job, uploads the zip (a failed upload
deletes the job, as ADS does), starts a run, records both OCIDs in deploy/debug-job.json (with
the jobs of earlier runs) and prints the run's log until a few minutes after the run ends
(OCI Logging takes entries in late; Ctrl-C stops printing, the run goes on until its maximum
runtime). ``--logs`` prints the recorded run's log again, from the record alone (the settings
file is not read). The jobs and their runs stay in the project (Console: Data Science > Jobs)
until `make teardown` deletes them; a run is billed for the shape while it runs.

    python -m {{ cookiecutter.package_name }}_ops debug-job [--run | --logs] [--artifact dist/model_artifact.zip]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from {{ cookiecutter.package_name }}.oci_rules import (
    MODEL_MOUNT,
    check_ocid,
)

from . import oci_client, remote_logs
from .deploy_config import (
    deployed_image,
    environment_variables,
    image_problems,
    is_triton,
    load_settings,
    shape_config,
)
from .errors import InputError
from .oci_models import ModelMismatch, check_body, to_sdk_model
from .project import (
    DEBUG_JOB_RECORD,
    OCID_KINDS,
    PROJECT,
    SETTINGS,
    SLUG,
    freeform_tags,
    read_json,
    unset_ocid,
    write_json,
)
from .push_record import EARLIER

HELP = {
    "debug-job": "Run the deployment's image as an OCI Data Science job, to read its own output in its log"
}
RECORD = DEBUG_JOB_RECORD
# Where OCI unzips a job's artifact in a custom container (Oracle's BYOC documentation for jobs
# and pipelines: "/home/datascience/decompressed_artifact").
JOB_ARTIFACT_DIR = "/home/datascience/decompressed_artifact"
# Ours: twice the 10 minutes a deployment's container has to become healthy (the platform
# document): long enough to see a slow start end or fail; the run is billed until it stops.
MAX_RUNTIME_MINUTES = 20
# The largest artifact a job takes (Oracle's "Preparing Job Artifacts",
# docs.oracle.com/iaas/data-science/using/jobs-artifact.htm: "Jobs artifact can be maximum of
# 4 GB"); counted in decimal GB, the smaller reading, so a zip refused here is never sent.
MAX_JOB_ARTIFACT_BYTES = 4 * 10**9
# The smallest block storage a job takes, in GB (ADS's DataScienceJob: "Minimum/Default block
# storage size is 50 (GB)").
MIN_BLOCK_STORAGE_GB = 50
# JobRun.lifecycle_state: a run in these has stopped (the SDK's allowed values).
ENDED = frozenset({"SUCCEEDED", "FAILED", "CANCELED", "DELETED", "NEEDS_ATTENTION"})
Body = dict[str, Any]


def job_settings(settings: dict[str, Any]) -> tuple[Body, list[str]]:
    """``[debug_job]`` with its defaults, and what OCI would refuse in it (one line each). The kind
    of each key is project.SCHEMA's, checked as the settings are read."""
    given = settings.get("debug_job", {})
    values = {
        "max_runtime_minutes": given.get("max_runtime_minutes", MAX_RUNTIME_MINUTES),
        "block_storage_gb": given.get("block_storage_gb", MIN_BLOCK_STORAGE_GB),
        "subnet_id": given.get("subnet_id", ""),
        "log_id": given.get("log_id", ""),
    }
    problems = []
    if values["max_runtime_minutes"] < 1:
        problems.append(f"debug_job.max_runtime_minutes: {values['max_runtime_minutes']} must be 1 or more")
    if values["block_storage_gb"] < MIN_BLOCK_STORAGE_GB:
        problems.append(
            f"debug_job.block_storage_gb: {values['block_storage_gb']} must be {MIN_BLOCK_STORAGE_GB} or more"
        )
    for key, kinds in (("subnet_id", ("subnet",)), ("log_id", ("log",))):
        if values[key] and (problem := check_ocid(f"debug_job.{key}", values[key], kinds)):
            problems.append(problem)
    return values, problems


def log_group(settings: dict[str, Any]) -> str:
    """The log group of the job's runs: the predict log's (its output is the container's, as there)."""
    logging = settings.get("logging") or {}
    return logging.get("predict_log_group_id") or logging.get("access_log_group_id") or ""


def problems_of(settings: dict[str, Any]) -> list[str]:
    """What keeps the job from being created: the image, the OCIDs, the log group, ``[debug_job]``."""
    problems = image_problems(settings)
    for key in ("compartment_id", "project_id"):
        unset = f"{unset_ocid(key)}; the job is created there"
        if problem := check_ocid(key, settings.get(key, ""), OCID_KINDS[key], unset):
            problems.append(problem)
    if not log_group(settings):
        problems.append(
            "logging.predict_log_group_id: not set yet; the job's output goes to a log of that group "
            "(`make logs-remote` says how to create one)"
        )
    return problems + job_settings(settings)[1]


def in_job(text: str) -> str:
    """``text`` (a part of cmd or entrypoint, an environment value) reading the model from the
    job's artifact folder instead of the deployment's mount."""
    return text.replace(MODEL_MOUNT, JOB_ARTIFACT_DIR)


def command(container: Body, key: str = "cmd") -> list[str]:
    """The container's cmd (or ``key``: entrypoint), reading the model where the job has it."""
    return [in_job(part) for part in container.get(key) or []]


def job_body(settings: dict[str, Any]) -> Body:
    """The ``CreateJobDetails`` of the debug job, checked by the SDK's model."""
    container, instances = settings["container"], settings["instances"]
    job, _ = job_settings(settings)
    image, digest = deployed_image(settings)
    variables = {name: in_job(value) for name, value in environment_variables(container).items()}
    if not is_triton(container):
        variables["MODEL_DIR"] = JOB_ARTIFACT_DIR
    environment: Body = {"jobEnvironmentType": "OCIR_CONTAINER", "image": image, "imageDigest": digest}
    if cmd := command(container):
        environment["cmd"] = cmd
    if entrypoint := command(container, "entrypoint"):
        environment["entrypoint"] = entrypoint
    infrastructure: Body = {
        "jobInfrastructureType": "STANDALONE" if job["subnet_id"] else "ME_STANDALONE",
        "shapeName": instances["shape"],
        "blockStorageSizeInGBs": job["block_storage_gb"],
    }
    if job["subnet_id"]:
        infrastructure["subnetId"] = job["subnet_id"]
    infrastructure |= shape_config(instances, "jobShapeConfigDetails")  # as the deployment's
    logs: Body = {
        "enableLogging": True,
        "enableAutoLogCreation": not job["log_id"],
        "logGroupId": log_group(settings),
    }
    if job["log_id"]:
        logs["logId"] = job["log_id"]
    body: Body = {
        "projectId": settings["project_id"],
        "compartmentId": settings["compartment_id"],
        "displayName": f"{settings.get('display_name') or SLUG} debug job",
        "description": f"The image of the deployment run as a job, to read its output ({image})",
        "jobConfigurationDetails": {
            "jobType": "DEFAULT",
            "environmentVariables": variables,
            "maximumRuntimeInMinutes": job["max_runtime_minutes"],
        },
        "jobInfrastructureConfigurationDetails": infrastructure,
        "jobEnvironmentConfigurationDetails": environment,
        "jobLogConfigurationDetails": logs,
    }
    if tags := freeform_tags(settings):
        body["freeformTags"] = tags
    check_body(body, "CreateJobDetails")
    return body


def run_body(job: Body, job_id: str) -> Body:
    """The ``CreateJobRunDetails`` that starts the job as it was created."""
    body = {
        "projectId": job["projectId"],
        "compartmentId": job["compartmentId"],
        "jobId": job_id,
        "displayName": f"{job['displayName']} run",
        **({"freeformTags": job["freeformTags"]} if "freeformTags" in job else {}),
    }
    check_body(body, "CreateJobRunDetails")
    return body


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--settings", type=Path, default=SETTINGS)
    parser.add_argument("--artifact", type=Path, default=PROJECT / "dist" / "model_artifact.zip")
    parser.add_argument("--record", type=Path, default=RECORD, help="where the job and run OCIDs are kept")
    action = parser.add_mutually_exclusive_group()
    action.add_argument(
        "--run", action="store_true", help="create the job, upload the zip, start a run, print its log"
    )
    action.add_argument("--logs", action="store_true", help="print the log of the recorded run again")
    parser.add_argument(
        "--interval", type=float, default=remote_logs.FOLLOW_INTERVAL, help="seconds between polls"
    )
    parser.add_argument("--polls", type=int, help="stop following after this many searches (tests)")
    remote_logs.add_logging_endpoint(parser)


def shown(path: Path) -> str:
    return str(path.relative_to(PROJECT)) if path.is_relative_to(PROJECT) else str(path)


def recorded_jobs(path: Path) -> list[Body]:
    """Every job a record names, oldest first (those it kept, then its own), for the next record
    to keep: `make teardown` deletes them all. [] when there is no record, or it is not one."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(record, dict) or not isinstance(record.get("job_id"), str):
        return []
    kept = [job for job in record.get(EARLIER) or [] if isinstance(job, dict) and "job_id" in job]
    return [*kept, {key: record[key] for key in ("job_id", "compartment_id", "job_run_id") if key in record}]


def artifact_problem(path: Path) -> str | None:
    """Why ``path`` can't be the job's artifact (missing, over OCI's limit), or None."""
    if not path.is_file():
        return f"{path} is missing: run `make artifact` first"
    if (size := path.stat().st_size) > MAX_JOB_ARTIFACT_BYTES:
        return (
            f"{path}: {size:,} bytes, over the {MAX_JOB_ARTIFACT_BYTES:,} a job's artifact may have "
            '(Oracle: "Jobs artifact can be maximum of 4 GB"): nothing was created'
        )
    return None


def upload(client: Any, job_id: str, artifact: Path) -> None:
    """Upload ``artifact`` as the job's. A container job is ACTIVE without one (ADS uploads one
    only when it is given), but this job's container reads the model from it: always uploaded."""
    saved = client.base_client.timeout
    client.base_client.timeout = (oci_client.TIMEOUTS[0], 600)  # OCI answers once it stored the zip
    try:
        with artifact.open("rb") as stream:
            client.create_job_artifact(
                job_id, stream, content_disposition=f"attachment; filename={artifact.name}"
            )
    finally:
        client.base_client.timeout = saved


def undo_create(client: Any, job_id: str, record_path: Path, before: bytes | None) -> None:
    """After a failed upload: delete the job (as ADS's DSCJob does) and put the record back as it
    was; when OCI refuses that too, the job stays recorded for `make teardown`. Says which."""
    try:
        client.delete_job(job_id)
    except oci_client.SDK_ERRORS as error:
        print(
            f"the upload failed, and {oci_client.failure(error, f'delete the job {job_id}')}; "
            f"it stays recorded in {shown(record_path)}: `make teardown` deletes it",
            file=sys.stderr,
        )
        return
    if before is None:
        record_path.unlink(missing_ok=True)
    else:
        record_path.write_bytes(before)
    print(f"the upload failed: job {job_id} deleted", file=sys.stderr)


def create_and_start(args: argparse.Namespace, client: Any, body: Body) -> Body | None:
    """Create the job, upload the artifact, start a run; the record of both, written as it grows,
    keeping the jobs an earlier record named. None, said in lines, when the upload failed (the
    job deleted, or left recorded)."""
    earlier = recorded_jobs(args.record)
    before = args.record.read_bytes() if args.record.is_file() else None
    job_id = client.create_job(to_sdk_model(body, "CreateJobDetails")).data.id
    record: Body = {"job_id": job_id, "compartment_id": body["compartmentId"]}
    if earlier:
        record[EARLIER] = earlier
    write_json(args.record, record)
    print(
        f"job {job_id} created (recorded in {shown(args.record)}); uploading {shown(args.artifact)}",
        flush=True,
    )
    try:
        upload(client, job_id, args.artifact)
    except oci_client.SDK_ERRORS as error:
        print(
            oci_client.failure(error, f"upload {shown(args.artifact)} as the job's artifact", args.endpoint),
            file=sys.stderr,
        )
        undo_create(client, job_id, args.record, before)
        return None
    except KeyboardInterrupt:
        undo_create(client, job_id, args.record, before)
        raise
    run = client.create_job_run(to_sdk_model(run_body(body, job_id), "CreateJobRunDetails")).data
    record["job_run_id"] = run.id
    write_json(args.record, record)
    print(f"job run {run.id} started: {run.lifecycle_state} (recorded in {shown(args.record)})", flush=True)
    return record


def print_run_log(args: argparse.Namespace, client: Any, record: Body) -> int:
    """Print the run's log until OVERLAP after the run ends (each poll asks its state; OCI Logging
    takes entries in minutes late), then its state."""
    run_id = record["job_run_id"]
    state = {"run": client.get_job_run(run_id).data, "seen_ending": False}
    grace = remote_logs.OVERLAP

    def ended() -> datetime | None:
        """When the run ended (now, when OCI does not say), None while it runs."""
        was_running = state["run"].lifecycle_state not in ENDED
        state["run"] = client.get_job_run(run_id).data
        if state["run"].lifecycle_state not in ENDED:
            return None
        finished = state["run"].time_finished or datetime.now(UTC)
        if was_running:
            state["seen_ending"] = True
            print(
                f"job run {run_id} {state['run'].lifecycle_state}: reading its late lines for "
                f"{grace.total_seconds() / 60:g} minutes after it ended (Ctrl-C stops printing)",
                file=sys.stderr,
                flush=True,
            )
        return finished

    waited = 0
    while getattr(state["run"].log_details, "log_id", None) is None and ended() is None:
        if args.polls is not None and waited >= args.polls:  # OCI makes the run's log when it starts
            print(
                f"job run {run_id} is {state['run'].lifecycle_state}, its log not made yet: `make debug-job DEBUG_JOB_LOGS=1` later"
            )
            return 0
        waited += 1
        time.sleep(args.interval)
    details = state["run"].log_details
    if details is None or not details.log_id:
        print(f"job run {run_id} ended {state['run'].lifecycle_state} without a log", file=sys.stderr)
        return 1
    log = remote_logs.Log("job run", record["compartment_id"], details.log_group_id, details.log_id)
    accepted = state["run"].time_accepted or datetime.now(UTC)
    since = min(datetime.now(UTC) - accepted + timedelta(minutes=1), remote_logs.MAX_SINCE)
    print(
        f"the run's log ({details.log_id}), until minutes after the run ends (Ctrl-C stops printing, not the run):",
        flush=True,
    )
    # source = '*<OCID>' (a leading wildcard: ADS's OCILog.search; source = '<OCID>' is refused)
    status = remote_logs.print_logs(
        args, [log], since, where=f"source = '*{run_id}'", keep_polling=True, ended=ended, grace=grace
    )
    if status:
        return status
    run = state["run"]
    details_text = f" ({run.lifecycle_details})" if run.lifecycle_details else ""
    print(f"job run {run_id}: {run.lifecycle_state}{details_text}")
    if state["seen_ending"]:  # OCI Logging may take in more lines still
        print("late lines: `make debug-job DEBUG_JOB_LOGS=1` in a few minutes prints the whole log again")
    return 0


def run(args: argparse.Namespace) -> int:
    if args.logs:  # the record and the Logging options are all it needs
        record = read_json(
            args.record, "the debug job's record, as `make debug-job DEBUG_JOB_RUN=1` writes it"
        )
        if not isinstance(record.get("job_run_id"), str) or not isinstance(record.get("compartment_id"), str):
            raise InputError(
                f"{args.record}: no job_run_id: `make debug-job DEBUG_JOB_RUN=1` starts a run and records it"
            )
        return watch(args, record)
    settings = load_settings(args.settings)
    if problems := problems_of(settings):
        print("debug job refused; nothing was created:", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    try:
        body = job_body(settings)
    except ModelMismatch as error:
        print(f"debug job refused: the OCI SDK's models refuse the request: {error}", file=sys.stderr)
        return 1
    print(f"# the debug job (CreateJobDetails): {body['jobEnvironmentConfigurationDetails']['image']}")
    print(json.dumps(body, indent=2))
    if not args.run:
        print(
            f"# make debug-job DEBUG_JOB_RUN=1 creates it, uploads {shown(args.artifact)} as its artifact "
            f"(unzipped into {JOB_ARTIFACT_DIR}), starts a run and prints its log"
        )
        return 0
    if problem := artifact_problem(args.artifact):  # before anything is created
        print(problem, file=sys.stderr)
        return 1
    doing = "create the debug job"
    try:
        client = oci_client.data_science_client(args)
        record = create_and_start(args, client, body)
    except oci_client.SDK_ERRORS as error:
        print(oci_client.failure(error, doing, args.endpoint), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"\nstopped; what was created is recorded in {shown(args.record)}", file=sys.stderr)
        return 130
    return watch(args, record, client) if record else 1


def watch(args: argparse.Namespace, record: Body, client: Any = None) -> int:
    """Print the recorded run's log until it ends; one line when OCI refuses."""
    try:
        client = client or oci_client.data_science_client(args)
        return print_run_log(args, client, record)
    except oci_client.SDK_ERRORS as error:
        print(oci_client.failure(error, "read the debug job run", args.endpoint), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(
            "\nstopped printing; the run goes on: `make debug-job DEBUG_JOB_LOGS=1` prints its log again",
            file=sys.stderr,
        )
        return 130
