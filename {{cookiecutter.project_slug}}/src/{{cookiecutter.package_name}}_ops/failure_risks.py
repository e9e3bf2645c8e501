"""The two commonest failures of a model deployment, seen before create and explained after one.

Oracle's troubleshooting notes for large models (oracle-samples/oci-data-science-ai-samples,
model-deployment/containers/llm/llama2/README.md, "Troubleshooting") name them:

- "Workflow timed out. Maximum runtime was: N minutes": the container was not healthy in
  time; the fix is DEPLOYMENT_TIMEOUT_IN_MINUTES ("Max value allowed is 240").
- "Errors occurred while bootstrapping the Model Deployment": a boot volume too small for a
  highly compressed artifact once unzipped (the fix: STORAGE_SIZE_IN_GB), or a container
  that never answers, e.g. on a MODEL_DEPLOY_PREDICT_ENDPOINT / MODEL_DEPLOY_HEALTH_ENDPOINT
  the scorer refuses.

`make deploy-config` warns from what this machine recorded (start_record.py: the start
time of `make run` / `make deploy-local`; artifact.py: the zip's sizes), and `make status`
maps a FAILED work request's errors to these causes, with the same evidence and the fix, then
says where to look next (the deployment's logs, a debug job).
"""

from __future__ import annotations

import argparse
import json
import math
import re
from pathlib import Path
from typing import Any

from {{ cookiecutter.package_name }}.oci_rules import (
    HEALTH_PATH,
    MAX_DEPLOYMENT_TIMEOUT_MINUTES,
    MAX_STORAGE_GB,
    MIN_DEPLOYMENT_TIMEOUT_MINUTES,
    MIN_STORAGE_GB,
    PREDICT_PATH,
    check_endpoint_paths,
    check_whole,
)
from {{ cookiecutter.package_name }}.oci_rules import (
    is_triton as triton_environment,
)
from {{ cookiecutter.package_name }}.settings import Settings, worker_count

from .capacity import CapacityError, busy_cpus, instance_vcpus
from .project import PROJECT
from .push_record import RECORD
from .start_record import START_RECORD, described, read_start_record

ARTIFACT = PROJECT / "dist" / "model_artifact.zip"  # the Makefile's ARTIFACT unless it is given


def sizes_record(artifact: Path) -> Path:
    """Where `make artifact` records a zip's sizes: beside it, as its .sha256 (dist/model_artifact.zip.json)."""
    return artifact.with_name(artifact.name + ".json")


SIZES_RECORD = sizes_record(ARTIFACT)


def add_record_arguments(parser: argparse.ArgumentParser, purpose: str = "") -> None:
    """--records and --sizes: where this machine's figures are (deploy-config's warnings, status'
    explanation of a FAILED deployment); ``purpose`` starts their help."""
    parser.add_argument(
        "--records",
        type=Path,
        default=START_RECORD.parent,
        help=f"{purpose}the start time recorded here ({START_RECORD.name})",
    )
    parser.add_argument(
        "--sizes",
        type=Path,
        default=SIZES_RECORD,
        help=f"{purpose}the artifact's sizes (make artifact's <ARTIFACT>.json)",
    )


