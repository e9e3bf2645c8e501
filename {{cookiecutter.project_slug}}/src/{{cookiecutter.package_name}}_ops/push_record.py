"""Record what `make push` pushed, as one thing: the image reference with its digest, size and platform.

The registry's digest comes from the push (podman's --digestfile, or docker's
"digest: sha256:..." line); the size, platform and local id from the container
CLI's view of the image just pushed. ``make deploy-config`` deploys this record
(image and digest together) and checks its size and platform against the shape. The
pushes it replaced stay listed in it (``earlier``: image and digest), for ``make
teardown`` to delete them too.

    python -m {{ cookiecutter.package_name }}_ops push-record --image HOST/NAMESPACE/REPO:TAG [--cli docker]
        [--digest-file .push-digest] [--push-log .push.log] [--output deploy/pushed-image.json]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from {{ cookiecutter.package_name }}.oci_rules import DIGEST_RE

from .project import DEPLOY, write_json

RECORD = DEPLOY / "pushed-image.json"
PUSHED_DIGEST_RE = re.compile(r"digest: (sha256:[0-9a-f]{64})")
FIELDS = ("image", "digest", "size_bytes", "platform", "local_id")
EARLIER = "earlier"


class RecordError(ValueError):
    """No push to record, or a record that can't be used; the message says which."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--image", required=True, help="the reference pushed: HOST/NAMESPACE/REPO:TAG")
    parser.add_argument(
        "--cli", default="docker", help="docker or podman: reads the image's size and platform"
    )
    parser.add_argument(
        "--digest-file", type=Path, default=Path(".push-digest"), help="podman's --digestfile"
    )
    parser.add_argument("--push-log", type=Path, default=Path(".push.log"), help="the push's output (docker)")
    parser.add_argument("--output", type=Path, default=RECORD)


def pushed_digest(digest_file: Path, push_log: Path) -> str:
    """The digest the registry gave the push: podman's digest file, else the last one docker printed."""
    if digest_file.is_file():
        digest = digest_file.read_text().strip()
    elif push_log.is_file() and (found := PUSHED_DIGEST_RE.findall(push_log.read_text())):
        digest = found[-1]
    else:
        raise RecordError("no pushed digest found: run `make push` first")
    if not DIGEST_RE.fullmatch(digest):
        raise RecordError(f"{digest!r} is not a sha256 digest")
    return digest


def inspect_image(cli: str, image: str) -> dict[str, Any]:
    """Size (bytes, uncompressed), platform and id of a local image, from the container CLI."""
    try:
        result = subprocess.run([cli, "image", "inspect", image], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise RecordError(f"`{cli} image inspect {image}` did not run: {error}") from None
    if result.returncode != 0:
        raise RecordError(f"`{cli} image inspect {image}` failed: {result.stderr.strip()}")
    try:
        found = json.loads(result.stdout)[0]
        return {
            "size_bytes": int(found["Size"]),
            "platform": f"{found.get('Os') or 'linux'}/{found['Architecture']}",
            "local_id": found["Id"] if ":" in found["Id"] else f"sha256:{found['Id']}",
        }
    except (ValueError, LookupError, TypeError) as error:
        raise RecordError(f"`{cli} image inspect {image}` gave no size or platform ({error})") from None


def load_record(path: Path = RECORD) -> dict[str, Any] | None:
    """The recorded push, or None when nothing was pushed; RecordError when the file is not one."""
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text())
    except ValueError as error:
        raise RecordError(f"{path} is not JSON ({error}): run `make push` again") from None
    missing = [name for name in FIELDS if name not in record]
    if missing or not DIGEST_RE.fullmatch(str(record.get("digest"))):
        raise RecordError(f"{path} lacks {', '.join(missing) or 'a sha256 digest'}: run `make push` again")
    return record


def with_earlier(record: dict[str, Any], previous: dict[str, Any] | None) -> dict[str, Any]:
    """``record``, listing the pushes before it (image and digest), oldest first, each once."""
    pushes = [*previous.get(EARLIER, []), previous] if previous else []
    earlier: list[dict[str, str]] = []
    for push in pushes:
        entry = {"image": push["image"], "digest": push["digest"]}
        if entry not in earlier and (entry["image"], entry["digest"]) != (record["image"], record["digest"]):
            earlier.append(entry)
    return record | {EARLIER: earlier} if earlier else record


def run(args: argparse.Namespace) -> int:
    try:
        record = {"image": args.image, "digest": pushed_digest(args.digest_file, args.push_log)}
        record |= inspect_image(args.cli, args.image)
    except RecordError as error:
        print(f"nothing recorded: {error}", file=sys.stderr)
        return 1
    try:
        previous = load_record(args.output)
    except RecordError:
        previous = None  # a broken record names no push to keep
    record = with_earlier(record, previous)
    write_json(args.output, record)
    megabytes = record["size_bytes"] / 1e6
    print(f"{record['image']}@{record['digest']} ({megabytes:.0f} MB, {record['platform']}) -> {args.output}")
    return 0
