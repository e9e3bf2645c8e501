"""Check, in a few seconds and changing nothing, what each part of the work needs (`make doctor`).

The checks come in three stages, each what a part of the work needs on top of the one before:

- ``local``: install, train, test and serve on this machine: the Python that makes .venv,
  ``make``, free disk space for .venv, and the port ``make serve`` and ``make run`` use;
- ``image``: build and run the image: a container CLI (docker or podman) that answers and the
  platform it builds, and free disk space where it keeps images;
- ``oci``: push, catalog, deploy and call it: the OCI config file and profile (its OCIDs and fingerprint well-formed, the API key
  present and readable by you only), one region everywhere (deploy/deployment.toml, the profile,
  the registry host), a namespace that is not the template's example, and a registry login for
  that host.

``--stage local`` checks the local stage only, ``--stage image`` local and image, ``--stage oci``
(or no ``--stage``) all three. One line per check, ``ok`` or ``FAIL`` with what to do, under a
header per stage; the last line says which stages are ready. The exit status is 0 only when
every check of the stages asked passes: ``make doctor STAGE=local`` passes on a machine
without a container engine or an OCI account. Nothing goes over the network unless
``--online`` (the oci stage): then OCI is asked for the tenancy's namespace (it must be
deployment.toml's) and for the compartment's Data Science projects (the compartment exists and your
policies let you read it).

Runs with the interpreter that makes .venv (no package beyond the standard library is
needed, except the OCI SDK for ``--online``, from .venv).

    python -m {{ cookiecutter.package_name }}_ops doctor [--stage local|image|oci] [--online] [--container-cli docker]
        [--registry HOST] [--namespace NAME] [--port {{ cookiecutter.__server_port }}] [--profile DEFAULT] [--config ~/.oci/config]
"""

from __future__ import annotations

import argparse
import configparser
import errno
import json
import os
import platform
import shutil
import socket
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from {{ cookiecutter.package_name }}.oci_rules import (
    EXAMPLE_NAMESPACE,
    NAMESPACE_FIX,
    ocir_host,
    platform_of_shape,
    region_of_registry,
)

from .errors import amount

# The modules that read TOML (tomllib: Python 3.11) are imported once the Python check passed.
SETTINGS_NAME = "deployment.toml"
PYTHON_VERSION = "{{ cookiecutter.python_version }}"
PORT = {{ cookiecutter.__server_port }}
# Free space where images are stored: the base image, the build's layers and the image (about
# 0.6 GB for the default project) with room to spare.
MIN_FREE_GB = 4.0
# Free space in the project's folder: .venv (about 1.1 GB), pip's downloads and the models.
VENV_GB = 2.0
PROJECT = Path(__file__).resolve().parents[2]
# The stages, in order: each part of the work needs its stage and the ones before it.
STAGES = {
    "local": "install, train, test and serve here (make install, train, test, smoke, serve)",
    "image": "build and run the image (make build, run, predict)",
    "oci": "push, catalog, deploy and call it in OCI (make login, push, catalog, deploy, predict-remote)",
}
CLI_SECONDS = 15  # a container CLI that takes longer to answer is taken as not answering
PROFILE_KEYS = ("user", "fingerprint", "key_file", "tenancy", "region")
ARCHES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


@dataclass(frozen=True)
class Check:
    """One line of the report: what was checked, what was found, and what to do when it failed."""

    name: str
    ok: bool
    found: str
    fix: str = ""

    def line(self) -> str:
        text = f"{'ok  ' if self.ok else 'FAIL'}  {self.name:<16} {self.found}"
        return text if self.ok or not self.fix else f"{text}\n      {'':<16} fix: {self.fix}"


