"""What the generated project hands to the OCI CLI uses the CLI's own parameter names.

The names come from the installed `oci` CLI itself: `--generate-full-command-json-input`
lists every parameter of a command as the camelCase key of its JSON input.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest
from baking import DEFAULT_FLASK, TRITON_COMBOS, Combo, deployment_settings, run

OCI = str(Path(sys.executable).with_name("oci"))
GLOBAL_OPTIONS = {"query", "raw-output", "from-json"}  # options of every oci command


@cache
def cli_parameters(*command: str) -> dict:
    result = subprocess.run(
        [OCI, *command, "--generate-full-command-json-input"], capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout)


def camel(option: str) -> str:
    first, *rest = option.split("-")
    return first + "".join(part.title() for part in rest)


@pytest.mark.xdist_group(DEFAULT_FLASK.id)
def test_catalog_commands_use_the_clis_parameters(baked) -> None:
    project = baked(DEFAULT_FLASK)
    printed = run(["make", "--no-print-directory", "-s", "catalog"], project).stdout
    commands = [shlex.split(line) for line in printed.splitlines() if line.startswith("oci ")]
    assert [command[:4] for command in commands] == [
        ["oci", "data-science", "model", "create"],
        ["oci", "data-science", "model", "create-model-artifact"],
    ]
    for command in commands:
        options = {word[2:] for word in command if word.startswith("--")} - GLOBAL_OPTIONS
        known = set(cli_parameters(*command[1:4]))
        assert {camel(option) for option in options} <= known, command
    assert commands[1][commands[1].index("--model-artifact-file") + 1] == "dist/model_artifact.zip"
    # The catalog entry goes through --from-json: its keys are the command's own parameters.
    entry = commands[0][commands[0].index("--from-json") + 1].removeprefix("file://")
    body = json.loads((project / entry).read_text())
    assert {"compartmentId", "projectId", "displayName", "inputSchema", "outputSchema"} <= set(body)
    assert set(body) <= set(cli_parameters("data-science", "model", "create"))


@pytest.mark.parametrize("combo", [DEFAULT_FLASK.param(), TRITON_COMBOS[0].param()])
def test_deployment_json_uses_the_clis_parameters(baked, combo: Combo) -> None:
    project = baked(combo)
    record = project / "deploy" / "pushed-image.json"
    earlier = record.read_bytes() if record.exists() else None  # a push test's, in the shared project
    pushed = {"image": "iad.ocir.io/mytenancy/my-model-service:1.0.0", "digest": "sha256:" + "c" * 64}
    record.write_text(json.dumps({**pushed, "size_bytes": 1, "platform": "linux/amd64", "local_id": "x"}))
    try:
        with deployment_settings(project):
            run(["make", "deploy-config"], project)
    finally:
        if earlier is None:
            record.unlink()
        else:
            record.write_bytes(earlier)
    create = json.loads((project / "deploy" / "create_model_deployment.json").read_text())
    update = json.loads((project / "deploy" / "update_model_deployment.json").read_text())
    assert set(create) <= set(cli_parameters("data-science", "model-deployment", "create"))
    assert set(update) <= set(cli_parameters("data-science", "model-deployment", "update"))


@pytest.mark.xdist_group(DEFAULT_FLASK.id)
def test_the_policy_command_uses_the_clis_parameters(baked) -> None:
    project = baked(DEFAULT_FLASK)
    with deployment_settings(project):
        printed = run(["make", "--no-print-directory", "-s", "policies", "GROUP=data-scientists"], project)
    (line,) = [line for line in printed.stdout.splitlines() if line.startswith("oci ")]
    command = shlex.split(line)
    assert command[:4] == ["oci", "iam", "policy", "create"]
    options = {word[2:] for word in command if word.startswith("--")} - GLOBAL_OPTIONS
    assert {camel(option) for option in options} <= set(cli_parameters("iam", "policy", "create"))
    statements = json.loads(command[command.index("--statements") + 1])
    compartment = "compartment id ocid1.compartment.oc1..x"
    assert f"Allow group data-scientists to read repos in {compartment}" in statements
