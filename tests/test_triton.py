"""A Triton project against a real tritonserver on loopback, and its image pushed to a registry.

NVIDIA's Triton image can't be pulled here (no nvcr.io, no GPU), but PyPI's
nvidia-pytriton wheel ships a real tritonserver binary with its Python backend
only. It serves the baked project's own model repository: config.pbtxt as
`make train` wrote it, except that the ONNX Runtime backend it names is
replaced by the Python backend running the same model.onnx with onnxruntime
(tests/triton/model.py). Triton itself checks the config (names, types, dims,
reshape, max batch size, dynamic batching) and every request against it.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
from baking import TRITON_COMBOS, free_port, model_answers, model_predictions, run
from test_container import make, registry_digest

COMBO = TRITON_COMBOS[0]
MODEL = "my_model_service"
pytestmark = pytest.mark.xdist_group(COMBO.id)


def pytriton_folder() -> Path:
    spec = importlib.util.find_spec("pytriton")  # found, not imported
    assert spec and spec.submodule_search_locations, "nvidia-pytriton is in requirements-dev.txt"
    return Path(spec.submodule_search_locations[0])


def http(url: str, body: bytes | None = None, timeout: float = 10) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


@contextmanager
def tritonserver(source: Path, folder: Path) -> Iterator[str]:
    """tritonserver on a free loopback port serving a copy of the model repository ``source``; its address."""
    repository = folder / "model_repository"
    shutil.copytree(source, repository)
    config = repository / MODEL / "config.pbtxt"
    assert 'platform: "onnxruntime_onnx"' in config.read_text()
    config.write_text(config.read_text().replace('platform: "onnxruntime_onnx"', 'backend: "python"'))
    shutil.copy(Path(__file__).parent / "triton" / "model.py", repository / MODEL / "1" / "model.py")

    server = pytriton_folder() / "tritonserver"
    backend = folder / "backends" / "python"
    shutil.copytree(server / "backends" / "python", backend)
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    shutil.copy(server / "python_backend_stubs" / version / "triton_python_backend_stub", backend)
    (backend / "triton_python_backend_stub").chmod(0o755)
    (server / "bin" / "tritonserver").chmod(0o755)
    port = free_port()
    env = {
        **os.environ,
        # The stub's embedded Python finds this virtual environment (numpy, onnxruntime) on PATH.
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "LD_LIBRARY_PATH": str(pytriton_folder().parent / "nvidia_pytriton.libs"),
    }
    command = [str(server / "bin" / "tritonserver"), f"--model-repository={repository}"]
    command += [f"--backend-directory={folder / 'backends'}", "--http-address=127.0.0.1"]
    command += [f"--http-port={port}", "--allow-grpc=false", "--allow-metrics=false", "--exit-on-error=true"]
    log = folder / "tritonserver.log"
    with log.open("w") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    url = f"127.0.0.1:{port}"
    try:
        for _ in range(600):
            if process.poll() is not None:
                pytest.fail(f"tritonserver exited {process.returncode}:\n{log.read_text()[-4000:]}")
            try:
                if http(f"http://{url}/v2/health/ready", timeout=1)[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        else:
            pytest.fail(f"tritonserver not ready in 60 s:\n{log.read_text()[-4000:]}")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def triton(baked, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """tritonserver serving the baked project's model repository (the iris sample)."""
    with tritonserver(baked(COMBO) / "model_repository", tmp_path_factory.mktemp("triton")) as url:
        yield url


@pytest.fixture(scope="module")
def churn(baked, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, Path]]]:
    """The mixed pipeline (text, missing values) from the project's make train, served by tritonserver."""
    project, folder = baked(COMBO), tmp_path_factory.mktemp("churn")
    paths = {
        "MODEL_DIR": folder / "model_artifact",
        "MODEL_REPOSITORY": folder / "model_repository",
        "SAMPLE_REQUEST": folder / "sample_request.json",
    }
    run(["make", "train", "SAMPLE=churn", *(f"{name}={path}" for name, path in paths.items())], project)
    with tritonserver(paths["MODEL_REPOSITORY"], folder / "serving") as url:
        yield url, paths


def test_triton_loads_the_config_as_written(triton: str) -> None:
    status, config = http(f"http://{triton}/v2/models/{MODEL}/config")
    assert status == 200
    assert config["max_batch_size"] == 256 and "dynamic_batching" in config
    assert [(t["name"], t["data_type"], t["dims"]) for t in config["input"]] == [
        ("features", "TYPE_FP32", [4])
    ]
    assert [(t["name"], t["data_type"], t["dims"]) for t in config["output"]] == [
        ("label", "TYPE_STRING", [1]),
        ("probabilities", "TYPE_FP32", [3]),
    ]


def test_make_triton_predict_gets_the_scikit_learn_models_answers(baked, triton: str) -> None:
    project = baked(COMBO)
    answer = json.loads(
        run(["make", "--no-print-directory", "-s", "triton-predict", f"TRITON_URL={triton}"], project).stdout
    )
    rows = json.loads((project / "sample_request.json").read_text())["instances"]
    assert answer["model_name"] == MODEL
    assert answer["outputs"]["label"] == model_predictions(project, rows)
    probabilities = answer["outputs"]["probabilities"]
    assert len(probabilities) == len(rows) and all(abs(sum(row) - 1) < 1e-5 for row in probabilities)


