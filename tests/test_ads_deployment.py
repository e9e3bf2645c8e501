"""A deployment made with Oracle's ADS runs the project's image as ADS means it to.

ADS's ``ModelDeploymentInfrastructure.with_web_concurrency(n)`` is how a notebook user sets
the workers of a BYOC container: ADS puts ``WEB_CONCURRENCY`` into the deployment's
environment. In ADS's own venv (tests/ads/deployment.py) ADS builds the body it would send to
create such a deployment; the project's pre-flight rules accept its environment, and the
project's real gunicorn, started with exactly that environment, runs that many workers (none
of WORKERS set, as the image sets none), or refuses in one line when WORKERS disagrees.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from baking import DEFAULT_FLASK, free_port, run
from serving import Gunicorn, call, wait_healthy

ADS_SCRIPT = Path(__file__).resolve().parent / "ads" / "deployment.py"
WEB_CONCURRENCY = 3  # not the bake's default (2): the workers come from ADS's variable
pytestmark = pytest.mark.xdist_group(DEFAULT_FLASK.id)


@pytest.fixture(scope="module")
def ads_container(ads_python: Path) -> dict[str, Any]:
    """The container part of the body ADS builds for a deployment of the project's image."""
    image = "iad.ocir.io/mytenancy/my-model-service:1.0.0"
    built = run([str(ads_python), str(ADS_SCRIPT), image, str(WEB_CONCURRENCY)], ADS_SCRIPT.parent)
    body = json.loads(built.stdout.strip().splitlines()[-1])
    return body["model_deployment_configuration_details"]["environment_configuration_details"]


def without_worker_counts(**more: str) -> dict[str, str]:
    """This process's environment with neither worker count, and ``more``."""
    kept = {key: value for key, value in os.environ.items() if key not in ("WORKERS", "WEB_CONCURRENCY")}
    return {**kept, **more}


def test_ads_web_concurrency_is_the_number_of_workers_the_scorer_runs(
    baked, ads_container: dict[str, Any], tmp_path: Path
) -> None:
    project = baked(DEFAULT_FLASK)
    environment = ads_container["environment_variables"]
    assert environment["WEB_CONCURRENCY"] == str(WEB_CONCURRENCY)
    assert ads_container["server_port"] == ads_container["health_check_port"]

    # The pre-flight (deploy-config) takes ADS's environment as it is.
    check = (
        "import json, sys; from my_model_service.oci_rules import check_overrides; "
        "print(json.dumps(check_overrides(json.loads(sys.argv[1]))))"
    )
    problems = run([str(project / ".venv/bin/python"), "-c", check, json.dumps(environment)], project)
    assert json.loads(problems.stdout) == []

    port = free_port()
    log = tmp_path / "gunicorn.log"
    env = without_worker_counts(**environment, MODEL_DIR=str(project / "model_artifact"), PORT=str(port))
    # On loopback here; in the container, gunicorn.conf.py binds PORT on every interface.
    command = [str(project / ".venv/bin/gunicorn"), "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}"]
    with log.open("w") as output:
        process = subprocess.Popen(command, cwd=project, env=env, stdout=output, stderr=subprocess.STDOUT)
    served = Gunicorn(port, process, log)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", process)
        served.wait_models_ready(WEB_CONCURRENCY)
        assert len(served.workers()) == WEB_CONCURRENCY
        body = (project / "sample_request.json").read_bytes()
        status, answer = call(f"http://127.0.0.1:{port}/predict", body, {"Content-Type": "application/json"})
        assert status == 200 and len(answer["predictions"]) == 3
    finally:
        process.terminate()
        process.wait(timeout=60)
    assert served.models_ready() == WEB_CONCURRENCY  # no worker more, none restarted

    # WORKERS beside it, with another count: refused before any worker starts, in one line.
    both = subprocess.run(
        command,
        cwd=project,
        env={**env, "WORKERS": "2"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert both.returncode != 0
    assert f"WORKERS=2 and WEB_CONCURRENCY={WEB_CONCURRENCY}" in both.stderr
    assert len(both.stderr.strip().splitlines()) == 1, both.stderr
    assert "Booting worker" not in both.stdout + both.stderr
