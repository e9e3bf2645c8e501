"""Write what is derived from cookiecutter.json: the README's option table and copier.yml.

The options, defaults and questions live in cookiecutter.json, the rules in the
OCI rules module; copier asks the same questions with the same validation, and
the README lists them, without restating either by hand. A test fails when a
derived file is stale.

    python sync_options.py            # rewrite README.md's table and copier.yml
    python sync_options.py --check    # exit 1 when one of them is stale
"""

from __future__ import annotations

import json
import sys
from typing import Any

import yaml
from cookiecutter.generate import generate_context
from cookiecutter.prompt import prompt_for_config

from local_extensions import NOT_ASKED, OPTIONS, TEMPLATE_DIR, cookiecutter_key, load_rules

README = TEMPLATE_DIR / "README.md"
COPIER = TEMPLATE_DIR / "copier.yml"
START, END = "<!-- options:start -->", "<!-- options:end -->"
NEXT_STEPS_HOOK = TEMPLATE_DIR / "hooks" / "post_gen_project.py"


def cookiecutter_options() -> dict[str, Any]:
    return json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text())


def question_text(prompt: str | dict[str, str]) -> str:
    return prompt["__prompt__"] if isinstance(prompt, dict) else prompt


def options_table() -> str:
    config = cookiecutter_options()
    context = generate_context(str(TEMPLATE_DIR / "cookiecutter.json"))
    rendered = prompt_for_config(context, no_input=True)  # derived defaults, as cookiecutter makes them
    rules = load_rules().RULE_TEXT
    lines = ["| option | default | asked | question | rule |", "|---|---|---|---|---|"]
    for name in OPTIONS:
        key = cookiecutter_key(name)
        default = config[key]
        shown = " / ".join(default) if isinstance(default, list) else rendered[key]
        derived = " (derived)" if isinstance(default, str) and "{{" in default else ""
        question = question_text(config["__prompts__"][key])
        cell = f"`{shown}`" if shown else "(empty)"
        asked = "no: `__" + name + "=`" if name in NOT_ASKED else "yes"
        lines.append(f"| `{name}` | {cell}{derived} | {asked} | {question} | {rules[name]} |")
    return "\n".join(lines)


def readme_with_table(readme: str) -> str:
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{options_table()}\n{END}{tail}"


def next_steps() -> str:
    """The post-generation message of the cookiecutter hook, for copier to print too."""
    source = NEXT_STEPS_HOOK.read_text()
    return source.split('NEXT_STEPS = """', 1)[1].split('"""', 1)[0]


def copier_config() -> str:
    config = cookiecutter_options()
    settings: dict[str, Any] = {
        "_min_copier_version": "9.19.0",  # questions with ask: false
        "_subdirectory": "{% raw %}{{cookiecutter.project_slug}}{% endraw %}",
        "_templates_suffix": "",
        "_answers_file": ".copier-answers.yml",
        "_jinja_extensions": [
            "copier_template_extensions.TemplateExtensionLoader",
            "local_extensions.py:OciRulesExtension",
            "local_extensions.py:CookiecutterNamespace",
        ],
        "_message_after_copy": next_steps(),
    }
    checked = load_rules().CHECKS
    for name in OPTIONS:
        default = config[cookiecutter_key(name)]
        prompt = config["__prompts__"][cookiecutter_key(name)]
        question: dict[str, Any] = {"type": "str", "help": question_text(prompt)}
        if isinstance(default, list):
            labels = prompt if isinstance(prompt, dict) else {}
            question["choices"] = {labels.get(choice, choice): choice for choice in default}
            question["default"] = default[0]
        else:
            question["default"] = default.replace("cookiecutter.__", "").replace("cookiecutter.", "")
        if name in NOT_ASKED:
            question["ask"] = False  # as cookiecutter's __name: the default, or --data name=value
        if name in checked:
            question["validator"] = f"{{{{ {name} | oci_check('{name}') }}}}"
        settings[name] = question
    header = "# Written by `python sync_options.py` from cookiecutter.json: edit that, not this file.\n"
    return header + yaml.safe_dump(settings, sort_keys=False, allow_unicode=True, width=1000)


def stale_files() -> list[str]:
    stale = []
    if README.read_text() != readme_with_table(README.read_text()):
        stale.append(str(README.name))
    if not COPIER.is_file() or COPIER.read_text() != copier_config():
        stale.append(str(COPIER.name))
    return stale


if __name__ == "__main__":
    if "--check" in sys.argv[1:]:
        stale = stale_files()
        print(f"stale: {', '.join(stale)}; run python sync_options.py" if stale else "up to date")
        sys.exit(1 if stale else 0)
    README.write_text(readme_with_table(README.read_text()))
    COPIER.write_text(copier_config())
