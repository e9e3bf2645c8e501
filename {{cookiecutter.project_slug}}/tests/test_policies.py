"""make policies: the IAM statements a BYOC model deployment needs, and the oci command that creates them."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from oci.identity.models import identity_type_mapping

from {{ cookiecutter.package_name }}_ops.oci_models import (
    ModelMismatch,
    check_body,
)
from {{ cookiecutter.package_name }}_ops.policies import (
    DEFAULT_NAME,
    PolicyError,
    group_subject,
    policy_body,
    policy_statements,
)

PROJECT = Path(__file__).resolve().parent.parent
COMPARTMENT = "ocid1.compartment.oc1..aaaadeploy"
TENANCY = "ocid1.tenancy.oc1..aaaatenancy"
OTHER = "ocid1.compartment.oc1..aaaaimages"
DEPLOYMENTS_ONLY = "where ALL {request.principal.type='datasciencemodeldeployment'}"


def policies(*args: str, path: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The command, run as the Makefile runs it; ``path`` goes first on PATH."""
    env = {**os.environ, "PATH": f"{path}{os.pathsep}{os.environ['PATH']}"} if path else None
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "{{ cookiecutter.package_name }}_ops",
            "policies",
            *args,
        ],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        env=env,
    )


def settings_copy(folder: Path, compartment_id: str) -> Path:
    """A copy of deploy/deployment.toml (under ``folder``) with this compartment_id."""
    text = (PROJECT / "deploy" / "deployment.toml").read_text()
    changed, count = re.subn(
        r"^compartment_id = .*$", f'compartment_id = "{compartment_id}"', text, count=1, flags=re.M
    )
    assert count == 1
    path = folder / "deploy" / "deployment.toml"
    path.parent.mkdir()
    path.write_text(changed)
    return path


@pytest.fixture
def settings_file(tmp_path: Path) -> Path:
    return settings_copy(tmp_path, COMPARTMENT)


def test_the_statements_for_a_group_and_a_compartment() -> None:
    assert policy_statements(COMPARTMENT, "DataScientists", COMPARTMENT) == [
        f"Allow group DataScientists to manage data-science-family in compartment id {COMPARTMENT}",
        f"Allow group DataScientists to read repos in compartment id {COMPARTMENT}",
        f"Allow any-user to read repos in compartment id {COMPARTMENT} {DEPLOYMENTS_ONLY}",
        f"Allow group DataScientists to manage log-groups in compartment id {COMPARTMENT}",
        f"Allow group DataScientists to read log-content in compartment id {COMPARTMENT}",
        f"Allow any-user to use log-content in compartment id {COMPARTMENT} {DEPLOYMENTS_ONLY}",
    ]


def test_a_repository_in_the_root_compartment_is_read_in_the_tenancy() -> None:
    statements = policy_statements(COMPARTMENT, "DataScientists", TENANCY)
    assert statements[1] == "Allow group DataScientists to read repos in tenancy"
    assert statements[2] == f"Allow any-user to read repos in tenancy {DEPLOYMENTS_ONLY}"
    assert all(f"in compartment id {COMPARTMENT}" in line for line in statements[:1] + statements[3:])
    body = policy_body({"compartment_id": COMPARTMENT}, "DataScientists", repository_compartment_id=TENANCY)
    assert body["compartmentId"] == TENANCY, "a policy naming the tenancy is attached to the tenancy"


def test_a_repository_in_a_third_compartment_needs_the_policy_compartment() -> None:
    with pytest.raises(PolicyError, match="--policy-compartment-id"):
        policy_body({"compartment_id": COMPARTMENT}, "DataScientists", repository_compartment_id=OTHER)
    body = policy_body(
        {"compartment_id": COMPARTMENT},
        "DataScientists",
        repository_compartment_id=OTHER,
        policy_compartment_id=TENANCY,
    )
    assert body["compartmentId"] == TENANCY
    assert f"Allow group DataScientists to read repos in compartment id {OTHER}" in body["statements"]


@pytest.mark.parametrize(
    ("group", "subject"),
    [
        ("DataScientists", "group DataScientists"),
        ("ml.team_2-prod", "group ml.team_2-prod"),
        ("Data Scientists", "group 'Default'/'Data Scientists'"),
        ("MyDomain/ML Team", "group 'MyDomain'/'ML Team'"),
        ("ocid1.group.oc1..aaaagroup", "group id ocid1.group.oc1..aaaagroup"),
    ],
)
def test_group_names_ids_and_identity_domains(group: str, subject: str) -> None:
    assert group_subject(group) == subject


