"""make scan-setup / scan-results / scan: OCI Vulnerability Scanning of the image's repository, and Trivy.

scan-setup --run and scan-results run against loopback stand-ins of the Vulnerability
Scanning API that answer with the SDK's own models (serialized as the SDK sends and reads
them) and record each call; requests are signed with a throwaway API key.
"""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import oci
import pytest
from baked_settings import write_settings
from conftest import ApiKey, JsonStandIn, received, signed_by
from oci.vulnerability_scanning import models
from oci.vulnerability_scanning.models import vulnerability_scanning_type_mapping

from {{ cookiecutter.package_name }}_ops.cli import main
from {{ cookiecutter.package_name }}_ops.oci_models import (
    ModelMismatch,
    check_body,
)
from {{ cookiecutter.package_name }}_ops.scan import (
    SEVERITIES,
    default_repository,
    recipe_body,
    repository_and_tag,
    target_body,
)

COMPARTMENT = "ocid1.compartment.oc1..aaaascan"
TENANCY = "ocid1.tenancy.oc1..aaaatenancy"
IMAGE = "iad.ocir.io/mytenancy/team/scorer:1.2.0"
DIGEST = "sha256:" + "cd" * 32
API = "/20210215/containerScanResults"
RESULT_ID = "ocid1.vsscontainerscanresult.oc1.iad.latest"
RECIPE_ID = "ocid1.vsscontainerscanrecipe.oc1.iad.made"
TARGET_ID = "ocid1.vsscontainerscantarget.oc1.iad.made"


def settings_copy(folder: Path, compartment_id: str) -> Path:
    """The settings as baked, as ``folder``/deploy/deployment.toml, with this compartment_id."""
    return write_settings(folder / "deploy" / "deployment.toml", compartment_id=compartment_id)


@pytest.fixture
def settings_file(tmp_path: Path) -> Path:
    return settings_copy(tmp_path, COMPARTMENT)


@pytest.fixture
def push_record(tmp_path: Path) -> Path:
    path = tmp_path / "pushed-image.json"
    record = {
        "image": IMAGE,
        "digest": DIGEST,
        "size_bytes": 1,
        "platform": "linux/amd64",
        "local_id": DIGEST,
    }
    path.write_text(json.dumps(record))
    return path


def ops(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str, str]:
    """The command line, run in this process: exit code, stdout, stderr."""
    code = main(list(arguments))
    out, err = capsys.readouterr()
    return code, out, err


# scan-setup


def setup_args(settings_file: Path, push_record: Path, output: Path) -> tuple[str, ...]:
    return ("--settings", str(settings_file), "--record", str(push_record), "--output-dir", str(output))


def test_setup_prints_both_commands_and_writes_both_bodies(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    settings_file: Path,
    push_record: Path,
    tmp_path: Path,
) -> None:
    monkeypatch.chdir(tmp_path)  # the commands name the bodies from here, as from the project
    output = tmp_path / "out"
    code, out, err = ops(capsys, "scan-setup", *setup_args(settings_file, push_record, output))
    assert code == 0, err
    lines = [line for line in out.splitlines() if line.startswith("oci ")]
    recipe, target = (shlex.split(line) for line in lines)
    query = ["--query", "data.id", "--raw-output"]
    prefix = ["oci", "vulnerability-scanning", "container", "scan"]
    assert recipe == [*prefix, "recipe", "create", "--from-json", "file://out/scan_recipe.json", *query]
    assert target[:8] == [*prefix, "target", "create", "--from-json", "file://out/scan_target.json"]
    assert target[8:] == ["--container-scan-recipe-id", "<recipe OCID printed by the first command>", *query]
    tags = tomllib.loads(settings_file.read_text())["freeform_tags"]
    assert tags["service"] == "{{ cookiecutter.project_slug }}"
    recipe_json = json.loads((output / "scan_recipe.json").read_text())
    assert recipe_json == {
        "compartmentId": COMPARTMENT,
        "displayName": "{{ cookiecutter.project_slug }}-scan-recipe",
        "scanSettings": {"scanLevel": "STANDARD"},
        "freeformTags": tags,
    }
    target_json = json.loads((output / "scan_target.json").read_text())
    assert target_json["compartmentId"] == COMPARTMENT
    assert target_json["freeformTags"] == tags
    assert target_json["targetRegistry"] == {
        "type": "OCIR",
        "url": "https://{{ cookiecutter.__ocir_host }}",
        "compartmentId": COMPARTMENT,
        "repositories": ["team/scorer"],
    }
    check_body(recipe_json, "CreateContainerScanRecipeDetails", mapping=vulnerability_scanning_type_mapping)
    model = check_body(
        target_json, "CreateContainerScanTargetDetails", mapping=vulnerability_scanning_type_mapping
    )
    assert isinstance(model.target_registry, models.CreateOcirContainerScanRegistryDetails)
    assert not (output / "scan-setup.json").exists(), "a dry run records nothing"


