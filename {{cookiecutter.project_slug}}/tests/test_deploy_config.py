"""The deployment requests: pre-flight rules, and bodies the OCI SDK's models accept whole."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import oci.data_science.models as oci_models
import pytest
from baked_settings import AS_BAKED, baked_text, replaced, write_settings

from {{ cookiecutter.package_name }}_ops.deploy_config import (
    PreflightError,
    load_settings,
    preflight,
    request_bodies,
)
from {{ cookiecutter.package_name }}_ops.oci_models import (
    ModelMismatch,
    check_body,
)
from {{ cookiecutter.package_name }}_ops.project import (
    SettingsError,
    write_json,
)

PROJECT = Path(__file__).resolve().parent.parent
SLUG = "{{ cookiecutter.project_slug }}"
DIGEST = "sha256:" + "ab" * 32
REPOSITORY = "{{ cookiecutter.__ocir_host }}/{{ cookiecutter.__tenancy_namespace }}/{{ cookiecutter.__ocir_repository }}"
IMAGE = f"{REPOSITORY}:{{ "triton-26.09-py3" if cookiecutter.server == "triton" else cookiecutter.__image_tag }}"
OCIDS = {
    "compartment_id": "ocid1.compartment.oc1..aaaa",
    "project_id": "ocid1.datascienceproject.oc1.iad.aaaa",
    "model_id": "ocid1.datasciencemodel.oc1.iad.aaaa",
}


def push_record(image: str = IMAGE, digest: str = DIGEST, **fields: Any) -> dict[str, Any]:
    """What `make push` records (deploy/pushed-image.json)."""
    return {
        "image": image,
        "digest": digest,
        "size_bytes": 700_000_000,
        "platform": "linux/amd64",
        "local_id": "sha256:" + "cd" * 32,
        **fields,
    }


@pytest.fixture
def settings(tmp_path: Path) -> dict[str, Any]:
    """The settings as baked (tests/settings_as_baked.toml) with OCIDs filled in, and a push recorded."""
    record = tmp_path / "pushed-image.json"
    record.write_text(json.dumps(push_record()))
    loaded = load_settings(AS_BAKED, record)
    loaded.update(OCIDS)
    return loaded


def test_the_default_settings_pass_the_preflight_and_the_sdk(settings: dict[str, Any]) -> None:
    preflight(settings)
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
    assert (
        update["modelDeploymentConfigurationDetails"]["environmentConfigurationDetails"]["entrypoint"] == []
    )
{%- else %}
    assert environment.image == IMAGE
    assert environment.image_digest == DIGEST
    assert environment.server_port == environment.health_check_port == {{ cookiecutter.__server_port }}
    assert environment.environment_variables == {
        "PORT": "{{ cookiecutter.__server_port }}",
        "WORKERS": "{{ cookiecutter.__workers }}",
        "MAX_BATCH_SIZE": "64",
        "MAX_BATCH_DELAY_MS": "0",
    }
    assert environment.cmd is None and environment.entrypoint is None  # null, not []
    # The TOML's [] says "the image's own": an update clears what an earlier one set.
    updated = update["modelDeploymentConfigurationDetails"]["environmentConfigurationDetails"]
    assert updated["cmd"] == updated["entrypoint"] == []
{%- endif %}
    scaling = configuration.model_configuration_details.scaling_policy
    assert isinstance(scaling, oci_models.FixedSizeScalingPolicy) and scaling.instance_count == 1
    shape = configuration.model_configuration_details.instance_configuration
    assert shape.model_deployment_instance_shape_config_details.ocpus == 1
    assert "compartmentId" not in update
    check_body(update, "UpdateModelDeploymentDetails")
    # The tags of the settings ([freeform_tags]), on the deployment as it is created and updated.
    assert model.freeform_tags == update["freeformTags"] == settings["freeform_tags"]
    assert settings["freeform_tags"]["service"] == SLUG


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
    pytest.param("container.cmd", ["x" * 2048], "2048 bytes; OCI takes less than 2048", id="cmd-2048"),
    pytest.param("container.cmd", ["x" * 3000], "arguments in a file of the model artifact", id="long-cmd"),
    pytest.param("container.digest", "sha256:short", "set without container.image", id="digest-alone"),
    pytest.param(
        "container.image",
        "docker.io/library/python:3.11",
        "docker.io is not OCI Container Registry",
        id="docker-hub",
    ),
    pytest.param(
        "container.image",
        "phx.ocir.io/t/r:1",
        "Container Registry of us-phoenix-1; a deployment in",
        id="other-region",
    ),
    pytest.param("container.environment", {"A": "1"}, "a key is 2 to 31", id="env-key-short"),
    pytest.param("container.environment", {"TEST_": "1"}, "not ending in '_'", id="env-key-underscore"),
    pytest.param("container.environment", {"X" * 32: "1"}, "a key is 2 to 31", id="env-key-long"),
    pytest.param("container.environment", {"2X": "1"}, "starting with a letter", id="env-key-digit"),
    pytest.param("container.environment", {"TENANCY_OCID": "x"}, "set by the service", id="env-reserved"),
    pytest.param("container.environment", {"BIG": "x" * 2048}, "OCI takes less than 2048", id="env-size"),
    pytest.param("container.environment", {"METRICS_PORT": "8446"}, "reserved by OCI", id="env-port"),
    pytest.param("instances.shape", "VM.Standard.A1.Flex", "runs linux/arm64", id="arm-shape"),
    pytest.param("logging.access_log_id", "ocid1.log.x", "give both access_log_group_id", id="half-log"),
    pytest.param("model_id", "", "model_id", id="no-model-ocid"),
    pytest.param("freeform_tags", {"team.name": "x"}, "without periods or spaces", id="tag-key-period"),
    pytest.param("freeform_tags", {"x" * 101: "x"}, "1 to 100 printable", id="tag-key-long"),
    pytest.param("freeform_tags", {"owner": "x" * 257}, "freeform_tags.owner: ", id="tag-value-long"),
    pytest.param("freeform_tags", {"owner": 7}, "must be text", id="tag-value-number"),
    pytest.param("freeform_tags", "ana", "must be a table", id="tags-not-a-table"),
    pytest.param("freeform_tags", {f"k{n}": "v" for n in range(65)}, "at most 64", id="tags-65"),
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


def changed(settings: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """``settings`` with each dotted key of ``changes`` set."""
    for field, value in changes.items():
        *sections, name = field.split(".")
        target = settings
        for section in sections:
            target = target[section]
        target[name] = value
    return settings


AUTOSCALING = {"autoscaling.enabled": True}
# What OCI refuses (oci_rules.py says where each limit comes from): each a one-line problem naming the key.
OUT_OF_RANGE = [
    pytest.param(
        {"instances.ocpus": -1}, "instances.ocpus: '-1' must be a number from 1 to 64 on", id="ocpus--1"
    ),
    pytest.param({"instances.ocpus": 0}, "instances.ocpus: '0' must be", id="ocpus-0"),
    pytest.param({"instances.ocpus": 1e9}, "instances.ocpus: '1000000000.0' must be", id="ocpus-1e9"),
    pytest.param({"instances.ocpus": 65}, "from 1 to 64 on VM.Standard.E4.Flex", id="ocpus-over-the-shape"),
    pytest.param(
        {"instances.count": -1}, "instances.count: '-1' must be a whole number from 1", id="count--1"
    ),
    pytest.param({"instances.count": 0}, "instances.count: '0' must be a whole number from 1", id="count-0"),
    pytest.param(
        {"instances.count": 10**30}, "instances.count: '1000000000000000000000000000000'", id="count-1e30"
    ),
    pytest.param({"instances.count": 1.5}, "instances.count: '1.5' must be a whole number", id="count-1.5"),
    pytest.param(
        {"instances.bandwidth_mbps": -10}, "instances.bandwidth_mbps: '-10' must be", id="bandwidth--10"
    ),
    pytest.param({"instances.bandwidth_mbps": 8001}, "from 10 to 8000", id="bandwidth-8001"),
    pytest.param({"instances.memory_in_gbs": -16}, "instances.memory_in_gbs: '-16' must be", id="memory--16"),
    pytest.param(
        {"instances.memory_in_gbs": float("inf")}, "instances.memory_in_gbs: 'inf'", id="memory-inf"
    ),
    pytest.param(
        {"instances.memory_in_gbs": float("nan")}, "instances.memory_in_gbs: 'nan'", id="memory-nan"
    ),
    pytest.param({"instances.memory_in_gbs": 5}, "from 6 to 1024 on VM.Standard.E4.Flex", id="memory-5"),
    pytest.param(
        {"instances.shape": "VM.Bogus"}, "instances.shape: 'VM.Bogus' is not an OCI shape", id="bogus"
    ),
    pytest.param(
        {"instances.shape": "VM.Standard.E4.Flex\n"}, r"'VM.Standard.E4.Flex\\n' is not", id="shape-nl"
    ),
    pytest.param(
        {**AUTOSCALING, "autoscaling.minimum_instances": 5, "autoscaling.maximum_instances": 2},
        r"minimum_instances \(5\) is over maximum_instances \(2\)",
        id="min-over-max",
    ),
    pytest.param(
        {**AUTOSCALING, "autoscaling.cpu_scale_out_percent": 500},
        "autoscaling.cpu_scale_out_percent: '500' must be a whole number from 1 to 100",
        id="threshold-500",
    ),
    pytest.param(
        {"autoscaling.cool_down_seconds": -5},
        "autoscaling.cool_down_seconds: '-5' must be a whole number from 300",
        id="cool-down--5",
    ),
    pytest.param(
        {"autoscaling.enabled": "yes"}, "autoscaling.enabled: 'yes' must be true or false", id="yes"
    ),
    pytest.param(
        {"autoscaling.enabled": 1}, "autoscaling.enabled: '1' must be true or false", id="enabled-1"
    ),
    pytest.param(
        {**AUTOSCALING, "instances.count": 5},
        r"instances.count: 5, the initial count, must be from autoscaling.minimum_instances \(1\)",
        id="count-outside-autoscaling",
    ),
    pytest.param(
        {"autoscaling.cpu_scale_in_percent": 70},
        r"cpu_scale_in_percent \(70\) must be under cpu_scale_out_percent \(70\)",
        id="scale-in-not-under-out",
    ),
    pytest.param(
        {"model_id": OCIDS["model_id"] + "\n"},
        r"model_id: 'ocid1.datasciencemodel.oc1.iad.aaaa\\n' is not the OCID of a datasciencemodel",
        id="model-ocid-newline",
    ),
    pytest.param(
        {"compartment_id": OCIDS["project_id"]},
        "compartment_id: .* is not the OCID of a compartment",
        id="kind",
    ),
    pytest.param(
        {"logging.access_log_group_id": "ocid1.loggroup.oc1.iad.aaaa", "logging.access_log_id": "log"},
        "logging.access_log_id: 'log' is not the OCID of a log",
        id="log-ocid",
    ),
]


@pytest.mark.parametrize(("changes", "message"), OUT_OF_RANGE)
def test_preflight_refuses_what_oci_would_refuse(
    settings: dict[str, Any], changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(PreflightError, match=message) as refused:
        preflight(changed(settings, changes))
    problems = refused.value.problems
    assert all("\n" not in problem for problem in problems)  # one line each, whatever the value
    assert len(problems) == 1, problems


IN_RANGE = [
    pytest.param({"instances.ocpus": 64, "instances.memory_in_gbs": 1024}, id="e4-largest"),
    pytest.param({"instances.ocpus": 1.5, "instances.memory_in_gbs": 6.5}, id="fractions"),
    pytest.param({"instances.bandwidth_mbps": 8000, "instances.count": 2**31 - 1}, id="most"),
    pytest.param({"instances.shape": "VM.Standard3.Flex", "instances.ocpus": 32}, id="standard3"),
    pytest.param({"instances.shape": "VM.GPU.A10.1"}, id="gpu"),
    pytest.param(
        {
            **AUTOSCALING,
            "autoscaling.minimum_instances": 2,
            "autoscaling.maximum_instances": 2,
            "instances.count": 2,
            "autoscaling.cpu_scale_out_percent": 100,
            "autoscaling.cpu_scale_in_percent": 1,
            "autoscaling.cool_down_seconds": 300,
        },
        id="autoscaling-edges",
    ),
    pytest.param({"compartment_id": "ocid1.tenancy.oc1..aaaa"}, id="root-compartment"),
]


@pytest.mark.parametrize("changes", IN_RANGE)
def test_the_edges_of_each_range_pass_and_the_sdk_takes_them(
    settings: dict[str, Any], changes: dict[str, Any]
) -> None:
    preflight(changed(settings, changes))
    create, update = request_bodies(settings)
    check_body(create, "CreateModelDeploymentDetails")
    check_body(update, "UpdateModelDeploymentDetails")


# OCI's configuration overrides, as the pre-flight checks them (the edges: tests/test_oci_overrides.py).
OVERRIDES_REFUSED = [
    pytest.param(
        {"container.environment.DEPLOYMENT_TIMEOUT_IN_MINUTES": "241"},
        "container.environment.DEPLOYMENT_TIMEOUT_IN_MINUTES: '241' must be a whole number of minutes "
        "from 1 to 240",
        id="timeout-241",
    ),
    pytest.param(
        {"container.environment.STORAGE_SIZE_IN_GB": "49"},
        "container.environment.STORAGE_SIZE_IN_GB: '49' must be a whole number of GB from 50",
        id="storage-49",
    ),
    pytest.param(
        {"container.environment.SHM_SIZE": "17g"},
        r"container.environment.SHM_SIZE: 17g is more than the instance's memory \(16 GB\)",
        id="shm-over-the-instances-memory",
    ),
{%- if cookiecutter.server == "triton" %}
    pytest.param(
        {"container.environment.MODEL_DEPLOY_PREDICT_ENDPOINT": "/v2/models/m/infer"},
        "container.environment.MODEL_DEPLOY_PREDICT_ENDPOINT: CONTAINER_TYPE=TRITON: OCI routes",
        id="triton-predict-path",
    ),
    pytest.param(
        {"container.environment.WEB_CONCURRENCY": "2"},
        "container.environment.WEB_CONCURRENCY: tritonserver runs no gunicorn workers",
        id="triton-web-concurrency",
    ),
{%- else %}
    pytest.param(
        {"container.environment.MODEL_DEPLOY_PREDICT_ENDPOINT": "v1/score"},
        "container.environment.MODEL_DEPLOY_PREDICT_ENDPOINT: 'v1/score' must be a path starting with '/'",
        id="predict-path",
    ),
    pytest.param(
        {"container.environment.MODEL_DEPLOY_HEALTH_ENDPOINT": "/predict"},
        "/predict would be both the predict path and the health path",
        id="health-path-on-predict",
    ),
    pytest.param(
        {"container.environment.WEB_CONCURRENCY": "{{ 2 if cookiecutter.__workers | int == 1 else 1 }}"},
        r"WORKERS \({{ cookiecutter.__workers }}\) and WEB_CONCURRENCY \({{ 2 if cookiecutter.__workers | int == 1 else 1 }}\) "
        "both set the worker count and differ",
        id="web-concurrency-not-workers",
    ),
    pytest.param(
        {"container.environment.MODEL_DEPLOY_ENABLE_STREAMING": "true"},
        "MODEL_DEPLOY_ENABLE_STREAMING: 'true' is refused: the scorer answers each call with one JSON body",
        id="streaming",
    ),
{%- endif %}
]


@pytest.mark.parametrize(("changes", "message"), OVERRIDES_REFUSED)
def test_preflight_refuses_an_override_oci_or_the_scorer_would_get_wrong(
    settings: dict[str, Any], changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(PreflightError, match=message) as refused:
        preflight(changed(settings, changes))
    assert len(refused.value.problems) == 1, refused.value.problems


def test_overrides_in_range_pass_and_reach_the_container_as_set(settings: dict[str, Any]) -> None:
    overrides = {
        "DEPLOYMENT_TIMEOUT_IN_MINUTES": "240",
        "STORAGE_SIZE_IN_GB": "50",
        "SHM_SIZE": "16g",
{%- if cookiecutter.server != "triton" %}
        "MODEL_DEPLOY_PREDICT_ENDPOINT": "/v1/score",
        "MODEL_DEPLOY_HEALTH_ENDPOINT": "/ready",
        "WEB_CONCURRENCY": "{{ cookiecutter.__workers }}",  # the same as WORKERS
{%- endif %}
    }
    settings["container"]["environment"].update(overrides)
    preflight(settings)
    create, update = request_bodies(settings)
    model = check_body(create, "CreateModelDeploymentDetails")
    container = model.model_deployment_configuration_details.environment_configuration_details
    sent = container.environment_variables
    assert overrides.items() <= sent.items()
    check_body(update, "UpdateModelDeploymentDetails")


def test_infinity_never_reaches_a_request_body(tmp_path: Path) -> None:
    """TOML's inf is refused by the pre-flight; JSON written anywhere refuses it too."""
    toml = replaced(baked_text(), "\nmemory_in_gbs = 16\n", "\nmemory_in_gbs = inf\n")
    write_settings(tmp_path / "deployment.toml", toml, **OCIDS)
    (tmp_path / "pushed-image.json").write_text(json.dumps(push_record()))
    command = [
        sys.executable,
        "-m",
        "{{ cookiecutter.package_name }}_ops",
        "deploy-config",
    ]
    failed = subprocess.run(
        [*command, "--settings", str(tmp_path / "deployment.toml")], capture_output=True, text=True
    )
    assert failed.returncode == 2 and "Traceback" not in failed.stderr
    assert failed.stderr.splitlines() == [
        f"error: {tmp_path / 'deployment.toml'}: instances.memory_in_gbs: 'inf' must be a finite number"
    ]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["deployment.toml", "pushed-image.json"]
    with pytest.raises(ValueError, match="Out of range float values are not JSON compliant"):
        write_json(tmp_path / "body.json", {"memoryInGBs": float("inf")})
    assert not (tmp_path / "body.json").exists()


