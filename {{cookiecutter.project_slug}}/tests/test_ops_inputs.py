"""Malformed input to every offline command: one line naming the key, file or argument, never a traceback.

The settings variants start from the settings as baked (tests/settings_as_baked.toml) and break one thing
each: a key deleted, a value of another kind, a table that is no table, a TOML syntax error,
an empty, binary, missing file or a folder. Each command that reads the file gets each variant
(in-process, through the command line's ``main``): it must exit non-zero, say which key, and
write nothing. The JSON files of update-plan and checkpoint, and the arguments, get the same.
"""

from __future__ import annotations

import json
import tomllib
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from baked_settings import baked_text, replaced, toml_value

from {{ cookiecutter.package_name }}.oci_rules import ocir_host
from {{ cookiecutter.package_name }}_ops.cli import main
from {{ cookiecutter.package_name }}_ops.project import REQUIRED_KEYS

BAKED = baked_text()
OCIDS = {
    "compartment_id": "ocid1.compartment.oc1..aaaa",
    "project_id": "ocid1.datascienceproject.oc1.iad.aaaa",
    "model_id": "ocid1.datasciencemodel.oc1.iad.aaaa",
}
# What `make deploy-config` does without: an update keeps what is left out, "" is never sent.
OPTIONAL = ("display_name", "description", "freeform_tags", "logging", "debug_job")
OPTIONAL += ("container.image", "container.digest")
OPTIONAL_IN = ("container.cmd", "container.entrypoint", "container.environment", "freeform_tags.", "logging.")
OPTIONAL_IN += ("debug_job.",)
# The keys each command reads, besides the kind of every key there.
REGISTRY_NEEDS = ("region", "registry", "registry.namespace", "registry.repository", "registry.tag")
DOCTOR_NEEDS = ("instances.shape", "instances", *REGISTRY_NEEDS)
CAPACITY_NEEDS = ("instances", "instances.shape", "instances.ocpus", "instances.bandwidth_mbps")
CAPACITY_NEEDS += ("autoscaling", "autoscaling.cpu_scale_out_percent")
# debug-job reads the settings as deploy-config does: every key it requires, and its tables.
DEBUG_JOB_NEEDS = (*REQUIRED_KEYS, *{key.split(".")[0] for key in REQUIRED_KEYS if "." in key})


def toml_text(table: dict[str, Any], prefix: str = "") -> str:
    """``table`` as TOML: its values, then each table under its own header."""
    lines = [f"{key} = {toml_value(value)}" for key, value in table.items() if not isinstance(value, dict)]
    for key, value in table.items():
        if isinstance(value, dict):
            lines += ["", f"[{prefix}{key}]", toml_text(value, f"{prefix}{key}.")]
    return "\n".join(lines) + "\n"


def filled() -> dict[str, Any]:
    """The baked settings with their OCIDs filled in: deploy-config writes the bodies from them."""
    return {**tomllib.loads(BAKED), **OCIDS}