# The platform document (oci-byoc-model-deployment.txt): "The service defined timeout for the
# container to run is 10 minutes so ensure that the inference serving container starts (is
# healthy) within this time frame."
HEALTHY_WITHIN_MINUTES = 10
# Ours: the same window holds the image pull and the artifact's download and unzip, and a vCPU of
# the shape may be slower than a CPU here: a start that takes over half of it is a risk.
START_SHARE = 0.5
# Assumed: Oracle documents no default size of a model deployment's boot volume; the rules module's
# least STORAGE_SIZE_IN_GB (50 GB, the smallest boot volume OCI gives an instance) stands for it.
# STORAGE_SIZE_IN_GB in the environment replaces it.
ASSUMED_VOLUME_GB = MIN_STORAGE_GB
# Ours: the volume also holds the OS and the image (up to 16 GB), and the zip and its unpacked
# files sit on it together while OCI unzips: they may take half of it.
VOLUME_SHARE = 0.5
GB, MB = 1 << 30, 1 << 20
ENDPOINT_VARIABLES = {
    "MODEL_DEPLOY_PREDICT_ENDPOINT": PREDICT_PATH,
    "MODEL_DEPLOY_HEALTH_ENDPOINT": HEALTH_PATH,
}
TIMED_OUT = re.compile(r"Workflow timed out\. Maximum runtime was:? *(\d+)", re.IGNORECASE)
BOOTSTRAP = "errors occurred while bootstrapping the model deployment"
WEB_SERVER = "error occurred when starting the web server"
SETTINGS_FILE = "deploy/deployment.toml"
PUSH_RECORD = RECORD.relative_to(PROJECT)  # deploy/pushed-image.json, as the messages name it
LOOK_AT_THE_CONTAINER = "see what the container wrote: `make logs-remote SINCE=1h`; one that never becomes healthy: `make debug-job`"


def environment(settings: dict[str, Any] | None) -> dict[str, Any]:
    return ((settings or {}).get("container") or {}).get("environment") or {}


def is_triton(settings: dict[str, Any] | None) -> bool:
    return triton_environment(environment(settings))


def whole_override(settings: dict[str, Any] | None, key: str, low: int, high: int) -> int | None:
    """The environment's ``key`` as the rules module accepts it (low to high), else None: the
    pre-flight names a value that is not one."""
    value = environment(settings).get(key)
    if value is None or check_whole("", key, str(value), low, high):
        return None
    return int(str(value))


def workers_of(settings: dict[str, Any]) -> int:
    """The deployment's worker processes, as gunicorn.conf.py counts them (settings.worker_count)."""
    try:
        return worker_count(
            {key: str(value) for key, value in environment(settings).items()}, Settings().workers
        )
    except ValueError:
        return Settings().workers  # the pre-flight names the count it refuses


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def size(count: int) -> str:
    """Bytes for people: "1.50 GB", or "12.3 MB" below a GB."""
    return f"{count / GB:.2f} GB" if count >= GB else f"{count / MB:.1f} MB"


def provenance(record: dict[str, Any], settings: dict[str, Any] | None) -> str:
    """Which run the record tells of: its source, date and image; and whether that image is the one pushed."""
    text = f"{record.get('source', 'a run')}"
    if record.get("recorded"):
        text += f" on {str(record['recorded'])[:10]}"
    if record.get("image"):
        text += f" (image {record['image']})"
    pushed = ((settings or {}).get("pushed") or {}).get("local_id")
    if pushed and record.get("local_id") and record["local_id"] != pushed:
        text += (
            f", not the image pushed ({PUSH_RECORD}: {pushed[:19]}, this run's {record['local_id'][:19]}): "
            "run it again on the pushed image for a figure that holds"
        )
    return text


def scaled_start(record: dict[str, Any], settings: dict[str, Any]) -> tuple[float, str] | None:
    """The recorded start time scaled to one instance of the deployment's shape, and the
    arithmetic: each load's share of a CPU here and there, as `make capacity` counts CPUs (a CPU
    here counts as a vCPU of the shape). Every worker loads the model, except with PRELOAD=1
    (gunicorn.conf.py): the master loads it once. None when the shape can't be read, or the
    container never became healthy."""
    if record.get("healthy_seconds") is None:
        return None
    try:
        shape, ocpus, vcpus = instance_vcpus(settings)
    except CapacityError:
        return None  # the pre-flight names the shape's problem itself
    workers = workers_of(settings)
    preloaded = str(environment(settings).get("PRELOAD", "0")) == "1"
    loads_there = 1 if preloaded else workers
    loads_here, cpus, took = record.get("workers") or 1, record["cpus"], record["healthy_seconds"]
    share_here = busy_cpus(loads_here, cpus) / loads_here
    share_there = busy_cpus(loads_there, vcpus) / loads_there
    seconds = took * share_here / share_there
    there = (
        f"PRELOAD=1: one load in the master for {plural(workers, 'worker')}"
        if preloaded
        else plural(workers, "worker")
    )
    arithmetic = (
        f"{took:g} s here ({plural(loads_here, 'worker')} loading on {cpus} CPUs: {share_here:.2f} CPU each); "
        f"{shape} with {ocpus} OCPU = {vcpus} vCPUs, {there}: {share_there:.2f} vCPU each; "
        f"{took:g} x {share_here:.2f} / {share_there:.2f} = {seconds:.0f} s"
    )
    return seconds, arithmetic


