"""The deployment requests: pre-flight rules, and bodies the OCI SDK's models accept whole."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import oci.data_science.models as oci_models
import pytest
from deploy_config import PreflightError, load_settings, preflight, request_bodies
from oci_models import ModelMismatch, check_body

PROJECT = Path(__file__).resolve().parent.parent
DIGEST = "sha256:" + "ab" * 32
REPOSITORY = "{{ cookiecutter.__ocir_host }}/{{ cookiecutter.tenancy_namespace }}/{{ cookiecutter.ocir_repository }}"
IMAGE = f"{REPOSITORY}:{{ "triton-26.09-py3" if cookiecutter.server == "triton" else cookiecutter.image_tag }}"
OCIDS = {
    "compartment_id": "ocid1.compartment.oc1..aaaa",
    "project_id": "ocid1.datascienceproject.oc1.iad.aaaa",
    "model_id": "ocid1.datasciencemodel.oc1.iad.aaaa",
}


@pytest.fixture
def settings(tmp_path: Path) -> dict[str, Any]:
    """The project's own deploy/deployment.toml, with OCIDs and a pushed digest filled in."""
    loaded = load_settings(PROJECT / "deploy" / "deployment.toml")
    loaded.update(OCIDS)
    loaded["container"]["digest"] = DIGEST
    return loaded


def test_the_default_settings_pass_the_preflight_and_the_sdk(settings: dict[str, Any]) -> None:
    preflight(settings, image_bytes=700_000_000)
    create, update = request_bodies(settings)
    model = check_body(create, "CreateModelDeploymentDetails")
    configuration = model.model_deployment_configuration_details
    assert isinstance(configuration, oci_models.SingleModelDeploymentConfigurationDetails)
    environment = configuration.environment_configuration_details
    assert isinstance(environment, oci_models.OcirModelDeploymentEnvironmentConfigurationDetails)
{%- if cookiecutter.server == "triton" %}
    assert environment.image == IMAGE
    assert environment.image_digest == DIGEST
    assert environment.server_port == environment.health_check_port == 8000  # tritonserver's HTTP port
    assert environment.environment_variables == {"CONTAINER_TYPE": "TRITON"}
    assert environment.cmd == [
        "/opt/nvidia/nvidia_entrypoint.sh",
        "tritonserver",
        "--model-repository=/opt/ds/model/deployed_model",
    ]
    assert environment.entrypoint is None  # null, not []: the image's own
{%- else %}
    assert environment.image == IMAGE
    assert environment.image_digest == DIGEST
    assert environment.server_port == environment.health_check_port == {{ cookiecutter.server_port }}
    assert environment.environment_variables == {"PORT": "{{ cookiecutter.server_port }}", "WORKERS": "{{ cookiecutter.workers }}"}
    assert environment.cmd is None and environment.entrypoint is None  # null, not []
{%- endif %}
    scaling = configuration.model_configuration_details.scaling_policy
    assert isinstance(scaling, oci_models.FixedSizeScalingPolicy) and scaling.instance_count == 1
    shape = configuration.model_configuration_details.instance_configuration
    assert shape.model_deployment_instance_shape_config_details.ocpus == 1
    assert (
        "compartmentId" not in update
        and update["modelDeploymentConfigurationDetails"] == (create["modelDeploymentConfigurationDetails"])
    )
    check_body(update, "UpdateModelDeploymentDetails")


def test_autoscaling_and_logs_become_sdk_policies(settings: dict[str, Any]) -> None:
    settings["autoscaling"].update(enabled=True, maximum_instances=5, cpu_scale_out_percent=65)
    settings["logging"].update(access_log_group_id="ocid1.loggroup.x", access_log_id="ocid1.log.x")
    create, _ = request_bodies(settings)
    model = check_body(create, "CreateModelDeploymentDetails")
    policy = model.model_deployment_configuration_details.model_configuration_details.scaling_policy
    assert isinstance(policy, oci_models.AutoScalingPolicy)
    (threshold,) = policy.auto_scaling_policies
    assert isinstance(threshold, oci_models.ThresholdBasedAutoScalingPolicyDetails)
    assert threshold.maximum_instance_count == 5
    (rule,) = threshold.rules
    assert rule.metric_type == "CPU_UTILIZATION" and rule.scale_out_configuration.threshold == 65
    assert model.category_log_details.access.log_id == "ocid1.log.x"
    assert model.category_log_details.predict is None