def port_number(text: str) -> int:
    """A port to bind on this machine, 1 to 65535 (argparse's type: a bad one is a usage error)."""
    if not (text.isascii() and text.isdigit() and 1 <= int(text) <= 65535):
        raise argparse.ArgumentTypeError(f"{text!r} is not a port from 1 to 65535")
    return int(text)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--stage",
        choices=STAGES,
        help="check this stage and those before it: local, image (+ local) or oci (all, the default)",
    )
    parser.add_argument(
        "--online", action="store_true", help="the oci stage also asks OCI for the namespace and compartment"
    )
    parser.add_argument("--container-cli", default=os.environ.get("CONTAINER_CLI", "docker"))
    parser.add_argument(
        "--registry", help="the OCIR host images go to (default: the region's, deployment.toml)"
    )
    parser.add_argument(
        "--namespace", help="the tenancy's object storage namespace (default: deployment.toml's)"
    )
    parser.add_argument("--port", type=port_number, default=os.environ.get("PORT", str(PORT)))
    parser.add_argument(
        "--min-free-gb", type=amount("GB"), default=MIN_FREE_GB, help=f"default {MIN_FREE_GB:g}"
    )
    parser.add_argument("--profile", default=os.environ.get("OCI_CLI_PROFILE", "DEFAULT"))
    parser.add_argument("--config", default=os.environ.get("OCI_CLI_CONFIG_FILE", "~/.oci/config"))
    parser.add_argument("--settings", type=Path, help="default: deploy/deployment.toml")
    parser.add_argument("--auth", default="api_key", help=argparse.SUPPRESS)  # oci_client's, for --online
    parser.add_argument(
        "--endpoint", default=os.environ.get("OCI_DATA_SCIENCE_ENDPOINT"), help=argparse.SUPPRESS
    )
    parser.add_argument(
        "--object-storage-endpoint",
        default=os.environ.get("OCI_OBJECT_STORAGE_ENDPOINT"),
        help=argparse.SUPPRESS,
    )


def python_check(expected: str = PYTHON_VERSION) -> Check:
    found = f"{platform.python_version()} ({sys.executable})"
    if f"{sys.version_info.major}.{sys.version_info.minor}" == expected:
        return Check("python", True, found)
    return Check(
        "python",
        False,
        f"{found}, the project's is {expected}",
        f"install Python {expected} (pyenv install {expected}; apt or brew python{expected}), "
        f"or give make its path: make doctor PYTHON=/path/to/python{expected}",
    )


def make_check() -> Check:
    path = shutil.which("make")
    if path is None:
        return Check(
            "make", False, "not found", "install make (apt install make; macOS: xcode-select --install)"
        )
    first = output_of([path, "--version"]).partition("\n")[0]
    return Check("make", True, first or path)


def output_of(command: list[str]) -> str:
    """What ``command`` prints; "" when it fails, is missing or takes too long."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=CLI_SECONDS, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def container_check(cli: str, shape: str) -> Check:
    """The CLI answers (its engine runs), and builds the shape's platform natively or not."""
    name = "container"
    other = next((found for found in ("podman", "docker") if found != cli and shutil.which(found)), None)
    instead = f"export CONTAINER_CLI={other} (installed here) for every target" if other else ""
    if shutil.which(cli) is None:
        fix = instead or "install podman (or docker) and start it; podman: export CONTAINER_CLI=podman"
        return Check(name, False, f"{cli} is not installed", fix)
    podman = Path(cli).name.startswith("podman")
    try:  # docker's info has Architecture (x86_64, aarch64), podman's host.arch (amd64, arm64)
        info = json.loads(output_of([cli, "info", "--format", "json"]))
        arch = str(info["host"]["arch"] if "host" in info else info["Architecture"])
    except (ValueError, KeyError, TypeError):
        start = "podman machine start" if podman else "start Docker Desktop, or sudo systemctl start docker"
        fix = f"{start}; or {instead}" if instead else start
        return Check(name, False, f"{cli} info did not answer: its engine is not running", fix)
    target = platform_of_shape(shape)
    native = f"linux/{ARCHES.get(arch, arch)}"
    how = "natively" if native == target else f"under emulation from {native} (slower; needs QEMU binfmt)"
    return Check(name, True, f"{cli} answers; builds {target} for {shape} {how}")


