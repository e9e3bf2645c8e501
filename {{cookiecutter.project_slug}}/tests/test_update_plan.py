"""Updates follow the service's shallow-merge rules, planned and applied on the SDK's real shapes."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from {{ cookiecutter.package_name }}_ops.oci_models import check_body
from {{ cookiecutter.package_name }}_ops.update_plan import (
    PlanError,
    apply_update,
    plan_update,
)

IMAGE = "iad.ocir.io/testtenancy/md_byoc_ref_iris_data:1.0.1"
DIGEST = "sha256:a9c8468cb671929aec7ad947b9dccd6fe8e6d77f7bcecfe2e10e1c935a88c2a5"
NEW_DIGEST = "sha256:" + "1" * 64
# The origin document's worked example, as written there (its top-level section alone).
DOCUMENT_RESOURCE = {
    "environmentConfigurationType": "OCIR_CONTAINER",
    "serverPort": 5454,
    "image": IMAGE,
    "imageDigest": DIGEST,
    "environmentVariables": {"a": "b", "c": "d", "e": "f"},
    "entrypoint": ["python", "-m", "uvicorn", "a/model/server:app", "--port", "5000", "--host", "0.0.0.0"],
    "cmd": ["param1"],
}
DOCUMENT_UPDATE = {"serverPort": 2000, "environmentVariables": {"x": "y"}, "entrypoint": []}
DOCUMENT_RESULT = {
    **DOCUMENT_RESOURCE,
    "serverPort": 2000,
    "environmentVariables": {"x": "y"},
    "entrypoint": [],
}


def nested(environment: dict[str, Any], **model: Any) -> dict[str, Any]:
    """``environment`` where the SDK has it: inside modelDeploymentConfigurationDetails."""
    configuration: dict[str, Any] = {
        "deploymentType": "SINGLE_MODEL",
        "environmentConfigurationDetails": environment,
    }
    if model:
        configuration["modelConfigurationDetails"] = model
    return {"modelDeploymentConfigurationDetails": configuration}


def deployment() -> dict[str, Any]:
    """A deployment as GET /modelDeployments/{id} returns it: read-only fields and every section."""
    document = nested(
        copy.deepcopy(DOCUMENT_RESOURCE),
        modelId="ocid1.datasciencemodel.oc1.iad.aaaa",
        instanceConfiguration={
            "instanceShapeName": "VM.Standard.E4.Flex",
            "modelDeploymentInstanceShapeConfigDetails": {"ocpus": 1, "memoryInGBs": 16},
        },
        scalingPolicy={"policyType": "FIXED_SIZE", "instanceCount": 2},
        bandwidthMbps=10,
    )
    return {
        "id": "ocid1.datasciencemodeldeployment.oc1.iad.aaaa",
        "displayName": "churn",
        "description": "churn model",
        "lifecycleState": "ACTIVE",
        "modelDeploymentUrl": "https://modeldeployment.us-ashburn-1.oci.customer-oci.com/ocid1...",
        "categoryLogDetails": {"access": {"logGroupId": "ocid1.loggroup.a", "logId": "ocid1.log.a"}},
        **document,
    }


def test_the_documented_example_applies_as_documented() -> None:
    assert apply_update(nested(DOCUMENT_RESOURCE), nested(DOCUMENT_UPDATE)) == nested(DOCUMENT_RESULT)


def test_the_plan_for_the_documented_result_is_the_documented_update_with_its_kinds() -> None:
    plan = plan_update(nested(DOCUMENT_RESOURCE), nested(DOCUMENT_RESULT))
    assert plan == nested({"environmentConfigurationType": "OCIR_CONTAINER", **DOCUMENT_UPDATE})
    check_body(plan, "UpdateModelDeploymentDetails")  # the SDK takes it as it is
    assert apply_update(nested(DOCUMENT_RESOURCE), plan) == nested(DOCUMENT_RESULT)


@pytest.mark.parametrize("section", [None, {}])
def test_a_null_or_empty_section_changes_nothing(section: dict | None) -> None:
    current = deployment()
    assert apply_update(current, {"modelDeploymentConfigurationDetails": section}) == current
    assert apply_update(current, nested(section)) == current  # type: ignore[arg-type]


def test_null_fields_are_kept_and_image_and_digest_are_never_erased() -> None:
    current = deployment()
    update = nested({"cmd": None, "image": None, "imageDigest": ""})
    assert apply_update(current, update) == current


def test_lists_and_maps_are_replaced_whole_not_merged() -> None:
    after = apply_update(deployment(), nested({"environmentVariables": {"a": "z"}}))
    assert after["modelDeploymentConfigurationDetails"]["environmentConfigurationDetails"][
        "environmentVariables"
    ] == {"a": "z"}


def test_a_new_image_on_a_real_deployment_changes_only_the_image_and_keeps_the_rest() -> None:
    """The fault this planner fixes: a nested document's sections are merged, not replaced."""
    current = deployment()
    desired = nested(
        {"environmentConfigurationType": "OCIR_CONTAINER", "image": IMAGE + "2", "imageDigest": NEW_DIGEST}
    )
    plan = plan_update(current, desired)
    assert plan == nested(
        {"environmentConfigurationType": "OCIR_CONTAINER", "image": IMAGE + "2", "imageDigest": NEW_DIGEST}
    )
    check_body(plan, "UpdateModelDeploymentDetails")
    after = apply_update(current, plan)
    environment = after["modelDeploymentConfigurationDetails"]["environmentConfigurationDetails"]
    assert environment["cmd"] == ["param1"] and environment["environmentVariables"] == {
        "a": "b",
        "c": "d",
        "e": "f",
    }
    assert after["modelDeploymentConfigurationDetails"]["modelConfigurationDetails"]["scalingPolicy"] == {
        "policyType": "FIXED_SIZE",
        "instanceCount": 2,
    }
    assert after["categoryLogDetails"] == current["categoryLogDetails"]


