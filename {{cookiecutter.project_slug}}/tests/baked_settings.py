"""The settings the tests start from: tests/settings_as_baked.toml, deploy/deployment.toml as baked.

deploy/deployment.toml is yours: you fill in its OCIDs and change its region, shape, port or
environment, and no test reads it. The template renders tests/settings_as_baked.toml from the same
source, byte for byte, and keeps it: a test takes its text, changes what it checks (each change
must find what it changes, else the test fails rather than test the baked file unchanged), writes
the result in a folder of its own and gives that file to every command it runs (--settings).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

AS_BAKED = Path(__file__).with_name("settings_as_baked.toml")


def baked_text() -> str:
    """The settings file as the template baked it."""
    return AS_BAKED.read_text()


def replaced(text: str, old: str, new: str) -> str:
    """``text`` with every ``old`` replaced by ``new``; an ``old`` it lacks fails the test."""
    assert old in text, f"{old!r} is not in the settings"
    return text.replace(old, new)


def toml_value(value: Any) -> str:
    """``value`` as TOML writes it (text, a number, true or false, a list)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)  # inf and nan are TOML too
    if isinstance(value, list):
        return "[" + ", ".join(map(toml_value, value)) + "]"
    return json.dumps(value)


def with_values(text: str, **values: Any) -> str:
    """``text`` with the line of each key (``key = ...`` at the start of a line, whatever its value)
    set to its value; a key on no line, or on more than one, fails the test."""
    for key, value in values.items():
        line = f"{key} = {toml_value(value)}".replace("\\", "\\\\")  # taken as is by re.subn
        text, found = re.subn(rf"^{re.escape(key)} = .*$", line, text, flags=re.MULTILINE)
        assert found == 1, f"{key}: {found} lines of the settings set, not 1"
    return text


def write_settings(path: Path, text: str | None = None, **values: Any) -> Path:
    """``path`` (its folder made): ``text`` (the baked settings if none) with ``values`` set."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(with_values(baked_text() if text is None else text, **values))
    return path
