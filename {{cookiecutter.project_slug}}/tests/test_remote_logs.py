"""`make logs-remote` and `make debug-job` against stand-ins of OCI Logging Search and Data Science jobs.

The stand-ins are loopback HTTP servers answering the SDK's requests with the SDK's own
models, recording each request; every body the commands send is checked with the SDK's
models and its signature with the test's throwaway API key. The commands run in this
process (cli.main), polling with no pause between polls and a bounded number of them.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import oci
import pytest
from baked_settings import baked_text, replaced, write_settings
from conftest import ApiKey, Call, JsonStandIn, received, signed_by
from oci.data_science import models
from oci.loggingsearch import models as search_models

from {{ cookiecutter.package_name }}.oci_rules import MODEL_MOUNT
from {{ cookiecutter.package_name }}_ops import cli, debug_job, remote_logs
from {{ cookiecutter.package_name }}_ops.debug_job import (
    JOB_ARTIFACT_DIR,
    MAX_JOB_ARTIFACT_BYTES,
    job_settings,
)
from {{ cookiecutter.package_name }}_ops.deploy_config import (
    deployment_configuration,
    load_settings,
)
from {{ cookiecutter.package_name }}_ops.errors import InputError
from {{ cookiecutter.package_name }}_ops.oci_models import (
    ModelMismatch,
    check_body,
)

PROJECT = Path(__file__).resolve().parent.parent
COMPARTMENT = "ocid1.compartment.oc1..logs"
PROJECT_ID = "ocid1.datascienceproject.oc1.iad.logs"
GROUP = "ocid1.loggroup.oc1.iad.logs"
PREDICT_LOG = "ocid1.log.oc1.iad.predict"
ACCESS_LOG = "ocid1.log.oc1.iad.access"
JOB_ID = "ocid1.datasciencejob.oc1.iad.debug"
RUN_ID = "ocid1.datasciencejobrun.oc1.iad.debug"
RUN_LOG = "ocid1.log.oc1.iad.jobrun"
DEPLOYMENT_ID = "ocid1.datasciencemodeldeployment.oc1.iad.logs"
IMAGE = "{{ cookiecutter.__ocir_host }}/mytenancy/scorer:1.0.0"  # the registry of the baked region
DIGEST = "sha256:" + "ab" * 32
SEARCH_MAPPING = search_models.loggingsearch_type_mapping


def entry(log_id: str, second: int, message: str | None, data: Any = None) -> search_models.SearchResult:
    """A search result as OCI Logging answers it: the entry's logContent, its time in ms."""
    # A minute ago, when the test makes it: within SINCE and OVERLAP however long the suite ran before.
    moment = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1) + timedelta(seconds=second)
    content = {
        "id": f"{log_id}-{second}",
        "time": moment.isoformat(),
        "source": RUN_ID,
        "type": "com.oraclecloud.datascience.modeldeployment.predict",
        "oracle": {"logid": log_id, "loggroupid": GROUP, "compartmentid": COMPARTMENT},
        "data": data if data is not None else {"message": message},
    }
    return search_models.SearchResult(
        data={"datetime": int(moment.timestamp() * 1000), "logContent": content}
    )


@dataclass
class Script:
    """What the stand-ins answer and what they received."""

    pages: dict[str, list[list[search_models.SearchResult]]] = field(default_factory=dict)  # log: pages
    polls: dict[str, list[list[search_models.SearchResult]]] = field(default_factory=dict)  # log: per poll
    run_states: list[str] = field(default_factory=lambda: ["IN_PROGRESS"])
    finished_ago: timedelta = timedelta(0)  # how long ago an ended run ended (time_finished)
    too_large_over: timedelta | None = None  # a search spanning more is refused as too large
    artifact_status: int = 200
    delete_status: int = 204
    calls: list[Call] = field(default_factory=list)
    searched: dict[str, int] = field(default_factory=dict)

    def bodies(self, path: str) -> list[dict[str, Any]]:
        return [json.loads(call.body) for call in self.calls if urlsplit(call.path).path == path]


