"""The OCI SDK's Data Science client and request signer, for every command that talks to OCI.

Who signs: the API key of a ``~/.oci/config`` profile (``--auth api_key``, the
default), or, inside OCI, the resource principal of a notebook session or job
(``resource_principal``) or the instance principal of a compute instance
(``instance_principal``): the OCI CLI's names for them, read from ``OCI_CLI_AUTH``.
``OCI_DATA_SCIENCE_ENDPOINT`` (or ``--endpoint``) sends the requests elsewhere: a
private endpoint, or a stand-in in tests.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

import oci

from .errors import InputError

AUTH_CHOICES = ("api_key", "resource_principal", "instance_principal")
# Connect and read timeouts (seconds), and a retry that gives up within RETRY_SECONDS
# (the SDK's default retries for ten minutes), on connection errors, 429 and 5xx.
TIMEOUTS = (10, 60)
RETRY_SECONDS = 30
RETRY = oci.retry.RetryStrategyBuilder(
    max_attempts=3,
    total_elapsed_time_seconds=RETRY_SECONDS,
    retry_max_wait_between_calls_seconds=10,
).get_retry_strategy()
# What the SDK raises for a config, key or argument it can't use, before anything is sent.
CLIENT_ERRORS = (oci.exceptions.ClientError, ValueError, OSError)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of every command that talks to OCI."""
    parser.add_argument("--profile", default=os.environ.get("OCI_CLI_PROFILE", "DEFAULT"))
    parser.add_argument("--config", default=os.environ.get("OCI_CLI_CONFIG_FILE", "~/.oci/config"))
    parser.add_argument("--auth", choices=AUTH_CHOICES, default=os.environ.get("OCI_CLI_AUTH", "api_key"))
    parser.add_argument("--endpoint", default=os.environ.get("OCI_DATA_SCIENCE_ENDPOINT"))


def config_and_signer(args: argparse.Namespace) -> tuple[dict[str, Any], Any]:
    """The SDK config (its region) and the signer of requests, for ``args.auth``."""
    if args.auth == "resource_principal":
        signer = oci.auth.signers.get_resource_principals_signer()
        return {"region": signer.region}, signer
    if args.auth == "instance_principal":
        signer = oci.auth.signers.InstancePrincipalsSecurityTokenSigner()
        return {"region": signer.region}, signer
    config = oci.config.from_file(os.path.expanduser(args.config), args.profile)
    oci.config.validate_config(config)
    signer = oci.signer.Signer(
        tenancy=config["tenancy"],
        user=config["user"],
        fingerprint=config["fingerprint"],
        private_key_file_location=config["key_file"],
        pass_phrase=oci.config.get_config_value_or_default(config, "pass_phrase"),
    )
    return config, signer


def client(args: argparse.Namespace, client_class: type[Any]) -> Any:
    """An SDK client of ``client_class``, signed as ``args.auth`` says, with the bounded retry and timeouts."""
    config, signer = config_and_signer(args)
    options = {"service_endpoint": args.endpoint} if args.endpoint else {}
    return client_class(config, signer=signer, retry_strategy=RETRY, timeout=TIMEOUTS, **options)


def data_science_client(args: argparse.Namespace) -> oci.data_science.DataScienceClient:
    return client(args, oci.data_science.DataScienceClient)


def failure(error: Exception, doing: str, endpoint: str | None = None) -> str:
    """One line that says why ``doing`` (e.g. "create the deployment") failed, for any SDK error.
    An ``InputError`` (a project file of the wrong shape: a ValueError, as the SDK's own argument
    errors are, so SDK_ERRORS catches it) is raised again, for the command line to print it as
    one (``error: ...``, exit 2) rather than as a failure of OCI."""
    if isinstance(error, InputError):
        raise error
    if isinstance(error, oci.exceptions.ServiceError):
        return f"OCI refused to {doing} ({error.status} {error.code}): {error.message}"
    if isinstance(
        error, oci.exceptions.RequestException
    ):  # refused, unreachable, timed out: after the retries
        where = endpoint or "the Data Science endpoint of the profile's region"
        return f"cannot {doing}: {where} did not answer ({type(error.__cause__ or error).__name__})"
    return f"cannot {doing}: {error}"  # config file, profile, key, arguments


SDK_ERRORS = (oci.exceptions.ServiceError, oci.exceptions.RequestException, *CLIENT_ERRORS)
