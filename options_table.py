"""Print the Markdown table of the template's options, or refresh it in README.md.

The options, defaults and questions come from cookiecutter.json and the rules
from the OCI rules module, so the README never restates them by hand.

    python options_table.py            # print the table
    python options_table.py --write    # replace the table in README.md
"""

from __future__ import annotations

import json
import sys

from cookiecutter.generate import generate_context
from cookiecutter.prompt import prompt_for_config

from local_extensions import TEMPLATE_DIR, load_rules

README = TEMPLATE_DIR / "README.md"
START, END = "<!-- options:start -->", "<!-- options:end -->"


def options_table() -> str:
    config = json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text())
    context = generate_context(str(TEMPLATE_DIR / "cookiecutter.json"))
    rendered = prompt_for_config(context, no_input=True)  # derived defaults, as cookiecutter makes them
    rules = load_rules().RULE_TEXT
    lines = ["| option | default | question | rule |", "|---|---|---|---|"]
    for name, default in config.items():
        if name.startswith("_"):
            continue
        prompt = config["__prompts__"][name]
        question = prompt["__prompt__"] if isinstance(prompt, dict) else prompt
        shown = " / ".join(default) if isinstance(default, list) else rendered[name]
        derived = " (derived)" if isinstance(default, str) and "{{" in default else ""
        lines.append(f"| `{name}` | `{shown}`{derived} | {question} | {rules[name]} |")
    return "\n".join(lines)


def with_table(readme: str) -> str:
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{options_table()}\n{END}{tail}"


if __name__ == "__main__":
    if "--write" in sys.argv[1:]:
        README.write_text(with_table(README.read_text()))
    else:
        print(options_table())
