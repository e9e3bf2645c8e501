"""Run by Python as a process starts with this folder first on its PYTHONPATH
(``template_hooks.server_environment``): the template's own hooks replace processing.py's, in this
process and in those it forks (gunicorn's workers). It takes the place of any other sitecustomize
in those processes (this project's .venv has none). Python would only warn of an error here and
go on with your hooks: a failure stops the process instead (SystemExit)."""

import sys
from pathlib import Path

TESTS = str(Path(__file__).resolve().parent.parent)
sys.path.insert(0, TESTS)
try:
    import template_hooks

    from {{ cookiecutter.package_name }} import processing
except Exception as error:  # any failure, told as one line
    raise SystemExit(f"tests/template_hooks_site/sitecustomize.py: {type(error).__name__}: {error}") from None
finally:
    sys.path.remove(TESTS)

for name, hook in template_hooks.HOOKS.items():
    setattr(processing, name, hook)