def test_the_sdk_models_catch_unknown_fields_and_bad_values(settings: dict[str, Any]) -> None:
    create, _ = request_bodies(settings)
    typo = copy.deepcopy(create)
    typo["modelDeploymentConfigurationDetails"]["environmentConfigurationDetails"]["serverprot"] = 1
    with pytest.raises(ModelMismatch, match="serverprot"):
        check_body(typo, "CreateModelDeploymentDetails")
    bad_enum = copy.deepcopy(create)
    bad_enum["modelDeploymentConfigurationDetails"]["modelConfigurationDetails"]["scalingPolicy"] = {
        "policyType": "AUTOSCALING",
        "autoScalingPolicies": [
            {
                "autoScalingPolicyType": "THRESHOLD",
                "rules": [{"metricExpressionRuleType": "PREDEFINED_EXPRESSION", "metricType": "DISK"}],
            }
        ],
    }
    with pytest.raises(ModelMismatch, match=r"metricType: 'DISK' became 'UNKNOWN_ENUM_VALUE'"):
        check_body(bad_enum, "CreateModelDeploymentDetails")
    wrong_type = copy.deepcopy(create)
    wrong_type["modelDeploymentConfigurationDetails"]["environmentConfigurationDetails"]["serverPort"] = (
        "8080"
    )
    with pytest.raises(ModelMismatch, match="not a int"):
        check_body(wrong_type, "CreateModelDeploymentDetails")


BROKEN = [
    pytest.param("container.server_port", 8446, "reserved by OCI Model Deployment", id="reserved-port"),
    pytest.param("container.health_check_port", 80, "outside 1024..65535", id="low-health-port"),
    pytest.param("container.cmd", ["x" * 2049], "over the 2048 allowed", id="long-cmd"),
    pytest.param("container.digest", "", "not a sha256 digest", id="no-digest"),
    pytest.param("container.image", "", "container.image: empty", id="no-image"),
    pytest.param(
        "container.image", "phx.ocir.io/t/r:1", "is not the Container Registry of", id="other-region"
    ),
    pytest.param("model_id", "", "model_id", id="no-model-ocid"),
]


@pytest.mark.parametrize(("field", "value", "message"), BROKEN)
def test_preflight_names_each_broken_rule(
    settings: dict[str, Any], field: str, value: Any, message: str
) -> None:
    *sections, name = field.split(".")
    target = settings
    for section in sections:
        target = target[section]
    target[name] = value
    with pytest.raises(PreflightError, match=message):
        preflight(settings)


def test_preflight_checks_the_image_size(settings: dict[str, Any]) -> None:
    with pytest.raises(PreflightError, match="16 GB"):
        preflight(settings, image_bytes=17 * 1000**3)


def test_the_command_writes_both_files_or_nothing(tmp_path: Path) -> None:
    toml = (PROJECT / "deploy" / "deployment.toml").read_text()
    for name, value in OCIDS.items():
        toml = toml.replace(f'{name} = ""', f'{name} = "{value}"')
    (tmp_path / "deployment.toml").write_text(toml)
    command = [sys.executable, "scripts/deploy_config.py", "--settings", str(tmp_path / "deployment.toml")]
    env = {**os.environ, "PYTHONPATH": "src"}
    failed = subprocess.run(command, cwd=PROJECT, capture_output=True, text=True, env=env)
    assert failed.returncode == 1 and "container.digest" in failed.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["deployment.toml"]

    (tmp_path / "image-digest.txt").write_text(DIGEST + "\n")
    written = subprocess.run(command, cwd=PROJECT, capture_output=True, text=True, env=env)
    assert written.returncode == 0, written.stderr
    create = json.loads((tmp_path / "create_model_deployment.json").read_text())
    update = json.loads((tmp_path / "update_model_deployment.json").read_text())
    check_body(create, "CreateModelDeploymentDetails")
    check_body(update, "UpdateModelDeploymentDetails")
    assert (
        create["modelDeploymentConfigurationDetails"]["environmentConfigurationDetails"]["imageDigest"]
        == DIGEST
    )
