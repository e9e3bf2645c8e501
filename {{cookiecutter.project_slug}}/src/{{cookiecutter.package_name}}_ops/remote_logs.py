"""Print the deployment's predict and access logs from OCI Logging (the Logging Search API, OCI SDK).

The logs are the ones deploy/deployment.toml names in ``[logging]`` (with its
``compartment_id``): the predict log holds what the container wrote (the scorer's JSON
lines, gunicorn's own lines), the access log each call the load balancer passed on.
Each entry is printed as the container wrote it (the entry's ``data.message``; an
entry without one as its JSON), oldest first, for the last ``--since`` (``30s``,
``15m``, ``2h``, ``1d``: at most 14 days, what one search may span). Only the entries of
the deployment recorded in deploy/deployment-id.txt (``--deployment-id`` another) are
printed, as ADS filters them (``source = '*<deployment OCID>'``): a log may be shared; with
no deployment recorded, every entry is. ``--follow`` asks again every ``--interval`` seconds
and prints only what is new, until Ctrl-C. OCI collects logs a few minutes late: an entry
may appear after the call it records.

    python -m {{ cookiecutter.package_name }}_ops logs-remote [--since 15m] [--log all|predict|access] [--follow]
        [--deployment-id OCID]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import oci

from . import oci_client
from .errors import InputError
from .oci_models import check_body, to_sdk_model
from .project import (
    DEPLOYMENT_ID_FILE,
    PROJECT,
    SETTINGS,
    compartment_of,
    read_settings,
    recorded_deployment_id,
)

HELP = {"logs-remote": "Print the deployment's predict and access logs from OCI Logging, oldest first"}
KINDS = ("predict", "access")
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
SINCE_RE = re.compile(r"([1-9][0-9]{0,6})([smhd])")
# One search spans at most 14 days (the Logging Search API; ADS's oci_logging.py splits longer ones).
MAX_SINCE = timedelta(days=14)
# The most results one page of a search holds (the Logging Search API's limit; ADS asks for as many).
PAGE_LIMIT = 1000
# Ours: OCI collects logs minutes late (ADS's model deployment logs page says they are not real
# time), so polling faster shows nothing sooner; each poll is one search per log.
FOLLOW_INTERVAL = 10.0
# Each poll searches again from this long before the last one ended, for entries that arrived
# late (ADS's OCILog.stream overlaps its searches by 3 minutes); what was printed is not again.
OVERLAP = timedelta(minutes=3)
# OCI's answer (400) when a search finds more than it returns at once; ADS's OCILog._search_logs
# then searches each half of the range. Ours: at most this many halvings (16 searches of a log
# for one range) before asking for a shorter SINCE.
TOO_LARGE = "search result is too large"
MAX_HALVINGS = 4
LOGGING_ENDPOINT_ENV = "OCI_LOGGING_SEARCH_ENDPOINT"
NO_LOGS = """no {what} log in {settings} [logging]: the deployment's logs go nowhere yet.
To have them:
  1. OCI Console > Observability & Management > Logging > Log Groups: create a log group
     in the deployment's compartment (`oci logging log-group create --compartment-id ... --display-name ...`).
  2. In it, create two custom logs, e.g. predict and access (Logs > Create custom log;
     `oci logging log create --log-group-id ... --display-name predict --log-type CUSTOM`).
  3. Put their OCIDs in {settings} [logging]: predict_log_group_id and predict_log_id,
     access_log_group_id and access_log_id (the same group for both is fine).
  4. `make deploy-config` and `make deploy-update` (or `make deploy`): a deployment writes to
     the logs it was given when it was created or updated."""


@dataclass(frozen=True, order=True)
class Entry:
    """One log entry: when it was written (ms since the epoch, for order), its id, its text."""

    millis: int
    key: str
    text: str


@dataclass(frozen=True)
class Log:
    """One log of OCI Logging: what it holds, and where (compartment, log group, log)."""

    kind: str
    compartment_id: str
    group_id: str
    log_id: str

    def stream(self) -> str:
        """The log stream of a search query: "<compartment>/<log group>/<log>"."""
        return f"{self.compartment_id}/{self.group_id}/{self.log_id}"


def parse_since(text: str) -> timedelta:
    """``30s``, ``15m``, ``2h``, ``1d`` as a duration, from 1 second to 14 days; InputError when not."""
    found = SINCE_RE.fullmatch(text.strip())
    duration = timedelta(seconds=int(found[1]) * UNITS[found[2]]) if found else None
    if duration is None or duration > MAX_SINCE:
        raise InputError(
            f"SINCE: {text!r} is not a duration from 1s to 14d: a whole number and s, m, h or d "
            "(30s, 15m, 2h, 1d)"
        )
    return duration


def configured_logs(settings: dict[str, Any], kinds: Iterable[str], source: Path | str) -> list[Log]:
    """The logs of ``kinds`` that ``[logging]`` names; InputError saying how to configure them when none."""
    logging = settings.get("logging") or {}
    logs = [
        Log(
            kind, compartment_of(settings, source), logging[f"{kind}_log_group_id"], logging[f"{kind}_log_id"]
        )
        for kind in kinds
        if logging.get(f"{kind}_log_id") and logging.get(f"{kind}_log_group_id")
    ]
    if not logs:
        what = " or ".join(kinds)
        raise InputError(NO_LOGS.format(what=what, settings=source))
    return logs


def rfc3339(moment: datetime) -> str:
    """``moment`` as the Logging Search API takes it: UTC, milliseconds, a Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def search_body(log: Log, start: datetime, end: datetime, where: str | None = None) -> dict[str, Any]:
    """The ``SearchLogsDetails`` of one log between ``start`` and ``end``, oldest first."""
    query = f'search "{log.stream()}"' + (f" | where {where}" if where else "") + " | sort by datetime asc"
    body = {"timeStart": rfc3339(start), "timeEnd": rfc3339(end), "searchQuery": query}
    check_body(body, "SearchLogsDetails", mapping=oci.loggingsearch.models.loggingsearch_type_mapping)
    return body