def leaves(table: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted name, value) of every key, tables included."""
    for key, value in table.items():
        yield f"{prefix}{key}", value
        if isinstance(value, dict):
            yield from leaves(value, f"{prefix}{key}.")


def changed(name: str, value: Any = None, delete: bool = False) -> dict[str, Any]:
    settings = filled()
    *path, key = name.split(".")
    table = settings
    for part in path:
        table = table[part]
    if delete:
        del table[key]
    else:
        table[key] = value
    return settings


def wrong_kinds(value: Any) -> list[Any]:
    """Values of another kind than ``value``, as a careless edit writes them."""
    if isinstance(value, bool):
        return ["yes", 1]
    if isinstance(value, int):
        return ["1", True, [1]]
    if isinstance(value, float):
        return ["1.0"]
    if isinstance(value, str):
        return [5, ["x"]]
    if isinstance(value, list):
        return [[1, 2], "x"]
    return [5, ["x"]]  # a table


class Variant(NamedTuple):
    text: str | bytes | None  # None: no file at all; "" an empty one
    names: str  # what the message must name
    kind_only: bool  # broken for every command (a kind, the syntax), not only for a key one needs


def variants() -> Iterator[Any]:
    for name, value in leaves(filled()):
        # A variable's value: text or a number, whatever the key; the message names the table.
        expected = "container.environment" if name.startswith("container.environment.") else name
        for wrong in wrong_kinds(value):
            if name.startswith("container.environment.") and isinstance(wrong, int):
                continue  # a number is a fine value of a variable
            text = toml_text(changed(name, wrong))
            yield pytest.param(Variant(text, expected, True), id=f"{name}={wrong!r}")
        if not name.startswith(OPTIONAL_IN) and name not in OPTIONAL:
            yield pytest.param(Variant(toml_text(changed(name, delete=True)), name, False), id=f"no-{name}")
    broken = {
        "count-1-1": replaced(BAKED, "\ncount = 1\n", "\ncount = 1 1\n"),
        "unclosed-header": replaced(BAKED, "\n[instances]\n", "\n[instances\n"),
        "key-twice": replaced(BAKED, "\nregion = ", '\nregion = "eu-frankfurt-1"\nregion = '),
        "no-value": replaced(BAKED, "\nocpus = 1\n", "\nocpus =\n"),
    }
    for name, text in broken.items():
        yield pytest.param(Variant(text, "deployment.toml", True), id=name)
    yield pytest.param(Variant("", "is empty", True), id="empty")
    yield pytest.param(Variant("# nothing but a comment\n", "is empty", True), id="comment-only")
    yield pytest.param(Variant(b"\xff\xfe\x00binary", "deployment.toml", True), id="binary")
    yield pytest.param(Variant(None, "No such file", True), id="missing-file")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A deploy folder: a push recorded, stale request bodies of an earlier run, a bench record."""
    (tmp_path / "pushed-image.json").write_text(
        json.dumps(
            {
                "image": f"{ocir_host(filled()['region'])}/namespace/repository:1",
                "digest": "sha256:" + "ab" * 32,
                "size_bytes": 1000,
                "platform": "linux/amd64",
                "local_id": "sha256:" + "cd" * 32,
            }
        )
    )
    point = {"connections": 1, "rows": 1, "rps": 100.0, "p99_ms": 5.0, "errors": 0, "non_2xx": 0}
    bench = {"cpus": 2, "workers": 2, "points": [{**point, "request_bytes": 100}]}
    (tmp_path / "bench.json").write_text(json.dumps(bench))
    (tmp_path / "model").mkdir()
    return tmp_path


def write(folder: Path, text: str | bytes | None) -> Path:
    settings = folder / "deployment.toml"
    if isinstance(text, bytes):
        settings.write_bytes(text)
    elif text is not None:
        settings.write_text(text)
    return settings


class Outcome(NamedTuple):
    status: int
    out: str
    err: str


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Callable[..., Outcome]:
    """``run(*argv)``: the command line in this process; an exception out of it fails the test."""

    def run(*argv: str) -> Outcome:
        status = main(list(argv))
        found = capsys.readouterr()
        return Outcome(status, found.out, found.err)

    return run


def one_line_naming(outcome: Outcome, *names: str) -> str:
    """The error: one line on stderr, naming each of ``names``; the exit status not 0."""
    assert outcome.status != 0, outcome
    assert "Traceback" not in outcome.err + outcome.out
    lines = outcome.err.strip().splitlines()
    assert len(lines) == 1, lines
    for name in names:
        assert name in lines[0], (name, lines[0])
    return lines[0]


# Each command that reads deploy/deployment.toml: (the keys it needs, how to run it on ``settings``).
READERS: dict[str, tuple[tuple[str, ...], Callable[[Path, Path], list[str]]]] = {
    "doctor": (
        DOCTOR_NEEDS,
        lambda folder, settings: ["doctor", "--settings", str(settings), "--container-cli", "/absent/cli"],
    ),
    "capacity": (
        CAPACITY_NEEDS,
        lambda folder, settings: [
            *("capacity", "--target-rps", "10", "--p99-ms", "50", "--write"),
            *("--bench", str(folder / "bench.json"), "--settings", str(settings)),
        ],
    ),
    "policies": (
        (),
        lambda folder, settings: [
            *("policies", "--group", "DataScientists", "--settings", str(settings)),
            *("--write", str(folder / "policy.json")),
        ],
    ),
    "catalog": (
        (),
        lambda folder, settings: [
            *("catalog", "--settings", str(settings), "--model-dir", str(folder / "model")),
            *("--body", str(folder / "catalog_model.json")),
        ],
    ),
    "checkpoint": ((), lambda folder, settings: ["checkpoint", "9", "--settings", str(settings)]),
    "settings": (
        REGISTRY_NEEDS,
        lambda folder, settings: ["settings", "--make", "--settings", str(settings)],
    ),
    "debug-job": (
        DEBUG_JOB_NEEDS,
        lambda folder, settings: [
            *("debug-job", "--settings", str(settings), "--record", str(folder / "debug-job.json")),
            *("--artifact", str(folder / "model_artifact.zip")),
        ],
    ),
}