def window_minutes(settings: dict[str, Any] | None) -> tuple[int, str]:
    """The minutes the deployment gives its container, and where that figure comes from."""
    if minutes := whole_override(
        settings,
        "DEPLOYMENT_TIMEOUT_IN_MINUTES",
        MIN_DEPLOYMENT_TIMEOUT_MINUTES,
        MAX_DEPLOYMENT_TIMEOUT_MINUTES,
    ):
        return minutes, "DEPLOYMENT_TIMEOUT_IN_MINUTES"
    return HEALTHY_WITHIN_MINUTES, "the platform's: healthy within 10 minutes"


def fits_window(seconds: float, minutes: int) -> bool:
    return seconds <= minutes * 60 * START_SHARE


def timeout_fix(seconds: float, minutes: int) -> str:
    """The DEPLOYMENT_TIMEOUT_IN_MINUTES that leaves the start at most half of the window: never
    less than the ``minutes`` the deployment has, nor the platform's 10."""
    needed = math.ceil(seconds / START_SHARE / 60)
    chosen = max(needed, minutes, HEALTHY_WITHIN_MINUTES)
    if chosen > MAX_DEPLOYMENT_TIMEOUT_MINUTES:
        return (
            f'even DEPLOYMENT_TIMEOUT_IN_MINUTES = "{MAX_DEPLOYMENT_TIMEOUT_MINUTES}" (the most OCI takes) leaves '
            "less than half: start faster (PRELOAD=1 loads the model once for all workers; fewer WORKERS; a smaller model)"
        )
    raised = (
        "" if chosen == needed else f", raised to {chosen}: never under the {minutes}-minute window nor 10"
    )
    return (
        f'set DEPLOYMENT_TIMEOUT_IN_MINUTES = "{chosen}" (ceil({seconds:.0f} s x 2 / 60) = {needed}{raised}; at most '
        f"{MAX_DEPLOYMENT_TIMEOUT_MINUTES}) in [container.environment] of {SETTINGS_FILE}"
    )


def start_time_warning(settings: dict[str, Any], record: dict[str, Any] | None) -> str | None:
    """A warning when the recorded start, scaled to the shape, takes over half of the window, or
    when the container never became healthy here."""
    if record is None or is_triton(settings):  # Triton's start is not the scorer's that make run records
        return None
    if record.get("healthy_seconds") is None:
        return (
            f"start time: {provenance(record, settings)} was {described(record)}: OCI gives it no longer; "
            "make it start here first (make run prints its log)"
        )
    scaled = scaled_start(record, settings)
    if scaled is None:
        return None
    seconds, arithmetic = scaled
    minutes, source = window_minutes(settings)
    if fits_window(seconds, minutes):
        return None
    return (
        f"start time: {provenance(record, settings)} was {described(record)}; on the shape: {arithmetic}, "
        f"over half of the {minutes}-minute window ({source}): {timeout_fix(seconds, minutes)}"
    )


def read_sizes(path: Path) -> dict[str, Any] | None:
    """`make artifact`'s record of the zip's sizes, or None when there is none."""
    try:
        sizes = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not (
        isinstance(sizes, dict)
        and all(
            isinstance(sizes.get(key), int) and sizes[key] >= 0 for key in ("zip_bytes", "unpacked_bytes")
        )
    ):
        return None
    return sizes


