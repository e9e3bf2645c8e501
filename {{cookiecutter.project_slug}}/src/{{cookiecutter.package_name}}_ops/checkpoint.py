"""Say whether a step of WALKTHROUGH.md is done: `make checkpoint STEP=n` prints pass or FAIL.

Each step's checkpoint looks at what the step leaves behind (a model that loads, an image
for the shape's platform, a push that is the image built, a request body the OCI SDK's
models take, a deployment that is ACTIVE ...) and says what to do when it is not there.
Steps up to 10 need nothing but this machine; 11 and 12 ask OCI, signed with the profile;
13 reads the project's records of what it created in OCI (none left once torn down).
The exit status is 0 on pass. Like `make doctor`, it runs before .venv exists.

    python -m {{ cookiecutter.package_name }}_ops checkpoint STEP [--container-cli docker] [--image NAME:TAG] [--container NAME]
        [--port {{ cookiecutter.__server_port }}] [--registry HOST] [--namespace NAME] [--push-record deploy/pushed-image.json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from {{ cookiecutter.package_name }}.oci_rules import (
    DIGEST_RE,
    platform_of_shape,
)

from . import doctor
from .errors import InputError

PROJECT = Path(__file__).resolve().parents[2]
VENV_PYTHON = PROJECT / ".venv" / "bin" / "python"
PACKAGE = "{{ cookiecutter.package_name }}"
MODEL_FILE = "{{ cookiecutter.__model_file }}"
# An OCID of a kind: ocid1.<kind>.<realm>.<region, or empty>.<unique part>
OCID = r"ocid1\.{}\.[a-z0-9-]+\.[a-z0-9-]*\.[a-z0-9]+"


class NotDone(Exception):
    """The step's result is not there; the message says what is missing and what to run."""


@dataclass(frozen=True)
class Step:
    number: int
    title: str
    run: str  # what to run, as WALKTHROUGH.md says it
    check: Callable[[argparse.Namespace], str]  # what was found; raises NotDone


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """make doctor's options (the container CLI, registry, namespace, port, OCI profile), and the step's."""
    parser.add_argument("step", type=int, choices=range(1, len(STEPS) + 1), metavar="STEP")
    doctor.add_arguments(parser)
    parser.add_argument("--image", help="NAME:TAG of the local image (default: deployment.toml's [registry])")
    parser.add_argument("--push-record", type=Path, default=PROJECT / "deploy" / "pushed-image.json")
    parser.add_argument("--model", type=Path, help="default: MODEL_DIR/MODEL_FILE")
    parser.add_argument("--artifact", type=Path, default=PROJECT / "dist" / "model_artifact.zip")