# A value in quotes where a number or true/false belongs, a number or true/false where text
# belongs, and one of the right kind out of range.
QUOTED = [
    pytest.param(
        "count = 1", 'count = "2"', 'instances.count: "2" is text (in quotes): write count = 2', id="2"
    ),
    pytest.param(
        "ocpus = 1", 'ocpus = "1"', 'instances.ocpus: "1" is text (in quotes): write ocpus = 1', id="1"
    ),
    pytest.param(
        "memory_in_gbs = 16",
        'memory_in_gbs = " 16.5 "',
        'instances.memory_in_gbs: " 16.5 " is text (in quotes): write memory_in_gbs = 16.5',
        id="16.5",
    ),
    pytest.param(
        "enabled = false",
        'enabled = "false"',
        'autoscaling.enabled: "false" is text (in quotes): write enabled = false',
        id="false",
    ),
    pytest.param(
        "count = 1",
        'count = "two"',
        'instances.count: "two" is text (in quotes): it must be a whole number, without quotes',
        id="two",
    ),
    pytest.param(
        "count = 1",
        'count = "2.0"',
        'instances.count: "2.0" is text (in quotes): it must be a whole number, without quotes',
        id="2.0",
    ),
    pytest.param(
        "count = 1",
        'count = "2\\n[x]"',
        'instances.count: "2\\n[x]" is text (in quotes): it must be a whole number, without quotes',
        id="newline",
    ),
    pytest.param(
        'tag = "{{ cookiecutter.__image_tag }}"',
        "tag = 1.0",
        'registry.tag: 1.0 is a number, not text: write tag = "1.0"',
        id="tag-1.0",
    ),
    pytest.param(
        'namespace = "{{ cookiecutter.__tenancy_namespace }}"',
        "namespace = 42",
        'registry.namespace: 42 is a number, not text: write namespace = "42"',
        id="namespace-42",
    ),
    pytest.param(
        'region = "{{ cookiecutter.__oci_region }}"',
        "region = true",
        'region: true is true or false, not text: write region = "true"',
        id="region-true",
    ),
    pytest.param("count = 1", "count = 1.5", "instances.count: '1.5' must be a whole number", id="1.5"),
    pytest.param("enabled = false", "enabled = 0", "autoscaling.enabled: '0' must be true or false", id="0"),
]


