"""The OCI settings of deploy/deployment.toml, as make and the ops commands use them (`make settings`).

deploy/deployment.toml is their one home: the region (the registry host follows from it), the
registry's namespace, repository and tag, the compartment, project and model. The Makefile reads
the registry's with ``--make`` (one ``NAME=value`` line each: REGISTRY, NAMESPACE, IMAGE_NAME,
IMAGE_TAG, which make's command line may override for one run: ``make push IMAGE_TAG=1.0.1``; and
PLATFORM, the CPU of ``[instances] shape`` that ``make build`` builds for);
doctor, checkpoint and deploy-config read the file themselves. Runs with the interpreter that
makes .venv (the standard library only).

    python -m {{ cookiecutter.package_name }}_ops settings [--make] [--settings deploy/deployment.toml]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from {{ cookiecutter.package_name }}.oci_rules import (
    EXAMPLE_NAMESPACE,
    NAMESPACE_FIX,
    platform_of_shape,
)

from .project import PROJECT, REGISTRY_KEYS, SETTINGS, read_settings, registry_of

HELP = {"settings": "Show the OCI settings of deploy/deployment.toml as make and the ops commands use them"}
OCIDS = ("compartment_id", "project_id", "model_id")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--settings", type=Path, default=SETTINGS)
    parser.add_argument("--make", action="store_true", help="NAME=value lines for the Makefile")
    # What make's command line gave for this run (shown beside the file's values).
    parser.add_argument("--registry", help=argparse.SUPPRESS)
    parser.add_argument("--namespace", help=argparse.SUPPRESS)
    parser.add_argument("--image", help=argparse.SUPPRESS)


def shown_path(path: Path) -> str:
    return str(path.relative_to(PROJECT)) if path.is_relative_to(PROJECT) else str(path)


def shown_value(value: str, given: str | None) -> str:
    return f"{given} (given to make; deployment.toml: {value})" if given and given != value else value


def example_note(namespace: str) -> str:
    """What to do about the namespace used, when it is the template's placeholder."""
    if namespace != EXAMPLE_NAMESPACE:
        return ""
    return f"  <- the template's example, not yours: set it here; {NAMESPACE_FIX}"


def run(args: argparse.Namespace) -> int:
    settings = read_settings(args.settings, REGISTRY_KEYS)
    registry = registry_of(settings, args.settings)
    if args.make:
        print(f"REGISTRY={registry.host}")
        print(f"NAMESPACE={registry.namespace}")
        print(f"IMAGE_NAME={registry.repository}")
        print(f"IMAGE_TAG={registry.tag}")
        if shape := settings.get("instances", {}).get("shape"):  # none: make build says so
            print(f"PLATFORM={platform_of_shape(shape)}")
        return 0
    repository, _, tag = (args.image or registry.image).rpartition(":")
    host, namespace = args.registry or registry.host, args.namespace or registry.namespace
    rows = [
        ("region", registry.region),
        ("registry", shown_value(f"{registry.host} (OCIR of {registry.region})", args.registry)),
        ("namespace", shown_value(registry.namespace, args.namespace) + example_note(namespace)),
        ("repository", shown_value(registry.repository, repository)),
        ("tag", shown_value(registry.tag, tag)),
        ("make push sends", f"{host}/{namespace}/{repository}:{tag}"),
        *((name, settings.get(name) or "(not set yet)") for name in OCIDS),
    ]
    print(f"{shown_path(args.settings)}: the OCI settings (edit them there)")
    for name, value in rows:
        print(f"  {name:<16} {value}")
    return 0
