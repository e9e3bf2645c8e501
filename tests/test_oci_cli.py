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
from baking import DEFAULT_FLASK, TRITON_COMBOS, Combo, run

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
    settings = project / "deploy" / "deployment.toml"
    toml = original = settings.read_text()
    for name, value in {
        "compartment_id": "ocid1.compartment.oc1..x",
        "project_id": "ocid1.datascienceproject.oc1.iad.x",
        "model_id": "ocid1.datasciencemodel.oc1.iad.x",
    }.items():
        toml = toml.replace(f'{name} = ""', f'{name} = "{value}"')
    settings.write_text(toml)
    (project / "deploy" / "image-digest.txt").write_text("sha256:" + "c" * 64 + "\n")
    try:
        run(["make", "deploy-config", "CONTAINER_CLI=true"], project)  # no image size to read
    finally:
        settings.write_text(original)
    create = json.loads((project / "deploy" / "create_model_deployment.json").read_text())
    update = json.loads((project / "deploy" / "update_model_deployment.json").read_text())
    assert set(create) <= set(cli_parameters("data-science", "model-deployment", "create"))
    assert set(update) <= set(cli_parameters("data-science", "model-deployment", "update"))
