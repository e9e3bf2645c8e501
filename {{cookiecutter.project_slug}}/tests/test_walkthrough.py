"""WALKTHROUGH.md names only what exists: its make targets, and checkpoints that check its steps;
the output it shows is what this project's code prints (the scorer's answer to the sample request,
`make status`'s lines), one deployment from step to step. The names in it are the project's as
baked: the template's tests compare them with deploy/deployment.toml and the Makefile (which are
yours to change)."""

from __future__ import annotations

import argparse
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from oci.data_science import models

from {{ cookiecutter.package_name }}_ops import checkpoint, lifecycle
from {{ cookiecutter.package_name }}_ops.checkpoint import STEPS

PROJECT = Path(__file__).resolve().parent.parent
WALKTHROUGH = (PROJECT / "WALKTHROUGH.md").read_text()
TARGETS = set(re.findall(r"^([a-z][a-z0-9-]*):", (PROJECT / "Makefile").read_text(), re.MULTILINE))
SECTIONS = re.split(r"^## ", WALKTHROUGH, flags=re.MULTILINE)[1:]


def section(number: int) -> str:
    return next(s for s in SECTIONS if s.startswith(f"{number}. "))


def shown(number: int) -> list[str]:
    """The lines of step ``number``'s output blocks (```text)."""
    blocks = re.findall(r"```text\n(.*?)```", section(number), re.DOTALL)
    return [line for block in blocks for line in block.splitlines()]


def make_commands(text: str) -> list[list[str]]:
    """Every `make ...` in the text's code, as its words."""
    code = re.findall(r"```bash\n(.*?)```", text, re.DOTALL) + re.findall(r"`(make [^`]+)`", text)
    commands = []
    for block in code:
        for line in block.splitlines():
            line = line.split("#", 1)[0].strip()
            if line.startswith("make "):
                commands.append(line.split()[1:])
    return commands


def test_every_make_target_in_the_walkthrough_exists() -> None:
    named = {word for words in make_commands(WALKTHROUGH) for word in words if "=" not in word}
    assert named, "no make command found"
    assert named <= TARGETS, f"not targets of the Makefile: {sorted(named - TARGETS)}"


@pytest.mark.parametrize("step", STEPS, ids=lambda step: str(step.number))
def test_each_step_runs_what_its_checkpoint_checks_and_ends_with_it(step) -> None:
    section = next(s for s in SECTIONS if s.startswith(f"{step.number}. "))
    assert section.splitlines()[0] == f"{step.number}. {step.title}"
    commands = [" ".join(words) for words in make_commands(section)]
    assert step.run.removeprefix("make ") in " ".join(commands), f"step {step.number} does not run {step.run}"
    assert f"checkpoint STEP={step.number}" in commands
    for part in ("You should see", "Takes", "Usual mistake"):
        assert f"**{part}" in section, f"step {step.number} lacks {part!r}"


def test_the_walkthrough_ends_with_the_teardown() -> None:
    assert "make teardown" in SECTIONS[-1] and SECTIONS[-1].startswith(f"{len(STEPS)}. Tear down")


def test_every_step_has_a_checkpoint_the_command_line_takes() -> None:
    """The text's "`make checkpoint STEP=n` (n from 1 to 13)": each step's number is taken."""
    numbers = [int(s.split(".", 1)[0]) for s in SECTIONS]
    assert numbers == list(range(1, len(STEPS) + 1))
    assert f"(n from 1 to {len(STEPS)})" in " ".join(WALKTHROUGH.split())
    parser = argparse.ArgumentParser()
    checkpoint.add_arguments(parser)
    for number in numbers:
        assert parser.parse_args([str(number)]).step == number
    with pytest.raises(SystemExit):
        parser.parse_args([str(len(STEPS) + 1)])


def test_each_checkpoint_line_shown_is_its_step_s() -> None:
    for step in STEPS:
        lines = [line for line in shown(step.number) if line.startswith("checkpoint ")]
        assert lines, f"step {step.number} shows no checkpoint line"
        for line in lines:
            assert line.startswith(f"checkpoint {step.number} ({step.title}): "), line


def answer_lines(number: int) -> str:
    """The JSON answer step ``number`` shows, as one text."""
    lines = shown(number)
    if number == 4:
        return next(line for line in lines if "POST /predict" in line).split(" -> 200 ", 1)[1]
    if number == 6:
        return next(line for line in lines if line.startswith("{"))
    start = next(i for i, line in enumerate(lines) if line.startswith("POST ")) + 1
    end = next(i for i, line in enumerate(lines) if line.startswith("opc-request-id: "))
    return "\n".join(lines[start:end])


@pytest.mark.parametrize("number", [4, 6, 12])
def test_the_answer_shown_is_the_scorer_s(number: int, client: Any, model_dir: Path) -> None:
    """Steps 4, 6 and 12 show what the scorer answers to the sample model's sample request, with
    the template's own hooks (conftest.py): the walkthrough shows the sample's answer as the
    template ships it, whatever your postprocess makes of it."""
    body = (model_dir.parent / "sample_request.json").read_bytes()
    reply = client.post("/predict", body)
    assert reply.status == 200
    assert json.loads(answer_lines(number)) == reply.json
    if number == 12:  # predict-remote prints it indented, and the checkpoint its first characters
        assert answer_lines(number) == json.dumps(reply.json, indent=2)
        passed = next(line for line in shown(12) if line.startswith("checkpoint 12"))
        assert json.loads(passed.split("answered 200: ", 1)[1]) == reply.json


