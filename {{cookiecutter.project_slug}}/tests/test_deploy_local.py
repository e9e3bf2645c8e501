"""deploy-local's unzip: inside the folder, bounded in size, nothing half-unpacked, one line when refused."""

from __future__ import annotations

import io
import random
import sys
import zipfile
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}_ops.cli import main
from {{ cookiecutter.package_name }}_ops.deploy_local import (
    UnpackError,
    copy_bounded,
    unpack,
)

MODEL_FILE = "{{ cookiecutter.__model_file }}"
MB = 1 << 20


def zip_of_zeros(path: Path, size: int) -> Path:
    """A zip bomb in small: ``size`` bytes of zeros, deflated to a few KB."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("zeros.bin", bytes(size))
    return path


@pytest.fixture
def mount(tmp_path: Path) -> Path:
    folder = tmp_path / "mount" / "deployed_model"
    folder.mkdir(parents=True)
    return folder


def test_every_entry_is_written_and_its_bytes_counted(tmp_path: Path, mount: Path) -> None:
    artifact = tmp_path / "a.zip"
    contents = {MODEL_FILE: b"m" * 3000, "extra/labels.txt": b"setosa\n", "extra/empty": b""}
    with zipfile.ZipFile(artifact, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in contents.items():
            archive.writestr(name, data)
    assert unpack(artifact, mount) == sum(map(len, contents.values()))
    assert {
        path.relative_to(mount).as_posix(): path.read_bytes() for path in mount.rglob("*") if path.is_file()
    } == contents


def test_zip_slip_entries_stay_inside_the_folder(tmp_path: Path, mount: Path) -> None:
    artifact = tmp_path / "hostile.zip"
    with zipfile.ZipFile(artifact, "w") as archive:
        archive.writestr("../escaped.txt", "x")
        archive.writestr("/absolute.txt", "x")
        archive.writestr("deep/../../escaped-too.txt", "x")
        archive.writestr("..\\backslashed.txt", "x")
    unpack(artifact, mount)
    written = {path.relative_to(tmp_path).as_posix() for path in tmp_path.rglob("*.txt")}
    assert len(written) == 4 and all(name.startswith("mount/deployed_model/") for name in written), written


def test_a_zip_bomb_is_refused_by_its_declared_sizes_before_a_byte_is_written(
    tmp_path: Path, mount: Path
) -> None:
    artifact = zip_of_zeros(tmp_path / "bomb.zip", 4 * MB)
    assert artifact.stat().st_size < 50_000
    with pytest.raises(UnpackError, match=r"unpack to 4,194,304 bytes, over the limit of 1,048,576"):
        unpack(artifact, mount, limit=MB)
    assert not any(mount.iterdir())


def test_a_zip_that_lies_about_its_sizes_leaves_nothing_behind(tmp_path: Path, mount: Path) -> None:
    artifact = zip_of_zeros(tmp_path / "liar.zip", 4 * MB)
    data = bytearray(artifact.read_bytes())
    for header, size_at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):  # local header, central directory
        start = data.index(header)
        data[start + size_at : start + size_at + 4] = (1000).to_bytes(4, "little")
    artifact.write_bytes(bytes(data))
    with zipfile.ZipFile(artifact) as archive:
        assert archive.getinfo("zeros.bin").file_size == 1000  # it declares 1,000 bytes
    with pytest.raises(UnpackError, match=r"liar\.zip: not a readable zip"):
        unpack(artifact, mount, limit=MB)
    assert not any(mount.iterdir()), "nothing half-unpacked"


@pytest.mark.parametrize("compression", [zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_a_damaged_entry_leaves_nothing_behind(tmp_path: Path, mount: Path, compression: int) -> None:
    artifact = tmp_path / "damaged.zip"
    with zipfile.ZipFile(artifact, "w", compression=compression) as archive:
        archive.writestr("model.bin", random.Random(0).randbytes(50_000))  # compressed, still 50 KB
    data = bytearray(artifact.read_bytes())
    middle = len(data) // 2  # inside the compressed bytes
    data[middle : middle + 16] = bytes(16)
    artifact.write_bytes(bytes(data))
    with pytest.raises(UnpackError, match=r"damaged\.zip: "):
        unpack(artifact, mount, limit=MB)
    assert not any(mount.iterdir()), "nothing half-unpacked"


def test_bytes_are_counted_as_written_whatever_was_declared() -> None:
    target = io.BytesIO()
    assert copy_bounded(io.BytesIO(bytes(MB)), target, MB) == MB
    with pytest.raises(UnpackError, match="more than 1,048,576 bytes"):
        copy_bounded(io.BytesIO(bytes(3 * MB)), io.BytesIO(), MB)


@pytest.mark.parametrize("artifact", ["text", "missing", "folder", "bomb"])
def test_an_artifact_it_cant_take_is_one_line_naming_it(
    tmp_path: Path, artifact: str, capsys: pytest.CaptureFixture
) -> None:
    path = tmp_path / "notazip"
    expected = {
        "text": "not a readable zip",
        "missing": "does not exist",
        "folder": "is a folder",
        "bomb": "over the limit of 1,000,000",
    }[artifact]
    if artifact == "text":
        path.write_text("not a zip\n")
    elif artifact == "folder":
        path.mkdir()
    elif artifact == "bomb":
        zip_of_zeros(path, 4 * MB)
    status = main(
        ["deploy-local", "--image", "x", "--artifact", str(path), "--max-unpacked-bytes", "1000000"]
    )
    error = capsys.readouterr().err
    assert status == 2
    assert error.startswith(f"error: --artifact {path}") and expected in error, error
    assert error.count("\n") == 1, error


def test_settings_it_cant_read_are_one_line_before_anything_is_unpacked(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    settings = tmp_path / "deployment.toml"
    settings.write_text("[container]\ncount = 1 1\n")
    command = ["deploy-local", "--image", "x", "--artifact", str(tmp_path / "none.zip")]
    status = main([*command, "--settings", str(settings)])
    error = capsys.readouterr().err
    assert status == 2 and error.startswith(f"error: can't read {settings}") and error.count("\n") == 1, error


def test_it_says_once_that_loading_the_model_runs_its_code(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    artifact = tmp_path / "model_artifact.zip"
    with zipfile.ZipFile(artifact, "w") as archive:
        archive.writestr(MODEL_FILE, b"not loaded here")
        archive.writestr("extra/encoder.pkl", b"nor this")
    container_cli = tmp_path / "container-cli"  # answers as docker does for a container that exited
    container_cli.write_text(
        f"#!{sys.executable}\nimport sys\n"
        "if sys.argv[1:3] == ['container', 'inspect']:\n"
        '    print(\'[{"State": {"Running": false}}]\')\n'
    )
    container_cli.chmod(0o755)
    status = main(["deploy-local", "--image", "x", "--artifact", str(artifact), "--cli", str(container_cli)])
    error = capsys.readouterr().err
    assert status == 1 and "FAILED: the container exited" in error
    assert error.count("note: loading") == 1
    assert f"note: loading {MODEL_FILE} (and 1 more) runs code it holds (joblib/pickle)" in error
    assert "README 'Trusting a model file'" in error