def test_a_policy_of_another_kind_replaces_the_old_one() -> None:
    current = deployment()
    autoscaling = {
        "policyType": "AUTOSCALING",
        "isEnabled": True,
        "autoScalingPolicies": [
            {
                "autoScalingPolicyType": "THRESHOLD",
                "initialInstanceCount": 1,
                "minimumInstanceCount": 1,
                "maximumInstanceCount": 3,
                "rules": [
                    {
                        "metricExpressionRuleType": "PREDEFINED_EXPRESSION",
                        "metricType": "CPU_UTILIZATION",
                        "scaleOutConfiguration": {"scalingConfigurationType": "THRESHOLD", "threshold": 70},
                        "scaleInConfiguration": {"scalingConfigurationType": "THRESHOLD", "threshold": 20},
                    }
                ],
            }
        ],
    }
    desired = copy.deepcopy(current)
    desired["modelDeploymentConfigurationDetails"]["modelConfigurationDetails"]["scalingPolicy"] = autoscaling
    plan = plan_update(current, desired)
    model = plan["modelDeploymentConfigurationDetails"]["modelConfigurationDetails"]
    assert model == {"scalingPolicy": autoscaling}  # whole: no instanceCount of FIXED_SIZE left in it
    check_body(plan, "UpdateModelDeploymentDetails")
    assert apply_update(current, plan) == desired


def test_no_change_plans_an_empty_update_and_read_only_fields_are_never_planned() -> None:
    current = deployment()
    assert plan_update(current, copy.deepcopy(current)) == {}
    assert plan_update(current, {**current, "lifecycleState": "FAILED", "id": "other"}) == {}


def test_a_list_given_empty_clears_it_and_one_left_out_is_kept() -> None:
    current = deployment()
    plan = plan_update(current, nested({"environmentConfigurationType": "OCIR_CONTAINER", "cmd": []}))
    assert plan == nested({"environmentConfigurationType": "OCIR_CONTAINER", "cmd": []})
    environment = apply_update(current, plan)["modelDeploymentConfigurationDetails"][
        "environmentConfigurationDetails"
    ]
    assert environment["cmd"] == [] and environment["entrypoint"] == DOCUMENT_RESOURCE["entrypoint"]


@pytest.mark.parametrize("field", ["image", "imageDigest"])
def test_erasing_the_image_or_digest_is_refused(field: str) -> None:
    with pytest.raises(PlanError, match="can't be erased"):
        plan_update(deployment(), nested({"environmentConfigurationType": "OCIR_CONTAINER", field: ""}))


def test_the_command_plans_from_a_cli_answer_to_deploy_configs_body(tmp_path: Path) -> None:
    """CURRENT as `oci ... get` prints it ({"data": ..., "etag": ...}); DESIRED deploy-config's update body."""
    (tmp_path / "current.json").write_text(json.dumps({"data": deployment(), "etag": "x"}))
    desired = nested(
        {"environmentConfigurationType": "OCIR_CONTAINER", "image": IMAGE, "imageDigest": NEW_DIGEST}
    )
    (tmp_path / "desired.json").write_text(json.dumps({"displayName": "churn", **desired}))
    output = tmp_path / "plan.json"
    command = [
        "-m",
        "{{ cookiecutter.package_name }}_ops",
        "update-plan",
        "current.json",
        "desired.json",
        "--output",
        str(output),
    ]
    result = subprocess.run([sys.executable, *command], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert json.loads(output.read_text()) == nested(
        {"environmentConfigurationType": "OCIR_CONTAINER", "imageDigest": NEW_DIGEST}
    )
    assert "make deploy-update BODY=" in result.stdout