@pytest.mark.parametrize(
    "variant",
    [
        param
        for param in variants()
        if param.values[0].kind_only or param.values[0].names not in REGISTRY_NEEDS[1:]
    ],
)
def test_deploy_config_names_the_broken_key_and_writes_nothing(
    folder: Path, run: Callable[..., Outcome], variant: Variant
) -> None:
    settings = write(folder, variant.text)
    for name in ("create_model_deployment.json", "update_model_deployment.json"):
        (folder / name).write_text("{}")  # an earlier run's, stale now
    outcome = run("deploy-config", "--settings", str(settings))
    assert outcome.status != 0 and "Traceback" not in outcome.err
    if outcome.status == 2:  # the file is not one: one line
        one_line_naming(outcome, variant.names)
    else:  # the pre-flight: one line per rule broken
        assert outcome.err.startswith("pre-flight failed; nothing was written:")
        assert variant.names in outcome.err
    assert not list(folder.glob("*_model_deployment.json"))
    assert not list(folder.glob("*.partial"))


def readers_and_variants() -> Iterator[Any]:
    """Each command with each variant it must refuse: any kind or syntax broken, a key it needs gone."""
    for param in variants():
        variant = param.values[0]
        for command, (needs, _) in READERS.items():
            tags_only = variant.names.startswith("freeform_tags.") and command != "catalog"
            if (variant.names in needs or variant.kind_only) and not tags_only:
                yield pytest.param(command, variant, id=f"{command}-{param.id}")


@pytest.mark.parametrize(("command", "variant"), list(readers_and_variants()))
def test_every_command_that_reads_the_settings_names_what_is_wrong(
    folder: Path, run: Callable[..., Outcome], command: str, variant: Variant
) -> None:
    settings = write(folder, variant.text)
    before = settings.read_bytes() if settings.exists() else None
    line = one_line_naming(run(*READERS[command][1](folder, settings)), variant.names)
    assert str(settings) in line or variant.names in line
    assert (settings.read_bytes() if settings.exists() else None) == before  # capacity --write
    assert not (folder / "policy.json").exists() and not (folder / "catalog_model.json").exists()
    assert not (folder / "debug-job.json").exists()


def test_the_baked_settings_pass_every_command_that_reads_them(
    folder: Path, run: Callable[..., Outcome]
) -> None:
    """The harness itself: the same commands take the unbroken settings."""
    settings = write(folder, toml_text(filled()))
    assert tomllib.loads(settings.read_text()) == filled()
    outcome = run("deploy-config", "--settings", str(settings))
    assert outcome.status == 0, outcome.err
    for command in ("capacity", "policies", "catalog", "checkpoint", "settings"):
        outcome = run(*READERS[command][1](folder, settings))
        assert outcome.status == 0, (command, outcome.err)
    logged = filled()  # the debug job logs into the predict log group
    logged["logging"]["predict_log_group_id"] = "ocid1.loggroup.oc1.iad.aaaa"
    outcome = run(*READERS["debug-job"][1](folder, write(folder, toml_text(logged))))
    assert outcome.status == 0 and '"maximumRuntimeInMinutes": 20' in outcome.out, outcome.err


def test_a_folder_as_the_settings_file_is_named(folder: Path, run: Callable[..., Outcome]) -> None:
    one_line_naming(run("deploy-config", "--settings", str(folder)), str(folder), "Is a directory")
    one_line_naming(run(*READERS["policies"][1](folder, folder)), str(folder))


JSON_FILES = {
    "a-list": ("[1, 2]", "is not"),
    "a-string": ('"deployment"', "is not"),
    "null": ("null", "is not"),
    "bad-syntax": ('{"displayName": ', "can't read"),
    "binary": (b"\xff\xfe\x00", "can't read"),
    "cli-data-a-list": ('{"data": [1]}', '"data"'),
}


@pytest.mark.parametrize("which", ["current", "desired"])
@pytest.mark.parametrize(("text", "message"), JSON_FILES.values(), ids=JSON_FILES)
def test_update_plan_names_a_file_that_is_no_json_object(
    tmp_path: Path, run: Callable[..., Outcome], which: str, text: str | bytes, message: str
) -> None:
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps({"displayName": "x"}))
    bad.write_bytes(text if isinstance(text, bytes) else text.encode())
    files = [bad, good] if which == "current" else [good, bad]
    output = tmp_path / "plan.json"
    line = one_line_naming(run("update-plan", *map(str, files), "--output", str(output)), message)
    assert "bad.json" in line or '"data"' in line
    assert not output.exists()


