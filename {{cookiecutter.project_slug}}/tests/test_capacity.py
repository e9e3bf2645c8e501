"""`make capacity`: made-up bench figures with answers worked out by hand."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from baked_settings import replaced, write_settings

from {{ cookiecutter.package_name }}_ops.cli import main

# 2 workers on 2 CPUs; 1-row bodies of 100 bytes, 100-row bodies of 8,000.
BENCH = {
    "date": "2026-11-27T00:00:00Z",
    "machine": "x86_64",
    "cpus": 2,
    "workers": 2,
    "points": [
        {"connections": 1, "rows": 1, "rps": 500.0, "p50_ms": 1.9, "p99_ms": 4.0, "request_bytes": 100},
        {"connections": 4, "rows": 1, "rps": 1000.0, "p50_ms": 3.9, "p99_ms": 9.0, "request_bytes": 100},
        {"connections": 16, "rows": 1, "rps": 1100.0, "p50_ms": 14.0, "p99_ms": 30.0, "request_bytes": 100},
        {"connections": 4, "rows": 100, "rps": 200.0, "p50_ms": 19.0, "p99_ms": 25.0, "request_bytes": 8000},
        {
            "connections": 16,
            "rows": 100,
            "rps": 900.0,
            "p50_ms": 9.0,
            "p99_ms": 12.0,
            "request_bytes": 8000,
            "errors": 3,
        },  # fast because it failed: never used
    ],
}


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    """The bench record, and the settings as baked (one E4 OCPU, one instance, 2 workers)."""
    bench = tmp_path / "bench.json"
    points = [{"errors": 0, "non_2xx": 0, "seconds": 10.0, **point} for point in BENCH["points"]]
    bench.write_text(json.dumps({**BENCH, "points": points}))
    return bench, write_settings(tmp_path / "deployment.toml")


def capacity(files: tuple[Path, Path], *arguments: str) -> int:
    bench, settings = files
    return main(["capacity", "--bench", str(bench), "--settings", str(settings), *arguments])


def test_the_best_point_within_the_p99_sizes_instances_at_the_scale_out_cpu(files, capsys) -> None:
    # c4: 1000 req/s on 2 CPUs = 500 per CPU; E4.Flex, 1 OCPU = 2 vCPUs at 70%: 700 per instance.
    assert capacity(files, "--target-rps", "2000", "--p99-ms", "10") == 0
    shown = capsys.readouterr().out
    assert "per CPU: 1000 / min(2 workers, 2 CPUs) = 500.0 req/s" in shown
    assert "500.0 x 2 x 70% (scale-out CPU) = 700.0 req/s" in shown
    assert "ceil(2000 / 700.0) = 3 for the target, ceil(4000 / 700.0) = 6 for the peak" in shown
    # 4,000 req/s x 100 bytes x 8 = 3.2 Mbps: the default 10 is enough.
    assert "[instances] bandwidth_mbps = 10" in shown and "bound by bandwidth" not in shown
    for expected in ("[instances] count = 3", "[autoscaling] maximum_instances = 6"):
        assert expected in shown
{%- if cookiecutter.server == "triton" %}
    assert "WORKERS" not in shown  # Triton's deployment has no gunicorn workers
    assert "the bench measures the Python scorer; the deployment runs Triton" in shown
{%- else %}
    assert '[container.environment] WORKERS = "2"' in shown
{%- endif %}


def test_a_large_body_is_bound_by_the_load_balancer_not_the_cpus(files, capsys) -> None:
    # 166 KB at 10 Mbps: 10e6 / 8 / 166,000 = 7.5 req/s, whatever the instances serve.
    arguments = ("--target-rps", "50", "--p99-ms", "50", "--rows", "100", "--body", "166KB")
    assert capacity(files, *arguments) == 0
    shown = capsys.readouterr().out
    assert "measured: 200 req/s at 4 connections, p99 25.0 ms" in shown  # not the failed c16
    assert "100 req/s x 166,000 bytes x 8 = 132.8 Mbps -> 133 Mbps" in shown
    assert "bound by bandwidth: the 10 Mbps set now carries 7.5 req/s of 166,000 bytes" in shown
    assert "[instances] count = 1" in shown and "[autoscaling] maximum_instances = 1" in shown


def test_ampere_a1_counts_one_vcpu_per_ocpu(files, capsys) -> None:
    _, settings = files
    settings.write_text(replaced(settings.read_text(), '"VM.Standard.E4.Flex"', '"VM.Standard.A1.Flex"'))
    assert (
        capacity(files, "--target-rps", "1000", "--p99-ms", "10", "--ocpus", "4", "--peak-rps", "1000") == 0
    )
    shown = capsys.readouterr().out
    assert "4 OCPU x 1 vCPU (VM.Standard.A1.Flex) = 4 vCPUs, 4 workers" in shown
    assert "500.0 x 4 x 70% (scale-out CPU) = 1400.0 req/s" in shown
    assert "[autoscaling] enabled = false" in shown  # the peak is the target: nothing to scale to


def test_write_puts_the_plan_into_the_settings_and_keeps_their_comments(files, capsys) -> None:
    _, settings = files
    before = settings.read_text()
    assert capacity(files, "--target-rps", "2000", "--p99-ms", "10", "--ocpus", "2", "--write") == 0
    after = tomllib.loads(settings.read_text())
    # 2 OCPUs = 4 vCPUs: 500 x 4 x 0.7 = 1400 per instance: 2 for 2000, 3 for 4000.
    assert after["instances"] | {"shape": "VM.Standard.E4.Flex"} == after["instances"]
    assert (after["instances"]["ocpus"], after["instances"]["count"]) == (2, 2)
    assert after["autoscaling"]["enabled"] is True
    assert (after["autoscaling"]["minimum_instances"], after["autoscaling"]["maximum_instances"]) == (2, 3)
{%- if cookiecutter.server == "triton" %}
    assert after["container"]["environment"] == tomllib.loads(before)["container"]["environment"]
{%- else %}
    assert after["container"]["environment"]["WORKERS"] == "4"
{%- endif %}
    comments = [line for line in before.splitlines() if line.startswith("#")]
    assert comments == [line for line in settings.read_text().splitlines() if line.startswith("#")]
    assert settings.stat().st_mode & 0o777 == 0o644  # the file's own mode, not a temporary file's


{%- if cookiecutter.server != "triton" %}


def test_write_puts_the_worker_count_under_the_name_the_settings_give_it(files, capsys) -> None:
    # WEB_CONCURRENCY (ADS's name) and WORKERS are one setting: --write keeps the file's choice,
    # and two names stay equal (the pre-flight refuses them apart).
    _, settings = files
    settings.write_text(replaced(settings.read_text(), "\nWORKERS = ", "\nWEB_CONCURRENCY = "))
    assert capacity(files, "--target-rps", "2000", "--p99-ms", "10", "--ocpus", "2", "--write") == 0
    environment = tomllib.loads(settings.read_text())["container"]["environment"]
    assert environment["WEB_CONCURRENCY"] == "4" and "WORKERS" not in environment

    both = replaced(settings.read_text(), "\nWEB_CONCURRENCY = ", '\nWORKERS = "1"\nWEB_CONCURRENCY = ')
    settings.write_text(both)
    assert capacity(files, "--target-rps", "2000", "--p99-ms", "10", "--ocpus", "2", "--write") == 0
    environment = tomllib.loads(settings.read_text())["container"]["environment"]
    assert (environment["WORKERS"], environment["WEB_CONCURRENCY"]) == ("4", "4")
{%- endif %}


def test_write_keeps_comments_beside_keys_and_headers_and_refuses_a_missing_key(files, capsys) -> None:
    _, settings = files
    text = replaced(settings.read_text(), "[instances]\n", "[instances]  # sizes\n")
    settings.write_text(replaced(text, "\ncount = 1\n", "\ncount = 1  # fixed size\n"))
    assert capacity(files, "--target-rps", "2000", "--p99-ms", "10", "--write") == 0
    written = settings.read_text()
    assert "[instances]  # sizes\n" in written and "\ncount = 3  # fixed size\n" in written
    assert tomllib.loads(written)["instances"]["count"] == 3

    settings.write_text(replaced(written, "minimum_instances = 3\n", ""))
    before = settings.read_text()
    assert capacity(files, "--target-rps", "2000", "--p99-ms", "10", "--write") == 1
    assert "the settings file has no autoscaling.minimum_instances" in capsys.readouterr().err
    assert settings.read_text() == before


def test_a_p99_nothing_reaches_or_no_bench_says_what_to_do(files, capsys, tmp_path: Path) -> None:
    _, settings = files
    assert capacity(files, "--target-rps", "100", "--p99-ms", "2") == 1
    assert "no 1-row point of the bench has a p99 within 2 ms (the lowest: 4.0 ms at 1 connections)" in (
        capsys.readouterr().err
    )
    before = settings.read_text()
    missing = ["capacity", "--bench", str(tmp_path / "none.json"), "--settings", str(settings)]
    assert main([*missing, "--target-rps", "100", "--p99-ms", "10", "--write"]) == 1
    assert "run `make bench` first" in capsys.readouterr().err
    assert settings.read_text() == before  # nothing written
    for bad in ("", "inf", "-3"):
        with pytest.raises(SystemExit):
            capacity(files, "--target-rps", bad, "--p99-ms", "10")
        assert f"{bad!r} is not a positive number" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        capacity(files, "--target-rps", "10", "--p99-ms", "10", "--ocpus", "-2")
    assert "'-2' is not a whole number above 0" in capsys.readouterr().err


@pytest.mark.parametrize(
    "broken",
    [{"cpus": None}, {"points": [{"rows": 1}]}, {"workers": 0}],
    ids=["no CPU count", "a point without figures", "no workers"],
)
def test_a_bench_record_that_is_not_one_is_refused(files, capsys, broken: dict) -> None:
    bench, _ = files
    bench.write_text(json.dumps({**json.loads(bench.read_text()), **broken}))
    assert capacity(files, "--target-rps", "100", "--p99-ms", "10") == 1
    assert "is not a `make bench` record: run `make bench` again" in capsys.readouterr().err
