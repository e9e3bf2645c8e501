"""Session fixtures of the template tests."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import bcrypt
import pytest
from baking import ADS_REQUIREMENTS, LIGHTGBM, TEMPLATE, Combo, bake, find_python, free_port, run


class Registry(NamedTuple):
    host: str
    user: str  # <namespace>/<user>, as OCIR names its users
    token: str
    auth_file: str  # REGISTRY_AUTH_FILE: logins stay out of the user's home


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The template's files, without .git, .venv or build output: copier renders a
    template without git history from what is on disk, committed or not."""
    copy = tmp_path_factory.mktemp("template") / "byoc-template"
    ignored = shutil.ignore_patterns(".git", ".venv", "build", "__pycache__", ".pytest_cache", ".ruff_cache")
    shutil.copytree(TEMPLATE, copy, ignore=ignored)
    return copy


@pytest.fixture(scope="session")
def fresh(tmp_path_factory: pytest.TempPathFactory):
    """``fresh(combo, folder)``: the combo's project as cookiecutter renders it, copied into
    ``folder``: one bake per combo and worker (about 1.5 s of rendering, a copy takes milliseconds),
    and each test its own copy to read or change."""
    projects: dict[str, Path] = {}

    def get(combo: Combo, folder: Path) -> Path:
        if combo.id not in projects:
            projects[combo.id] = bake(tmp_path_factory.mktemp("fresh"), combo.answers)
        original = projects[combo.id]
        return Path(shutil.copytree(original, folder / original.name, symlinks=True))

    return get


@pytest.fixture(scope="session")
def baked(tmp_path_factory: pytest.TempPathFactory):
    """``baked(combo)``: the combo's project, baked, installed and trained once per session."""
    projects: dict[str, Path] = {}

    def get(combo: Combo) -> Path:
        if combo.id not in projects:
            project = bake(tmp_path_factory.mktemp("bake"), combo.answers)
            python = find_python(combo.answers.get("python_version", "3.11"))
            run(["make", "install", f"PYTHON={python}"], project)
            run(["make", "train"], project)
            projects[combo.id] = project
        return projects[combo.id]

    return get


@pytest.fixture(scope="session")
def zoo(tmp_path_factory: pytest.TempPathFactory):
    """``zoo(combo)``: (project, models): the combo's project with LightGBM added to its
    requirements as its README says (requirements.in, `make lock`), and the models of
    tests/models/make_models.py trained in it."""
    made: dict[str, tuple[Path, Path]] = {}

    def get(combo: Combo) -> tuple[Path, Path]:
        if combo.id not in made:
            project = bake(tmp_path_factory.mktemp("zoo"), combo.answers)
            requirements = project / "requirements.in"
            requirements.write_text(requirements.read_text() + f"{LIGHTGBM}\n")
            python = find_python(combo.answers.get("python_version", "3.11"))
            run(["make", "lock", f"PYTHON={python}"], project)
            run(["make", "install", f"PYTHON={python}"], project)
            models = project.parent / "models"
            script = TEMPLATE / "tests" / "models" / "make_models.py"
            run([str(project / ".venv/bin/python"), str(script), str(models)], project, PYTHONPATH="src")
            made[combo.id] = project, models
        return made[combo.id]

    return get


@pytest.fixture(scope="session")
def podman_env() -> dict[str, str]:
    """Environment for podman: set up once (tests/containers/setup.sh), shared by xdist workers."""
    state = TEMPLATE / "build" / "containers"
    state.mkdir(parents=True, exist_ok=True)
    with open(state / "setup.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one base-image build, whatever the worker count
        script = run(
            ["bash", str(TEMPLATE / "tests/containers/setup.sh"), str(state)], TEMPLATE, timeout=1800
        )
    exports = script.stdout.strip().removeprefix("export ").split()
    return dict(item.split("=", 1) for item in exports)


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """Debian's docker-registry on loopback, with a user and password (htpasswd, bcrypt)."""
    folder = tmp_path_factory.mktemp("registry")
    user, token = "mytenancy/jane@example.com", "test-auth-token-" + os.urandom(8).hex()
    (folder / "htpasswd").write_text(f"{user}:{bcrypt.hashpw(token.encode(), bcrypt.gensalt()).decode()}\n")
    port = free_port()
    (folder / "config.yml").write_text(
        "version: 0.1\nlog:\n  level: warn\n"
        f"storage:\n  filesystem:\n    rootdirectory: {folder / 'data'}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
        f"auth:\n  htpasswd:\n    realm: test\n    path: {folder / 'htpasswd'}\n"
    )
    server = subprocess.Popen(
        ["docker-registry", "serve", str(folder / "config.yml")], stderr=subprocess.PIPE
    )
    host = f"127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://{host}/v2/", timeout=1)
        except urllib.error.HTTPError as error:
            if error.code == 401:
                break
        except OSError:
            time.sleep(0.1)
    else:
        server.kill()
        pytest.fail(f"docker-registry did not start: {server.stderr.read().decode()}")
    (folder / "auth.json").write_text("{}")
    yield Registry(host, user, token, str(folder / "auth.json"))
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture(scope="session")
def ads_python() -> Path:
    """The python of a venv with Oracle's real ``oracle-ads`` (ADS needs pandas < 3, the projects
    pin pandas 3: so a venv of its own), made once in build/ads-venv and shared by xdist workers."""
    venv = TEMPLATE / "build" / "ads-venv"
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / "ads-venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = venv / ".installed"
        if not done.is_file() or done.read_text() != "\n".join(ADS_REQUIREMENTS):
            shutil.rmtree(venv, ignore_errors=True)
            run([find_python("3.11"), "-m", "venv", str(venv)], TEMPLATE)
            pip = [str(venv / "bin/python"), "-m", "pip", "install", "--quiet"]
            run([*pip, *ADS_REQUIREMENTS], TEMPLATE, timeout=1800)
            done.write_text("\n".join(ADS_REQUIREMENTS))
    return venv / "bin/python"