def test_the_written_body_is_served_and_dynamic_batching_gathers_requests(
    baked, triton: str, tmp_path: Path
) -> None:
    project = baked(COMBO)
    one_row = tmp_path / "one_row.json"
    rows = json.loads((project / "sample_request.json").read_text())["instances"]
    one_row.write_text(json.dumps({"instances": rows[:1]}))
    body_file = tmp_path / "body.json"
    run(
        [
            ".venv/bin/python",
            "-m",
            "my_model_service_ops",
            "triton-predict",
            "--request",
            str(one_row),
            "--write-body",
            str(body_file),
        ],
        project,
    )
    body = body_file.read_bytes()
    url = f"http://{triton}/v2/models/{MODEL}/infer"
    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(lambda _: http(url, body), range(64)))
    assert {status for status, _ in answers} == {200}
    labels = {answer["outputs"][0]["data"][0] for _, answer in answers}
    assert labels == set(model_predictions(project, rows[:1]))
    _, statistics = http(f"http://{triton}/v2/models/{MODEL}/stats")
    (model,) = statistics["model_stats"]
    assert model["inference_count"] >= 64
    assert model["execution_count"] < model["inference_count"], "no two requests were run as one batch"


def test_make_train_and_triton_predict_serve_the_mixed_pipeline_with_typed_columns(baked, churn) -> None:
    project, (url, paths) = baked(COMBO), churn
    status, config = http(f"http://{url}/v2/models/{MODEL}/config")
    assert status == 200
    assert [(t["name"], t["data_type"], t["dims"]) for t in config["input"]] == [
        ("age", "TYPE_FP32", [1]),
        ("income", "TYPE_FP32", [1]),
        ("city", "TYPE_STRING", [1]),
    ]
    make = ["make", "--no-print-directory", "-s", "triton-predict", f"TRITON_URL={url}"]
    make += [f"{name}={path}" for name, path in paths.items()]
    answer = json.loads(run(make, project).stdout)
    request = json.loads(paths["SAMPLE_REQUEST"].read_text())
    assert any(record["income"] is None for record in request["data"]), "a missing value goes as NaN"
    model = paths["MODEL_DIR"] / "model.joblib"
    assert answer["outputs"]["label"] == model_answers(project, model, request, "predict")
    expected = model_answers(project, model, request, "predict_proba")
    for got, wanted in zip(answer["outputs"]["probabilities"], expected, strict=True):
        assert got == pytest.approx(wanted, abs=1e-5)


def test_triton_refuses_more_rows_than_the_max_batch_size(baked, triton: str, tmp_path: Path) -> None:
    project = baked(COMBO)
    too_many = tmp_path / "too_many.json"
    too_many.write_text(json.dumps({"instances": [[5.0, 3.0, 1.5, 0.2]] * 257}))
    result = subprocess.run(
        [
            ".venv/bin/python",
            "-m",
            "my_model_service_ops",
            "triton-predict",
            "--url",
            triton,
            "--request",
            str(too_many),
        ],
        cwd=project,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert f"Triton at {triton} refused the request" in result.stderr and "256" in result.stderr


def test_make_triton_push_tags_and_pushes_the_image_and_records_its_digest(
    baked, podman_env: dict[str, str], registry
) -> None:
    """NVIDIA's image is stood in for by a local image; pull, tag, push and digest are the real steps."""
    project = baked(COMBO)
    podman_env = {**podman_env, "REGISTRY_AUTH_FILE": registry.auth_file}
    namespace, user = registry.user.split("/", 1)
    target = (f"REGISTRY={registry.host}", f"NAMESPACE={namespace}")
    make(project, {**podman_env, "OCIR_AUTH_TOKEN": registry.token}, "login", f"OCI_USER={user}", *target)
    stand_in = "TRITON_IMAGE=docker.io/library/python:3.11-slim"  # present: no pull
    pushed = make(project, podman_env, "triton-push", stand_in, *target)
    record = json.loads((project / "deploy" / "pushed-image.json").read_text())
    digest = record["digest"]
    assert digest == registry_digest(registry, f"{namespace}/my-model-service", "triton-26.09-py3")
    assert record["image"] == f"{registry.host}/{namespace}/my-model-service:triton-26.09-py3"
    assert f"{record['image']}@{digest}" in pushed.stdout
    assert record["platform"] == "linux/amd64" and record["size_bytes"] > 0  # checked by deploy-config
    assert not (project / "deploy" / "scorer-pushed-image.json").exists()


def test_make_triton_run_starts_the_image_as_the_deployment_does(baked, triton: str, tmp_path: Path) -> None:
    """The container CLI only records its arguments (no Triton image here); the real server answers."""
    project = baked(COMBO)
    calls = tmp_path / "calls"
    cli = tmp_path / "container-cli"
    cli.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> {calls}\n')
    cli.chmod(0o755)
    started = run(
        ["make", "--no-print-directory", "triton-run", f"CONTAINER_CLI={cli}", f"TRITON_URL={triton}"],
        project,
    )
    assert "ready after" in started.stdout
    recorded = calls.read_text().splitlines()
    assert recorded[0] == "rm -f my-model-service-triton"
    assert recorded[1].split() == [
        *(
            "run",
            "-d",
            "--name",
            "my-model-service-triton",
            "-p",
            "127.0.0.1:8000:8000",
            "-e",
            "CONTAINER_TYPE=TRITON",
        ),
        "--mount",
        f"type=bind,src={project}/model_repository,dst=/opt/ds/model/deployed_model,readonly",
        "nvcr.io/nvidia/tritonserver:26.09-py3",
        *(
            "/opt/nvidia/nvidia_entrypoint.sh",
            "tritonserver",
            "--model-repository=/opt/ds/model/deployed_model",
        ),
    ]