@pytest.mark.parametrize(("line", "written", "message"), QUOTED)
def test_a_value_in_quotes_is_named_as_text(tmp_path: Path, line: str, written: str, message: str) -> None:
    """``count = "2"`` says it is text and what to write, not "'2' must be a whole number", which
    shows a valid-looking value; a value of another kind keeps saying what it must be."""
    path = tmp_path / "deployment.toml"
    path.write_text(replaced(baked_text(), f"\n{line}\n", f"\n{written}\n"))
    with pytest.raises(SettingsError) as raised:
        load_settings(path)
    assert str(raised.value) == f"{path}: {message}"


def test_preflight_checks_the_pushed_images_size(tmp_path: Path) -> None:
    record = tmp_path / "pushed-image.json"
    record.write_text(json.dumps(push_record(size_bytes=17 * 1000**3)))
    settings = {**load_settings(AS_BAKED, record), **OCIDS}
    with pytest.raises(PreflightError, match="over the 16 GB limit"):
        preflight(settings)


def test_2047_bytes_of_command_pass(settings: dict[str, Any]) -> None:
    settings["container"]["cmd"], settings["container"]["entrypoint"] = ["x" * 2000], ["y" * 47]
{%- if cookiecutter.server == "triton" %}
    settings["container"]["environment"] = {}  # a Triton command is checked for more: not here
{%- endif %}
    preflight(settings)