INNER = {
    "section-a-number": {"modelDeploymentConfigurationDetails": 5},
    "tags-a-list": {"freeformTags": [1]},
    "tag-a-number": {"freeformTags": {"team": 1}},
    "name-a-number": {"displayName": 5},
    "policy-a-list": {
        "modelDeploymentConfigurationDetails": {
            "deploymentType": "SINGLE_MODEL",
            "modelConfigurationDetails": {"scalingPolicy": [1]},
        }
    },
    "kind-a-list": {"modelDeploymentConfigurationDetails": {"deploymentType": ["SINGLE_MODEL"]}},
    "logs-a-list": {"categoryLogDetails": {"access": [1]}},
}


@pytest.mark.parametrize("desired", INNER.values(), ids=INNER)
def test_update_plan_names_a_field_of_the_wrong_kind(
    tmp_path: Path, run: Callable[..., Outcome], desired: dict[str, Any]
) -> None:
    current, wanted = tmp_path / "current.json", tmp_path / "desired.json"
    current.write_text("{}")
    wanted.write_text(json.dumps(desired))
    line = one_line_naming(run("update-plan", str(current), str(wanted)), "the SDK refuses the plan")
    assert next(iter(desired)) in line


def test_update_plan_names_a_missing_file_and_an_output_it_cannot_write(
    tmp_path: Path, run: Callable[..., Outcome]
) -> None:
    good = tmp_path / "good.json"
    good.write_text("{}")
    one_line_naming(
        run("update-plan", str(tmp_path / "absent.json"), str(good)), "absent.json", "No such file"
    )
    one_line_naming(run("update-plan", str(tmp_path), str(good)), str(tmp_path), "Is a directory")
    plan = run("update-plan", str(good), str(good), "--output", str(tmp_path))
    one_line_naming(plan, f"can't write {tmp_path}")
    assert not list(tmp_path.glob("*.partial"))


ARGUMENTS = {
    "doctor-port-huge": (["doctor", "--port", "99999999"], "--port"),
    "doctor-port-0": (["doctor", "--port", "0"], "--port"),
    "doctor-port-text": (["doctor", "--port", "http"], "--port"),
    "doctor-free-nan": (["doctor", "--min-free-gb", "nan"], "--min-free-gb"),
    "doctor-free-negative": (["doctor", "--min-free-gb", "-1"], "--min-free-gb"),
    "checkpoint-step-0": (["checkpoint", "0"], "STEP"),
    "checkpoint-step-text": (["checkpoint", "five"], "STEP"),
    "checkpoint-port": (["checkpoint", "6", "--port", "70000"], "--port"),
    "capacity-rps-0": (["capacity", "--target-rps", "0", "--p99-ms", "5"], "--target-rps"),
    "capacity-rps-inf": (["capacity", "--target-rps", "inf", "--p99-ms", "5"], "--target-rps"),
    "capacity-p99-nan": (["capacity", "--target-rps", "1", "--p99-ms", "nan"], "--p99-ms"),
    "capacity-rows-0": (["capacity", "--target-rps", "1", "--p99-ms", "5", "--rows", "0"], "--rows"),
    "capacity-body": (["capacity", "--target-rps", "1", "--p99-ms", "5", "--body", "lots"], "--body"),
    "capacity-ocpus": (["capacity", "--target-rps", "1", "--p99-ms", "5", "--ocpus", "-1"], "--ocpus"),
    "policies-no-group": (["policies"], "--group"),
    "start-time-nan": (["start-time", "--seconds", "nan", "--container", "c"], "--seconds"),
    "start-time-negative": (["start-time", "--seconds", "-1", "--container", "c"], "--seconds"),
    "no-such-command": (["deploy-everything"], "deploy-everything"),
}


@pytest.mark.parametrize(("argv", "name"), ARGUMENTS.values(), ids=ARGUMENTS)
def test_a_bad_argument_is_a_usage_error_naming_it(
    capsys: pytest.CaptureFixture[str], argv: list[str], name: str
) -> None:
    with pytest.raises(SystemExit) as raised:
        main(argv)
    assert raised.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and name in err.strip().splitlines()[-1]


