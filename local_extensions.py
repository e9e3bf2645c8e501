"""Template-side helpers shared by the cookiecutter hooks and Jinja.

The OCI rules themselves live in the generated package (``oci_rules.py``) so
that the generated project's pre-flight uses the very same code; this module
loads that file from the template tree.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from jinja2 import StrictUndefined
from jinja2.ext import Extension

TEMPLATE_DIR = Path(__file__).resolve().parent


def load_rules() -> ModuleType:
    """Import ``oci_rules.py`` from the template's project folder (again only when it changed:
    copier asks for it with each file it renders, and compiling it each time made a bake 20 s)."""
    (path,) = TEMPLATE_DIR.glob("{{*/src/{{*/oci_rules.py")
    return rules_at(path, path.stat().st_mtime_ns)


@functools.cache
def rules_at(path: Path, version: int) -> ModuleType:
    """The rules module of ``path`` as of ``version`` (its modification time)."""
    spec = importlib.util.spec_from_file_location("oci_rules", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CONFIG = json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text())
# Every option, asked or not, by its name (the rules' and copier's). Cookiecutter asks those of plain
# names; an option that a newcomer can't know yet (the port, the OCI settings ...) is a private
# ``__name`` of cookiecutter.json: never asked, rendered from its default, set with ``__name=value``
# on cookiecutter's command line (copier: ``--data name=value``, a question with ``ask: false``).
OPTIONS = [name.removeprefix("__") for name in CONFIG["__prompts__"]]
NOT_ASKED = [name.removeprefix("__") for name in CONFIG["__prompts__"] if name.startswith("__")]


def cookiecutter_key(option: str) -> str:
    """The key of ``option`` in cookiecutter.json (and on cookiecutter's command line)."""
    return f"__{option}" if option in NOT_ASKED else option


def by_option(context: dict[str, Any]) -> dict[str, Any]:
    """Cookiecutter's context keyed by option names: what the rules check."""
    return {option: context[key] for option in OPTIONS if (key := cookiecutter_key(option)) in context}


def plain_names_given(argv: list[str]) -> list[str]:
    """``oci_region=...`` on cookiecutter's command line for an option it does not ask, which
    cookiecutter would drop without a word (it takes only keys of cookiecutter.json)."""
    program = argv[0] if argv else ""
    if not (program == "cookiecutter" or program.endswith(("/cookiecutter", "cookiecutter/__main__.py"))):
        return []
    given = [arg.split("=", 1)[0] for arg in argv[1:] if "=" in arg and not arg.startswith("-")]
    return [
        f"{name}: cookiecutter does not ask it, so it takes it as __{name}=<value> "
        f"(copier: --data {name}=<value>); or edit deploy/deployment.toml after baking"
        for name in given
        if name in NOT_ASKED
    ]


def check_all_answers(rules: ModuleType, answers: dict[str, Any]) -> str:
    """Cookiecutter renders its private variables after the answers and before it
    makes the project folder: a bad slug (empty, too long, a newline) would fail
    there, before the pre-generation hook could say which rule it breaks. Raised as
    a failed hook, cookiecutter prints the rules' lines and exits 1, leaving nothing."""
    errors = plain_names_given(sys.argv) + rules.validate_answers(by_option(answers))
    if errors:
        from cookiecutter.exceptions import FailedHookException

        raise FailedHookException("\n".join(f"ERROR: {error}" for error in errors))
    return ""


def quoted_inside(value: object) -> str:
    """JSON's escaping of ``"``, ``\\`` and control characters, which TOML basic strings
    and Python strings read alike; without the outer quotes."""
    return json.dumps(str(value), ensure_ascii=False)[1:-1]


class OciRulesExtension(Extension):
    """The rules in Jinja, for cookiecutter and copier alike.

    Filters: ``ocir_host`` (region -> registry host), ``project_slug`` (name ->
    slug), ``oci_check(option)`` (the rule's message, or "" when the value is
    fine: copier's validators), ``oci_check_all`` (cookiecutter: every answer,
    before the project folder is made), ``quoted_inside`` (a value escaped to sit
    between the double quotes of a TOML, Python or JSON string). Global:
    ``template_dir``, this folder's absolute path, for the hooks, which run in
    another process and folder.
    """

    def __init__(self, environment):
        super().__init__(environment)
        rules = load_rules()
        environment.filters["ocir_host"] = rules.ocir_host
        environment.filters["project_slug"] = rules.slug_of
        environment.filters["oci_check"] = lambda value, option: rules.CHECKS[option](str(value)) or ""
        environment.filters["oci_check_all"] = lambda answers: check_all_answers(rules, answers)
        environment.filters["quoted_inside"] = quoted_inside
        environment.globals["template_dir"] = str(TEMPLATE_DIR)


def cookiecutter_namespace(answers: dict[str, Any], answers_file: str) -> dict[str, Any]:
    """What ``cookiecutter.<name>`` holds in the template files, from copier's answers."""
    namespace = {cookiecutter_key(name): answers[name] for name in OPTIONS if name in answers}
    namespace["__ocir_host"] = load_rules().ocir_host(str(answers.get("oci_region", "")))
    namespace["_copier_answers_file"] = answers_file
    return namespace


try:
    from copier_template_extensions import ContextHook
except ImportError:  # cookiecutter alone: only the extension above is used
    ContextHook = Extension


class CookiecutterNamespace(ContextHook):
    """Copier: puts the answers under ``cookiecutter``, so the files keep one syntax;
    and makes undefined names an error, as they are under cookiecutter."""

    def __init__(self, environment):
        super().__init__(environment)
        environment.undefined = StrictUndefined

    def hook(self, context: dict[str, Any]) -> None:
        answers_file = str(context["_copier_conf"]["answers_file"])
        context["cookiecutter"] = cookiecutter_namespace(context, answers_file)
