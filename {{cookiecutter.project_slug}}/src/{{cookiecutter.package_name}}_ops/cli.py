"""One command line for everything between a trained model and a called deployment.

    python -m {{ cookiecutter.package_name }}_ops <command> [options]     (or {{ cookiecutter.package_name }}-ops <command>)

Each command lives in the module named beside it and is imported only when it
runs, so a quick one does not load the OCI SDK. The Makefile's targets call these.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from types import ModuleType

from .errors import BAD_INPUT, InputError

# command: module. A module serves its commands with add_arguments(parser) and run(args)
# (args.command says which), and may name them in a HELP dict.
COMMANDS = {
    "doctor": "doctor",
    "checkpoint": "checkpoint",
    "lock": "lock",
    "model-path": "find_model",
    "artifact": "artifact",
    "catalog": "catalog",
    "push-record": "push_record",
    "deploy-config": "deploy_config",
    "deploy-local": "deploy_local",
    "start-time": "start_record",
    "update-plan": "update_plan",
    "deploy": "deploy",
    "deploy-update": "deploy",
    "status": "lifecycle",
    "activate": "lifecycle",
    "deactivate": "lifecycle",
    "delete": "lifecycle",
    "teardown": "teardown",
    "predict-remote": "predict_remote",
    "logs-remote": "remote_logs",
    "debug-job": "debug_job",
    "policies": "policies",
    "capacity": "capacity",
    "oci-config": "oci_config_file",
    "settings": "oci_settings",
    "scan-setup": "scan",
    "scan-results": "scan",
    "scan": "scan",
{%- if cookiecutter.server == "triton" %}
    "triton-repository": "triton_repository",
    "triton-predict": "triton_client",
{%- endif %}
}


def module(command: str) -> ModuleType:
    return importlib.import_module(f".{COMMANDS[command]}", __package__)


def first_line(command: str) -> str:
    """What the command does: its module's HELP entry, or the module's first docstring line."""
    found = module(command)
    return getattr(found, "HELP", {}).get(command) or (found.__doc__ or "").strip().splitlines()[0]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(
        prog="{{ cookiecutter.package_name }}_ops",
        description=__doc__.splitlines()[0],
    )
    commands = parser.add_subparsers(dest="command", metavar="command", required=True)
    wanted = argv[0] if argv and argv[0] in COMMANDS else None
    for name in COMMANDS:
        if wanted in (None, name):  # the others only for --help and for errors
            command = commands.add_parser(name, help=first_line(name), description=first_line(name))
            if wanted == name:
                module(name).add_arguments(command)
        else:
            commands.add_parser(name)
    args = parser.parse_args(argv)
    try:
        return module(args.command).run(args)
    except InputError as error:  # a file or argument of the wrong shape: one line, no traceback
        print(f"error: {error}", file=sys.stderr)
        return BAD_INPUT
