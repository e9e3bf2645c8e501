"""Reject bad template answers before anything is written.

Each broken rule prints one line naming the option, the value and the rule;
the hook then exits 1 and cookiecutter removes the half-made project folder.
The rules come from the one module the copier validators and the generated
project's pre-flight use too. A bake checks them once already, before the
project folder is made (``oci_check_all`` in cookiecutter.json); this hook is
what checks answers that skip that step (``cookiecutter --replay``).
"""

import json
import sys

ANSWERS = json.loads(r"""{{ cookiecutter | jsonify }}""")
sys.path.insert(0, r"""{{ template_dir }}""")

from local_extensions import by_option, load_rules  # noqa: E402  (the template folder is on sys.path now)


def main() -> int:
    errors = load_rules().validate_answers(by_option(ANSWERS))
    for error in errors:
        print(f"ERROR: {error}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