def entry_of(result: Any) -> Entry:
    """An entry of a search result: the text the container wrote (``data.message``), or the
    entry's data as JSON when it has no message."""
    data = result.data if isinstance(getattr(result, "data", None), dict) else {}
    content = data.get("logContent") if isinstance(data.get("logContent"), dict) else {}
    payload = content.get("data")
    message = payload.get("message") if isinstance(payload, dict) else None
    text = message if isinstance(message, str) else json.dumps(payload if payload is not None else data)
    millis = data.get("datetime") if isinstance(data.get("datetime"), int) else 0
    key = content.get("id") or f"{millis}:{text}"
    return Entry(millis, str(key), text.rstrip("\n"))


def too_large(error: Exception) -> bool:
    """OCI's refusal of a search that finds too much at once."""
    return (
        isinstance(error, oci.exceptions.ServiceError)
        and error.status == 400
        and TOO_LARGE in str(error.message).lower()  # ADS looks for these words
    )


def search(
    client: Any, log: Log, start: datetime, end: datetime, where: str | None = None, halvings: int = 0
) -> list[Entry]:
    """Every entry of ``log`` between ``start`` and ``end``, page after page (opc-next-page); a
    range OCI finds too large searched by halves, at most MAX_HALVINGS deep (then OCI's error)."""
    try:
        return search_pages(client, log, start, end, where)
    except oci.exceptions.ServiceError as error:
        if not too_large(error) or halvings >= MAX_HALVINGS:
            raise
    middle = start + (end - start) / 2
    return [
        *search(client, log, start, middle, where, halvings + 1),
        *search(client, log, middle, end, where, halvings + 1),
    ]


def search_pages(client: Any, log: Log, start: datetime, end: datetime, where: str | None) -> list[Entry]:
    """Every entry of one search, page after page (opc-next-page)."""
    body = search_body(log, start, end, where)
    details = to_sdk_model(
        body, "SearchLogsDetails", mapping=oci.loggingsearch.models.loggingsearch_type_mapping
    )
    entries: list[Entry] = []
    page = None
    while True:
        options = {"limit": PAGE_LIMIT, **({"page": page} if page else {})}
        response = client.search_logs(details, **options)
        entries += [entry_of(result) for result in response.data.results or []]
        page = response.headers.get("opc-next-page")
        if not page:
            return entries


Search = Callable[[datetime, datetime], list[Entry]]


