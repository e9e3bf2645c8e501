"""The error of a command given input it can't take: a file or an argument of the wrong shape.

Its message is one line that names the file, field or argument and says what is expected;
the command line prints it as ``error: ...`` and exits 2, with no traceback. Standard library
only: `make doctor` imports the command line before .venv exists, with any Python.
"""

from __future__ import annotations

BAD_INPUT = 2  # the exit status, as argparse's for a bad argument


class InputError(ValueError):
    """A file or argument is not what the command expects; the message says which and what is."""