def test_a_repository_in_the_root_compartment(
    capsys: pytest.CaptureFixture[str], settings_file: Path, push_record: Path, tmp_path: Path
) -> None:
    arguments = (*setup_args(settings_file, push_record, tmp_path), "--repository-compartment-id", TENANCY)
    code, _, err = ops(capsys, "scan-setup", *arguments)
    assert code == 0, err
    target = json.loads((tmp_path / "scan_target.json").read_text())
    assert target["compartmentId"] == COMPARTMENT, "the target lives with the deployment"
    assert target["targetRegistry"]["compartmentId"] == TENANCY


def test_the_repository_is_the_pushed_one_else_the_settings_one(tmp_path: Path) -> None:
    assert repository_and_tag(IMAGE) == ("team/scorer", "1.2.0")
    assert repository_and_tag("iad.ocir.io/ns/scorer@" + DIGEST) == ("scorer", "")
    assert default_repository({"image": IMAGE}) == "team/scorer"
    settings = tmp_path / "deployment.toml"
    settings.write_text(
        'region = "us-ashburn-1"\n[registry]\nnamespace = "ns"\nrepository = "ml/fraud"\ntag = "1"\n'
    )
    assert default_repository(None, settings) == "ml/fraud"


@pytest.mark.parametrize(
    ("body", "type_name", "change", "message"),
    [
        (
            "recipe",
            "CreateContainerScanRecipeDetails",
            {"scanSettings": {"scanLevel": "DEEP"}},
            "'DEEP' became 'UNKNOWN_ENUM_VALUE'",
        ),
        ("recipe", "CreateContainerScanRecipeDetails", {"scanLevel": "STANDARD"}, r"\['scanLevel'\] are not"),
        (
            "target",
            "CreateContainerScanTargetDetails",
            {"displayName": 7},
            r"\$\.displayName: 7 is not a str",
        ),
        (
            "target",
            "CreateContainerScanTargetDetails",
            {"targetRegistry": {"type": "OCIR", "url": "https://iad.ocir.io", "repositories": "scorer"}},
            r"\$\.targetRegistry\.repositories",
        ),
    ],
)
def test_a_wrong_field_is_refused_by_the_sdk_model(
    body: str, type_name: str, change: dict[str, Any], message: str
) -> None:
    bodies = {
        "recipe": recipe_body(COMPARTMENT),
        "target": target_body(COMPARTMENT, "us-ashburn-1", COMPARTMENT, "scorer"),
    }
    check_body(bodies[body], type_name, mapping=vulnerability_scanning_type_mapping)
    with pytest.raises(ModelMismatch, match=message):
        check_body({**bodies[body], **change}, type_name, mapping=vulnerability_scanning_type_mapping)