def follow(
    searches: Search,
    since: timedelta,
    *,
    keep_polling: bool,
    interval: float = FOLLOW_INTERVAL,
    polls: int | None = None,
    ended: Callable[[], datetime | None] | None = None,
    grace: timedelta = OVERLAP,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    sleep: Callable[[float], None] = time.sleep,
    out: Callable[[str], None] = print,
) -> int:
    """Print what ``searches`` finds in the last ``since``, oldest first; with ``keep_polling``, ask
    again every ``interval`` seconds (at most ``polls`` times in all) and print only entries not
    printed yet. ``ended()`` says when what writes the log stopped (None while it runs): polling
    goes on until ``grace`` after that, since OCI Logging takes in entries minutes late (a run
    that fails fast has ended before its traceback can be found). The number of entries printed."""
    first = start = now() - since
    printed: dict[str, int] = {}  # key: millis, forgotten once before the window
    asked = 0
    while True:
        end = now()
        stopped = ended() if ended else None  # asked before the search: its last entries are in it
        for entry in sorted(searches(start, end)):
            if entry.key not in printed:
                printed[entry.key] = entry.millis
                out(entry.text)
        asked += 1
        late_enough = stopped is not None and end >= stopped + grace
        if not keep_polling or late_enough or (polls is not None and asked >= polls):
            return len(printed)
        start = max(first, end - OVERLAP)
        floor = int(start.timestamp() * 1000)
        printed = {key: millis for key, millis in printed.items() if millis >= floor or not millis}
        sleep(interval)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--settings", type=Path, default=SETTINGS)
    parser.add_argument("--since", default="15m", help="how far back: 30s, 15m, 2h, 1d (at most 14d)")
    parser.add_argument("--log", choices=("all", *KINDS), default="all", help="which log (default both)")
    parser.add_argument("--follow", action="store_true", help="keep asking for new entries until Ctrl-C")
    parser.add_argument("--interval", type=float, default=FOLLOW_INTERVAL, help="seconds between polls")
    parser.add_argument("--polls", type=int, help="stop following after this many searches (tests)")
    parser.add_argument(
        "--deployment-id",
        help=f"only this deployment's entries (default: the OCID in {DEPLOYMENT_ID_FILE.relative_to(PROJECT)})",
    )
    add_logging_endpoint(parser)


def add_logging_endpoint(parser: argparse.ArgumentParser) -> None:
    """The OCI options, and where the Logging Search requests go (a stand-in in tests)."""
    oci_client.add_arguments(parser)
    parser.add_argument("--logging-endpoint", default=os.environ.get(LOGGING_ENDPOINT_ENV))


def search_client(args: argparse.Namespace) -> Any:
    """The Logging Search client, signed as every OCI command here (profile, signer, region, retry)."""
    options = argparse.Namespace(**{**vars(args), "endpoint": args.logging_endpoint})
    return oci_client.client(options, oci.loggingsearch.LogSearchClient)


def print_logs(
    args: argparse.Namespace,
    logs: list[Log],
    since: timedelta,
    where: str | None = None,
    since_text: str | None = None,
    **follow_options: Any,
) -> int:
    """Search ``logs`` (each filtered by ``where``) and print them as ``follow`` does; 1 with one line
    when OCI refuses, 130 on Ctrl-C. ``since_text``: the SINCE it was asked as, for the messages."""
    since_text = since_text or str(since)
    try:
        client = search_client(args)

        def searches(start: datetime, end: datetime) -> list[Entry]:
            return [entry for log in logs for entry in search(client, log, start, end, where)]

        follow_options.setdefault("keep_polling", getattr(args, "follow", False))
        follow_options.setdefault("interval", args.interval)
        follow_options.setdefault("polls", args.polls)
        count = follow(searches, since, **follow_options)
    except oci_client.SDK_ERRORS as error:
        if too_large(error):
            print(
                f"the last {since_text} holds more entries than OCI Logging returns at once "
                f'("{TOO_LARGE}", even searched in {2**MAX_HALVINGS} parts): use a shorter SINCE',
                file=sys.stderr,
            )
            return 1
        where_to = args.logging_endpoint or "the Logging endpoint of the profile's region"
        print(oci_client.failure(error, "search the logs", where_to), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstopped following the logs", file=sys.stderr)
        return 130
    if not count:
        names = ", ".join(f"{log.kind} {log.log_id}" for log in logs)
        print(
            f"no entries in the last {since_text} ({names}); OCI collects logs a few minutes late, and "
            "a log group in another compartment than compartment_id shows nothing here "
            "(the search looks in compartment_id)",
            file=sys.stderr,
        )
    return 0


def deployment_filter(deployment_id: str | None) -> str | None:
    """The ``where`` of the deployment's own entries (ADS's OCILog.search: ``source = <OCID>`` is
    refused, ``source = '*<OCID>'`` works); None, saying so, when no deployment is known."""
    if deployment_id:
        return f"source = '*{deployment_id}'"
    print(
        f"no deployment recorded ({DEPLOYMENT_ID_FILE.relative_to(PROJECT)}) or given (DEPLOYMENT_ID=): "
        "printing every entry of the logs, whichever deployment wrote it",
        file=sys.stderr,
    )
    return None


def run(args: argparse.Namespace) -> int:
    since = parse_since(args.since)
    settings = read_settings(args.settings)
    kinds = KINDS if args.log == "all" else (args.log,)
    logs = configured_logs(settings, kinds, args.settings)
    where = deployment_filter(args.deployment_id or recorded_deployment_id())
    return print_logs(args, logs, since, where, since_text=args.since)