def read_profile(config: Path, profile: str) -> tuple[dict[str, str] | None, str]:
    """The profile's values, or None and why."""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(config.read_text())
    except (OSError, UnicodeDecodeError, configparser.Error) as error:
        return None, f"{config} can't be read: {error}"
    if profile == "DEFAULT":
        values = dict(parser.defaults())
    elif parser.has_section(profile):
        values = dict(parser.items(profile))
    else:
        values = {}
    if not values:
        profiles = ", ".join((["DEFAULT"] if parser.defaults() else []) + parser.sections()) or "none"
        return None, f"profile {profile} is not in {config} (profiles: {profiles})"
    return values, ""


def oci_checks(config: Path, profile: str) -> tuple[list[Check], dict[str, str] | None]:
    """The config file, the profile's values, the API key; and the profile when it is usable."""
    setup = "oci setup config (the OCI CLI), or the console's API key page; in CI: make oci-config"
    if not config.is_file():
        return [Check("oci config", False, f"no {config}", setup)], None
    values, why = read_profile(config, profile)
    if values is None:
        return [
            Check("oci config", False, why, f"add the profile, or OCI_CLI_PROFILE=<one of them>; {setup}")
        ], None
    checks = [Check("oci config", True, f"{config}, profile {profile}")]
    problems = [f"{key} is missing" for key in PROFILE_KEYS if not values.get(key)]
    from .oci_config_file import VARIABLES

    for field, (_, pattern) in VARIABLES.items():
        if values.get(field) and not pattern.fullmatch(values[field]):
            problems.append(f"{field} {values[field]!r} is not well-formed")
    if problems:
        fix = "copy the values from the console's API key page (Identity > Users > API keys)"
        checks.append(Check("oci profile", False, "; ".join(problems), fix))
        return checks, None
    checks.append(
        Check("oci profile", True, f"user, tenancy and fingerprint well-formed, region {values['region']}")
    )
    checks.append(key_check(Path(values["key_file"]).expanduser(), config))
    return checks, values


def key_check(key_file: Path, config: Path) -> Check:
    if not key_file.is_file():
        return Check(
            "api key",
            False,
            f"key_file {key_file} is missing",
            f"put the API key there, or fix key_file in {config}",
        )
    mode = stat.S_IMODE(key_file.stat().st_mode)
    if mode & 0o077:
        return Check(
            "api key", False, f"{key_file} is readable by others (mode {mode:o})", f"chmod 600 {key_file}"
        )
    try:
        head = key_file.read_text(errors="replace")[:100]
    except OSError as error:
        return Check("api key", False, f"{key_file} can't be read: {error.strerror}", f"chmod 600 {key_file}")
    if not (head.startswith("-----BEGIN") and "PRIVATE KEY" in head):
        return Check(
            "api key",
            False,
            f"{key_file} is not a PEM private key",
            "key_file must name the private key (.pem)",
        )
    return Check("api key", True, f"{key_file}, mode {mode:o}")


def region_check(settings_region: str, profile_region: str | None, registry: str) -> Check:
    """deploy/deployment.toml, the profile and the registry host name one region."""
    said = {SETTINGS_NAME: settings_region}
    if profile_region is not None:
        said["the profile"] = profile_region
    said[f"registry {registry}"] = region_of_registry(registry) or "no known region"
    if len(set(said.values())) == 1:
        return Check("region", True, f"{settings_region} in {', '.join(said)}")
    host = ocir_host(settings_region) or "<region key>.ocir.io"
    return Check(
        "region",
        False,
        ", ".join(f"{where}: {region}" for where, region in said.items()),
        f"one region: the deployment pulls from its own region's registry; region = in {SETTINGS_NAME} "
        f"(the registry follows: {host}; no REGISTRY= override), region= in the profile",
    )


def namespace_check(namespace: str) -> Check:
    """The registry's namespace is not the template's placeholder (OCI itself tells, --online)."""
    if namespace == EXAMPLE_NAMESPACE:
        fix = f"namespace = in {SETTINGS_NAME} ([registry]): {NAMESPACE_FIX}"
        return Check("namespace", False, f"{namespace} is the template's example, not your tenancy's", fix)
    return Check("namespace", True, f"{namespace}, the registry's")