def test_the_image_and_digest_deployed_are_one_push(tmp_path: Path) -> None:
    """Pushed 1.0.0, then 1.0.1: the deployment gets 1.0.1 with its digest, never 1.0.0 with it."""
    newer = push_record(image=f"{REPOSITORY}:1.0.1", digest="sha256:" + "01" * 32)
    record = tmp_path / "pushed-image.json"
    record.write_text(json.dumps(newer))
    settings = {**load_settings(AS_BAKED, record), **OCIDS}
    preflight(settings)
    create, _ = request_bodies(settings)
    environment = create["modelDeploymentConfigurationDetails"]["environmentConfigurationDetails"]
    assert (environment["image"], environment["imageDigest"]) == (newer["image"], newer["digest"])

    settings["container"]["image"] = f"{REPOSITORY}:1.0.0"  # the older tag, named by hand, no digest
    with pytest.raises(PreflightError, match=r":1.0.0 has no digest, and the last push was .*:1.0.1"):
        preflight(settings)
    settings["container"]["digest"] = "sha256:" + "00" * 32  # both by hand: deployed as given
    preflight(settings)
    create, _ = request_bodies(settings)
    environment = create["modelDeploymentConfigurationDetails"]["environmentConfigurationDetails"]
    assert (environment["image"], environment["imageDigest"]) == (
        f"{REPOSITORY}:1.0.0",
        "sha256:" + "00" * 32,
    )


