"""Run by Python as a process starts with this folder on its PYTHONPATH (``template_hooks.server_environment``):
the template's own hooks replace processing.py's, in this process and in those it forks (gunicorn's workers)."""

import sys
from pathlib import Path

TESTS = str(Path(__file__).resolve().parent.parent)
sys.path.insert(0, TESTS)
try:
    import template_hooks
finally:
    sys.path.remove(TESTS)

from {{ cookiecutter.package_name }} import processing  # noqa: E402

for name, hook in template_hooks.HOOKS.items():
    setattr(processing, name, hook)
