"""The OCI CLI commands that put the model artifact zip into the model catalog.

Prints them (a dry run) by default; ``--run`` runs them, the second with the
model OCID the first one returns. Put that OCID into deploy/deployment.toml
(``model_id``) before ``make deploy-config``.

    python scripts/catalog.py [--artifact dist/model_artifact.zip] [--run]
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
MODEL_ID = "<model OCID printed by the first command>"


def catalog_commands(settings: dict, artifact: Path, model_id: str = MODEL_ID) -> list[list[str]]:
    create = ["oci", "data-science", "model", "create"]
    create += ["--compartment-id", settings["compartment_id"] or "<compartment OCID>"]
    create += ["--project-id", settings["project_id"] or "<project OCID>"]
    create += ["--display-name", settings["display_name"], "--description", settings["description"]]
    create += ["--query", "data.id", "--raw-output"]
    upload = ["oci", "data-science", "model", "create-model-artifact", "--model-id", model_id]
    upload += [
        "--model-artifact-file",
        str(artifact),
        "--content-disposition",
        f"attachment; filename={artifact.name}",
    ]
    return [create, upload]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settings", type=Path, default=PROJECT / "deploy" / "deployment.toml")
    parser.add_argument("--artifact", type=Path, default=PROJECT / "dist" / "model_artifact.zip")
    parser.add_argument("--run", action="store_true", help="run the commands instead of printing them")
    args = parser.parse_args()
    settings = tomllib.loads(args.settings.read_text())
    create, upload = catalog_commands(settings, args.artifact)
    if not args.run:
        print("# 1. create the model entry in the catalog (prints its OCID)")
        print(shlex.join(create))
        print("# 2. upload the artifact zip to it")
        print(shlex.join(upload))
        return 0
    if not args.artifact.is_file():
        print(f"{args.artifact} is missing: run `make artifact` first", file=sys.stderr)
        return 1
    created = subprocess.run(create, capture_output=True, text=True)
    if created.returncode != 0:
        print(f"oci data-science model create failed:\n{created.stderr}", file=sys.stderr)
        return 1
    model_id = created.stdout.strip()
    print(f"model {model_id} created; uploading {args.artifact}")
    _, upload = catalog_commands(settings, args.artifact, model_id)
    return subprocess.run(upload).returncode


if __name__ == "__main__":
    sys.exit(main())
