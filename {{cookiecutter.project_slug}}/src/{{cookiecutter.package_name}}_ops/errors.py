"""The error of a command given input it can't take: a file or an argument of the wrong shape.

Its message is one line that names the file, field or argument and says what is expected;
the command line prints it as ``error: ...`` and exits 2, with no traceback. Standard library
only: `make doctor` imports the command line before .venv exists, with any Python.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

BAD_INPUT = 2  # the exit status, as argparse's for a bad argument


class InputError(ValueError):
    """A file or argument is not what the command expects; the message says which and what is."""


def amount(unit: str) -> Callable[[str], float]:
    """An argparse type: a finite number of unit, 0 or more (a usage error otherwise)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = -1.0
        if not 0 <= value < float("inf"):
            raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a number of {unit}, 0 or more")
        return value

    return parse
