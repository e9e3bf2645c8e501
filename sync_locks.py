"""Write the locks the generated projects ship: templates/locks/, from each variant's .in files.

A generated project's requirements.txt and requirements-dev.txt are locks with
hashes that its `make lock` writes from requirements*.in. The template can't run
uv while baking, so it ships those locks made here, by that same command, in a
project baked for every Python version, framework and server:
templates/locks/py<version>/requirements-<framework>.txt and
requirements-dev-<framework>-<server>.txt, which the project's files include.
A test fails when a lock is stale. A new Python version, framework or server has no
lock to include yet: create its files empty first (the bake needs them), then run this.

    python sync_locks.py            # lock again (pins in the locks are kept; see `make lock`)
    python sync_locks.py --upgrade  # every package to its newest version
    python sync_locks.py --check    # exit 1 when a lock is not what its .in resolves to
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from cookiecutter.main import cookiecutter

from local_extensions import TEMPLATE_DIR

LOCKS_DIR = TEMPLATE_DIR / "templates" / "locks"
OPTIONS = json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text())


def shipped_locks(python_version: str, framework: str, server: str) -> dict[str, Path]:
    """The project's lock files and where the template keeps each for this variant."""
    folder = LOCKS_DIR / f"py{python_version}"
    return {
        "requirements.txt": folder / f"requirements-{framework}.txt",
        "requirements-dev.txt": folder / f"requirements-dev-{framework}-{server}.txt",
    }


def lock(project: Path, options: list[str]) -> str:
    """Run the project's own `make lock` command with this interpreter (which has uv): its
    output when it fails, else ""."""
    package = next(project.glob("src/*_ops")).name
    environment = {**os.environ, "PYTHONPATH": str(project / "src")}
    command = [sys.executable, "-m", package, "lock", *options]
    done = subprocess.run(command, cwd=project, env=environment, capture_output=True, text=True)
    return "" if done.returncode == 0 else done.stdout + done.stderr


def main(argv: list[str]) -> int:
    names = ("python_version", "framework", "server")
    variants = [
        dict(zip(names, values, strict=True)) for values in itertools.product(*map(OPTIONS.get, names))
    ]
    with tempfile.TemporaryDirectory() as output:
        projects = []
        for number, answers in enumerate(variants):  # one at a time: cookiecutter changes directory
            print(f"sync_locks: baking {', '.join(answers.values())}", file=sys.stderr)
            folder = Path(output, str(number))
            projects.append(
                Path(cookiecutter(str(TEMPLATE_DIR), no_input=True, extra_context=answers, output_dir=folder))
            )
        print(f"sync_locks: locking {len(projects)} projects (make lock {' '.join(argv)})", file=sys.stderr)
        with ThreadPoolExecutor(max_workers=4) as pool:  # uv mostly waits on the index
            outputs = pool.map(lock, projects, [argv] * len(projects))
            failures = {
                ", ".join(answers.values()): output for answers, output in zip(variants, outputs, strict=True)
            }
        for variant, output in failures.items():
            if output:
                print(f"sync_locks: {variant}:\n{output}", file=sys.stderr)
        if any(failures.values()):
            return 1  # and nothing written
        if "--check" not in argv:
            for answers, project in zip(variants, projects, strict=True):
                for name, path in shipped_locks(**answers).items():
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_text((project / name).read_text())
    print(f"sync_locks: {'checked' if '--check' in argv else 'wrote'} the locks of {LOCKS_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
