"""make policies: the IAM statements a BYOC model deployment needs, and the oci command that creates them.

``--run`` creates the policy through the OCI SDK, against a loopback stand-in of the IAM API
that records each request and answers with the SDK's own model; a throwaway API key signs.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import oci
import pytest
from baked_settings import write_settings
from conftest import ApiKey, JsonStandIn, received, signed_by
from oci.identity.models import Policy, identity_type_mapping

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
POLICY_ID = "ocid1.policy.oc1..aaaapolicy"


def policies(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The command, run as the Makefile runs it, its environment changed by ``env``."""
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
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def settings_copy(folder: Path, compartment_id: str) -> Path:
    """The settings as baked, as ``folder``/deploy/deployment.toml, with this compartment_id."""
    return write_settings(folder / "deploy" / "deployment.toml", compartment_id=compartment_id)


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


class Identity(JsonStandIn):
    """IAM's CreatePolicy: records each request; answers the policy made, or ``refuse`` (status, code)."""

    script: dict[str, Any]

    def do_POST(self) -> None:
        call = received(self)
        self.script["calls"].append(call)
        if self.script.get("refuse"):
            status, code = self.script["refuse"]
            return self._send(status, {"code": code, "message": f"a policy named that exists: {code}"})
        if call.path != "/20160918/policies":
            return self._send(404, {"code": "NotAuthorizedOrNotFound", "message": call.path})
        sent = json.loads(call.body)
        made = Policy(
            id=POLICY_ID,
            compartment_id=sent["compartmentId"],
            name=sent["name"],
            description=sent["description"],
            statements=sent["statements"],
            lifecycle_state="ACTIVE",
        )
        self._send(200, made)


@pytest.fixture
def identity(start_stand_in: Callable[..., str]) -> Callable[..., tuple[str, dict[str, Any]]]:
    """``identity(refuse=None)``: a stand-in of the IAM API, its URL and its script."""

    def start(refuse: tuple[int, str] | None = None) -> tuple[str, dict[str, Any]]:
        script: dict[str, Any] = {"calls": [], "refuse": refuse}
        return start_stand_in(Identity, oci.identity.IdentityClient, script), script

    return start


def signing(oci_config: Path) -> tuple[str, ...]:
    return ("--config", str(oci_config), "--profile", "TEST", "--auth", "api_key")


def test_run_creates_the_policy_through_the_sdk_signed_without_the_cli(
    identity: Callable[..., tuple[str, dict[str, Any]]],
    api_key: ApiKey,
    settings_file: Path,
    tmp_path: Path,
) -> None:
    url, script = identity()
    body_file = tmp_path / "policy.json"
    arguments = ("--group", "Data Scientists", "--settings", str(settings_file), "--write", str(body_file))
    no_cli = {"OCI_IDENTITY_ENDPOINT": url, "PATH": str(tmp_path / "empty")}  # no oci to run
    result = policies(*arguments, *signing(api_key.config), "--run", env=no_cli)
    assert result.returncode == 0, result.stderr
    (call,) = script["calls"]
    assert (call.method, call.path) == ("POST", "/20160918/policies")
    written = json.loads(body_file.read_text())
    assert json.loads(call.body) == written, "the body sent is the one printed and checked"
    check_body(json.loads(call.body), "CreatePolicyDetails", mapping=identity_type_mapping)
    assert signed_by(api_key, call)
    assert call.headers.get("opc-retry-token"), "a retried create makes one policy"
    assert f"created policy {POLICY_ID} (ACTIVE;" in result.stdout
    assert "oci iam policy create" not in result.stdout


@pytest.mark.parametrize(
    ("refuse", "line"),
    [
        ((409, "PolicyAlreadyExists"), "(409 PolicyAlreadyExists): a policy named that exists"),
        ((404, "NotAuthorizedOrNotFound"), "(404 NotAuthorizedOrNotFound): "),
    ],
)
def test_a_refused_create_is_one_line(
    identity: Callable[..., tuple[str, dict[str, Any]]],
    api_key: ApiKey,
    settings_file: Path,
    refuse: tuple[int, str],
    line: str,
) -> None:
    url, script = identity(refuse)
    arguments = ("--group", "DataScientists", "--settings", str(settings_file))
    result = policies(*arguments, *signing(api_key.config), "--run", env={"OCI_IDENTITY_ENDPOINT": url})
    assert result.returncode == 1
    (error,) = result.stderr.splitlines()
    assert error.startswith(f"policies: OCI refused to create the policy {line}")
    assert len(script["calls"]) == 1, "a 4xx is not retried"
    assert "created policy" not in result.stdout


def test_a_missing_profile_is_one_line_and_sends_nothing(
    identity: Callable[..., tuple[str, dict[str, Any]]], api_key: ApiKey, settings_file: Path
) -> None:
    url, script = identity()
    api_key.config.write_text("[OTHER]\nuser=x\n")
    arguments = ("--group", "DataScientists", "--settings", str(settings_file))
    result = policies(*arguments, *signing(api_key.config), "--run", env={"OCI_IDENTITY_ENDPOINT": url})
    assert result.returncode == 1
    (error,) = result.stderr.splitlines()
    assert error.startswith("policies: cannot create the policy: ") and "TEST" in error
    assert script["calls"] == []


def test_an_empty_compartment_is_a_clear_error(tmp_path: Path) -> None:
    empty = settings_copy(tmp_path, "")
    result = policies("--group", "DataScientists", "--settings", str(empty))
    assert result.returncode == 1
    assert (
        f"compartment_id: not set yet; set it in {empty} to the OCID of the compartment to deploy to"
        in result.stderr
    )
    assert "deploy/deployment.toml" in result.stderr
    assert result.stdout == ""


def test_a_bad_group_is_a_clear_error(settings_file: Path) -> None:
    result = policies("--group", "it's", "--settings", str(settings_file))
    assert result.returncode == 1
    assert "policies: group \"it's\": a policy can't name it" in result.stderr
    assert result.stdout == ""
