"""Real images of the default projects, built, run, tagged and pushed as a user would.

podman stands in for docker (tests/containers/setup.sh); the Makefile's targets
are driven with CONTAINER_CLI=podman, and once with the docker CLI itself
talking to podman's API.
"""

from __future__ import annotations

import base64
import json
import os
import pty
import subprocess
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest
from baking import (
    DEFAULT_FASTAPI,
    DEFAULT_FLASK,
    Combo,
    deployment_settings,
    free_port,
    model_predictions,
    run,
)
from conftest import Registry
from serving import log_lines

# Tests that use the default Flask project run on the worker that baked it.
DEFAULT_FLASK_GROUP = pytest.mark.xdist_group(DEFAULT_FLASK.id)
MANIFEST_TYPES = ", ".join(
    ["application/vnd.docker.distribution.manifest.v2+json", "application/vnd.oci.image.manifest.v1+json"]
)


def make(project: Path, env: dict[str, str], *arguments: str) -> subprocess.CompletedProcess:
    return run(["make", "--no-print-directory", *arguments, "CONTAINER_CLI=podman"], project, **env)


def registry_digest(registry: Registry, repository: str, tag: str) -> str:
    """The digest the registry holds for ``repository:tag`` (a HEAD of its manifest)."""
    credentials = base64.b64encode(f"{registry.user}:{registry.token}".encode()).decode()
    request = urllib.request.Request(
        f"http://{registry.host}/v2/{repository}/manifests/{tag}",
        method="HEAD",
        headers={"Accept": MANIFEST_TYPES, "Authorization": f"Basic {credentials}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.headers["Docker-Content-Digest"]


def fails(command: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
    """Run a command that must fail (exit status 1 or more)."""
    result = run(command, cwd, check=False, **env)
    assert result.returncode != 0, result.stdout
    return result


def podman(env: dict[str, str], *arguments: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(["podman", *arguments], capture_output=True, text=True, env={**os.environ, **env})
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.mark.parametrize("combo", [DEFAULT_FLASK.param(), DEFAULT_FASTAPI.param()])
def test_image_builds_and_runs_like_the_service(baked, podman_env: dict[str, str], combo: Combo) -> None:
    project = baked(combo)
    unwanted = [project / ".env", project / "tests" / "secret.pem"]  # .dockerignore keeps these out
    framework = combo.answers["framework"]
    name, port, tag = f"byoc-test-{framework}-{os.getpid()}", free_port(), f"test-{framework}"
    # Each test its own tag and container: the two frameworks build side by side.
    settings = (f"PORT={port}", f"CONTAINER={name}", f"IMAGE_TAG={tag}")
    scorer_init = project / "src" / "my_model_service" / "__init__.py"  # the server's (ops stays out)
    original = scorer_init.read_text()
    try:  # the project is shared by the combo's other tests: whatever fails, it is put back
        for path in unwanted:
            path.write_text("must not reach the image")
        started = time.monotonic()
        make(project, podman_env, "build", *settings)
        cold = time.monotonic() - started
        scorer_init.write_text(original + "# a code edit\n")
        started = time.monotonic()
        rebuilt = make(project, podman_env, "build", *settings)
        cached = time.monotonic() - started
        assert "pip install" not in rebuilt.stdout.split("COPY src/")[0].split("Using cache")[-1]

        started = time.monotonic()
        assert "healthy after" in make(project, podman_env, "run", *settings).stdout
        to_healthy = time.monotonic() - started

        assert json.loads(make(project, podman_env, "health", *settings).stdout) == {"status": "ready"}
        rows = json.loads((project / "sample_request.json").read_text())["instances"]
        predicted = json.loads(make(project, podman_env, "predict", *settings).stdout)
        assert predicted == {"predictions": model_predictions(project, rows)}

        podman(podman_env, "healthcheck", "run", name)  # the image's own HEALTHCHECK, run by podman
        assert podman(podman_env, "exec", name, "id", "-u").stdout.strip() != "0"
        podman(podman_env, "exec", name, "curl", "--version")
        # What the scorer never runs is not shipped: test suites, installers, C and Cython sources.
        leftovers = "find /opt/venv -name tests -o -name 'pip*.dist-info' -o -name '*.pyx' -o -name '*.h'"
        assert podman(podman_env, "exec", name, "sh", "-c", leftovers).stdout == ""
        compilers = podman(podman_env, "exec", name, "sh", "-c", "command -v gcc cc g++ clang", check=False)
        assert compilers.stdout.strip() == ""
        assert podman(podman_env, "exec", name, "ls", "-A", "/app").stdout.split() == [
            "gunicorn.conf.py",
            "src",
        ]
        # The deployment tooling stays beside the image: only the server package is in it.
        assert podman(podman_env, "exec", name, "ls", "-A", "/app/src").stdout.split() == ["my_model_service"]
        write = podman(podman_env, "exec", name, "touch", "/opt/ds/model/deployed_model/x", check=False)
        assert write.returncode != 0 and "Read-only" in write.stderr
        logs = make(project, podman_env, "logs", *settings).stdout
        assert any(line.get("path") == "/predict" and line.get("status") == 200 for line in log_lines(logs))
    finally:
        scorer_init.write_text(original)
        for path in unwanted:
            path.unlink(missing_ok=True)
        stop = subprocess.run(
            ["make", "--no-print-directory", "stop", "CONTAINER_CLI=podman", *settings],
            cwd=project,
            capture_output=True,
            text=True,
            env={**os.environ, **podman_env},
        )
    assert stop.returncode == 0, stop.stderr
    assert podman(podman_env, "container", "exists", name, check=False).returncode == 1
    size = int(
        podman(podman_env, "image", "inspect", "--format", "{{.Size}}", f"my-model-service:{tag}").stdout
    )
    print(
        f"\n{combo.id}: image {size / 1e6:.0f} MB, build cold {cold:.1f} s, "
        f"rebuild after a code edit {cached:.1f} s, run to healthy {to_healthy:.1f} s"
    )
    assert size < 16 * 1000**3

    make(project, podman_env, "artifact")
    deployed = make(project, podman_env, "deploy-local", *settings, "HEALTH_DEADLINE=120").stdout
    assert "3. healthy after" in deployed
    assert '4. POST /predict sample_request.json -> 200 {"predictions":' in deployed
    assert podman(podman_env, "container", "exists", f"{name}-deploy-local", check=False).returncode == 1

    broken = project / "dist" / "no-model.zip"
    with zipfile.ZipFile(broken, "w") as archive:
        archive.writestr("README.md", "an artifact without its model")
    failed = subprocess.run(
        [
            "make",
            "deploy-local",
            "CONTAINER_CLI=podman",
            f"ARTIFACT={broken}",
            "HEALTH_DEADLINE=6",
            *settings,
        ],
        cwd=project,
        capture_output=True,
        text=True,
        env={**os.environ, **podman_env},
    )
    assert failed.returncode != 0
    assert "3. FAILED: not healthy within 6 s" in failed.stderr
    assert "model file 'model.joblib' not found" in failed.stderr  # the scorer's own log says why


@DEFAULT_FLASK_GROUP
def test_login_tag_push_and_digest_against_a_registry_on_loopback(
    baked, podman_env: dict[str, str], registry
) -> None:
    project = baked(DEFAULT_FLASK)
    podman_env = {**podman_env, "REGISTRY_AUTH_FILE": registry.auth_file}
    make(project, podman_env, "build")
    namespace, user = registry.user.split("/", 1)
    target = (f"REGISTRY={registry.host}", f"NAMESPACE={namespace}")
    login = make(
        project, {**podman_env, "OCIR_AUTH_TOKEN": registry.token}, "login", f"OCI_USER={user}", *target
    )
    assert "Login Succeeded" in login.stdout
    assert registry.token not in login.stdout + login.stderr

    pushed = make(project, podman_env, "push", *target)
    assert registry.token not in pushed.stdout + pushed.stderr
    record = json.loads((project / "deploy" / "pushed-image.json").read_text())
    digest = record["digest"]

    assert digest == registry_digest(registry, f"{namespace}/my-model-service", "1.0.0")
    assert digest.startswith("sha256:") and len(digest) == 71
    assert f"{registry.host}/{namespace}/my-model-service:1.0.0@{digest}" in pushed.stdout
    local = json.loads(podman(podman_env, "image", "inspect", "my-model-service:1.0.0").stdout)[0]
    assert record == {
        "image": f"{registry.host}/{namespace}/my-model-service:1.0.0",
        "digest": digest,
        "size_bytes": local["Size"],
        "platform": "linux/amd64",  # the default shape's (VM.Standard.E4.Flex)
        "local_id": f"sha256:{local['Id']}",
    }


@DEFAULT_FLASK_GROUP
def test_a_second_tag_is_deployed_with_its_own_digest_never_the_first_ones(
    baked, podman_env: dict[str, str], registry
) -> None:
    """The README's path: a changed image pushed under a new IMAGE_TAG. Image and digest stay one pair."""
    project = baked(DEFAULT_FLASK)
    podman_env = {**podman_env, "REGISTRY_AUTH_FILE": registry.auth_file}
    namespace, user = registry.user.split("/", 1)
    target = (f"REGISTRY={registry.host}", f"NAMESPACE={namespace}")
    make(project, {**podman_env, "OCIR_AUTH_TOKEN": registry.token}, "login", f"OCI_USER={user}", *target)
    repository = f"{registry.host}/{namespace}/my-model-service"
    digests = {}
    for tag in ("1.0.0", "1.0.1"):  # two images: the label makes the second one differ
        make(project, podman_env, "build", f"IMAGE_TAG={tag}", f"BUILD_ARGS=--label release={tag}")
        make(project, podman_env, "push", f"IMAGE_TAG={tag}", *target)
        digests[tag] = registry_digest(registry, f"{namespace}/my-model-service", tag)
    assert digests["1.0.0"] != digests["1.0.1"]
    record = json.loads((project / "deploy" / "pushed-image.json").read_text())
    assert (record["image"], record["digest"]) == (f"{repository}:1.0.1", digests["1.0.1"])
    # What the 1.0.1 push replaced stays in the record, for `make teardown` to delete too.
    assert record["earlier"][-1] == {"image": f"{repository}:1.0.0", "digest": digests["1.0.0"]}

    with deployment_settings(project):
        config = fails(["make", "--no-print-directory", "deploy-config"], project)
    # Only the registry is refused (loopback is not OCIR); the pair is the recorded 1.0.1 push.
    problems = [line.strip() for line in config.stderr.splitlines() if line.startswith("  ")]
    assert problems == [
        f"container.image: {registry.host} is not OCI Container Registry; a model deployment "
        "pulls images only from OCIR, and only from its own region's (iad.ocir.io)"
    ]
    with deployment_settings(project, image=f"{repository}:1.0.0"):
        config = fails(["make", "--no-print-directory", "deploy-config"], project)
    assert f"{repository}:1.0.0 has no digest, and the last push was {repository}:1.0.1" in config.stderr

    # The image-lifetime check of deploy-update asks this registry, with make login's credentials.
    ask = "import sys; from my_model_service_ops.registry import check_image_exists as c; c(*sys.argv[1:])"
    python = [".venv/bin/python", "-c", ask]
    run([*python, f"{repository}:1.0.0", digests["1.0.0"]], project, **podman_env)
    gone = fails([*python, f"{repository}:1.0.0", "sha256:" + "0" * 64], project, **podman_env)
    assert "is no longer in" in gone.stderr and "for as long as it lives" in gone.stderr


@DEFAULT_FLASK_GROUP
def test_login_refuses_a_wrong_token_without_showing_it(baked, podman_env: dict[str, str], registry) -> None:
    project = baked(DEFAULT_FLASK)
    podman_env = {**podman_env, "REGISTRY_AUTH_FILE": registry.auth_file}
    namespace, user = registry.user.split("/", 1)
    result = subprocess.run(
        [
            "make",
            "login",
            "CONTAINER_CLI=podman",
            f"OCI_USER={user}",
            f"REGISTRY={registry.host}",
            f"NAMESPACE={namespace}",
        ],
        cwd=project,
        input="wrong-token-value\n",
        capture_output=True,
        text=True,
        env={**os.environ, **podman_env},
    )
    assert result.returncode != 0
    assert "wrong-token-value" not in result.stdout + result.stderr


@DEFAULT_FLASK_GROUP
def test_a_token_typed_at_a_terminal_is_not_echoed(baked, podman_env: dict[str, str], registry) -> None:
    project = baked(DEFAULT_FLASK)
    namespace, user = registry.user.split("/", 1)
    command = ["make", "login", "CONTAINER_CLI=podman", f"OCI_USER={user}", f"REGISTRY={registry.host}"]
    command.append(f"NAMESPACE={namespace}")
    env = {**os.environ, **podman_env, "REGISTRY_AUTH_FILE": registry.auth_file}
    env.pop("OCIR_AUTH_TOKEN", None)
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        command, cwd=project, env=env, stdin=terminal, stdout=terminal, stderr=terminal
    )
    os.close(terminal)
    shown = b""
    while b"(not shown)" not in shown:
        shown += os.read(controller, 1024)
    os.write(controller, registry.token.encode() + b"\n")
    while True:
        try:
            chunk = os.read(controller, 1024)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        shown += chunk
    os.close(controller)
    assert process.wait(timeout=60) == 0, shown.decode()
    assert b"Login Succeeded" in shown
    assert registry.token.encode() not in shown


@DEFAULT_FLASK_GROUP
def test_make_build_works_with_the_docker_cli(baked, podman_env: dict[str, str], tmp_path: Path) -> None:
    project = baked(DEFAULT_FLASK)
    socket_path = tmp_path / "podman.sock"
    service = subprocess.Popen(
        ["podman", "system", "service", "--time=0", f"unix://{socket_path}"], env={**os.environ, **podman_env}
    )
    try:
        for _ in range(100):
            if socket_path.exists():
                break
            time.sleep(0.1)
        docker = {"DOCKER_HOST": f"unix://{socket_path}", "DOCKER_BUILDKIT": "0"}
        run(
            ["make", "build", "CONTAINER_CLI=docker", "IMAGE_TAG=docker-cli"], project, **podman_env, **docker
        )
    finally:
        service.terminate()
        service.wait(timeout=30)
    (image,) = json.loads(podman(podman_env, "image", "inspect", "my-model-service:docker-cli").stdout)
    assert image["Healthcheck"]["Test"][:2] == ["CMD", "/bin/sh"]
