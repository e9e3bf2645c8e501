"""Template-side helpers shared by the cookiecutter hooks and Jinja.

The OCI rules themselves live in the generated package (``oci_rules.py``) so
that the generated project's pre-flight uses the very same code; this module
loads that file from the template tree.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from jinja2.ext import Extension

TEMPLATE_DIR = Path(__file__).resolve().parent


def load_rules() -> ModuleType:
    """Import ``oci_rules.py`` from the template's project folder."""
    (path,) = TEMPLATE_DIR.glob("{{*/src/{{*/oci_rules.py")
    spec = importlib.util.spec_from_file_location("oci_rules", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class OciRulesExtension(Extension):
    """Adds the ``ocir_host`` filter (region identifier -> registry host) and
    ``template_dir``, this folder's absolute path, for the hooks: they run in
    another process and folder, and cookiecutter's ``_repo_dir`` may be relative.
    """

    def __init__(self, environment):
        super().__init__(environment)
        environment.filters["ocir_host"] = load_rules().ocir_host
        environment.globals["template_dir"] = str(TEMPLATE_DIR)
