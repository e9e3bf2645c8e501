"""OCI's configuration overrides (oci_rules.OVERRIDES): each accepted at its bounds, refused past them."""

from __future__ import annotations

import re

import pytest

from {{ cookiecutter.package_name }}.oci_rules import (
    MAX_WORKERS,
    OVERRIDES,
    check_overrides,
    shm_bytes,
)

WHERE = "container.environment"

ACCEPTED = [
    pytest.param({"MODEL_DEPLOY_PREDICT_ENDPOINT": "/v1/completions"}, id="predict-path"),
    pytest.param({"MODEL_DEPLOY_PREDICT_ENDPOINT": "/"}, id="predict-root"),
    pytest.param({"MODEL_DEPLOY_HEALTH_ENDPOINT": "/v1/health/ready/"}, id="health-trailing-slash"),
    pytest.param({"MODEL_DEPLOY_HEALTH_ENDPOINT": "/" + "a" * 199}, id="path-200-characters"),
    pytest.param(
        {"MODEL_DEPLOY_PREDICT_ENDPOINT": "/score", "MODEL_DEPLOY_HEALTH_ENDPOINT": "/ready"}, id="both"
    ),
    pytest.param({"MODEL_DEPLOY_PREDICT_ENDPOINT": "/predict"}, id="predict-as-is"),
    pytest.param({"WEB_CONCURRENCY": "1"}, id="web-concurrency-1"),
    pytest.param({"WEB_CONCURRENCY": str(MAX_WORKERS)}, id="web-concurrency-most"),
    pytest.param({"WEB_CONCURRENCY": "4", "WORKERS": "4"}, id="workers-agree"),
    pytest.param({"DEPLOYMENT_TIMEOUT_IN_MINUTES": "1"}, id="timeout-1"),
    pytest.param({"DEPLOYMENT_TIMEOUT_IN_MINUTES": "240"}, id="timeout-240"),
    pytest.param({"STORAGE_SIZE_IN_GB": "50"}, id="storage-50"),
    pytest.param({"STORAGE_SIZE_IN_GB": "32768"}, id="storage-32-tb"),
    pytest.param({"SHM_SIZE": "10g"}, id="shm-10g"),
    pytest.param({"SHM_SIZE": "16G"}, id="shm-the-whole-memory"),
    pytest.param({"SHM_SIZE": "512m"}, id="shm-512m"),
    pytest.param({"SHM_SIZE": "1"}, id="shm-1-byte"),
]


@pytest.mark.parametrize("environment", ACCEPTED)
def test_each_override_is_accepted_up_to_its_bounds(environment: dict[str, str]) -> None:
    assert check_overrides(environment, WHERE, memory_gbs=16) == []


REFUSED = [
    pytest.param(
        {"MODEL_DEPLOY_PREDICT_ENDPOINT": "v1/completions"},
        "container.environment.MODEL_DEPLOY_PREDICT_ENDPOINT: 'v1/completions' must be a path starting with '/'",
        id="predict-no-slash",
    ),
    pytest.param({"MODEL_DEPLOY_PREDICT_ENDPOINT": ""}, "'' must be a path", id="predict-empty"),
    pytest.param(
        {"MODEL_DEPLOY_PREDICT_ENDPOINT": "/a//b"}, "between single '/'s", id="predict-double-slash"
    ),
    pytest.param({"MODEL_DEPLOY_PREDICT_ENDPOINT": "/a/../b"}, "no part starting with '.'", id="dot-dot"),
    pytest.param({"MODEL_DEPLOY_PREDICT_ENDPOINT": "/score?x=1"}, "must be a path", id="query"),
    pytest.param({"MODEL_DEPLOY_PREDICT_ENDPOINT": "/<name>"}, "must be a path", id="route-converter"),
    pytest.param({"MODEL_DEPLOY_HEALTH_ENDPOINT": "/ready\n"}, r"'/ready\\n' must be a path", id="newline"),
    pytest.param({"MODEL_DEPLOY_HEALTH_ENDPOINT": "/" + "a" * 200}, "at most 200 characters", id="201"),
    pytest.param(
        {"MODEL_DEPLOY_PREDICT_ENDPOINT": "/same", "MODEL_DEPLOY_HEALTH_ENDPOINT": "/same"},
        "/same would be both the predict path and the health path",
        id="the-same-path",
    ),
    pytest.param(
        {"MODEL_DEPLOY_PREDICT_ENDPOINT": "/health"}, "/health would be both", id="predict-on-health"
    ),
    pytest.param(
        {"MODEL_DEPLOY_HEALTH_ENDPOINT": "/predict"}, "/predict would be both", id="health-on-predict"
    ),
    pytest.param(
        {"WEB_CONCURRENCY": "0"},
        f"container.environment.WEB_CONCURRENCY: '0' must be a whole number from 1 to {MAX_WORKERS}",
        id="web-concurrency-0",
    ),
    pytest.param({"WEB_CONCURRENCY": str(MAX_WORKERS + 1)}, "from 1 to", id="web-concurrency-over"),
    pytest.param({"WEB_CONCURRENCY": "four"}, "'four' must be a whole number", id="web-concurrency-word"),
    pytest.param(
        {"WORKERS": "2", "WEB_CONCURRENCY": "4"},
        r"WORKERS \(2\) and WEB_CONCURRENCY \(4\) both set the worker count and differ",
        id="workers-differ",
    ),
    pytest.param(
        {"DEPLOYMENT_TIMEOUT_IN_MINUTES": "0"},
        "DEPLOYMENT_TIMEOUT_IN_MINUTES: '0' must be a whole number of minutes from 1 to 240",
        id="timeout-0",
    ),
    pytest.param({"DEPLOYMENT_TIMEOUT_IN_MINUTES": "241"}, "'241' must be a whole number", id="timeout-241"),
    pytest.param({"DEPLOYMENT_TIMEOUT_IN_MINUTES": "60m"}, "'60m' must be", id="timeout-unit"),
    pytest.param(
        {"STORAGE_SIZE_IN_GB": "49"},
        "STORAGE_SIZE_IN_GB: '49' must be a whole number of GB from 50 to 32768",
        id="storage-49",
    ),
    pytest.param({"STORAGE_SIZE_IN_GB": "32769"}, "'32769' must be", id="storage-over-32-tb"),
    pytest.param({"STORAGE_SIZE_IN_GB": "1.5"}, "'1.5' must be", id="storage-fraction"),
    pytest.param(
        {"SHM_SIZE": "10 g"},
        "SHM_SIZE: '10 g' must be a size as docker's --shm-size takes it",
        id="shm-space",
    ),
    pytest.param({"SHM_SIZE": "0"}, "'0' must be a size", id="shm-0"),
    pytest.param({"SHM_SIZE": "10gb"}, "'10gb' must be a size", id="shm-gb"),
    pytest.param({"SHM_SIZE": "-1g"}, "'-1g' must be a size", id="shm-negative"),
    pytest.param(
        {"SHM_SIZE": "17g"},
        r"SHM_SIZE: 17g is more than the instance's memory \(16 GB\)",
        id="shm-over-memory",
    ),
    pytest.param(
        {"MODEL_DEPLOY_ENABLE_STREAMING": "true"},
        "MODEL_DEPLOY_ENABLE_STREAMING: 'true' is refused: the scorer answers each call with one JSON body",
        id="streaming",
    ),
]