def auth_files(cli: str) -> Iterator[Path]:
    """Where docker and podman keep registry logins."""
    if Path(cli).name.startswith("podman") or os.environ.get("REGISTRY_AUTH_FILE"):
        if os.environ.get("REGISTRY_AUTH_FILE"):
            yield Path(os.environ["REGISTRY_AUTH_FILE"])
        if os.environ.get("XDG_RUNTIME_DIR"):
            yield Path(os.environ["XDG_RUNTIME_DIR"], "containers", "auth.json")
        yield Path.home() / ".config" / "containers" / "auth.json"
    yield Path(os.environ.get("DOCKER_CONFIG", Path.home() / ".docker"), "config.json")


def login_check(cli: str, registry: str, namespace: str) -> Check:
    for path in auth_files(cli):
        try:
            document = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        hosts = {*document.get("auths", {}), *document.get("credHelpers", {})}
        if {registry, f"https://{registry}"} & {str(host).rstrip("/") for host in hosts}:
            return Check("registry login", True, f"{registry} in {path}")
    return Check(
        "registry login",
        False,
        f"no login for {registry}",
        f"{Path(cli).name} login {registry} -u '{namespace}/<your user name>' (password: an auth token, "
        "from the console's user page)",
    )


def storage_folder(cli: str) -> Path:
    """Where the container engine keeps images, when that is on this machine; else the home folder."""
    if Path(cli).name.startswith("podman"):
        root = Path("/var/lib/containers") if os.geteuid() == 0 else Path.home() / ".local/share/containers"
    else:
        root = Path("/var/lib/docker")  # Docker Desktop keeps them in its VM: the home folder's disk
    return root if root.is_dir() else Path.home()


def disk_check(name: str, folder: Path, min_free_gb: float, needs: str, fix: str) -> Check:
    """At least ``min_free_gb`` free where ``folder`` is (``needs`` says for what)."""
    free = shutil.disk_usage(folder).free / 1e9
    found = f"{free:.1f} GB free in {folder}"
    if free >= min_free_gb:
        return Check(name, True, found)
    return Check(name, False, f"{found}, {needs} {min_free_gb:g}", fix)


def port_check(port: int) -> Check:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as error:
            if error.errno != errno.EADDRINUSE:
                return Check("port", False, f"{port}: {error.strerror}", "PORT=<another> make run")
            return Check(
                "port", False, f"{port} is taken by another program", f"stop it, or PORT={port + 1} make run"
            )
    return Check("port", True, f"{port} is free")


def online_checks(args: argparse.Namespace, namespace: str, compartment_id: str) -> list[Check]:
    """The tenancy's namespace and the compartment's Data Science projects, as the profile's user."""
    import oci  # from .venv: `make install` first

    from . import oci_client

    checks = []
    try:
        options = {"service_endpoint": args.object_storage_endpoint} if args.object_storage_endpoint else {}
        config, signer = oci_client.config_and_signer(args)
        storage = oci.object_storage.ObjectStorageClient(
            config, signer=signer, timeout=oci_client.TIMEOUTS, **options
        )
        found = storage.get_namespace().data
    except oci_client.SDK_ERRORS as error:
        checks.append(
            Check("namespace", False, oci_client.failure(error, "read the namespace"), "check the profile")
        )
    else:
        fix = f'namespace = "{found}" in {SETTINGS_NAME} ([registry]); log in to the registry as {found}/<user name>'
        checks.append(
            Check(
                "namespace",
                found == namespace,
                f"the tenancy's is {found}, the registry's namespace is {namespace}",
                fix,
            )
        )
    if not compartment_id:
        checks.append(
            Check(
                "compartment", False, f"compartment_id: not set yet in {SETTINGS_NAME}", "put its OCID there"
            )
        )
        return checks
    try:
        projects = oci_client.data_science_client(args).list_projects(compartment_id, limit=1).data
    except oci_client.SDK_ERRORS as error:
        fix = "a policy that lets your group use data-science-family there (make policies)"
        checks.append(
            Check("compartment", False, oci_client.failure(error, "list its Data Science projects"), fix)
        )
    else:
        checks.append(
            Check("compartment", True, f"readable ({len(projects)} project shown of the first page)")
        )
    return checks