def test_an_empty_compartment_is_a_clear_error(
    capsys: pytest.CaptureFixture[str], push_record: Path, tmp_path: Path
) -> None:
    empty = settings_copy(tmp_path, "")
    code, out, err = ops(capsys, "scan-setup", *setup_args(empty, push_record, tmp_path))
    assert code == 1
    assert f"compartment_id: not set yet; set it in {empty}" in err and "deploy/deployment.toml" in err
    assert out == ""


# What each create path makes: the name the script refuses it by, the SDK model answered, its OCID.
MADE = {
    "/20210215/containerScanRecipes": ("recipe", models.ContainerScanRecipe, RECIPE_ID),
    "/20210215/containerScanTargets": ("target", models.ContainerScanTarget, TARGET_ID),
}


class Setup(JsonStandIn):
    """CreateContainerScanRecipe and CreateContainerScanTarget: records each request; answers what
    was made, or the ``refuse`` entry of what was asked ("recipe", "target": status, code)."""

    script: dict[str, Any]

    def do_POST(self) -> None:
        call = received(self)
        self.script["calls"].append(call)
        if call.path not in MADE:
            return self._send(404, {"code": "NotAuthorizedOrNotFound", "message": call.path})
        what, model, made_id = MADE[call.path]
        if what in self.script["refuse"]:
            status, code = self.script["refuse"][what]
            return self._send(status, {"code": code, "message": f"the {what} is refused"})
        sent = json.loads(call.body)
        self._send(200, model(id=made_id, compartment_id=sent["compartmentId"], lifecycle_state="ACTIVE"))


@pytest.fixture
def run_setup(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    start_stand_in: Callable[..., str],
    api_key: ApiKey,
    settings_file: Path,
    push_record: Path,
    tmp_path: Path,
) -> Callable[..., tuple[int, str, str, dict[str, Any]]]:
    """``run_setup(refuse={})``: `make scan-setup SCAN_RUN=1` against a new stand-in, with no oci CLI on
    the PATH; its exit code, stdout, stderr and script."""
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))

    def run(refuse: dict[str, tuple[int, str]] | None = None) -> tuple[int, str, str, dict[str, Any]]:
        script: dict[str, Any] = {"calls": [], "refuse": refuse or {}}
        url = start_stand_in(Setup, oci.vulnerability_scanning.VulnerabilityScanningClient, script)
        signing = ("--config", str(api_key.config), "--profile", "TEST", "--auth", "api_key")
        arguments = (*setup_args(settings_file, push_record, tmp_path), *signing, "--endpoint", url)
        return (*ops(capsys, "scan-setup", *arguments, "--run"), script)

    return run


def test_run_creates_the_recipe_then_the_target_through_the_sdk_and_records_both(
    run_setup: Callable[..., tuple[int, str, str, dict[str, Any]]], api_key: ApiKey, tmp_path: Path
) -> None:
    code, out, err, script = run_setup()
    assert code == 0, err
    recipe, target = script["calls"]
    assert (recipe.method, recipe.path) == ("POST", "/20210215/containerScanRecipes")
    assert (target.method, target.path) == ("POST", "/20210215/containerScanTargets")
    written_recipe = json.loads((tmp_path / "scan_recipe.json").read_text())
    written_target = json.loads((tmp_path / "scan_target.json").read_text())
    assert json.loads(recipe.body) == written_recipe
    assert json.loads(target.body) == written_target | {"containerScanRecipeId": RECIPE_ID}
    mapping = vulnerability_scanning_type_mapping
    check_body(json.loads(recipe.body), "CreateContainerScanRecipeDetails", mapping=mapping)
    check_body(json.loads(target.body), "CreateContainerScanTargetDetails", mapping=mapping)
    assert signed_by(api_key, recipe) and signed_by(api_key, target)
    assert recipe.headers.get("opc-retry-token") and target.headers.get("opc-retry-token")
    assert json.loads((tmp_path / "scan-setup.json").read_text()) == {
        "compartment_id": COMPARTMENT,
        "repositories": ["team/scorer"],
        "repository_compartment_id": COMPARTMENT,
        "recipe_id": RECIPE_ID,
        "target_id": TARGET_ID,
    }
    assert f"container scan recipe {RECIPE_ID}\n" in out
    assert f"container scan target {TARGET_ID} -> " in out
    assert "oci vulnerability-scanning" not in out, "nothing left to run by hand"