def test_a_digest_given_by_hand_must_be_one(settings: dict[str, Any]) -> None:
    settings["container"].update(image=f"{REPOSITORY}:0.9", digest="sha256:short")
    with pytest.raises(PreflightError, match="'sha256:short' is not a sha256 digest"):
        preflight(settings)


def test_nothing_pushed_says_how_to_push(tmp_path: Path) -> None:
    settings = {**load_settings(AS_BAKED, tmp_path / "none.json"), **OCIDS}
    push = "{{ 'make triton-push' if cookiecutter.server == 'triton' else 'make push' }}"
    told = f"nothing pushed: `{push}` records the image with its digest in deploy/pushed-image.json;"
    with pytest.raises(PreflightError, match=re.escape(told)):
        preflight(settings)


def test_ocids_not_set_yet_say_where_to_set_them(tmp_path: Path) -> None:
    """The OCIDs as baked (empty): each says it is not set yet, where it goes, and the model's where
    it comes from, instead of "'' is not the OCID of ..."."""
    record = tmp_path / "pushed-image.json"
    record.write_text(json.dumps(push_record()))
    with pytest.raises(PreflightError) as raised:
        preflight(load_settings(AS_BAKED, record))
    assert raised.value.problems == [
        "compartment_id: not set yet; set it in deploy/deployment.toml to the OCID of the compartment to "
        "deploy to (the tenancy's for the root compartment)",
        "project_id: not set yet; set it in deploy/deployment.toml to the OCID of your Data Science project",
        "model_id: not set yet; set it in deploy/deployment.toml to the OCID that `make catalog "
        "CATALOG_RUN=1` prints when it puts the model in the catalog",
    ]