def venv_run(code: str, what: str, fix: str) -> str:
    """Run ``code`` with .venv's Python; its last output line, or NotDone with its error."""
    if not VENV_PYTHON.is_file():
        raise NotDone("no .venv: run make install")
    done = subprocess.run(
        [str(VENV_PYTHON), "-c", code], cwd=PROJECT, capture_output=True, text=True, timeout=300, check=False
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise NotDone(f"{what}: {last}; {fix}")
    return (done.stdout.strip().splitlines() or [""])[-1]


def model_path(args: argparse.Namespace) -> Path:
    if args.model:
        return args.model
    folder = Path(os.environ.get("MODEL_DIR", PROJECT / "model_artifact"))
    return folder / os.environ.get("MODEL_FILE", MODEL_FILE)


# The first step that needs each stage of `make doctor` (the local stage: step 2 on).
STAGE_NEEDED_FROM = {"image": 5, "oci": 7}


def doctor_passes(args: argparse.Namespace) -> str:
    """The local stage of `make doctor` passes (steps 2 to 4 need it); the later stages are named,
    with the step that needs each, as they stand."""
    found = list(doctor.checks(argparse.Namespace(**{**vars(args), "stage": None})))
    failed = [check for stage, check in found if stage == "local" and not check.ok]
    if failed:
        raise NotDone(
            "; ".join(f"{check.name}: {check.found}" for check in failed)
            + "; make doctor STAGE=local says how"
        )
    later = []
    for stage, step in STAGE_NEEDED_FROM.items():
        count = sum(not check.ok for name, check in found if name == stage)
        state = f"{count} FAIL" if count else "ok"
        later.append(f"{stage} {state} (needed from step {step}: make doctor STAGE={stage})")
    return "the local stage of make doctor passes; " + ", ".join(later)


def installed(args: argparse.Namespace) -> str:
    code = f"import {PACKAGE}, {PACKAGE}_ops, oci, sklearn; print(sklearn.__version__)"
    version = venv_run(code, ".venv does not import the project", "run make install")
    return f".venv imports the scorer, its tooling and the OCI SDK (scikit-learn {version})"


def trained(args: argparse.Namespace) -> str:
    model = model_path(args)
    if not model.is_file():
        raise NotDone(f"no model at {model}: run make train")
    if not (PROJECT / "sample_request.json").is_file():
        raise NotDone("no sample_request.json: run make train")
    code = (
        f"from {PACKAGE}.scorer import Scorer; from {PACKAGE}.settings import Settings; "
        "scorer = Scorer(Settings.from_env()); scorer.load(); "
        "print(scorer.input_kind if scorer.ready else 'not ready: ' + scorer.reason)"
    )
    kind = venv_run(code, f"{model.name} does not load", "run make train again")
    if kind.startswith("not ready"):
        raise NotDone(f"{model.name}: {kind}")
    return f"{model} loads and answers its warm-up ({kind})"


def smoke_passes(args: argparse.Namespace) -> str:
    with socket.socket() as probe:  # a free port: a server left running on PORT does not matter here
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code = f"import runpy, sys; sys.argv = ['smoke.py', '--port', '{port}']; runpy.run_path('scripts/smoke.py', run_name='__main__')"
    venv_run(code, "the server did not start and answer", "make smoke shows why")
    return "the production server started, answered /health and /predict, and stopped cleanly"


def image_info(args: argparse.Namespace, image: str) -> dict[str, str]:
    """The local image's id, CPU and OS (docker and podman both print a JSON list)."""
    output = doctor.output_of([args.container_cli, "image", "inspect", image])
    if not output:
        raise NotDone(f"no image {image} in {args.container_cli}: run make build")
    found = json.loads(output)[0]
    return {"id": found.get("Id", ""), "arch": found.get("Architecture", ""), "os": found.get("Os", "")}


def built(args: argparse.Namespace) -> str:
    doctor.fill_registry(args)  # the image's name: deployment.toml's [registry], unless given
    from .project import SETTINGS, read_settings

    shape = read_settings(args.settings or SETTINGS, ("instances.shape",))["instances"]["shape"]
    needed = platform_of_shape(shape)
    info = image_info(args, args.image)
    platform = f"{info['os']}/{doctor.ARCHES.get(info['arch'], info['arch'])}"
    if platform != needed:
        raise NotDone(
            f"{args.image} is {platform}, {shape} runs {needed}: run make build (it builds for the shape)"
        )
    return f"{args.image} is there, {platform} as {shape} needs"


def running(args: argparse.Namespace) -> str:
    url = f"http://127.0.0.1:{args.port}/health"
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            answer = response.read().decode()
    except urllib.error.HTTPError as error:
        raise NotDone(f"{url} answered {error.code}: make logs shows why") from None
    except OSError:
        raise NotDone(f"nothing answers {url}: run make run (and make logs if it stops)") from None
    return f"{url} answers {answer.strip()}"


def pushed(args: argparse.Namespace) -> str:
    doctor.fill_registry(args)
    from .project import read_json

    if not args.push_record.is_file():
        raise NotDone(f"no {args.push_record.name}: run make login, then make push")
    record = read_json(args.push_record, "the push `make push` recorded")
    where = f"{args.registry}/{args.namespace}/"
    if not str(record.get("image", "")).startswith(where):
        raise NotDone(
            f"the push went to {record.get('image')}, not {where}...: push again with REGISTRY and NAMESPACE"
        )
    if not DIGEST_RE.fullmatch(str(record.get("digest", ""))):
        raise NotDone(f"{args.push_record.name} has no digest: run make push again")
    local = image_info(args, args.image)["id"]
    if local and str(record.get("local_id", "")).removeprefix("sha256:") != local.removeprefix("sha256:"):
        raise NotDone(f"{args.image} was built again after the push: run make push")
    return f"{record['image']}@{record['digest'][:19]}... is the image built last"


def zipped(args: argparse.Namespace) -> str:
    model = model_path(args)
    if not args.artifact.is_file():
        raise NotDone(f"no {args.artifact.name}: run make artifact")
    try:
        with zipfile.ZipFile(args.artifact) as archive:
            names = archive.namelist()
    except zipfile.BadZipFile:
        raise NotDone(f"{args.artifact.name} is not a zip file: run make artifact again") from None
    if model.name not in names:
        raise NotDone(f"{args.artifact.name} lacks {model.name} at its top: run make artifact")
    if model.is_file() and model.stat().st_mtime > args.artifact.stat().st_mtime:
        raise NotDone(f"{model.name} is newer than {args.artifact.name}: run make artifact again")
    return f"{args.artifact.name}: {len(names)} files, {model.name} at its top"


def cataloged(args: argparse.Namespace) -> str:
    from .project import SETTINGS, read_settings

    settings = read_settings(args.settings or SETTINGS)
    wrong = [
        f"{key} = {settings.get(key)!r}"
        for key, kind in (
            ("compartment_id", "compartment"),
            ("project_id", "datascienceproject"),
            ("model_id", "datasciencemodel"),
        )
        if not re.fullmatch(OCID.format(kind), settings.get(key) or "")
    ]
    if wrong:
        raise NotDone(
            f"deployment.toml: {', '.join(wrong)}: put the compartment and project OCIDs you were given, "
            "and the model OCID make catalog printed"
        )
    return f"deployment.toml names the model {settings['model_id']}"


def configured(args: argparse.Namespace) -> str:
    from .oci_models import ModelMismatch, to_sdk_model
    from .project import DEPLOY, SETTINGS, read_json

    body = DEPLOY / "create_model_deployment.json"
    if not body.is_file():
        raise NotDone("no create_model_deployment.json: run make deploy-config")
    for source in (args.settings or SETTINGS, args.push_record):
        if source.is_file() and source.stat().st_mtime > body.stat().st_mtime:
            raise NotDone(f"{source.name} changed after make deploy-config: run it again")
    try:
        details = to_sdk_model(read_json(body), "CreateModelDeploymentDetails")
    except ModelMismatch as error:
        raise NotDone(
            f"{body.name} is not what the OCI SDK takes ({error}): run make deploy-config"
        ) from None
    return f"{body.name} is a CreateModelDeploymentDetails of the OCI SDK ({details.display_name})"


def deployment(args: argparse.Namespace, wanted: str) -> object:
    from . import oci_client
    from .project import recorded_deployment_id

    deployment_id = recorded_deployment_id()
    if not deployment_id:
        raise NotDone("no deploy/deployment-id.txt: run make deploy")
    try:
        found = oci_client.data_science_client(args).get_model_deployment(deployment_id).data
    except oci_client.SDK_ERRORS as error:
        raise NotDone(oci_client.failure(error, "get the deployment", args.endpoint)) from None
    if found.lifecycle_state != wanted:
        raise NotDone(
            f"{found.display_name} is {found.lifecycle_state}, not {wanted}: make status follows it"
        )
    return found


def deployed(args: argparse.Namespace) -> str:
    found = deployment(args, "ACTIVE")
    return f"{found.display_name} is ACTIVE at {found.model_deployment_url}"


def answered(args: argparse.Namespace) -> str:
    from . import predict_remote

    found = deployment(args, "ACTIVE")
    body = predict_remote.read_request(PROJECT / "sample_request.json")
    url = f"{found.model_deployment_url}/predict"
    try:
        response = predict_remote.post(url, body, predict_remote.signer(args), "checkpoint")
    except predict_remote.Failure as error:
        raise NotDone(str(error)) from None
    if response.status_code != 200:
        raise NotDone(f"/predict answered {response.status_code}: {response.text[:200]}; make predict-remote")
    return f"/predict answered 200: {response.text[:120]}"


def torn_down(args: argparse.Namespace) -> str:
    from .project import CATALOG_MODEL_ID_FILE, DEPLOY, DEPLOYMENT_ID_FILE

    records = (DEPLOYMENT_ID_FILE, CATALOG_MODEL_ID_FILE, args.push_record, DEPLOY / "pushed-image.json")
    records += (DEPLOY / "scorer-pushed-image.json", DEPLOY / "scan-setup.json")
    left = sorted({record.name for record in records if record.is_file()})
    if left:
        raise NotDone(f"deploy/ still records what is in OCI ({', '.join(left)}): run make teardown")
    return "deploy/ records nothing left in OCI"


STEPS = (
    Step(1, "Check the machine", "make doctor", doctor_passes),
    Step(2, "Install", "make install", installed),
    Step(3, "Train the sample model", "make train", trained),
    Step(4, "Test and serve it here", "make test smoke", smoke_passes),
    Step(5, "Build the image", "make build", built),
    Step(6, "Run it as the service does", "make run predict", running),
    Step(7, "Push it to OCIR", "make login push", pushed),
    Step(8, "Zip the model artifact", "make artifact", zipped),
    Step(9, "Put the model in the catalog", "make catalog CATALOG_RUN=1", cataloged),
    Step(10, "Write the deployment's request", "make deploy-config", configured),
    Step(11, "Deploy", "make deploy status", deployed),
    Step(12, "Call the live endpoint", "make predict-remote", answered),
    Step(13, "Tear down", "make teardown", torn_down),
)


def run(args: argparse.Namespace) -> int:
    step = STEPS[args.step - 1]
    try:
        found = step.check(args)
    except (NotDone, InputError) as error:  # InputError: a settings or JSON file of the wrong shape
        print(f"checkpoint {step.number} ({step.title}): FAIL: {error}", file=sys.stderr)
        return 1
    print(f"checkpoint {step.number} ({step.title}): pass: {found}")
    return 0