def test_a_refused_target_leaves_the_recipe_recorded_and_a_new_run_reuses_it(
    run_setup: Callable[..., tuple[int, str, str, dict[str, Any]]], tmp_path: Path
) -> None:
    record = tmp_path / "scan-setup.json"
    code, _, err, script = run_setup({"target": (400, "InvalidParameter")})
    assert code == 1
    assert err.splitlines() == [
        "scan-setup: OCI refused to create the container scan target (400 InvalidParameter): "
        "the target is refused"
    ]
    assert len(script["calls"]) == 2
    assert json.loads(record.read_text()) == {
        "compartment_id": COMPARTMENT,
        "repositories": ["team/scorer"],
        "repository_compartment_id": COMPARTMENT,
        "recipe_id": RECIPE_ID,
        "target_id": None,
    }, "the recipe OCI made is recorded (make teardown deletes it), the target is not"
    code, out, err, script = run_setup()
    assert code == 0, err
    (target,) = script["calls"]
    assert target.path == "/20210215/containerScanTargets", "the recorded recipe is not made again"
    assert json.loads(target.body)["containerScanRecipeId"] == RECIPE_ID
    assert f"container scan recipe {RECIPE_ID} (recorded in " in out
    assert json.loads(record.read_text())["target_id"] == TARGET_ID


def test_a_refused_recipe_is_one_line_and_records_nothing(
    run_setup: Callable[..., tuple[int, str, str, dict[str, Any]]], tmp_path: Path
) -> None:
    code, out, err, script = run_setup({"recipe": (404, "NotAuthorizedOrNotFound")})
    assert code == 1
    assert err.splitlines() == [
        "scan-setup: OCI refused to create the container scan recipe (404 NotAuthorizedOrNotFound): "
        "the recipe is refused"
    ]
    assert len(script["calls"]) == 1, "no target without a recipe"
    assert not (tmp_path / "scan-setup.json").exists()
    assert "container scan recipe" not in out


def test_run_with_a_missing_profile_is_one_line_and_sends_nothing(
    capsys: pytest.CaptureFixture[str], settings_file: Path, push_record: Path, tmp_path: Path
) -> None:
    config = tmp_path / "config"
    config.write_text("[OTHER]\nuser=x\n")
    signing = ("--config", str(config), "--profile", "TEST", "--endpoint", "http://127.0.0.1:9")
    arguments = (*setup_args(settings_file, push_record, tmp_path), *signing, "--run")
    code, _, err = ops(capsys, "scan-setup", *arguments)
    assert code == 1
    (line,) = err.splitlines()
    assert line.startswith("scan-setup: cannot set up the scan: ") and "TEST" in line
    assert not (tmp_path / "scan-setup.json").exists()


def test_run_refuses_when_scanning_is_set_up(
    capsys: pytest.CaptureFixture[str], settings_file: Path, push_record: Path, tmp_path: Path
) -> None:
    recorded = {
        "recipe_id": "ocid1.vsscontainerscanrecipe.oc1.iad.r",
        "target_id": "ocid1.vsscontainerscantarget.t",
    }
    (tmp_path / "scan-setup.json").write_text(json.dumps(recorded))
    code, _, err = ops(capsys, "scan-setup", *setup_args(settings_file, push_record, tmp_path), "--run")
    assert code == 1
    assert "records scan target ocid1.vsscontainerscantarget.t: scanning is set up" in err


# scan-results


