"""Vulnerability scanning of the image: OCI Vulnerability Scanning of its OCIR repository, or Trivy here.

``scan-setup`` writes the bodies of a container scan recipe and of a scan target for
the image's repository (deploy/scan_recipe.json, deploy/scan_target.json, checked against
the OCI SDK's models), and prints the two ``oci`` commands that create them, or with
``--run`` creates them with the OCI SDK and records both OCIDs in deploy/scan-setup.json
(the recipe's as soon as it exists: a run after a failed target reuses it). Once the target
exists, OCI scans each image pushed to the repository. The repository is the one of the
last push (deploy/pushed-image.json), else deploy/deployment.toml's [registry] repository. A repository that a
first ``docker push`` created lies in the root compartment: pass the tenancy OCID as
``--repository-compartment-id`` then. The commands that talk to OCI sign as every OCI
command does (``--profile``, ``--config``, ``--auth``); ``OCI_VULNERABILITY_SCANNING_ENDPOINT``
or ``--endpoint`` sends their requests elsewhere.

``scan-results`` asks OCI for the latest scan of the pushed image and prints its
problems, most severe first; ``--fail-on HIGH`` exits 1 when one is HIGH or worse. OCI
names a scan result by repository and tag, not by digest: the result is that of the
image the tag pointed to when it was scanned.

``scan`` scans the local image with Trivy, when it is installed (exit 1: HIGH or
CRITICAL found).

    python -m {{ cookiecutter.package_name }}_ops scan-setup [--repository-compartment-id OCID] [--repository NAME] [--run]
        [--settings deploy/deployment.toml] [--record deploy/pushed-image.json] [--output-dir deploy]
        [--profile DEFAULT] [--config ~/.oci/config] [--auth api_key] [--endpoint URL]
    python -m {{ cookiecutter.package_name }}_ops scan-results [--fail-on HIGH] [--limit 20] [--compartment-id OCID]
        [--settings deploy/deployment.toml] [--record deploy/pushed-image.json]
    python -m {{ cookiecutter.package_name }}_ops scan --image IMAGE_NAME:IMAGE_TAG
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, NamedTuple

from {{ cookiecutter.package_name }}.oci_rules import ocir_host

from .project import (
    DEPLOY,
    SETTINGS,
    SLUG,
    SettingsError,
    compartment_of,
    freeform_tags,
    read_settings,
    write_json,
)
from .push_record import RECORD, RecordError, load_record

HELP = {
    "scan-setup": "Print the oci commands that make OCI scan the image's repository (--run: make it so, OCI SDK)",
    "scan-results": "Print OCI's latest vulnerability scan of the pushed image, most severe problems first",
    "scan": "Scan the local image with Trivy (exit 1: a HIGH or CRITICAL vulnerability)",
}
RECIPE_FILE = "scan_recipe.json"
TARGET_FILE = "scan_target.json"
# The OCIDs scan-setup --run created: what a teardown deletes.
SETUP_FILE = "scan-setup.json"
SETUP_RECORD = DEPLOY / SETUP_FILE
RECIPE_ID = "<recipe OCID printed by the first command>"
# ContainerScanResultProblem.severity's allowed values, least severe first.
SEVERITIES = ("NONE", "LOW", "MEDIUM", "HIGH", "CRITICAL")
ENDPOINT_ENV = "OCI_VULNERABILITY_SCANNING_ENDPOINT"
TRIVY = ["trivy", "image", "--exit-code", "1", "--severity", "HIGH,CRITICAL"]
INSTALL_TRIVY = (
    "trivy is not installed: install it (brew install trivy; Aqua's apt or rpm repository; or a "
    "release binary, see https://trivy.dev/latest/getting-started/installation/), then run make scan again"
)


class ScanError(ValueError):
    """The scan can't be set up or read as asked; the message says why."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    command = parser.prog.rsplit(" ", 1)[-1]
    if command == "scan":
        parser.add_argument("--image", required=True, help="the local image: IMAGE_NAME:IMAGE_TAG")
        return
    parser.add_argument("--settings", type=Path, default=SETTINGS, help="deploy/deployment.toml")
    parser.add_argument(
        "--record", type=Path, default=RECORD, help="the last push (deploy/pushed-image.json)"
    )
    if command == "scan-setup":
        parser.add_argument(
            "--repository-compartment-id",
            help="where the repository is (default: the deployment's compartment; the tenancy OCID for "
            "a repository a first push created)",
        )
        parser.add_argument(
            "--repository", help="default: the pushed image's, else deployment.toml's [registry] repository"
        )
        parser.add_argument("--output-dir", type=Path, default=DEPLOY, help="where the bodies go (deploy/)")
        parser.add_argument(
            "--run",
            action="store_true",
            help="create the recipe and the target (OCI SDK) instead of printing the oci commands",
        )
    else:
        parser.add_argument(
            "--compartment-id", help="the scan target's (default: the deployment's compartment)"
        )
        parser.add_argument(
            "--fail-on", choices=SEVERITIES[1:], help="exit 1 on a problem this severe or worse"
        )
        parser.add_argument("--limit", type=int, default=20, help="problems shown per result (default 20)")
    from . import oci_client  # the SDK: for these commands only

    oci_client.add_arguments(parser)
    parser.set_defaults(endpoint=os.environ.get(ENDPOINT_ENV))