def status_lines() -> list[str]:
    """The last `make status` block of step 11: from "<name>: ACTIVE" to its shape."""
    lines = shown(11)
    start = max(i for i, line in enumerate(lines) if line.endswith(": ACTIVE"))
    return lines[start : start + 6]


def test_the_deployment_shown_is_what_make_status_prints() -> None:
    """Step 11's lines are lifecycle.describe()'s for a deployment of those values; its image is
    the push of step 7 (or Triton's), its URL the one step 12 calls, its name the checkpoint's."""
    lines = status_lines()
    name = lines[0].removesuffix(": ACTIVE")
    values = {line.split()[0]: line.split(None, 1)[1] for line in lines[1:]}
    found = re.fullmatch(r"(\S+) \((\d+) OCPU, (\d+) GB\), (\d+) instances?", values["shape"])
    assert found, values["shape"]
    shape, ocpus, memory, count = found.groups()
    url = values["predict"].removesuffix("/predict")
    deployment = models.ModelDeployment(
        id=values["id"],
        display_name=name,
        lifecycle_state="ACTIVE",
        model_deployment_url=url,
        model_deployment_configuration_details=models.SingleModelDeploymentConfigurationDetails(
            model_configuration_details=models.ModelConfigurationDetails(
                instance_configuration=models.InstanceConfiguration(
                    instance_shape_name=shape,
                    model_deployment_instance_shape_config_details=models.ModelDeploymentInstanceShapeConfigDetails(
                        ocpus=float(ocpus), memory_in_gbs=float(memory)
                    ),
                ),
                scaling_policy=models.FixedSizeScalingPolicy(instance_count=int(count)),
            ),
            environment_configuration_details=models.OcirModelDeploymentEnvironmentConfigurationDetails(
                image=values["image"], image_digest=values["digest"]
            ),
        ),
    )
    assert lifecycle.describe(deployment) == lines
    assert f"recorded {values['id']} in deploy/deployment-id.txt" in shown(11)
    assert f"checkpoint 11 (Deploy): pass: {name} is ACTIVE at {url}" in shown(11)
    assert f"POST {url}/predict" in shown(12)
    assert f"({name})" in shown(10)[-1]
    pushed = f"{values['image']}@{values['digest']}"
{%- if cookiecutter.server == "triton" %}
    assert any(line.startswith(f"  image        {pushed}  (deploy/pushed-image.json)") for line in shown(13))
{%- else %}
    assert any(line.startswith(f"{pushed} (") for line in shown(7)), "step 11 deploys another image"
    assert f"  image        {pushed}  (deploy/pushed-image.json)" in shown(13)
{%- endif %}
    assert f"  deployment   {values['id']}  (deploy/deployment-id.txt)" in shown(13)


def test_the_readme_links_the_walkthrough() -> None:
    assert "(WALKTHROUGH.md)" in (PROJECT / "README.md").read_text()


def test_checkpoint_13_passes_once_no_record_is_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Step 13's checkpoint reads the records `make teardown` removes (here in a folder of the test's)."""
    from {{ cookiecutter.package_name }}_ops import project

    monkeypatch.setattr(project, "DEPLOY", tmp_path)
    monkeypatch.setattr(project, "DEPLOYMENT_ID_FILE", tmp_path / "deployment-id.txt")
    monkeypatch.setattr(project, "CATALOG_MODEL_ID_FILE", tmp_path / "catalog-model-id.txt")
    parser = argparse.ArgumentParser()
    checkpoint.add_arguments(parser)
    args = parser.parse_args(["13", "--push-record", str(tmp_path / "pushed-image.json")])
    assert checkpoint.run(args) == 0
    assert "checkpoint 13 (Tear down): pass: deploy/ records nothing left in OCI" in capsys.readouterr().out
    (tmp_path / "deployment-id.txt").write_text("ocid1.datasciencemodeldeployment.oc1.iad.x\n")
    (tmp_path / "scan-setup.json").write_text("{}")
    assert checkpoint.run(args) == 1
    said = capsys.readouterr().err
    assert "(deployment-id.txt, scan-setup.json): run make teardown" in said


def test_checkpoint_10_compares_the_request_with_the_settings_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Settings edited after `make deploy-config` fail step 10: the file given with --settings, not
    the project's (here the records are in a folder of the test's)."""
    from {{ cookiecutter.package_name }}_ops import project

    monkeypatch.setattr(project, "DEPLOY", tmp_path)
    settings, body = tmp_path / "prod.toml", tmp_path / "create_model_deployment.json"
    body.write_text("{}")
    settings.write_text("")
    os.utime(body, (1_000_000_000, 1_000_000_000))  # the request is older than the settings
    parser = argparse.ArgumentParser()
    checkpoint.add_arguments(parser)
    given = ["--settings", str(settings), "--push-record", str(tmp_path / "none.json")]
    args = parser.parse_args(["10", *given])
    assert checkpoint.run(args) == 1
    assert "prod.toml changed after make deploy-config: run it again" in capsys.readouterr().err
    os.utime(settings, (900_000_000, 900_000_000))
    assert checkpoint.run(args) == 0
    assert "create_model_deployment.json is a CreateModelDeploymentDetails" in capsys.readouterr().out