def test_the_severities_are_the_sdk_ones() -> None:
    for severity in SEVERITIES:
        assert models.ContainerScanResultProblem(severity=severity).severity == severity
    assert models.ContainerScanResultProblem(severity="SEVERE").severity == "UNKNOWN_ENUM_VALUE"
    assert "digest" not in " ".join(models.ContainerScanResultSummary().attribute_map.values()).lower()


def problem(severity: str, cve: str) -> models.ContainerScanResultProblem:
    return models.ContainerScanResultProblem(
        name=f"{cve.lower()} in a package", severity=severity, state="OPEN", cve_reference=cve
    )


def scan_result(problems: list[models.ContainerScanResultProblem]) -> models.ContainerScanResult:
    worst = max((problem.severity for problem in problems), key=SEVERITIES.index, default="NONE")
    return models.ContainerScanResult(
        id=RESULT_ID,
        repository="team/scorer",
        image="1.2.0",
        compartment_id=COMPARTMENT,
        highest_problem_severity=worst,
        problem_count=len(problems),
        time_started=datetime(2025, 1, 2, tzinfo=UTC),
        time_finished=datetime(2025, 1, 2, 0, 5, tzinfo=UTC),
        problems=problems,
    )


def summary(result: models.ContainerScanResult) -> models.ContainerScanResultSummary:
    names = models.ContainerScanResultSummary().attribute_map
    return models.ContainerScanResultSummary(**{name: getattr(result, name) for name in names})


@dataclass
class Script:
    """What the stand-in answers, and what it was asked."""

    results: list[models.ContainerScanResult]
    gone: bool = False  # listed, but not found by id
    calls: list[tuple[str, dict[str, list[str]]]] = field(default_factory=list)


class StandIn(JsonStandIn):
    script: Script
    answer_headers: ClassVar[dict[str, str]] = {"opc-request-id": "test-request"}

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        self.script.calls.append((url.path, parse_qs(url.query)))
        by_id = {f"{API}/{result.id}": result for result in self.script.results if not self.script.gone}
        if url.path == API:
            items = [summary(result) for result in self.script.results]
            self._send(200, models.ContainerScanResultSummaryCollection(items=items))
        elif url.path in by_id:
            self._send(200, by_id[url.path])
        else:
            self._send(404, {"code": "NotAuthorizedOrNotFound", "message": f"{url.path} not found"})


@pytest.fixture
def serve(start_stand_in: Callable[..., str]) -> Callable[[Script], str]:
    """Starts a stand-in that plays a script; gives its URL."""
    return lambda script: start_stand_in(
        StandIn, oci.vulnerability_scanning.VulnerabilityScanningClient, script
    )


def results_args(oci_config: Path, endpoint: str, settings_file: Path, push_record: Path) -> tuple[str, ...]:
    return (
        *("--config", str(oci_config), "--profile", "TEST", "--auth", "api_key", "--endpoint", endpoint),
        *("--settings", str(settings_file), "--record", str(push_record)),
    )


MIXED = [
    problem("LOW", "CVE-2024-0001"),
    problem("CRITICAL", "CVE-2024-0002"),
    problem("HIGH", "CVE-2024-0003"),
]


def test_results_ask_for_the_pushed_repository_and_tag_and_show_the_worst_first(
    capsys: pytest.CaptureFixture[str],
    oci_config: Path,
    serve: Callable,
    settings_file: Path,
    push_record: Path,
) -> None:
    script = Script([scan_result(MIXED)])
    arguments = results_args(oci_config, serve(script), settings_file, push_record)
    code, out, err = ops(capsys, "scan-results", *arguments)
    assert code == 0, err
    (list_path, query), (get_path, _) = script.calls
    assert list_path == API and get_path == f"{API}/{RESULT_ID}"
    assert query == {
        "compartmentId": [COMPARTMENT],
        "repository": ["team/scorer"],
        "image": ["1.2.0"],
        "isLatestOnly": ["true"],
    }
    assert DIGEST in out and "not by digest" in out
    assert "highest severity CRITICAL, 3 problems" in out
    shown = re.findall(r"^  (\w+) +(CVE-\S+) +(.+)$", out, re.M)
    assert [(severity, cve) for severity, cve, _ in shown] == [
        ("CRITICAL", "CVE-2024-0002"),
        ("HIGH", "CVE-2024-0003"),
        ("LOW", "CVE-2024-0001"),
    ]
    assert shown[0][2] == "cve-2024-0002 in a package"


