"""The generated WALKTHROUGH.md, run as a participant runs it, up to the deployment's request;
and the names its output shows, the project's own as baked.

Steps 1 to 10 in the default Flask project, each `make checkpoint STEP=n` run before its step
(where it can fail) and after it (where it must pass): a made-up home folder with an OCI profile
and a registry login, podman for docker, the registry on loopback for OCIR. Steps 11 to 13 need
OCI itself; the project's own tests hold their output to what its code prints (the scorer's
answer, `make status`'s lines), and this module's last test holds the names in it to the fresh
project's deploy/deployment.toml and Makefile.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import tomllib
from pathlib import Path

import pytest
from baking import COMBOS, DEFAULT_FLASK, TRITON_COMBOS, Combo, bake, deployment_settings, free_port
from conftest import Registry
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

pytestmark = pytest.mark.xdist_group(DEFAULT_FLASK.id)  # the worker that baked the default project
OCIR = "iad.ocir.io"  # the default project's region's registry


def made_up_home(home: Path, registry: Registry) -> dict[str, str]:
    """A home folder ready for step 1: an OCI profile with its key (mode 600), registry logins."""
    (home / ".oci").mkdir(parents=True)
    key = home / ".oci" / "key.pem"
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    encoding, key_format = serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8
    key.write_bytes(private.private_bytes(encoding, key_format, serialization.NoEncryption()))
    key.chmod(0o600)
    (home / ".oci" / "config").write_text(
        f"[DEFAULT]\nuser=ocid1.user.oc1..walk\nfingerprint={':'.join(['ab'] * 16)}\nkey_file={key}\n"
        "tenancy=ocid1.tenancy.oc1..walk\nregion=us-ashburn-1\n"
    )
    logins = home / "auth.json"  # an OCIR login as `make login` leaves it (podman's auth file)
    logins.write_text(json.dumps({"auths": {OCIR: {"auth": base64.b64encode(b"ns/u:t").decode()}}}))
    return {"HOME": str(home), "REGISTRY_AUTH_FILE": str(logins)}


def checkpoint(project: Path, env: dict[str, str], step: int, *settings: str) -> tuple[bool, str]:
    done = subprocess.run(
        ["make", "--no-print-directory", "checkpoint", f"STEP={step}", "CONTAINER_CLI=podman", *settings],
        cwd=project,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=600,
    )
    said = done.stdout + done.stderr
    assert f"checkpoint {step} (" in said, said
    return done.returncode == 0, said


def make(project: Path, env: dict[str, str], *arguments: str) -> None:
    done = subprocess.run(
        ["make", "--no-print-directory", *arguments, "CONTAINER_CLI=podman"],
        cwd=project,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=1200,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def remove_image(podman_env: dict[str, str], *tags: str) -> None:
    podman = ["podman", "rmi", "--force", "my-model-service:walkthrough", *tags]
    subprocess.run(podman, env={**os.environ, **podman_env}, capture_output=True, check=False)


def test_steps_1_to_10_pass_their_checkpoints(
    baked, podman_env: dict[str, str], registry: Registry, tmp_path: Path
) -> None:
    project = baked(DEFAULT_FLASK)  # installed and trained: steps 2 and 3 done
    env = {**podman_env, **made_up_home(tmp_path / "home", registry)}
    port = free_port()
    local = (f"PORT={port}", "IMAGE_TAG=walkthrough", "CONTAINER=byoc-walkthrough")
    namespace, user = registry.user.split("/", 1)
    pushed_to = (f"REGISTRY={registry.host}", f"NAMESPACE={namespace}")
    record = project / "deploy" / "pushed-image.json"
    saved_record = record.read_bytes() if record.is_file() else None

    for step in (1, 2, 3, 4):
        passed, said = checkpoint(project, env, step, *local)
        assert passed, said

    remove_image(podman_env)  # left by an earlier run
    passed, said = checkpoint(project, env, 5, *local)
    assert not passed and "FAIL: no image my-model-service:walkthrough in podman: run make build" in said
    make(project, env, "build", *local)
    passed, said = checkpoint(project, env, 5, *local)
    assert passed and "walkthrough is there, linux/amd64 as VM.Standard.E4.Flex needs" in said

    assert not checkpoint(project, env, 6, *local)[0]  # nothing runs yet
    try:
        make(project, env, "run", *local)
        passed, said = checkpoint(project, env, 6, *local)
        assert passed and '"status":"ready"' in said
    finally:
        make(project, env, "stop", *local)

    try:
        pushing = {**env, "REGISTRY_AUTH_FILE": registry.auth_file}
        make(project, {**pushing, "OCIR_AUTH_TOKEN": registry.token}, "login", f"OCI_USER={user}", *pushed_to)
        make(project, pushing, "push", *local, *pushed_to)
        passed, said = checkpoint(project, pushing, 7, *local, *pushed_to)
        assert passed and f"{registry.host}/{namespace}/my-model-service:walkthrough@sha256:" in said
        make(project, env, "build", *local, "BUILD_ARGS=--label changed=1")  # built again, not pushed
        passed, said = checkpoint(project, pushing, 7, *local, *pushed_to)
        assert not passed and "was built again after the push: run make push" in said
        make(project, pushing, "push", *local, *pushed_to)
        assert checkpoint(project, pushing, 7, *local, *pushed_to)[0]

        make(project, env, "artifact")
        passed, said = checkpoint(project, env, 8, *local)
        assert passed and "model.joblib at its top" in said

        passed, said = checkpoint(project, env, 9, *local)
        assert not passed and "compartment_id = ''" in said
        # The loopback push stands for OCIR's: deploy-config takes only the region's registry.
        pushed = json.loads(record.read_text())
        pushed["image"] = pushed["image"].replace(f"{registry.host}/{namespace}/", f"{OCIR}/mytenancy/")
        record.write_text(json.dumps(pushed))
        with deployment_settings(project):
            assert checkpoint(project, env, 9, *local)[0]
            passed, said = checkpoint(project, env, 10, *local)
            assert not passed and "make deploy-config" in said
            make(project, env, "deploy-config")
            passed, said = checkpoint(project, env, 10, *local)
            assert passed and "create_model_deployment.json is a CreateModelDeploymentDetails" in said
    finally:
        if saved_record is None:
            record.unlink(missing_ok=True)
        else:
            record.write_bytes(saved_record)
        remove_image(podman_env, f"{registry.host}/{namespace}/my-model-service:walkthrough")


def make_variables(project: Path, *names: str) -> dict[str, str]:
    """The Makefile's values of ``names``, as make computes them."""
    printer = "print-%: ; @echo '$*=$($*)'"
    done = subprocess.run(
        ["make", "--no-print-directory", "-s", f"--eval={printer}", *(f"print-{name}" for name in names)],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(line.split("=", 1) for line in done.stdout.splitlines())


OWNER = next(combo for combo in COMBOS if combo.answers.get("owner"))
CUSTOM_NAMES = next(combo for combo in COMBOS if "oci_region" in combo.answers)


@pytest.mark.parametrize(
    "combo", [DEFAULT_FLASK, OWNER, TRITON_COMBOS[0], CUSTOM_NAMES], ids=lambda combo: combo.id
)
def test_the_walkthrough_shows_this_project_s_names(combo: Combo, tmp_path: Path) -> None:
    """Every name the output blocks show is the fresh project's: its deployment's display name
    and shape (deploy/deployment.toml), its registry, namespace, image and tag (the Makefile), its
    region (in URLs and OCIDs) and its slug; none of another service."""
    project = bake(tmp_path, combo.answers)
    walk = (project / "WALKTHROUGH.md").read_text()
    settings = tomllib.loads((project / "deploy" / "deployment.toml").read_text())
    names = ("REGISTRY", "NAMESPACE", "IMAGE_NAME", "IMAGE_TAG", "REMOTE_IMAGE")
    make = make_variables(project, *names, *(("TRITON_OCIR_TAG",) if "triton" in combo.id else ()))
    triton = make.get("TRITON_OCIR_TAG")
    deployed = f"{make['REGISTRY']}/{make['NAMESPACE']}/{make['IMAGE_NAME']}:{triton}" if triton else None

    name = settings["display_name"]
    instances = settings["instances"]
    count = instances["count"]
    shape = f"{instances['shape']} ({instances['ocpus']:g} OCPU, {instances['memory_in_gbs']:g} GB)"
    assert f"\n{name}: ACTIVE\n" in walk and f"CreateModelDeploymentDetails of the OCI SDK ({name})" in walk
    assert f"  shape    {shape}, {count} instance{'s' if count != 1 else ''}\n" in walk
    assert f"  image    {deployed or make['REMOTE_IMAGE']}\n" in walk
    assert f"{make['REMOTE_IMAGE']}@sha256:" in walk  # the push of step 7
    assert f"{project.name} created, by its records:" in walk

    hosts = set(re.findall(r"([a-z0-9.-]+\.ocir\.io)/", walk))
    assert hosts == {make["REGISTRY"]}
    images = set(re.findall(r"[a-z0-9.-]+\.ocir\.io/([^\s@`]+)", walk))
    assert images == {
        f"{make['NAMESPACE']}/{make['IMAGE_NAME']}:{tag}" for tag in filter(None, (make["IMAGE_TAG"], triton))
    }
    assert set(re.findall(r"modeldeployment\.([a-z0-9-]+)\.oci\.customer-oci\.com", walk)) == {
        settings["region"]
    }
    region_keys = set(re.findall(r"ocid1\.datasciencemodel(?:deployment)?\.oc1\.([a-z0-9-]+)\.", walk))
    assert region_keys == {make["REGISTRY"].split(".")[0]}
    assert '"prediction"' not in walk and "scorer-prod" not in walk