@pytest.mark.parametrize(
    ("group", "message"),
    [
        ("", "--group is empty"),
        ("it's", "can't name it"),
        ("a/b/c", "can't name it"),
        ("Domain/", "can't name it"),
        (" padded", "can't name it"),
        ("line\nbreak", "can't name it"),
        ("ocid1.user.oc1..aaaauser", "not the OCID of a group"),
    ],
)
def test_a_group_a_policy_cannot_name_is_refused(group: str, message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        group_subject(group)


def test_the_body_is_the_sdk_create_policy_details() -> None:
    body = policy_body({"compartment_id": COMPARTMENT}, "DataScientists")
    assert set(body) == {"compartmentId", "name", "description", "statements"}
    assert body["name"] == DEFAULT_NAME
    model = check_body(body, "CreatePolicyDetails", mapping=identity_type_mapping)
    assert model.compartment_id == COMPARTMENT
    assert model.statements == body["statements"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"statements": "Allow group A to read repos in tenancy"}, r"\$\.statements"),
        ({"name": 7}, r"\$\.name: 7 is not a str"),
        ({"statement": []}, r"\['statement'\] are not fields of CreatePolicyDetails"),
    ],
)
def test_a_wrong_field_is_refused_by_the_sdk_model(change: dict[str, object], message: str) -> None:
    body = {**policy_body({"compartment_id": COMPARTMENT}, "DataScientists"), **change}
    with pytest.raises(ModelMismatch, match=message):
        check_body(body, "CreatePolicyDetails", mapping=identity_type_mapping)


@pytest.mark.parametrize("name", ["has space", "x" * 101, "", "semi;colon"])
def test_a_policy_name_oci_refuses_is_refused(name: str) -> None:
    with pytest.raises(PolicyError, match="a policy name is 1 to 100 letters"):
        policy_body({"compartment_id": COMPARTMENT}, "DataScientists", name)


def test_a_compartment_that_is_no_ocid_is_refused() -> None:
    with pytest.raises(PolicyError, match="compartment_id: '<compartment OCID>' is not the OCID"):
        policy_body({"compartment_id": "<compartment OCID>"}, "DataScientists")


def test_the_command_prints_the_statements_and_the_oci_command(settings_file: Path, tmp_path: Path) -> None:
    body_file = tmp_path / "policy.json"
    result = policies(
        "--group", "Data Scientists", "--settings", str(settings_file), "--write", str(body_file)
    )
    assert result.returncode == 0, result.stderr
    body = json.loads(body_file.read_text())
    check_body(body, "CreatePolicyDetails", mapping=identity_type_mapping)
    lines = result.stdout.splitlines()
    for statement in body["statements"]:
        assert statement in lines, "each statement on a line of its own, to paste into the Console"
    command = shlex.split(next(line for line in lines if line.startswith("oci iam policy create ")))
    options = dict(zip(command[4::2], command[5::2], strict=True))
    assert options == {
        "--compartment-id": COMPARTMENT,
        "--name": DEFAULT_NAME,
        "--description": body["description"],
        "--statements": json.dumps(body["statements"]),
    }
    assert json.loads(options["--statements"])[0].startswith("Allow group 'Default'/'Data Scientists' to ")


def test_run_runs_the_printed_command(settings_file: Path, tmp_path: Path) -> None:
    record = tmp_path / "argv.json"
    fake = tmp_path / "oci"
    fake.write_text(
        f"#!{sys.executable}\nimport json, sys\nopen({str(record)!r}, 'w').write(json.dumps(sys.argv[1:]))\n"
    )
    fake.chmod(0o755)
    printed = policies("--group", "DataScientists", "--settings", str(settings_file))
    expected = shlex.split(printed.stdout.splitlines()[-1])
    result = policies("--group", "DataScientists", "--settings", str(settings_file), "--run", path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert ["oci", *json.loads(record.read_text())] == expected


def test_an_empty_compartment_is_a_clear_error(tmp_path: Path) -> None:
    empty = settings_copy(tmp_path, "")
    result = policies("--group", "DataScientists", "--settings", str(empty))
    assert result.returncode == 1
    assert f"compartment_id is empty in {empty}: put the deployment's compartment OCID there" in result.stderr
    assert "deploy/deployment.toml" in result.stderr
    assert result.stdout == ""


def test_a_bad_group_is_a_clear_error(settings_file: Path) -> None:
    result = policies("--group", "it's", "--settings", str(settings_file))
    assert result.returncode == 1
    assert "policies: group \"it's\": a policy can't name it" in result.stderr
    assert result.stdout == ""