def test_limit_shows_the_most_severe_only(
    capsys: pytest.CaptureFixture[str],
    oci_config: Path,
    serve: Callable,
    settings_file: Path,
    push_record: Path,
) -> None:
    arguments = results_args(oci_config, serve(Script([scan_result(MIXED)])), settings_file, push_record)
    code, out, _ = ops(capsys, "scan-results", *arguments, "--limit", "1")
    assert code == 0
    assert "CVE-2024-0002" in out and "CVE-2024-0003" not in out
    assert "... 2 more (--limit)" in out


@pytest.mark.parametrize(
    ("problems", "fail_on", "code"),
    [
        (MIXED, "HIGH", 1),
        ([problem("HIGH", "CVE-2024-0003")], "HIGH", 1),
        ([problem("LOW", "CVE-2024-0001")], "HIGH", 0),
        ([problem("LOW", "CVE-2024-0001")], "LOW", 1),
        (MIXED, None, 0),
    ],
)
def test_fail_on(
    capsys: pytest.CaptureFixture[str],
    oci_config: Path,
    serve: Callable,
    settings_file: Path,
    push_record: Path,
    problems: list[models.ContainerScanResultProblem],
    fail_on: str | None,
    code: int,
) -> None:
    arguments = results_args(oci_config, serve(Script([scan_result(problems)])), settings_file, push_record)
    extra = ("--fail-on", fail_on) if fail_on else ()
    exit_code, _, err = ops(capsys, "scan-results", *arguments, *extra)
    assert exit_code == code, err
    assert (f"--fail-on {fail_on}:" in err) == bool(code)


def test_no_result_yet_is_said_and_passes(
    capsys: pytest.CaptureFixture[str],
    oci_config: Path,
    serve: Callable,
    settings_file: Path,
    push_record: Path,
) -> None:
    script = Script([])
    arguments = results_args(oci_config, serve(script), settings_file, push_record)
    code, out, _ = ops(capsys, "scan-results", *arguments, "--fail-on", "LOW")
    assert code == 0
    assert "no scan result yet" in out and "then each image pushed to them" in out
    assert [path for path, _ in script.calls] == [API]


def test_nothing_pushed_is_a_clear_error(
    capsys: pytest.CaptureFixture[str], oci_config: Path, settings_file: Path, tmp_path: Path
) -> None:
    missing = tmp_path / "pushed-image.json"
    arguments = results_args(oci_config, "http://127.0.0.1:9", settings_file, missing)
    code, out, err = ops(capsys, "scan-results", *arguments)
    assert code == 1
    assert f"nothing pushed ({missing} is missing): run `make push` first" in err
    assert out == ""


def test_an_sdk_error_is_one_line(
    capsys: pytest.CaptureFixture[str],
    oci_config: Path,
    serve: Callable,
    settings_file: Path,
    push_record: Path,
) -> None:
    script = Script([scan_result(MIXED)], gone=True)  # listed, then not found
    code, out, err = ops(
        capsys, "scan-results", *results_args(oci_config, serve(script), settings_file, push_record)
    )
    assert code == 1
    assert err.splitlines() == [
        f"OCI refused to read the container scan results (404 NotAuthorizedOrNotFound): {API}/{RESULT_ID} not found"
    ]
    assert "CVE-" not in out


# scan (Trivy)


def test_scan_without_trivy_says_how_to_install_it(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    code, out, err = ops(capsys, "scan", "--image", "scorer:1.0.0")
    assert code == 2
    assert "trivy is not installed" in err and "brew install trivy" in err
    assert out == ""
