"""The locks: every package pinned with its hashes, every request of the .in files in them,
and `make lock`'s refusal of platforms that disagree (the resolving itself needs the index)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}_ops import lock

PROJECT = Path(__file__).resolve().parent.parent


def name_of(requirement: str) -> str:
    """A package's name as a lock spells it: lower case, runs of -_. as one hyphen, no extras."""
    return re.sub(r"[-_.]+", "-", re.split(r"[\[=<>~!; ]", requirement, maxsplit=1)[0].lower())


def test_every_package_of_a_lock_is_pinned_with_its_hashes() -> None:
    for _, name in lock.LOCKS:
        header, *blocks = re.split(r"\n(?=[a-z0-9])", (PROJECT / name).read_text().strip())
        assert "make lock" in header
        assert blocks, name
        for block in blocks:
            assert re.match(r"[a-z0-9][a-z0-9.-]*==\S+ \\\n", block), block
            assert re.search(r"--hash=sha256:[0-9a-f]{64}", block), block


def test_every_requirement_of_the_in_files_is_in_its_lock() -> None:
    for source, lock_file in lock.LOCKS:
        locked = {name_of(pin): pin.strip() for pin in lock.pin_lines((PROJECT / lock_file).read_text())}
        for line in (PROJECT / source).read_text().splitlines():
            requirement = line.split("#")[0].strip()
            if not requirement or requirement.startswith("-") or ";" in requirement:
                continue  # options, and requirements for other platforms than the image's
            name = name_of(requirement)
            assert name in locked, f"{source}: {requirement} is not in {lock_file}; run make lock"
            if exact := re.fullmatch(r"[^=<>~!]+==\s*([^\s,*]+)", requirement):
                assert locked[name] == f"{name}=={exact.group(1)}", f"{source}: {requirement}; run make lock"


def test_the_tools_lock_holds_the_runtime_pins() -> None:
    runtime = set(lock.pin_lines((PROJECT / "requirements.txt").read_text()))
    assert runtime <= set(lock.pin_lines((PROJECT / "requirements-dev.txt").read_text()))


def test_platforms_that_resolve_to_other_pins_stop_the_lock_and_name_those_pins() -> None:
    x86 = "# make lock\nnumpy==2.4.6 \\\n    --hash=sha256:aa\nscipy==1.17.1 \\\n    --hash=sha256:bb\n"
    aarch64 = x86.replace("scipy==1.17.1", "scipy==1.16.0")
    same = lock.same_on_every_platform("requirements.in", {"x86_64": x86, "aarch64": x86})
    assert same == x86
    with pytest.raises(lock.LockError) as error:
        lock.same_on_every_platform("requirements.in", {"x86_64": x86, "aarch64": aarch64})
    message = str(error.value)
    assert "-scipy==1.17.1" in message and "+scipy==1.16.0" in message
    assert "numpy" not in message and "pin the packages below in requirements.in" in message