def repository_and_tag(image: str) -> tuple[str, str]:
    """``("team/scorer", "1.0")`` of ``iad.ocir.io/namespace/team/scorer:1.0``: the name OCIR knows."""
    parts = image.partition("@")[0].split("/", 2)
    if len(parts) < 3 or not parts[2]:
        raise ScanError(f"{image!r} is not HOST/NAMESPACE/REPOSITORY:TAG")
    repository, colon, tag = parts[2].rpartition(":")
    return (repository, tag) if colon else (parts[2], "")


def default_repository(record: dict[str, Any] | None, settings: Path = SETTINGS) -> str:
    """The pushed image's repository, else the one deploy/deployment.toml's [registry] names."""
    if record:
        return repository_and_tag(record["image"])[0]
    return read_settings(settings, ("registry.repository",))["registry"]["repository"]


def recipe_body(compartment_id: str, tags: dict[str, str] | None = None) -> dict[str, Any]:
    """The ``CreateContainerScanRecipeDetails`` body."""
    body = {
        "compartmentId": compartment_id,
        "displayName": f"{SLUG}-scan-recipe",
        "scanSettings": {"scanLevel": "STANDARD"},
    }
    return body | ({"freeformTags": tags} if tags else {})


def target_body(
    compartment_id: str,
    region: str,
    repository_compartment_id: str,
    repository: str,
    tags: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The ``CreateContainerScanTargetDetails`` body (its recipe OCID goes on the command line)."""
    host = ocir_host(region)
    if not host:
        raise ScanError(f"region {region!r} is not an OCI region: no Container Registry to scan")
    body = {
        "compartmentId": compartment_id,
        "displayName": f"{SLUG}-scan-target",
        "description": f"The OCIR repository {repository} of {SLUG}",
        "targetRegistry": {
            "type": "OCIR",
            "url": f"https://{host}",
            "compartmentId": repository_compartment_id,
            "repositories": [repository],
        },
    }
    return body | ({"freeformTags": tags} if tags else {})


def checked(body: dict[str, Any], type_name: str) -> dict[str, Any]:
    """``body``, once the SDK's Vulnerability Scanning model keeps it unchanged."""
    from oci.vulnerability_scanning.models import vulnerability_scanning_type_mapping

    from .oci_models import ModelMismatch, check_body

    try:
        check_body(body, type_name, mapping=vulnerability_scanning_type_mapping)
    except ModelMismatch as error:
        raise ScanError(str(error)) from None
    return body


def shown(path: Path) -> str:
    """``path`` relative to the working folder when it is inside it (deploy/... from the Makefile)."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def setup_commands(recipe_file: Path, target_file: Path, recipe_id: str = RECIPE_ID) -> list[list[str]]:
    """The two oci commands; each prints the OCID of what it created."""
    prefix = ["oci", "vulnerability-scanning", "container", "scan"]
    query = ["--query", "data.id", "--raw-output"]
    return [
        [*prefix, "recipe", "create", "--from-json", f"file://{shown(recipe_file)}", *query],
        [
            *prefix,
            *("target", "create", "--from-json", f"file://{shown(target_file)}"),
            *("--container-scan-recipe-id", recipe_id, *query),
        ],
    ]


class Bodies(NamedTuple):
    """What scan-setup wrote, and what its record keeps beside the OCIDs."""

    recipe_file: Path
    target_file: Path
    recipe: dict[str, Any]
    target: dict[str, Any]
    kept: dict[str, Any]


def write_bodies(args: argparse.Namespace) -> Bodies:
    """Both bodies, checked and written to --output-dir; and what the setup record keeps."""
    settings = read_settings(args.settings)
    compartment_id = compartment_of(settings, args.settings)
    repository = args.repository or default_repository(load_record(args.record), args.settings)
    repository_compartment_id = args.repository_compartment_id or compartment_id
    tags = freeform_tags(settings, args.settings)
    recipe = checked(recipe_body(compartment_id, tags), "CreateContainerScanRecipeDetails")
    region = settings.get("region", "")
    target = target_body(compartment_id, region, repository_compartment_id, repository, tags)
    checked(target, "CreateContainerScanTargetDetails")
    recipe_file, target_file = args.output_dir / RECIPE_FILE, args.output_dir / TARGET_FILE
    write_json(recipe_file, recipe)
    write_json(target_file, target)
    kept = {
        "compartment_id": compartment_id,
        "repositories": [repository],
        "repository_compartment_id": repository_compartment_id,
    }
    return Bodies(recipe_file, target_file, recipe, target, kept)


def created_id(args: argparse.Namespace, client: Any, what: str, body: dict[str, Any]) -> str:
    """Creates the container scan ``what`` ("recipe", "target") from ``body``; its OCID.

    Any failure of the SDK is a ScanError of one line.
    """
    from oci.vulnerability_scanning.models import vulnerability_scanning_type_mapping

    from . import oci_client
    from .oci_models import to_sdk_model

    type_name = f"CreateContainerScan{what.title()}Details"
    details = to_sdk_model(body, type_name, mapping=vulnerability_scanning_type_mapping)
    try:
        return getattr(client, f"create_container_scan_{what}")(details).data.id
    except oci_client.SDK_ERRORS as error:
        raise ScanError(sdk_failure(args, error, f"create the container scan {what}")) from None


def sdk_failure(args: argparse.Namespace, error: Exception, doing: str) -> str:
    from . import oci_client

    where = args.endpoint or "the Vulnerability Scanning endpoint of the profile's region"
    return oci_client.failure(error, doing, where)


def run_setup(args: argparse.Namespace, bodies: Bodies, record: Path) -> None:
    """Creates the recipe (unless a record holds one) and the target; records each OCID as it comes."""
    from . import oci_client

    try:
        recorded = json.loads(record.read_text()) if record.is_file() else {}
    except ValueError as error:
        raise ScanError(f"{record} is not JSON ({error}): fix or remove it") from None
    if recorded.get("target_id"):
        raise ScanError(
            f"{record} records scan target {recorded['target_id']}: scanning is set up; delete it and "
            f"its recipe first (or the file) to set up anew"
        )
    try:
        client = scanning_client(args)
    except oci_client.CLIENT_ERRORS as error:
        raise ScanError(sdk_failure(args, error, "set up the scan")) from None
    recipe_id = recorded.get("recipe_id")
    if recipe_id:
        print(f"container scan recipe {recipe_id} (recorded in {shown(record)})")
    else:
        recipe_id = created_id(args, client, "recipe", bodies.recipe)
        write_json(record, bodies.kept | {"recipe_id": recipe_id, "target_id": None})
        print(f"container scan recipe {recipe_id}")
    target_id = created_id(args, client, "target", bodies.target | {"containerScanRecipeId": recipe_id})
    write_json(record, bodies.kept | {"recipe_id": recipe_id, "target_id": target_id})
    print(f"container scan target {target_id} -> {shown(record)}")


def setup(args: argparse.Namespace) -> int:
    try:
        bodies = write_bodies(args)
        recipe_file, target_file = bodies.recipe_file, bodies.target_file
        print(f"# {shown(recipe_file)}, {shown(target_file)}: scan {bodies.kept['repositories'][0]} in OCIR")
        if args.run:
            run_setup(args, bodies, args.output_dir / SETUP_FILE)
            return 0
    except (ScanError, RecordError, SettingsError) as error:
        print(f"scan-setup: {error}", file=sys.stderr)
        return 1
    recipe, target = setup_commands(recipe_file, target_file)
    print("# 1. create the container scan recipe (prints its OCID)")
    print(shlex.join(recipe))
    print("# 2. create the scan target of the repository, with that recipe")
    print(shlex.join(target))
    return 0


def rank(severity: str | None) -> int:
    """How severe: the index in SEVERITIES (-1 for a value the SDK did not know)."""
    return SEVERITIES.index(severity) if severity in SEVERITIES else -1


def scanning_client(args: argparse.Namespace) -> Any:
    import oci

    from . import oci_client

    return oci_client.client(args, oci.vulnerability_scanning.VulnerabilityScanningClient)


def latest_results(args: argparse.Namespace, compartment_id: str, repository: str, tag: str) -> list[Any]:
    """The latest scan result of ``repository:tag``, in full (one per scan target that scans it)."""
    import oci

    client = scanning_client(args)
    summaries = oci.pagination.list_call_get_all_results(
        client.list_container_scan_results,
        compartment_id,
        repository=repository,
        image=tag,
        is_latest_only=True,
    ).data
    return [client.get_container_scan_result(summary.id).data for summary in summaries]


def print_result(result: Any, limit: int) -> None:
    problems = sorted(
        result.problems or [], key=lambda problem: (-rank(problem.severity), problem.cve_reference or "")
    )
    finished = result.time_finished.isoformat() if result.time_finished else "not finished"
    print(
        f"scan {result.id} ({finished}): highest severity {result.highest_problem_severity}, "
        f"{result.problem_count if result.problem_count is not None else len(problems)} problems"
    )
    for problem in problems[:limit]:
        print(f"  {problem.severity:<8}  {problem.cve_reference or '-':<18}  {problem.name}")
    if len(problems) > limit:
        print(f"  ... {len(problems) - limit} more (--limit)")


def results(args: argparse.Namespace) -> int:
    from . import oci_client

    try:
        record = load_record(args.record)
        if record is None:
            raise ScanError(f"nothing pushed ({args.record} is missing): run `make push` first")
        repository, tag = repository_and_tag(record["image"])
        if not tag:
            raise ScanError(f"{record['image']} has no tag: OCI names scan results by repository and tag")
        compartment_id = args.compartment_id or compartment_of(read_settings(args.settings), args.settings)
    except (ScanError, RecordError, SettingsError) as error:
        print(f"scan-results: {error}", file=sys.stderr)
        return 1
    print(
        f"{repository}:{tag} (pushed as {record['digest']}; OCI names its scans by repository and tag, not by digest)"
    )
    try:
        found = latest_results(args, compartment_id, repository, tag)
    except oci_client.SDK_ERRORS as error:
        where = args.endpoint or "the Vulnerability Scanning endpoint of the profile's region"
        print(oci_client.failure(error, "read the container scan results", where), file=sys.stderr)
        return 1
    if not found:
        print(
            f"no scan result yet for {repository}:{tag} in {compartment_id}: a scan target (make scan-setup) "
            "scans one image of its repositories when it is created, then each image pushed to them; OCI "
            "gives no delay: run this again in a few minutes"
        )
        return 0
    for result in found:
        print_result(result, args.limit)
    return verdict(found, args.fail_on)


def verdict(found: list[Any], fail_on: str | None) -> int:
    """1 when a problem is at least ``fail_on`` severe, else 0."""
    if fail_on is None:
        return 0
    severe = [p for result in found for p in result.problems or [] if rank(p.severity) >= rank(fail_on)]
    worst = max(rank(result.highest_problem_severity) for result in found)
    if severe or worst >= rank(fail_on):
        print(f"--fail-on {fail_on}: {len(severe)} problems listed at {fail_on} or worse", file=sys.stderr)
        return 1
    return 0


def scan(args: argparse.Namespace) -> int:
    if not shutil.which("trivy"):
        print(f"scan: {INSTALL_TRIVY}", file=sys.stderr)
        return 2
    command = [*TRIVY, args.image]
    print(shlex.join(command))
    return subprocess.run(command).returncode


def run(args: argparse.Namespace) -> int:
    return {"scan-setup": setup, "scan-results": results, "scan": scan}[args.command](args)
