"""The pre-flight's warnings from recorded figures (the start time scaled to the shape, the artifact's
sizes) and make status' explanation of a failure, from the same figures: no OCI call, no container."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from baked_settings import write_settings

from {{ cookiecutter.package_name }}_ops.failure_risks import (
    GB,
    MB,
    explain_failure,
    risk_warnings,
    start_time_warning,
    storage_warning,
)
from {{ cookiecutter.package_name }}_ops.start_record import (
    load_span,
    read_start_record,
    record_start,
)

PROJECT = Path(__file__).resolve().parent.parent
REPOSITORY = "{{ cookiecutter.__ocir_host }}/{{ cookiecutter.__tenancy_namespace }}/{{ cookiecutter.__ocir_repository }}"
IMAGE = f"{REPOSITORY}:{{ "triton-26.09-py3" if cookiecutter.server == "triton" else cookiecutter.__image_tag }}"
LOG = "\n".join(
    [
        "[2025-01-01 00:00:00 +0000] [1] [INFO] Starting gunicorn",
        '{"time": "2025-01-01T00:00:01.000Z", "level": "INFO", "message": "loading model"}',
        '{"time": "2025-01-01T00:00:01.500Z", "level": "INFO", "message": "loading model"}',
        '{"time": "2025-01-01T00:00:09.000Z", "level": "INFO", "message": "model ready"}',
        '{"time": "2025-01-01T00:00:10.250Z", "level": "INFO", "message": "model ready"}',
    ]
)


def settings(**environment: str) -> dict[str, Any]:
    """A scorer deployment on one E4 OCPU (2 vCPUs) with ``environment``."""
    return {
        "instances": {"shape": "VM.Standard.E4.Flex", "ocpus": 1},
        "container": {"environment": {"WORKERS": "2", **environment}},
    }


def record(seconds: float, workers: int = 2, cpus: int = 8) -> dict[str, Any]:
    return {
        "source": "make run",
        "healthy_seconds": seconds,
        "load_seconds": None,
        "workers": workers,
        "cpus": cpus,
    }


def test_the_load_time_is_read_from_the_scorers_log() -> None:
    assert load_span(LOG) == (9.25, 2)  # the first "loading model" to the last "model ready"
    assert load_span(LOG.rsplit("\n", 2)[0]) == (None, 2)  # no load finished


def test_a_start_is_recorded_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "start-time.json"
    written = record_start(path, "make deploy-local", 12.34, LOG, 8, "scorer:1")
    assert read_start_record(path) == written
    assert (written["healthy_seconds"], written["load_seconds"], written["workers"], written["cpus"]) == (
        12.3,
        9.2,
        2,
        8,
    )
    path.write_text('{"healthy_seconds": "soon"}')
    assert read_start_record(path) is None


def test_a_start_over_half_the_window_warns_with_the_timeout_to_set() -> None:
    assert start_time_warning(settings(), record(290)) is None  # under 300 s: half of 10 minutes
    warning = start_time_warning(settings(), record(400))
    assert warning is not None
    assert "400 x 1.00 / 1.00 = 400 s, over half of the 10-minute window" in warning
    assert 'set DEPLOYMENT_TIMEOUT_IN_MINUTES = "14" (ceil(400 s x 2 / 60) = 14; at most 240)' in warning
    assert start_time_warning(settings(DEPLOYMENT_TIMEOUT_IN_MINUTES="14"), record(400)) is None


def test_the_start_is_scaled_to_the_shape_as_capacity_counts_cpus() -> None:
    # 8 workers on the shape's 2 vCPUs load at a quarter of a CPU each: 100 s here is 400 s there.
    warning = start_time_warning(settings(WORKERS="8"), record(100))
    assert warning is not None and "100 x 1.00 / 0.25 = 400 s" in warning
    # 4 workers on 2 CPUs here had half a CPU each: the shape's 2 workers start in half the time.
    assert start_time_warning(settings(), record(500, workers=4, cpus=2)) is None
    assert "even DEPLOYMENT_TIMEOUT_IN_MINUTES" in (start_time_warning(settings(), record(8000)) or "")


def test_an_artifact_that_unpacks_past_half_the_volume_warns_with_the_storage_to_set() -> None:
    sizes = {"artifact": "model_artifact.zip", "zip_bytes": 2 * GB, "unpacked_bytes": 30 * GB}
    warning = storage_warning(settings(), sizes, Path("dist/model_artifact.zip.json"))
    assert warning is not None
    assert "zips to 2.00 GB and unpacks to 30.00 GB (15.0x)" in warning
    assert "32.00 GB, against half of the volume (50 GB assumed" in warning
    assert 'set STORAGE_SIZE_IN_GB = "64" (ceil(32.00 GB x 2))' in warning
    assert storage_warning(settings(STORAGE_SIZE_IN_GB="64"), sizes, Path("x")) is None
    assert storage_warning(settings(), {**sizes, "unpacked_bytes": 20 * GB}, Path("x")) is None


def test_the_preflight_warns_from_the_records_and_still_writes_the_bodies(tmp_path: Path) -> None:
    write_settings(
        tmp_path / "deployment.toml",
        compartment_id="ocid1.compartment.oc1..aaaa",
        project_id="ocid1.datascienceproject.oc1.iad.aaaa",
        model_id="ocid1.datasciencemodel.oc1.iad.aaaa",
    )
    push = {"image": IMAGE, "digest": "sha256:" + "ab" * 32, "size_bytes": 1, "platform": "linux/amd64"}
    push["local_id"] = "sha256:" + "cd" * 32
    (tmp_path / "pushed-image.json").write_text(json.dumps(push))
    records = tmp_path / "dist"
    records.mkdir()
    (records / "start-time.json").write_text(json.dumps(record(4000)))
    sizes = {"artifact": "model_artifact.zip", "zip_bytes": 2 * GB, "unpacked_bytes": 30 * GB}
    (records / "model.zip.json").write_text(json.dumps(sizes))  # make artifact ARTIFACT=dist/model.zip
    command = [
        sys.executable,
        "-m",
        "{{ cookiecutter.package_name }}_ops",
        "deploy-config",
    ]
    command += ["--settings", str(tmp_path / "deployment.toml"), "--records", str(records)]
    command += ["--sizes", str(records / "model.zip.json")]
    result = subprocess.run(command, cwd=PROJECT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "create_model_deployment.json").is_file()
    assert "warning: storage: model_artifact.zip zips to 2.00 GB" in result.stderr
{%- if cookiecutter.server == "triton" %}
    assert "start time" not in result.stderr  # make run records the scorer's start, not Triton's
{%- else %}
    assert "warning: start time: make run was healthy after 4000 s" in result.stderr
{%- endif %}


def test_a_failure_is_explained_without_records_and_says_where_to_look_next(tmp_path: Path) -> None:
    lines = explain_failure(
        "InternalError: Workflow timed out. Maximum runtime was: 10 minutes", settings(), None, tmp_path
    )
    assert lines[:2] == [
        "what it likely means (docs/troubleshooting.md):",
        '"Workflow timed out" (10 minutes): the container was not healthy in time',
    ]
    assert "none recorded: `make run` or `make deploy-local` records it" in lines[2]
    assert lines[-3:] == [
        "where to look next:",
        "  no predict log in [logging] of deploy/deployment.toml: the container's output went nowhere; "
        "`make logs-remote` says how to create one, then `make deploy-config && make deploy-update`",
        "  `make debug-job`: a container that never becomes healthy runs as a job, and its output lands in the "
        "run's log",
    ]


def test_errors_it_does_not_know_still_end_with_the_logs_and_the_debug_job(tmp_path: Path) -> None:
    logged = {**settings(), "logging": {"predict_log_id": "ocid1.log.oc1..aaaa"}}
    lines = explain_failure("InternalError: something else", logged, None, tmp_path)
    assert lines[0] == "these errors are none of the known failures (docs/troubleshooting.md)"
    assert lines[1] == "where to look next:"
    assert lines[2].startswith("  `make logs-remote SINCE=1h`: what the container wrote")
    assert lines[3].startswith("  `make debug-job`")


def test_a_start_that_fits_the_window_points_elsewhere_not_to_a_shorter_timeout(tmp_path: Path) -> None:
    # 12 s here, a 30-minute window: the timeout is not the cause; never advise less than 30.
    (tmp_path / "start-time.json").write_text(json.dumps(record(12)))
    deployed = settings(DEPLOYMENT_TIMEOUT_IN_MINUTES="30")
    lines = explain_failure("Workflow timed out. Maximum runtime was: 30 minutes", deployed, None, tmp_path)
    assert not any("DEPLOYMENT_TIMEOUT_IN_MINUTES =" in line for line in lines), lines
    assert any(
        line.startswith("  the recorded start fits (12 s, under half of 30 minutes): the cause is elsewhere")
        and "`make logs-remote SINCE=1h`" in line
        and "`make debug-job`" in line
        for line in lines
    ), lines


def test_a_longer_timeout_is_never_under_the_window_the_deployment_has() -> None:
    # 200 s against a 5-minute window: twice the start is 7 minutes, raised to the platform's 10.
    warning = start_time_warning(settings(DEPLOYMENT_TIMEOUT_IN_MINUTES="5"), record(200))
    assert warning is not None
    assert '"10" (ceil(200 s x 2 / 60) = 7, raised to 10: never under the 5-minute window nor 10' in warning


def test_with_preload_the_model_loads_once_for_all_workers() -> None:
    # 8 workers, 2 vCPUs: each loading worker has a quarter of a vCPU; with PRELOAD=1 the master loads once.
    assert "100 x 1.00 / 0.25 = 400 s" in (start_time_warning(settings(WORKERS="8"), record(100)) or "")
    preloaded = settings(WORKERS="8", PRELOAD="1")
    assert start_time_warning(preloaded, record(100)) is None
    warning = start_time_warning(preloaded, record(400, workers=1))
    assert warning is not None
    assert "(1 worker loading on 8 CPUs: 1.00 CPU each)" in warning
    assert (
        "PRELOAD=1: one load in the master for 8 workers: 1.00 vCPU each; 400 x 1.00 / 1.00 = 400 s"
        in warning
    )


def test_the_worker_count_is_web_concurrency_too() -> None:
    warning = start_time_warning(settings(WORKERS="", WEB_CONCURRENCY="8"), record(100))
    assert warning is not None and "8 workers: 0.25 vCPU each" in warning


def test_a_container_that_never_became_healthy_is_said_with_its_date_and_image(tmp_path: Path) -> None:
    path = tmp_path / "start-time.json"
    record_start(path, "make run", None, "", 8, "scorer:2", "sha256:" + "ef" * 32, 600)
    stale = read_start_record(path)
    assert stale is not None
    pushed = {**settings(), "pushed": {"local_id": "sha256:" + "cd" * 32}}
    warning = start_time_warning(pushed, stale)
    assert warning is not None
    assert warning.startswith(
        f"start time: make run on {stale['recorded'][:10]} (image scorer:2), not the image pushed"
    )
    assert "was not healthy after 600 s" in warning
    lines = explain_failure("Workflow timed out. Maximum runtime was: 10 minutes", pushed, None, tmp_path)
    assert any(
        "not healthy after 600 s" in line and "it does not start here either" in line for line in lines
    )
    # The image pushed is the one that ran: nothing said about it.
    same = {**settings(), "pushed": {"local_id": "sha256:" + "ef" * 32}}
    assert "not the image pushed" not in (start_time_warning(same, stale) or "")


def test_the_storage_check_reads_the_record_it_is_given_or_says_it_has_none(tmp_path: Path) -> None:
    sizes = tmp_path / "other.zip.json"
    assert risk_warnings(settings(), tmp_path, sizes) == [
        f"storage: not checked: no sizes recorded in {sizes} (`make artifact` records them)"
    ]
    sizes.write_text(json.dumps({"artifact": "other.zip", "zip_bytes": 2 * GB, "unpacked_bytes": 30 * GB}))
    assert risk_warnings(settings(), tmp_path, sizes)[0].startswith("storage: other.zip zips to 2.00 GB")


def test_small_artifacts_are_counted_in_mb(tmp_path: Path) -> None:
    sizes = tmp_path / "model_artifact.zip.json"
    sizes.write_text(json.dumps({"zip_bytes": 3 * MB, "unpacked_bytes": 12 * MB}))
    lines = explain_failure(
        "Errors occurred while bootstrapping the Model Deployment", settings(), None, tmp_path, sizes
    )
    assert any("zips to 3.0 MB and unpacks to 12.0 MB (4.0x)" in line for line in lines), lines


def test_triton_has_no_recorded_start_to_show(tmp_path: Path) -> None:
    (tmp_path / "start-time.json").write_text(json.dumps(record(12)))
    triton = settings(CONTAINER_TYPE="TRITON")
    lines = explain_failure("Workflow timed out. Maximum runtime was: 10 minutes", triton, None, tmp_path)
    assert lines[2].startswith("  start time: not recorded for Triton")
    assert not any("was healthy after" in line for line in lines)


@pytest.mark.parametrize(
    ("deployed", "local", "expected"),
    [
        (
            {"MODEL_DEPLOY_HEALTH_ENDPOINT": "/v1/health"},
            {},
            "the scorer serves it besides /health (set on the",
        ),
        (
            {"MODEL_DEPLOY_HEALTH_ENDPOINT": "/v1/health"},
            {"MODEL_DEPLOY_HEALTH_ENDPOINT": "/v1/health"},
            "besides /health",
        ),
        (
            {"MODEL_DEPLOY_PREDICT_ENDPOINT": "v1/predict"},
            {},
            "the scorer refuses it at start and the container exits",
        ),
        (
            {"MODEL_DEPLOY_PREDICT_ENDPOINT": "/health"},
            {},
            "would be both the predict path and the health path",
        ),
        ({}, {}, "no MODEL_DEPLOY_*_ENDPOINT set"),
    ],
)
def test_the_endpoint_variables_are_weighed_against_the_served_paths(
    tmp_path: Path, deployed: dict[str, str], local: dict[str, str], expected: str
) -> None:
    lines = explain_failure(
        "Errors occurred while bootstrapping the Model Deployment", settings(**deployed), local, tmp_path
    )
    assert any(line.startswith("  endpoints: ") and expected in line for line in lines), lines
    if local:
        assert not any("set on the deployment" in line for line in lines)


def test_make_gives_the_records_of_the_artifact_it_builds_and_of_a_run_that_never_starts() -> None:
    command = ["make", "--no-print-directory", "-n", "deploy-config", "status", "run"]
    command += ["ARTIFACT=dist/other.zip"]
    result = subprocess.run(command, cwd=PROJECT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("--sizes dist/other.zip.json") == 2, result.stdout  # deploy-config and status
    assert "--not-healthy-after $SECONDS --container" in result.stdout, result.stdout  # make run, given up