def empties(value: Any, where: str = "$") -> list[str]:
    """Where ``value`` holds "", [] or {}."""
    if value in ("", [], {}):
        return [where]
    if isinstance(value, dict):
        return [found for key, item in value.items() for found in empties(item, f"{where}.{key}")]
    if isinstance(value, list):
        return [found for index, item in enumerate(value) for found in empties(item, f"{where}[{index}]")]
    return []


def test_no_field_of_either_body_is_sent_empty_unless_clearing_on_purpose(settings: dict[str, Any]) -> None:
    """The document: null or absent, never "", {} or [], unless erasing on purpose."""
    settings.update(display_name="", description="")
    settings["logging"] = dict.fromkeys(settings["logging"], "")
    settings["container"]["environment"] = {}
    create, update = request_bodies(settings)
    assert empties(create) == []
    environment = "$.modelDeploymentConfigurationDetails.environmentConfigurationDetails"
    on_purpose = {f"{environment}.{name}" for name in ("cmd", "entrypoint", "environmentVariables")}
    assert empties(update) and set(empties(update)) <= on_purpose
    assert "displayName" not in create and "categoryLogDetails" not in update


def test_a_key_left_out_of_the_settings_is_kept_by_an_update(settings: dict[str, Any]) -> None:
    for name in ("cmd", "entrypoint", "environment"):
        settings["container"].pop(name, None)
    _, update = request_bodies(settings)
    environment = update["modelDeploymentConfigurationDetails"]["environmentConfigurationDetails"]
    assert "entrypoint" not in environment and "cmd" not in environment


