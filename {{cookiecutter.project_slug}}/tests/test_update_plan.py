"""Updates follow the service's shallow-merge rules, as the origin document shows them."""

from __future__ import annotations

import copy

import pytest
from update_plan import PlanError, apply_update, plan_update

IMAGE = "iad.ocir.io/testtenancy/md_byoc_ref_iris_data:1.0.1"
DIGEST = "sha256:a9c8468cb671929aec7ad947b9dccd6fe8e6d77f7bcecfe2e10e1c935a88c2a5"
CURRENT = {
    "environmentConfigurationDetails": {
        "environmentConfigurationType": "OCIR_CONTAINER",
        "serverPort": 5454,
        "image": IMAGE,
        "imageDigest": DIGEST,
        "environmentVariables": {"a": "b", "c": "d", "e": "f"},
        "entrypoint": [
            "python",
            "-m",
            "uvicorn",
            "a/model/server:app",
            "--port",
            "5000",
            "--host",
            "0.0.0.0",
        ],
        "cmd": ["param1"],
    }
}
UPDATE = {
    "environmentConfigurationDetails": {
        "serverPort": 2000,
        "environmentVariables": {"x": "y"},
        "entrypoint": [],
    }
}
RESULT = {
    "environmentConfigurationDetails": {
        "environmentConfigurationType": "OCIR_CONTAINER",
        "serverPort": 2000,
        "image": IMAGE,
        "imageDigest": DIGEST,
        "environmentVariables": {"x": "y"},
        "entrypoint": [],
        "cmd": ["param1"],
    }
}


def test_the_documented_example_applies_as_documented() -> None:
    assert apply_update(CURRENT, UPDATE) == RESULT


def test_the_plan_for_the_documented_result_is_the_documented_update() -> None:
    assert plan_update(CURRENT, RESULT) == UPDATE
    assert apply_update(CURRENT, plan_update(CURRENT, RESULT)) == RESULT


@pytest.mark.parametrize(
    "update", [{"environmentConfigurationDetails": None}, {"environmentConfigurationDetails": {}}]
)
def test_a_null_or_empty_section_changes_nothing(update: dict) -> None:
    assert apply_update(CURRENT, update) == CURRENT


def test_null_fields_are_kept_and_image_and_digest_are_never_erased() -> None:
    update = {"environmentConfigurationDetails": {"cmd": None, "image": None, "imageDigest": ""}}
    assert apply_update(CURRENT, update) == CURRENT


def test_lists_and_maps_are_replaced_whole_not_merged() -> None:
    update = {"environmentConfigurationDetails": {"environmentVariables": {"a": "z"}}}
    assert apply_update(CURRENT, update)["environmentConfigurationDetails"]["environmentVariables"] == {
        "a": "z"
    }


def test_no_change_plans_an_empty_update() -> None:
    assert plan_update(CURRENT, copy.deepcopy(CURRENT)) == {}


def test_a_new_image_is_planned_with_its_digest() -> None:
    desired = copy.deepcopy(CURRENT)
    desired["environmentConfigurationDetails"].update(
        image=IMAGE.replace("1.0.1", "1.0.2"), imageDigest="sha256:" + "1" * 64
    )
    update = plan_update(CURRENT, desired)
    assert set(update["environmentConfigurationDetails"]) == {"image", "imageDigest"}


@pytest.mark.parametrize(
    ("field", "message"), [("image", "can't be erased"), ("serverPort", "can't be cleared")]
)
def test_what_an_update_cannot_remove_is_refused(field: str, message: str) -> None:
    desired = copy.deepcopy(CURRENT)
    del desired["environmentConfigurationDetails"][field]
    with pytest.raises(PlanError, match=message):
        plan_update(CURRENT, desired)