def storage_needs(sizes: dict[str, Any], settings: dict[str, Any] | None) -> tuple[bool, str]:
    """Whether the zip and its unpacked files fit in half of the volume, and the arithmetic with the fix."""
    zipped, unpacked = sizes["zip_bytes"], sizes["unpacked_bytes"]
    needed = zipped + unpacked
    if volume := whole_override(settings, "STORAGE_SIZE_IN_GB", MIN_STORAGE_GB, MAX_STORAGE_GB):
        of = f"STORAGE_SIZE_IN_GB = {volume}"
    else:
        volume, of = ASSUMED_VOLUME_GB, f"{ASSUMED_VOLUME_GB} GB assumed (Oracle documents no default)"
    ratio = unpacked / zipped if zipped else math.inf
    text = (
        f"{sizes.get('artifact', 'the artifact')} zips to {size(zipped)} and unpacks to {size(unpacked)} "
        f"({ratio:.1f}x); OCI holds both while it unzips: {size(needed)}, against half of the volume ({of})"
    )
    if needed <= volume * GB * VOLUME_SHARE:
        return True, text
    suggested = max(math.ceil(needed / GB / VOLUME_SHARE), MIN_STORAGE_GB)
    if suggested > MAX_STORAGE_GB:
        return (
            False,
            f"{text}; even the largest volume ({MAX_STORAGE_GB} GB) is too small: a smaller artifact",
        )
    fix = (
        f'set STORAGE_SIZE_IN_GB = "{suggested}" (ceil({needed / GB:.2f} GB x 2)) in [container.environment] '
        f"of {SETTINGS_FILE}"
    )
    return False, f"{text}; {fix}"


def storage_warning(settings: dict[str, Any], sizes: dict[str, Any] | None, path: Path) -> str | None:
    if sizes is None:
        return f"storage: not checked: no sizes recorded in {path} (`make artifact` records them)"
    fits, text = storage_needs(sizes, settings)
    return None if fits else f"storage: {text}"


def risk_warnings(
    settings: dict[str, Any], records: Path = START_RECORD.parent, sizes: Path = SIZES_RECORD
) -> list[str]:
    """The pre-flight's warnings from the start record in ``records`` (dist/) and the artifact's
    ``sizes`` record: they never stop it."""
    found = (
        start_time_warning(settings, read_start_record(records / START_RECORD.name)),
        storage_warning(settings, read_sizes(sizes), sizes),
    )
    return [warning for warning in found if warning]


def endpoint_evidence(settings: dict[str, Any] | None, local: dict[str, Any] | None) -> list[str]:
    """The endpoint variables the deployment runs with (``settings``' environment), against what
    the scorer serves: /predict, /health and the paths they name, when it takes them (settings.py
    refuses others at start, and the container exits). ``local``: deploy/deployment.toml's
    environment, when ``settings`` are the deployment's."""
    variables = environment(settings)
    given = {key: str(variables[key]) for key in ENDPOINT_VARIABLES if variables.get(key)}
    if is_triton(settings):
        if given:
            return [
                f"endpoints: {', '.join(given)} set on a CONTAINER_TYPE=TRITON deployment: OCI maps /predict "
                "and /health onto Triton's own; fix: remove it"
            ]
        return ["endpoints: CONTAINER_TYPE=TRITON: OCI maps /predict and /health onto Triton's own"]
    if not given:
        return [
            "endpoints: no MODEL_DEPLOY_*_ENDPOINT set: OCI calls /predict and /health, which the image serves"
        ]
    if problems := check_endpoint_paths(given, where=""):
        return [
            f"endpoints: {problem}: the scorer refuses it at start and the container exits; fix: correct or "
            f"remove it in [container.environment] of {SETTINGS_FILE}, then deploy again"
            for problem in problems
        ]
    lines = []
    for key, value in given.items():
        line = f"endpoints: {key}={value}: the scorer serves it besides {ENDPOINT_VARIABLES[key]}"
        if local is not None and str(local.get(key, "")) != value:
            line += f" (set on the deployment, not by {SETTINGS_FILE}: an image of before this setting answers 404 there)"
        lines.append(line)
    return lines


