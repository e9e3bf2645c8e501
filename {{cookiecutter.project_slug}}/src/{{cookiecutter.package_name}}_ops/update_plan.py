"""Plan an update of a BYOC model deployment on the SDK's shapes, under the service's shallow-merge rules.

How OCI applies an update (the BYOC document's "Update Operation Behavior"), on the
shapes of the SDK's ``UpdateModelDeploymentDetails``:

- an object given in the update (a details model of the SDK, such as
  ``modelDeploymentConfigurationDetails`` or its ``environmentConfigurationDetails``) is
  merged field by field; null or ``{}`` changes nothing;
- a field given replaces the old value whole (numbers and text, and lists and maps:
  nothing inside them is merged); a field absent or null is kept;
- ``[]`` or ``{}`` clears a list or a map;
- ``image`` and ``imageDigest`` can't be erased;
- an object of another kind (a FIXED_SIZE scaling policy that becomes AUTOSCALING)
  replaces the old one.

``plan_update(current, desired)`` returns the smallest update body that turns the
deployment ``current`` (as the service returns it: ``make status`` saves it) into
``desired`` (a deployment, or the create or update body ``make deploy-config`` wrote;
what is absent from it is kept, what is not updatable is left out), with the kind of
every object it touches, so the SDK accepts it. ``apply_update(current, update)`` is
what the service makes of an update, so a plan can be shown before it is sent.

    python -m {{ cookiecutter.package_name }}_ops update-plan CURRENT.json DESIRED.json [--output deploy/update_plan.json]
"""

from __future__ import annotations

import argparse
import copy
import inspect
import json
import re
import sys
from functools import cache
from pathlib import Path
from typing import Any

from oci.data_science.models import data_science_type_mapping

from .oci_models import ModelMismatch, check_body
from .project import read_json, write_json

UNERASABLE = {"image", "imageDigest"}
ROOT = "UpdateModelDeploymentDetails"
Document = dict[str, Any]


class PlanError(ValueError):
    """The desired state can't be reached with an update; the message says why."""


@cache
def discriminator(type_name: str) -> str | None:
    """The field that picks the kind of a polymorphic SDK model (``deploymentType`` ...), or None."""
    model = data_science_type_mapping[type_name]
    if "get_subtype" not in vars(model):
        return None
    found = re.findall(r"object_dictionary\['(\w+)'\]", inspect.getsource(model.get_subtype))
    return found[0] if found else None


def field_types(type_name: str, value: Document) -> dict[str, str]:
    """JSON field name -> SDK type name, for the kind of ``type_name`` that ``value`` is."""
    model = data_science_type_mapping[type_name]
    if discriminator(type_name) and value.get(discriminator(type_name)):
        model = data_science_type_mapping[model.get_subtype(value)]
    instance = model()
    return {name: instance.swagger_types[attribute] for attribute, name in instance.attribute_map.items()}


def merged(type_name: str, old: Any, new: Any) -> bool:
    """Whether the service merges ``new`` into ``old`` field by field: objects of one kind."""
    if type_name not in data_science_type_mapping or not (isinstance(old, dict) and isinstance(new, dict)):
        return False
    key = discriminator(type_name)
    return key is None or new.get(key) in (None, old.get(key))


def apply_update(current: Document, update: Document, type_name: str = ROOT) -> Document:
    """The deployment after the service applied ``update`` to ``current``."""
    result = copy.deepcopy(current)
    types = field_types(type_name, {**current, **update})
    for name, value in update.items():
        if value is None or (name in UNERASABLE and not value):
            continue  # null keeps the value; image and digest can't be erased
        if merged(types.get(name, ""), result.get(name), value):
            result[name] = apply_update(result[name], value, types[name])
        else:
            result[name] = copy.deepcopy(value)
    return result


def unset(value: Any) -> bool:
    return value is None or value == [] or value == {}


def plan_update(current: Document, desired: Document, type_name: str = ROOT) -> Document:
    """The smallest update body that turns ``current`` into ``desired`` (absent in ``desired``: kept)."""
    update: Document = {}
    types = field_types(type_name, {**current, **desired})
    for name, want in desired.items():
        have = current.get(name)
        if name not in types or want is None or want == have or (unset(want) and unset(have)):
            continue  # not updatable, kept, or already so
        if name in UNERASABLE and not want:
            raise PlanError(f"{name} can't be erased by an update; give a new value instead")
        if merged(types[name], have, want):
            if inner := plan_update(have, want, types[name]):
                key = discriminator(types[name])
                update[name] = {key: want[key], **inner} if key and want.get(key) else inner
        else:
            update[name] = want
    return update


def without_envelope(document: Document) -> Document:
    """The deployment itself, also from the OCI CLI's ``{"data": ...}`` answer."""
    envelope = "data" in document and set(document) <= {"data", "etag", "opc-work-request-id"}
    if envelope and not isinstance(document["data"], dict):
        raise PlanError('the OCI CLI answer\'s "data" is not a deployment (a JSON object)')
    return document["data"] if envelope else document


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("current", type=Path, help="the deployment as it is (JSON: make status saves it)")
    parser.add_argument(
        "desired", type=Path, help="the deployment, or a create or update body, as it should be"
    )
    parser.add_argument("--output", type=Path, help="write the update body here (for make deploy-update)")


def run(args: argparse.Namespace) -> int:
    try:
        current, desired = (
            without_envelope(read_json(path, "a deployment or a request body (a JSON object)"))
            for path in (args.current, args.desired)
        )
        update = plan_update(current, desired)
        if update:
            check_body(update, ROOT)
    except ValueError as error:  # InputError (unreadable, not a JSON object), PlanError, ModelMismatch
        kind = "the SDK refuses the plan" if isinstance(error, ModelMismatch) else "no plan"
        print(f"{kind}: {error}", file=sys.stderr)
        return 1
    print("update body:\n" + json.dumps(update, indent=2))
    if not update:
        print("nothing to change: the deployment is already as desired")
    if args.output:
        write_json(args.output, update)
        print(f"wrote {args.output}: send it with `make deploy-update BODY={args.output}`")
    return 0