@pytest.mark.parametrize(("environment", "message"), REFUSED)
def test_each_override_is_refused_past_its_bounds_in_one_line(
    environment: dict[str, str], message: str
) -> None:
    (problem,) = check_overrides(environment, WHERE, memory_gbs=16)
    assert "\n" not in problem
    assert re.search(message, problem), problem


def test_a_triton_deployment_refuses_what_tritonserver_would_ignore() -> None:
    environment = {
        "CONTAINER_TYPE": "TRITON",
        "MODEL_DEPLOY_PREDICT_ENDPOINT": "/v2/models/m/infer",
        "MODEL_DEPLOY_HEALTH_ENDPOINT": "/v2/health/ready",
        "WEB_CONCURRENCY": "2",
    }
    problems = check_overrides(environment, WHERE, memory_gbs=16, triton=True)
    assert [problem.split(":")[0] for problem in problems] == [
        f"{WHERE}.MODEL_DEPLOY_PREDICT_ENDPOINT",
        f"{WHERE}.MODEL_DEPLOY_HEALTH_ENDPOINT",
        f"{WHERE}.WEB_CONCURRENCY",
    ]
    assert "tritonserver's own endpoints" in problems[0] and "no gunicorn workers" in problems[2]
    # Its start, its disk and its shared memory are the service's, as for the scorer.
    kept = {"DEPLOYMENT_TIMEOUT_IN_MINUTES": "120", "STORAGE_SIZE_IN_GB": "500", "SHM_SIZE": "10g"}
    assert check_overrides(kept, WHERE, memory_gbs=16, triton=True) == []
    assert len(check_overrides({"STORAGE_SIZE_IN_GB": "10"}, WHERE, triton=True)) == 1


def test_the_table_names_every_override_with_what_it_does_and_takes() -> None:
    checked = {
        "MODEL_DEPLOY_PREDICT_ENDPOINT",
        "MODEL_DEPLOY_HEALTH_ENDPOINT",
        "WEB_CONCURRENCY",
        "DEPLOYMENT_TIMEOUT_IN_MINUTES",
        "STORAGE_SIZE_IN_GB",
        "SHM_SIZE",
        "MODEL_DEPLOY_ENABLE_STREAMING",
    }
    assert set(OVERRIDES) == checked
    for key in checked:  # each one is checked: a value no rule takes is refused
        assert check_overrides({key: "x\ny"}, WHERE), key
    assert all(override.does and override.takes for override in OVERRIDES.values())


def test_shm_sizes_count_as_docker_counts_them() -> None:
    assert shm_bytes("10g") == 10 * 1024**3
    assert shm_bytes("512M") == 512 * 1024**2
    assert shm_bytes("64k") == shm_bytes("65536b") == shm_bytes("65536") == 65536
    assert shm_bytes("1.5g") is None
