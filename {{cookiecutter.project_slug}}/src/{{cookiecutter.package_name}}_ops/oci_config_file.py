"""Write ~/.oci/config and its API key from environment variables, for CI (secrets, never echoed).

A CI job has its secrets as environment variables; the OCI SDK reads a config
file. This writes the profile (OCI_CLI_PROFILE, default DEFAULT) with the key
beside it, both readable by the user only (0600), and refuses to overwrite a
config that is there unless --force. The key's text never reaches the output.

    OCI_USER_OCID=... OCI_TENANCY_OCID=... OCI_FINGERPRINT=... OCI_PRIVATE_KEY="$(cat key.pem)" \\
        python -m {{ cookiecutter.package_name }}_ops oci-config [--config ~/.oci/config] [--region us-ashburn-1]
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

from .project import SETTINGS, read_settings

VARIABLES = {
    "user": ("OCI_USER_OCID", re.compile(r"ocid1\.user\.[a-z0-9-]+\.[a-z0-9-]*\.[a-z0-9]+")),
    "tenancy": ("OCI_TENANCY_OCID", re.compile(r"ocid1\.tenancy\.[a-z0-9-]+\.[a-z0-9-]*\.[a-z0-9]+")),
    "fingerprint": ("OCI_FINGERPRINT", re.compile(r"[0-9a-f]{2}(?::[0-9a-f]{2}){15}")),
}
KEY_VARIABLE = "OCI_PRIVATE_KEY"


class ConfigError(ValueError):
    """A variable missing or malformed, or a config already there; the message names it."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", default=os.environ.get("OCI_CLI_CONFIG_FILE", "~/.oci/config"))
    parser.add_argument("--profile", default=os.environ.get("OCI_CLI_PROFILE", "DEFAULT"))
    parser.add_argument("--region", help="default: the region of deploy/deployment.toml")
    parser.add_argument("--force", action="store_true", help="replace a config that is already there")


def profile_values(environment: dict[str, str]) -> dict[str, str]:
    """The profile's user, tenancy and fingerprint, each checked; ConfigError names what is wrong."""
    values = {}
    for field, (variable, pattern) in VARIABLES.items():
        value = environment.get(variable, "").strip()
        if not pattern.fullmatch(value):
            problem = "is not set" if not value else "does not look like one"
            raise ConfigError(f"{variable} {problem} (the {field} of the API key's user)")
        values[field] = value
    return values


def private_key(environment: dict[str, str]) -> str:
    key = environment.get(KEY_VARIABLE, "").strip()
    if not (key.startswith("-----BEGIN") and "PRIVATE KEY-----" in key):
        raise ConfigError(f"{KEY_VARIABLE} is not a PEM private key (its text is not shown)")
    return key + "\n"


def write_private(path: Path, text: str) -> None:
    """Create ``path`` readable by the user only, before anything is written to it."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)
    path.chmod(0o600)


def run(args: argparse.Namespace) -> int:
    config = Path(args.config).expanduser()
    try:
        if config.exists() and not args.force:
            raise ConfigError(f"{config} is already there: --force replaces it")
        values = profile_values(dict(os.environ))
        key = private_key(dict(os.environ))
        region = args.region or read_settings(SETTINGS, ("region",))["region"]
    except ConfigError as error:
        print(f"no OCI config written: {error}", file=sys.stderr)
        return 1
    key_file = config.with_name(f"{args.profile.lower()}_api_key.pem")
    write_private(key_file, key)
    profile = "".join(f"{name}={value}\n" for name, value in {**values, "key_file": str(key_file)}.items())
    write_private(config, f"[{args.profile}]\n{profile}region={region}\n")
    print(f"wrote {config} (profile {args.profile}, region {region}) and its key, both mode 600")
    return 0
