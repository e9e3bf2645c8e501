"""Plan an update of a BYOC model deployment under the service's shallow-merge rules.

How OCI applies an update (the "BYOC Update Operation Behavior"):

- a top-level section given in the update (``environmentConfigurationDetails``) is
  merged field by field; a section that is null or ``{}`` changes nothing;
- a field given replaces the old value whole (lists and maps too: nothing
  inside them is merged); a field absent or null is kept;
- ``[]`` or ``{}`` clears a list or a map;
- ``image`` and ``imageDigest`` can't be erased.

``plan_update(current, desired)`` returns the smallest update body that turns
``current`` into ``desired``; ``apply_update(current, update)`` is what the
service makes of an update, so a plan can be shown before it is sent.

    python scripts/update_plan.py CURRENT.json DESIRED.json [--output deploy/update_plan.json]
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path
from typing import Any

UNERASABLE = {"image", "imageDigest"}
Document = dict[str, Any]


class PlanError(ValueError):
    """The desired state can't be reached with an update; the message says why."""


def apply_update(current: Document, update: Document) -> Document:
    """The deployment after the service applied ``update`` to ``current``."""
    result = copy.deepcopy(current)
    for section, fields in update.items():
        if fields is None:
            continue
        if not isinstance(fields, dict) or not isinstance(result.get(section), dict):
            result[section] = copy.deepcopy(fields)
            continue
        for name, value in fields.items():
            if value is None or (name in UNERASABLE and not value):
                continue  # null keeps the value; image and digest can't be erased
            result[section][name] = copy.deepcopy(value)
    return result


def plan_update(current: Document, desired: Document) -> Document:
    """The smallest update body that turns ``current`` into ``desired``."""
    update: Document = {}
    for section in sorted(set(current) | set(desired)):
        old, new = current.get(section), desired.get(section)
        if old == new or new is None:
            continue
        if not (isinstance(old, dict) and isinstance(new, dict)):
            update[section] = new
            continue
        changes = {name: value for name, value in new.items() if old.get(name) != value}
        for name in old.keys() - new.keys():
            changes[name] = _cleared(section, name, old[name])
        if changes:
            update[section] = changes
    return update


def _cleared(section: str, name: str, value: Any) -> Any:
    if name in UNERASABLE:
        raise PlanError(f"{section}.{name} can't be erased by an update; give a new value instead")
    if isinstance(value, list):
        return []
    if isinstance(value, dict):
        return {}
    raise PlanError(
        f"{section}.{name} can't be cleared by an update (only lists and maps can); set it instead"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("current", type=Path, help="the deployment as it is (JSON)")
    parser.add_argument("desired", type=Path, help="the deployment as it should be (JSON)")
    parser.add_argument("--output", type=Path, help="write the update body here")
    args = parser.parse_args()
    current, desired = (json.loads(path.read_text()) for path in (args.current, args.desired))
    try:
        update = plan_update(current, desired)
    except PlanError as error:
        print(f"no plan: {error}", file=sys.stderr)
        return 1
    result = apply_update(current, update)
    print("update body:\n" + json.dumps(update, indent=2))
    print("state after the update:\n" + json.dumps(result, indent=2))
    if args.output:
        args.output.write_text(json.dumps(update, indent=2) + "\n")
    return 0 if result == desired else 1


if __name__ == "__main__":
    sys.exit(main())
