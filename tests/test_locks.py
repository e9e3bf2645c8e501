"""Locked dependencies with hashes: what the template ships, what `make lock` writes, what the
image accepts. uv resolves against PyPI here, as it does for a user."""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pytest
from baking import DEFAULT_FLASK, LIGHTGBM, TEMPLATE, ZOO_COMBOS, run

LOCKS = ("requirements.txt", "requirements-dev.txt")


def pins(lock: str) -> set[str]:
    """The ``name==version`` lines of a lock, without their hashes."""
    return set(re.findall(r"^([a-z0-9][a-z0-9._-]*==\S+) \\$", lock, re.MULTILINE))


def test_the_shipped_locks_are_what_make_lock_writes_for_every_variant() -> None:
    """sync_locks.py --check runs each variant's own lock command (uv, both platforms) on a bake."""
    checked = run([sys.executable, "sync_locks.py", "--check"], TEMPLATE, timeout=1200)
    assert "checked the locks" in checked.stdout


def test_a_shipped_lock_pins_every_package_with_hashes_for_both_platforms() -> None:
    lock = (TEMPLATE / "templates/locks/py3.11/requirements-dev-fastapi-triton.txt").read_text()
    blocks = re.split(r"\n(?=[a-z0-9])", lock.split("make lock\n", 1)[1].strip())
    assert len(blocks) == len(pins(lock)) > 80
    assert all("--hash=sha256:" in block for block in blocks)
    numpy = next(block for block in blocks if block.startswith("numpy=="))
    # Wheels of every platform are hashed: the hashes outnumber any one platform's files.
    assert numpy.count("--hash=sha256:") > 20


@pytest.mark.xdist_group(ZOO_COMBOS[0].id)  # the zoo's project: LightGBM added to requirements.in
def test_make_lock_adds_what_the_in_asks_keeps_every_other_pin_and_is_stable(zoo) -> None:
    project, _ = zoo(ZOO_COMBOS[0])
    shipped = (TEMPLATE / "templates/locks/py3.11/requirements-flask.txt").read_text()
    locked = {name: (project / name).read_text() for name in LOCKS}
    assert pins(locked["requirements.txt"]) - pins(shipped) == {LIGHTGBM}  # numpy, scipy: kept
    assert pins(shipped) <= pins(locked["requirements.txt"])
    assert LIGHTGBM in pins(locked["requirements-dev.txt"])
    assert re.search(
        rf"^{re.escape(LIGHTGBM)} \\\n    --hash=sha256:[0-9a-f]{{64}}", locked["requirements.txt"], re.M
    )

    again = run(["make", "lock"], project)
    assert {name: (project / name).read_text() for name in LOCKS} == locked
    count = len(pins(locked["requirements.txt"]))
    assert f"requirements.txt: {count} pins with their hashes, unchanged" in again.stdout
    run(["make", "lock-check"], project)

    requirements_in = project / "requirements.in"
    asked = requirements_in.read_text()
    try:
        requirements_in.write_text(asked + "tomli-w==1.2.0\n")  # asked for, not locked
        stale = run(["make", "lock-check"], project, check=False)
        assert stale.returncode != 0
        assert "requirements.txt is not what its .in resolves to: run make lock" in stale.stderr
        assert "+tomli-w==1.2.0" in stale.stderr
        assert {name: (project / name).read_text() for name in LOCKS} == locked  # --check writes nothing
    finally:
        requirements_in.write_text(asked)


@pytest.mark.xdist_group(DEFAULT_FLASK.id)
def test_the_image_build_refuses_a_tampered_hash(baked, podman_env: dict[str, str], tmp_path: Path) -> None:
    project = tmp_path / "tampered"
    shutil.copytree(baked(DEFAULT_FLASK), project, ignore=shutil.ignore_patterns(".venv", "model_artifact"))
    lock = project / "requirements.txt"
    header, first, *others = re.split(r"\n(?=[a-z0-9])", lock.read_text())
    assert first.startswith("blinker==")  # every hash of the first package pip fetches
    tampered = re.sub(r"sha256:[0-9a-f]{64}", "sha256:" + "0" * 64, first)
    lock.write_text("\n".join([header, tampered, *others]))
    command = ["make", "--no-print-directory", "build", "IMAGE_TAG=tampered", "CONTAINER_CLI=podman"]
    built = run(command, project, check=False, **podman_env)
    assert built.returncode != 0
    assert "THESE PACKAGES DO NOT MATCH THE HASHES" in built.stdout + built.stderr