def test_the_command_writes_both_files_or_nothing(tmp_path: Path) -> None:
    write_settings(tmp_path / "deployment.toml", **OCIDS)
    command = [
        sys.executable,
        "-m",
        "{{ cookiecutter.package_name }}_ops",
        "deploy-config",
        "--settings",
        str(tmp_path / "deployment.toml"),
    ]
    (tmp_path / "create_model_deployment.json").write_text("{}")  # an earlier run's, now stale
    failed = subprocess.run(command, cwd=PROJECT, capture_output=True, text=True)
    assert failed.returncode == 1 and "nothing pushed" in failed.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["deployment.toml"]

    (tmp_path / "pushed-image.json").write_text(json.dumps(push_record()))
    written = subprocess.run(command, cwd=PROJECT, capture_output=True, text=True)
    assert written.returncode == 0, written.stderr
    create = json.loads((tmp_path / "create_model_deployment.json").read_text())
    update = json.loads((tmp_path / "update_model_deployment.json").read_text())
    check_body(create, "CreateModelDeploymentDetails")
    check_body(update, "UpdateModelDeploymentDetails")
    environment = create["modelDeploymentConfigurationDetails"]["environmentConfigurationDetails"]
    assert (environment["image"], environment["imageDigest"]) == (IMAGE, DIGEST)
    assert "must stay in OCIR for as long as the deployment lives" in written.stdout