def start_evidence(settings: dict[str, Any] | None, record: dict[str, Any] | None, minutes: int) -> list[str]:
    """The recorded start against the ``minutes`` the deployment had, and the fix, or where to look."""
    if is_triton(settings):
        return [
            "start time: not recorded for Triton (make run and make deploy-local record the scorer's start); "
            "`make triton-run` prints how long Triton took to be ready"
        ]
    if record is None:
        return [
            "start time: none recorded: `make run` or `make deploy-local` records it (dist/start-time.json)"
        ]
    line = f"start time: {provenance(record, settings)} was {described(record)}"
    if record.get("healthy_seconds") is None:
        return [f"{line}: it does not start here either; make run prints its log"]
    scaled = scaled_start(record, settings) if settings else None
    if scaled is None:
        return [line]
    seconds, arithmetic = scaled
    if fits_window(seconds, minutes):
        return [
            f"{line}; on the shape: {arithmetic}",
            f"the recorded start fits ({seconds:.0f} s, under half of {minutes} minutes): the cause is elsewhere "
            f"(the image pull, a start that hangs on OCI: a download, a missing variable); {LOOK_AT_THE_CONTAINER}",
        ]
    return [f"{line}; on the shape: {arithmetic}", f"fix: {timeout_fix(seconds, minutes)}"]


def where_next(settings: dict[str, Any] | None) -> list[str]:
    """Where to look after any failure: the deployment's logs (or how to have them), the debug job."""
    if ((settings or {}).get("logging") or {}).get("predict_log_id"):
        logs = "`make logs-remote SINCE=1h`: what the container wrote (the predict log of [logging]; OCI collects it minutes late)"
    else:
        logs = (
            f"no predict log in [logging] of {SETTINGS_FILE}: the container's output went nowhere; "
            "`make logs-remote` says how to create one, then `make deploy-config && make deploy-update`"
        )
    return [
        "where to look next:",
        f"  {logs}",
        "  `make debug-job`: a container that never becomes healthy runs as a job, and its output lands in the run's log",
    ]


def explain_failure(
    errors: str,
    settings: dict[str, Any] | None,
    local: dict[str, Any] | None = None,
    records: Path = START_RECORD.parent,
    sizes_path: Path = SIZES_RECORD,
) -> list[str]:
    """What a FAILED work request's error texts likely mean, with this project's evidence and the
    fix, then where to look next. ``settings``: as deployed (lifecycle.py puts the deployment's
    environment and shape over deploy/deployment.toml's); ``local``: the file's own environment."""
    record = read_start_record(records / START_RECORD.name)
    sizes = read_sizes(sizes_path)
    lines: list[str] = []
    timed_out = TIMED_OUT.search(errors)
    if timed_out:
        minutes = int(timed_out.group(1))  # the window the deployment had
        lines.append(f'"Workflow timed out" ({minutes} minutes): the container was not healthy in time')
        lines += [f"  {line}" for line in start_evidence(settings, record, minutes)]
    if BOOTSTRAP in errors.lower():
        lines.append(
            '"Errors occurred while bootstrapping": the artifact did not fit once unzipped, or the container never answered'
        )
        if sizes is None:
            lines.append(f"  storage: no sizes recorded in {sizes_path}: `make artifact` records them")
        else:
            fits, text = storage_needs(sizes, settings)
            lines.append(f"  storage: {text}" + ("" if not fits else " (it fits: likely not the cause)"))
        lines += [f"  {line}" for line in endpoint_evidence(settings, local)]
        if not timed_out:  # said above already
            lines += [
                f"  {line}" for line in start_evidence(settings, record, window_minutes(settings)[0])[:1]
            ]
    if WEB_SERVER in errors.lower():
        lines.append(
            '"Error occurred when starting the web server": the container exited: its own words are in the '
            "predict log; `make deploy-local` runs the same image and artifact here"
        )
    if lines:
        lines.insert(0, "what it likely means (docs/troubleshooting.md):")
    else:
        lines.append("these errors are none of the known failures (docs/troubleshooting.md)")
    return lines + where_next(settings)