class StandIn(JsonStandIn):
    """OCI Logging Search (/20190909/search) and Data Science jobs (/20190101/...) at one address."""

    script: Script

    def do_POST(self) -> None:
        call = received(self)
        self.script.calls.append(call)
        url = urlsplit(self.path)
        if url.path == "/20190909/search":
            self._search(json.loads(call.body), parse_qs(url.query))
        elif url.path == "/20190101/jobs":
            self._send(200, models.Job(id=JOB_ID, lifecycle_state="CREATING"))
        elif url.path == f"/20190101/jobs/{JOB_ID}/artifact":
            status = self.script.artifact_status
            self._send(status, None if status == 200 else {"code": "InvalidParameter", "message": "bad zip"})
        elif url.path == "/20190101/jobRuns":
            self._send(200, models.JobRun(id=RUN_ID, job_id=JOB_ID, lifecycle_state="ACCEPTED"))
        else:
            self._send(404, {"code": "NotAuthorizedOrNotFound", "message": url.path})

    def do_DELETE(self) -> None:
        self.script.calls.append(received(self))
        status = self.script.delete_status
        self._send(status, None if status < 400 else {"code": "Conflict", "message": "the job is busy"})

    def do_GET(self) -> None:
        self.script.calls.append(received(self))
        if urlsplit(self.path).path == f"/20190101/jobRuns/{RUN_ID}":
            states = self.script.run_states
            state = states.pop(0) if len(states) > 1 else states[0]
            details = (
                models.JobRunLogDetails(log_group_id=GROUP, log_id=RUN_LOG) if state != "ACCEPTED" else None
            )
            accepted = datetime.now(UTC) - timedelta(minutes=2)
            finished = datetime.now(UTC) - self.script.finished_ago if state in debug_job.ENDED else None
            run = models.JobRun(
                id=RUN_ID,
                lifecycle_state=state,
                log_details=details,
                time_accepted=accepted,
                time_finished=finished,
            )
            self._send(200, run)
        else:
            self._send(404, {"code": "NotAuthorizedOrNotFound", "message": self.path})

    def _search(self, body: dict[str, Any], query: dict[str, list[str]]) -> None:
        log_id = re.search(r'"[^/"]+/[^/"]+/([^"]+)"', body["searchQuery"])[1]
        start, end = (datetime.fromisoformat(body[key]) for key in ("timeStart", "timeEnd"))
        if self.script.too_large_over is not None and end - start > self.script.too_large_over:
            message = "Search result is too large, narrow the time range"  # what ADS looks for, any case
            self._send(400, {"code": "InvalidParameter", "message": message})
            return
        if log_id in self.script.polls:  # one answer per search of the log, the last one repeated
            answers = self.script.polls[log_id]
            count = self.script.searched.get(log_id, 0)
            self.script.searched[log_id] = count + 1
            results, headers = answers[min(count, len(answers) - 1)], {}
        else:  # pages: "page" names the next one
            pages = self.script.pages.get(log_id, [[]])
            number = int(query.get("page", ["0"])[0])
            results = [  # the entries of the range searched
                result
                for result in pages[number]
                if start.timestamp() * 1000 <= result.data["datetime"] < end.timestamp() * 1000
            ]
            headers = {"opc-next-page": str(number + 1)} if number + 1 < len(pages) else {}
        answer = search_models.SearchResponse(
            results=results, summary=search_models.SearchResultSummary(result_count=len(results))
        )
        self._send(200, answer, headers)


@pytest.fixture
def stand_in(start_stand_in: Callable[..., str], monkeypatch: pytest.MonkeyPatch) -> Callable[[Script], None]:
    """Starts a stand-in playing ``script``; both SDK clients are sent to it."""

    def start(script: Script) -> None:
        url = start_stand_in(StandIn, oci.loggingsearch.LogSearchClient, script)
        monkeypatch.setenv("OCI_LOGGING_SEARCH_ENDPOINT", url)
        monkeypatch.setenv("OCI_DATA_SCIENCE_ENDPOINT", url)

    return start


def settings_file(tmp_path: Path, logs: bool = True, **debug_job: Any) -> Path:
    """The settings as baked with OCIDs, an image and digest, (``logs``) [logging] or none, and the
    ``debug_job`` values in [debug_job]."""
    text = replaced(baked_text(), '\nimage = ""\n', f'\nimage = "{IMAGE}"\ndigest = "{DIGEST}"\n')
    logging = {"predict_log_group_id": GROUP, "predict_log_id": PREDICT_LOG}
    logging |= {"access_log_group_id": GROUP, "access_log_id": ACCESS_LOG}
    if not logs:
        logging = dict.fromkeys(logging, "")
    filled = {"compartment_id": COMPARTMENT, "project_id": PROJECT_ID, **logging}
    return write_settings(tmp_path / "deployment.toml", text, **filled, **debug_job)