def fill_registry(args: argparse.Namespace, settings: dict[str, Any] | None = None) -> None:
    """``args.registry`` and ``args.namespace`` (and ``args.image``, when there is one) that were
    not given: deployment.toml's (``settings``, or the file of ``args.settings`` read now)."""
    from .project import REGISTRY_KEYS, SETTINGS, read_settings, registry_of

    source = args.settings or SETTINGS
    registry = registry_of(settings or read_settings(source, REGISTRY_KEYS), source)
    args.registry = args.registry or registry.host
    args.namespace = args.namespace or registry.namespace
    if getattr(args, "image", "") is None:
        args.image = registry.image


def stages_of(stage: str | None) -> list[str]:
    """The stages to check: ``stage`` and those before it; all of them when None."""
    names = list(STAGES)
    return names if stage is None else names[: names.index(stage) + 1]


def checks(args: argparse.Namespace) -> Iterator[tuple[str, Check]]:
    """(stage, check) for each check of the stages asked (``args.stage``), stage by stage."""
    stages = stages_of(args.stage)
    yield "local", python_check()
    yield "local", make_check()
    yield "local", disk_check("disk", PROJECT, VENV_GB, ".venv needs", "free some space there")
    yield "local", port_check(args.port)
    if stages == ["local"]:
        return
    try:
        from .project import REGISTRY_KEYS, SETTINGS, read_settings
    except ImportError:  # tomllib, from Python 3.11 on: the other stages read TOML
        return
    needs = ("instances.shape", *REGISTRY_KEYS) if "oci" in stages else ("instances.shape",)
    settings: dict[str, Any] = read_settings(args.settings or SETTINGS, needs)
    yield "image", container_check(args.container_cli, settings["instances"]["shape"])
    prune = f"free some: {Path(args.container_cli).name} system prune"
    images = storage_folder(args.container_cli)
    yield "image", disk_check("image disk", images, args.min_free_gb, "an image needs", prune)
    if "oci" not in stages:
        return
    fill_registry(args, settings)
    found, profile = oci_checks(Path(args.config).expanduser(), args.profile)
    for check in found:
        yield "oci", check
    yield "oci", region_check(settings["region"], profile["region"] if profile else None, args.registry)
    online = args.online and profile is not None  # then OCI says what the namespace must be
    if not online:
        yield "oci", namespace_check(args.namespace)
    yield "oci", login_check(args.container_cli, args.registry, args.namespace)
    if online:
        for check in online_checks(args, args.namespace, settings.get("compartment_id") or ""):
            yield "oci", check


def summary(failed: dict[str, int], asked: list[str]) -> str:
    """The last line: how many checks failed, where, and which stages are ready (each needs the
    ones before it)."""
    ready: list[str] = []
    for stage in asked:
        if stage not in failed or failed[stage]:
            break
        ready.append(stage)
    total = sum(failed.values())
    if not total and ready == asked:
        later = [stage for stage in STAGES if stage not in asked]
        unasked = f" (not checked: {', '.join(later)}; make doctor checks every stage)" if later else ""
        return f"every check passed: ready for {', '.join(ready)}{unasked}"
    where = ", ".join(f"{stage} {count}" for stage, count in failed.items() if count)
    said = f"{total} check{'s' if total != 1 else ''} failed ({where})" if total else "not every stage ran"
    if not ready:
        return f"{said}: no stage is ready yet"
    return f"{said}; ready for {', '.join(ready)}: make doctor STAGE={ready[-1]} passes"


def run(args: argparse.Namespace, report: Callable[[str], None] = print) -> int:
    asked = stages_of(args.stage)
    failed: dict[str, int] = {}
    for stage, check in checks(args):
        if stage not in failed:
            if failed:
                report("")
            report(f"{stage} stage: {STAGES[stage]}")
            failed[stage] = 0
        report(check.line())
        failed[stage] += not check.ok
    if list(failed) != asked:  # a Python without tomllib stops after the local stage
        skipped = ", ".join(stage for stage in asked if stage not in failed)
        report(f"not checked: {skipped} (they need Python 3.11 or later)")
    report(summary(failed, asked))
    return 1 if any(failed.values()) or list(failed) != asked else 0