def test_the_port_from_the_environment_is_checked_too(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PORT", "eighty")
    with pytest.raises(SystemExit):
        main(["doctor"])
    assert "--port: 'eighty' is not a port" in capsys.readouterr().err


def test_capacity_names_a_bench_record_and_a_target_it_cannot_take(
    folder: Path, run: Callable[..., Outcome]
) -> None:
    settings = write(folder, BAKED)
    base = ["capacity", "--p99-ms", "50", "--settings", str(settings)]
    huge = run(*base, "--target-rps", "1e308", "--bench", str(folder / "bench.json"))
    one_line_naming(huge, "instances")
    for bench, message in ((folder, "Is a directory"), (folder / "absent.json", "make bench")):
        one_line_naming(run(*base, "--target-rps", "1", "--bench", str(bench)), message)
    (folder / "bench.json").write_text("[1]")
    one_line_naming(run(*base, "--target-rps", "1", "--bench", str(folder / "bench.json")), "make bench")


def test_policies_and_catalog_name_a_folder_they_cannot_write(
    folder: Path, run: Callable[..., Outcome]
) -> None:
    settings = write(folder, toml_text(filled()))
    target = folder / "model"  # a folder
    policy = run("policies", "--group", "G", "--settings", str(settings), "--write", str(target))
    one_line_naming(policy, f"can't write {target}")
    entry = run("catalog", "--settings", str(settings), "--model-dir", str(target), "--body", str(target))
    one_line_naming(entry, f"can't write {target}")
    assert not list(folder.rglob("*.partial"))


@pytest.mark.parametrize(
    "schema",
    ["[1]", "{", '{"schema": 5}', '{"schema": [{"domain": 1}]}', '{"schema": [{"name": "x", "domain": 2}]}'],
)
def test_catalog_names_a_schema_file_it_cannot_take(
    folder: Path, run: Callable[..., Outcome], schema: str
) -> None:
    settings = write(folder, toml_text(filled()))
    (folder / "model" / "input_schema.json").write_text(schema)
    argv = READERS["catalog"][1](folder, settings)
    one_line_naming(run(*argv), "input_schema.json")
    assert not (folder / "catalog_model.json").exists()


@pytest.mark.parametrize(
    "record",
    ["[1]", "{", '{"image": 5, "digest": 7}', '{"image": "x"}'],
    ids=["list", "syntax", "numbers", "partial"],
)
def test_checkpoint_names_a_push_record_it_cannot_take(
    tmp_path: Path, run: Callable[..., Outcome], record: str
) -> None:
    path = tmp_path / "pushed-image.json"
    path.write_text(record)
    line = one_line_naming(run("checkpoint", "7", "--push-record", str(path)), "checkpoint 7")
    assert "FAIL" in line


def test_checkpoint_names_an_artifact_that_is_no_zip(tmp_path: Path, run: Callable[..., Outcome]) -> None:
    artifact = tmp_path / "model_artifact.zip"
    artifact.write_text("not a zip")
    line = one_line_naming(run("checkpoint", "8", "--artifact", str(artifact)), "checkpoint 8")
    assert "model_artifact.zip is not a zip file" in line
    with zipfile.ZipFile(artifact, "w") as archive:
        archive.writestr("other.txt", "x")
    assert "lacks" in one_line_naming(run("checkpoint", "8", "--artifact", str(artifact)), "checkpoint 8")


def test_deploy_local_names_an_artifact_that_is_no_zip(tmp_path: Path, run: Callable[..., Outcome]) -> None:
    artifact, settings = tmp_path / "notazip", tmp_path / "deployment.toml"
    artifact.write_text("not a zip")
    settings.write_text("[container]\nserver_port = 8080\n")  # the test's own: deploy/ is the user's
    command = ["deploy-local", "--image", "x:1", "--cli", "/absent/cli", "--artifact", str(artifact)]
    outcome = run(*command, "--settings", str(settings))
    one_line_naming(outcome, "notazip")


def test_start_time_records_the_time_when_the_engine_gives_no_log(
    tmp_path: Path, run: Callable[..., Outcome]
) -> None:
    """`make run`'s record (start-time) with a container engine that can't be run: the time alone."""
    output = tmp_path / "start-time.json"
    argv = ["start-time", "--seconds", "12.34", "--container", "c", "--cli", "/absent/cli"]
    outcome = run(*argv, "--output", str(output))
    assert outcome.status == 0 and "healthy after 12.3 s (model load not logged)" in outcome.out
    record = json.loads(output.read_text())
    assert (record["healthy_seconds"], record["load_seconds"], record["workers"]) == (12.3, None, None)