def ops(oci_config: Path, *arguments: str) -> int:
    return cli.main([*arguments, "--config", str(oci_config), "--profile", "TEST", "--auth", "api_key"])


def searches(script: Script) -> list[dict[str, Any]]:
    return script.bodies("/20190909/search")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("1s", 1), ("30s", 30), ("15m", 900), ("2h", 7200), ("1d", 86400), ("14d", 14 * 86400)],
)
def test_since_takes_seconds_to_fourteen_days(text: str, seconds: int) -> None:
    assert remote_logs.parse_since(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["0s", "15", "15x", "1.5h", "-1m", "15 m", "15d2h", "15d", "337h", ""])
def test_since_refuses_what_is_not_a_duration_up_to_fourteen_days(text: str) -> None:
    with pytest.raises(InputError, match=r"^SINCE: .* is not a duration from 1s to 14d"):
        remote_logs.parse_since(text)


def test_bad_since_is_one_line_and_nothing_is_sent(
    oci_config: Path, stand_in: Callable, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    script = Script()
    stand_in(script)
    status = ops(oci_config, "logs-remote", "--settings", str(settings_file(tmp_path)), "--since", "15x")
    error = capsys.readouterr().err
    assert status == 2 and error.count("\n") == 1 and "SINCE: '15x'" in error
    assert script.calls == []


def test_no_logs_configured_says_how_to_configure_them(
    oci_config: Path, stand_in: Callable, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    script = Script()
    stand_in(script)
    status = ops(oci_config, "logs-remote", "--settings", str(settings_file(tmp_path, logs=False)))
    error = capsys.readouterr().err
    assert status == 2 and "no predict or access log" in error
    for needed in (
        "create a log group",
        "custom log",
        "predict_log_group_id",
        "access_log_id",
        "make deploy-update",
    ):
        assert needed in error
    assert script.calls == []


def test_prints_both_logs_oldest_first_across_pages_as_the_scorer_wrote_them(
    oci_config: Path,
    api_key: ApiKey,
    stand_in: Callable,
    deployment_record: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
) -> None:
    scorer_line = json.dumps({"event": "predict", "rows": 3, "ms": 4.2})
    script = Script(
        pages={
            PREDICT_LOG: [
                [entry(PREDICT_LOG, 1, scorer_line)],
                [entry(PREDICT_LOG, 5, "[INFO] Booting worker\n")],
            ],
            ACCESS_LOG: [[entry(ACCESS_LOG, 3, None, data={"status": 200, "path": "/predict"})]],
        }
    )
    stand_in(script)
    before = datetime.now(UTC)
    status = ops(oci_config, "logs-remote", "--settings", str(settings_file(tmp_path)), "--since", "2h")
    printed = capsys.readouterr()
    out = printed.out.splitlines()
    assert status == 0
    # no deployment recorded: every entry, and the reason
    assert "no deployment recorded (deploy/deployment-id.txt) or given (DEPLOYMENT_ID=)" in printed.err
    # the scorer's JSON line as it was, the access entry's data as JSON, gunicorn's line as it was
    assert out == [scorer_line, json.dumps({"status": 200, "path": "/predict"}), "[INFO] Booting worker"]
    bodies = searches(script)
    assert len(bodies) == 3  # predict: two pages, access: one
    for body in bodies:
        details = check_body(body, "SearchLogsDetails", mapping=SEARCH_MAPPING)
        start = datetime.fromisoformat(details.time_start)
        assert (
            timedelta(hours=2) - timedelta(seconds=5)
            < before - start
            < timedelta(hours=2) + timedelta(seconds=5)
        )
    queries = {body["searchQuery"] for body in bodies}
    assert queries == {
        f'search "{COMPARTMENT}/{GROUP}/{PREDICT_LOG}" | sort by datetime asc',
        f'search "{COMPARTMENT}/{GROUP}/{ACCESS_LOG}" | sort by datetime asc',
    }
    pages = [parse_qs(urlsplit(call.path).query).get("page") for call in script.calls]
    assert pages.count(["1"]) == 1  # the second page asked with opc-next-page
    assert all(signed_by(api_key, call) for call in script.calls)


def test_follow_polls_and_prints_each_entry_once(
    oci_config: Path, stand_in: Callable, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    first, second = entry(PREDICT_LOG, 1, '{"n": 1}'), entry(PREDICT_LOG, 2, '{"n": 2}')
    script = Script(polls={PREDICT_LOG: [[first], [first, second], [first, second]]})
    stand_in(script)
    arguments = ("--settings", str(settings_file(tmp_path)), "--log", "predict", "--follow")
    status = ops(oci_config, "logs-remote", *arguments, "--interval", "0", "--polls", "3")
    assert status == 0
    assert capsys.readouterr().out.splitlines() == ['{"n": 1}', '{"n": 2}']
    bodies = searches(script)
    assert len(bodies) == 3 and script.searched == {PREDICT_LOG: 3}
    # each poll starts where the last ended, less the overlap for late entries; never before SINCE
    starts = [datetime.fromisoformat(body["timeStart"]) for body in bodies]
    ends = [datetime.fromisoformat(body["timeEnd"]) for body in bodies]
    assert starts[0] < starts[1] and starts[1] >= ends[0] - remote_logs.OVERLAP - timedelta(milliseconds=1)


def test_follow_ends_cleanly_on_ctrl_c() -> None:
    printed: list[str] = []

    def interrupted(seconds: float) -> None:
        raise KeyboardInterrupt

    def found(start: datetime, end: datetime) -> list[remote_logs.Entry]:
        return [remote_logs.Entry(1, "a", "line")]

    with pytest.raises(KeyboardInterrupt):  # print_logs turns it into one line and status 130
        remote_logs.follow(
            found, timedelta(minutes=1), keep_polling=True, sleep=interrupted, out=printed.append
        )
    assert printed == ["line"]


def test_a_refused_search_is_one_line(
    oci_config: Path,
    start_stand_in: Callable,
    monkeypatch: pytest.MonkeyPatch,
    deployment_record: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
) -> None:
    deployment_record.write_text(DEPLOYMENT_ID)

    class Refusing(StandIn):
        def do_POST(self) -> None:
            received(self)
            self._send(404, {"code": "NotAuthorizedOrNotFound", "message": "log not found"})

    monkeypatch.setenv(
        "OCI_LOGGING_SEARCH_ENDPOINT", start_stand_in(Refusing, oci.loggingsearch.LogSearchClient, Script())
    )
    status = ops(oci_config, "logs-remote", "--settings", str(settings_file(tmp_path)))
    error = capsys.readouterr().err
    assert status == 1
    assert error == "OCI refused to search the logs (404 NotAuthorizedOrNotFound): log not found\n"


def test_debug_job_prints_the_job_it_would_create_and_sends_nothing(
    oci_config: Path, stand_in: Callable, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    script = Script()
    stand_in(script)
    status = ops(
        oci_config,
        "debug-job",
        "--settings",
        str(settings_file(tmp_path)),
        "--record",
        str(tmp_path / "r.json"),
    )
    out = capsys.readouterr().out
    assert status == 0 and script.calls == [] and not (tmp_path / "r.json").exists()
    body = json.loads(out[out.index("{") : out.rindex("}") + 1])
    job = check_body(body, "CreateJobDetails")
    assert job.job_environment_configuration_details.image == IMAGE
    assert job.job_environment_configuration_details.image_digest == DIGEST
    assert job.job_log_configuration_details.log_group_id == GROUP
    assert job.job_log_configuration_details.enable_auto_log_creation is True
    assert job.job_infrastructure_configuration_details.job_infrastructure_type == "ME_STANDALONE"
    assert job.job_configuration_details.maximum_runtime_in_minutes == 20
    assert "DEBUG_JOB_RUN=1" in out


def test_debug_job_refuses_settings_it_cannot_run_with(
    oci_config: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    path = settings_file(tmp_path, logs=False, block_storage_gb=49, max_runtime_minutes=0)
    assert ops(oci_config, "debug-job", "--settings", str(path)) == 1
    error = capsys.readouterr().err
    assert "logging.predict_log_group_id: not set yet" in error
    assert "debug_job.block_storage_gb: 49" in error and "debug_job.max_runtime_minutes: 0" in error
    path.write_text(replaced(path.read_text(), f'project_id = "{PROJECT_ID}"', 'project_id = ""'))
    assert ops(oci_config, "debug-job", "--settings", str(path)) == 1
    error = capsys.readouterr().err
    assert (
        "project_id: not set yet; set it in deploy/deployment.toml to the OCID of your Data Science project; "
        "the job is created there"
    ) in error


def test_debug_job_run_creates_uploads_starts_records_and_prints_the_run_log(
    oci_config: Path, api_key: ApiKey, stand_in: Callable, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    artifact = tmp_path / "model_artifact.zip"
    artifact.write_bytes(b"PK\x05\x06" + b"\0" * 18)  # an empty zip
    record = tmp_path / "debug-job.json"
    earlier = {"job_id": "ocid1.datasciencejob.oc1.iad.before", "compartment_id": COMPARTMENT}
    record.write_text(json.dumps(earlier))  # a job an earlier run created: kept for `make teardown`
    traceback = entry(RUN_LOG, 1, "Traceback (most recent call last):")
    script = Script(  # the traceback is found only after the run is FAILED: OCI Logging is late
        run_states=["ACCEPTED", "IN_PROGRESS", "IN_PROGRESS", "FAILED"],
        polls={RUN_LOG: [[], [], [traceback]]},
    )
    stand_in(script)
    arguments = (
        "--settings",
        str(settings_file(tmp_path)),
        "--artifact",
        str(artifact),
        "--record",
        str(record),
    )
    status = ops(oci_config, "debug-job", *arguments, "--run", "--interval", "0", "--polls", "5")
    printed = capsys.readouterr()
    out = printed.out
    assert status == 0, out
    assert json.loads(record.read_text()) == {
        "job_id": JOB_ID,
        "compartment_id": COMPARTMENT,
        "job_run_id": RUN_ID,
        "earlier": [earlier],
    }
    paths = [f"{call.method} {urlsplit(call.path).path}" for call in script.calls]
    assert paths[:3] == [
        "POST /20190101/jobs",
        f"POST /20190101/jobs/{JOB_ID}/artifact",
        "POST /20190101/jobRuns",
    ]
    job = check_body(script.bodies("/20190101/jobs")[0], "CreateJobDetails")
    variables = job.job_configuration_details.environment_variables
    if (
        job.job_environment_configuration_details.cmd
        and "tritonserver" in job.job_environment_configuration_details.cmd
    ):
        assert f"--model-repository={JOB_ARTIFACT_DIR}" in job.job_environment_configuration_details.cmd
    else:
        assert variables["MODEL_DIR"] == JOB_ARTIFACT_DIR and variables["PORT"] == "{{ cookiecutter.__server_port }}"
    run = check_body(script.bodies("/20190101/jobRuns")[0], "CreateJobRunDetails")
    assert (run.job_id, run.project_id, run.compartment_id) == (JOB_ID, PROJECT_ID, COMPARTMENT)
    upload = next(call for call in script.calls if call.path.endswith("/artifact"))
    assert upload.body == artifact.read_bytes()
    assert "model_artifact.zip" in upload.headers["content-disposition"]
    query = searches(script)[0]["searchQuery"]
    assert (
        query
        == f"search \"{COMPARTMENT}/{GROUP}/{RUN_LOG}\" | where source = '*{RUN_ID}' | sort by datetime asc"
    )
    assert out.count("Traceback (most recent call last):") == 1  # printed once however often it was searched
    assert script.searched[RUN_LOG] == 5  # polling went on after FAILED, up to --polls here
    assert f"job run {RUN_ID} FAILED: reading its late lines for 3 minutes after it ended" in printed.err
    assert out.rstrip().endswith(
        f"job run {RUN_ID}: FAILED\nlate lines: `make debug-job DEBUG_JOB_LOGS=1` in a few minutes "
        "prints the whole log again"
    )
    assert all(
        signed_by(api_key, call, body_signed=call.method == "POST" and not call.path.endswith("/artifact"))
        for call in script.calls
    )


def test_debug_job_settings_oci_would_refuse_are_named() -> None:
    assert job_settings({"debug_job": {"subnet_id": "ocid1.vcn.oc1..x"}})[1][0].startswith(
        "debug_job.subnet_id"
    )
    assert job_settings({}) == (
        {"max_runtime_minutes": 20, "block_storage_gb": 50, "subnet_id": "", "log_id": ""},
        [],
    )


@pytest.mark.parametrize("when", ["yesterday", "2025-01-31", "2025-01-31T12:00:00", 1738324800])
def test_the_sdk_model_check_refuses_a_time_oci_would_not_read(when: Any) -> None:
    body = {"timeStart": when, "timeEnd": "2025-01-31T12:00:00.000Z", "searchQuery": "search"}
    with pytest.raises(ModelMismatch, match=r"\$\.timeStart: .* is not an RFC 3339 time"):
        check_body(body, "SearchLogsDetails", mapping=SEARCH_MAPPING)


def clock(start: datetime, step: timedelta) -> tuple[Callable[[], datetime], Callable[[float], None]]:
    """A clock that moves only when slept on: ``now`` and ``sleep`` for ``follow``."""
    moment = [start]

    def sleep(seconds: float) -> None:
        moment[0] += step

    return lambda: moment[0], sleep


def test_follow_keeps_polling_for_late_entries_until_the_grace_after_the_end() -> None:
    start = datetime(2025, 1, 31, 12, tzinfo=UTC)
    ended_at = start + timedelta(seconds=20)
    now, sleep = clock(start, timedelta(seconds=10))
    written = int((ended_at - timedelta(seconds=1)).timestamp() * 1000)  # just before the end
    late = remote_logs.Entry(written, "late", "Traceback (most recent call last):")
    printed: list[str] = []
    asked: list[datetime] = []

    def found(first: datetime, end: datetime) -> list[remote_logs.Entry]:
        asked.append(end)
        return [late] if end >= ended_at + timedelta(minutes=1) else []  # taken in a minute late

    def ended() -> datetime | None:
        return ended_at if now() >= ended_at else None

    count = remote_logs.follow(
        found, timedelta(minutes=1), keep_polling=True, ended=ended, now=now, sleep=sleep, out=printed.append
    )
    assert printed == [late.text] and count == 1
    # polled every 10 s until the grace (OVERLAP, 3 min) after the end had passed, no longer
    assert asked[-1] == ended_at + remote_logs.OVERLAP and len(asked) == 21


def test_follow_stops_at_once_when_the_end_is_older_than_the_grace() -> None:
    start = datetime(2025, 1, 31, 12, tzinfo=UTC)
    now, sleep = clock(start, timedelta(seconds=10))
    asked: list[datetime] = []

    def found(first: datetime, end: datetime) -> list[remote_logs.Entry]:
        asked.append(end)
        return []

    remote_logs.follow(
        found,
        timedelta(hours=1),
        keep_polling=True,
        ended=lambda: start - remote_logs.OVERLAP,
        now=now,
        sleep=sleep,
        out=print,
    )
    assert asked == [start]


def test_logs_are_the_recorded_deployments_unless_deployment_id_names_another(
    oci_config: Path,
    stand_in: Callable,
    deployment_record: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
) -> None:
    script = Script()
    stand_in(script)
    deployment_record.write_text(DEPLOYMENT_ID + "\n")
    arguments = ("logs-remote", "--settings", str(settings_file(tmp_path)), "--since", "90m")
    assert ops(oci_config, *arguments) == 0
    other = "ocid1.datasciencemodeldeployment.oc1.iad.other"
    assert ops(oci_config, *arguments, "--log", "access", "--deployment-id", other) == 0
    stream = f"{COMPARTMENT}/{GROUP}"
    assert [body["searchQuery"] for body in searches(script)] == [
        f"search \"{stream}/{PREDICT_LOG}\" | where source = '*{DEPLOYMENT_ID}' | sort by datetime asc",
        f"search \"{stream}/{ACCESS_LOG}\" | where source = '*{DEPLOYMENT_ID}' | sort by datetime asc",
        f"search \"{stream}/{ACCESS_LOG}\" | where source = '*{other}' | sort by datetime asc",
    ]
    error = capsys.readouterr().err
    assert "no deployment recorded" not in error
    # nothing found: SINCE as it was given, and the compartment a log group must be in
    assert error.startswith(f"no entries in the last 90m (predict {PREDICT_LOG}, access {ACCESS_LOG});")
    assert "a log group in another compartment than compartment_id shows nothing" in error


def test_a_range_too_large_for_one_search_is_searched_by_halves(
    oci_config: Path,
    stand_in: Callable,
    deployment_record: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
) -> None:
    script = Script(
        pages={PREDICT_LOG: [[entry(PREDICT_LOG, 1, "found")]]}, too_large_over=timedelta(minutes=61)
    )
    stand_in(script)
    arguments = ("--settings", str(settings_file(tmp_path)), "--log", "predict", "--since", "2h")
    assert ops(oci_config, "logs-remote", *arguments) == 0
    assert capsys.readouterr().out == "found\n"
    ranges = [(body["timeStart"], body["timeEnd"]) for body in searches(script)]
    (start, end), first, second = ranges  # refused, then each half
    assert first[0] == start and first[1] == second[0] and second[1] == end
    middle = datetime.fromisoformat(first[1])
    assert abs(middle - datetime.fromisoformat(start) - timedelta(hours=1)) < timedelta(milliseconds=2)


def test_a_range_too_large_even_in_parts_asks_for_a_shorter_since(
    oci_config: Path,
    stand_in: Callable,
    deployment_record: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
) -> None:
    script = Script(too_large_over=timedelta(seconds=1))
    stand_in(script)
    arguments = ("--settings", str(settings_file(tmp_path)), "--log", "predict", "--since", "2h")
    assert ops(oci_config, "logs-remote", *arguments) == 1
    error = capsys.readouterr().err.splitlines()
    assert error[-1].startswith("the last 2h holds more entries than OCI Logging returns at once")
    assert error[-1].endswith("use a shorter SINCE")
    assert len(searches(script)) == remote_logs.MAX_HALVINGS + 1  # halved down one side, then given up


def run_arguments(tmp_path: Path, artifact: Path) -> tuple[str, ...]:
    return (
        *("debug-job", "--settings", str(settings_file(tmp_path)), "--artifact", str(artifact)),
        *("--record", str(tmp_path / "debug-job.json"), "--run", "--interval", "0", "--polls", "2"),
    )


def test_debug_job_refuses_an_artifact_over_the_jobs_limit_before_creating_anything(
    oci_config: Path, stand_in: Callable, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    script = Script()
    stand_in(script)
    artifact = tmp_path / "model_artifact.zip"
    with artifact.open("wb") as stream:
        stream.truncate(MAX_JOB_ARTIFACT_BYTES + 1)  # sparse: no disk used
    assert ops(oci_config, *run_arguments(tmp_path, artifact)) == 1
    error = capsys.readouterr().err
    assert f"{MAX_JOB_ARTIFACT_BYTES + 1:,} bytes, over the {MAX_JOB_ARTIFACT_BYTES:,}" in error
    assert error.count("\n") == 1 and script.calls == [] and not (tmp_path / "debug-job.json").exists()


@pytest.mark.parametrize(("delete_status", "deleted"), [(204, True), (409, False)])
def test_a_failed_upload_deletes_the_job_or_leaves_it_recorded_for_teardown(
    oci_config: Path,
    stand_in: Callable,
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
    delete_status: int,
    deleted: bool,
) -> None:
    artifact = tmp_path / "model_artifact.zip"
    artifact.write_bytes(b"PK\x05\x06" + b"\0" * 18)
    record = tmp_path / "debug-job.json"
    earlier = json.dumps({"job_id": "ocid1.datasciencejob.oc1.iad.before", "compartment_id": COMPARTMENT})
    record.write_text(earlier)
    script = Script(artifact_status=400, delete_status=delete_status)
    stand_in(script)
    assert ops(oci_config, *run_arguments(tmp_path, artifact)) == 1
    error = capsys.readouterr().err
    assert "OCI refused to upload" in error and "(400 InvalidParameter): bad zip" in error
    paths = [f"{call.method} {urlsplit(call.path).path}" for call in script.calls]
    assert paths == [
        "POST /20190101/jobs",
        f"POST /20190101/jobs/{JOB_ID}/artifact",
        f"DELETE /20190101/jobs/{JOB_ID}",
    ]  # no run started
    if deleted:
        assert f"the upload failed: job {JOB_ID} deleted" in error
        assert record.read_text() == earlier  # as it was
    else:
        assert "(409 Conflict): the job is busy; it stays recorded in" in error and "make teardown" in error
        assert json.loads(record.read_text())["job_id"] == JOB_ID


def test_the_upload_gives_the_client_its_timeouts_back_when_it_fails(tmp_path: Path) -> None:
    class Refusing:
        base_client = type("Base", (), {"timeout": (10, 60)})()

        def create_job_artifact(self, *arguments: Any, **options: Any) -> None:
            assert self.base_client.timeout == (10, 600)  # a long read while OCI stores the zip
            raise oci.exceptions.RequestException("timed out")

    client = Refusing()
    artifact = tmp_path / "model_artifact.zip"
    artifact.write_bytes(b"zip")
    with pytest.raises(oci.exceptions.RequestException):
        debug_job.upload(client, JOB_ID, artifact)
    assert client.base_client.timeout == (10, 60)


def test_debug_job_logs_needs_only_the_record_and_stops_after_a_run_that_ended_long_ago(
    oci_config: Path, stand_in: Callable, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    record = tmp_path / "debug-job.json"
    record.write_text(json.dumps({"job_id": JOB_ID, "compartment_id": COMPARTMENT, "job_run_id": RUN_ID}))
    script = Script(
        run_states=["FAILED"],
        finished_ago=timedelta(minutes=30),
        polls={RUN_LOG: [[entry(RUN_LOG, 1, "ModuleNotFoundError: No module named 'x'")]]},
    )
    stand_in(script)
    arguments = ("--settings", str(tmp_path / "absent.toml"), "--record", str(record), "--logs")
    assert ops(oci_config, "debug-job", *arguments, "--interval", "0", "--polls", "5") == 0
    out = capsys.readouterr().out
    assert "ModuleNotFoundError: No module named 'x'" in out and "late lines" not in out
    assert script.searched[RUN_LOG] == 1  # ended half an hour ago: every late line is in by now


def test_the_job_reads_the_model_where_the_job_has_it_in_cmd_entrypoint_and_environment(
    tmp_path: Path,
) -> None:
    settings = load_settings(settings_file(tmp_path))
    settings["container"] |= {
        "entrypoint": ["python", f"{MODEL_MOUNT}/start.py"],
        "cmd": [f"--model={MODEL_MOUNT}/model.bin"],
        "environment": {"WEIGHTS": f"{MODEL_MOUNT}/weights", "OTHER": "kept"},
    }
    environment = debug_job.job_body(settings)["jobEnvironmentConfigurationDetails"]
    variables = debug_job.job_body(settings)["jobConfigurationDetails"]["environmentVariables"]
    assert environment["entrypoint"] == ["python", f"{JOB_ARTIFACT_DIR}/start.py"]
    assert environment["cmd"] == [f"--model={JOB_ARTIFACT_DIR}/model.bin"]
    assert variables["WEIGHTS"] == f"{JOB_ARTIFACT_DIR}/weights" and variables["OTHER"] == "kept"


@pytest.mark.parametrize(("shape", "flexible"), [("VM.Standard.E4.Flex", True), ("VM.GPU.A10.1", False)])
def test_the_job_and_the_deployment_send_the_same_shape_config(
    tmp_path: Path, shape: str, flexible: bool
) -> None:
    settings = load_settings(settings_file(tmp_path))
    settings["instances"]["shape"] = shape
    settings["model_id"] = "ocid1.datasciencemodel.oc1.iad.logs"
    job = debug_job.job_body(settings)["jobInfrastructureConfigurationDetails"].get("jobShapeConfigDetails")
    instance = deployment_configuration(settings)["modelConfigurationDetails"]["instanceConfiguration"]
    deployed = instance.get("modelDeploymentInstanceShapeConfigDetails")
    assert job == deployed
    assert (deployed == {"ocpus": 1, "memoryInGBs": 16}) is flexible and (deployed is None) is not flexible


@pytest.mark.parametrize("value", ["0", "1"])
def test_the_make_switches_of_the_log_targets_are_on_for_1_only(value: str) -> None:
    switches = [f"{name}={value}" for name in ("FOLLOW", "DEBUG_JOB_RUN", "DEBUG_JOB_LOGS")]
    command = ["make", "--no-print-directory", "-n", "logs-remote", "debug-job", *switches]
    result = subprocess.run(command, cwd=PROJECT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    for flag in ("--follow", "--run", "--logs"):
        assert (flag in result.stdout) is (value == "1"), result.stdout
