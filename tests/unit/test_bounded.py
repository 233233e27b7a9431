"""Bounded input: a report, a profile, a requirements file (and its includes), an environment.yml or a lock past
any real size is refused at once with one line, never read whole; a program's output keeps its head and tail.

Each case is a real oversized input: /dev/zero (no end at all), a sparse file past the limit, a 900,000-line
requirements file written on the spot.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from envcheck import bounded
from envcheck.bounded import MIB, HeadTail, TooLarge, read_limited
from envcheck.cli import app

cli = CliRunner()
posix_only = pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")


def sparse(path: Path, size: int) -> Path:
    """A file of ``size`` bytes that takes no room on disk."""
    with open(path, "wb") as handle:
        handle.truncate(size)
    return path


def test_a_limited_read_stops_one_byte_past_the_limit(tmp_path: Path) -> None:
    assert read_limited(sparse(tmp_path / "at", 1000), 1000) == bytes(1000)
    with pytest.raises(TooLarge, match="larger than 1,000 bytes"):
        read_limited(sparse(tmp_path / "past", 1001), 1000)


@posix_only
def test_compare_dev_zero_is_refused_in_a_moment() -> None:
    started = time.monotonic()
    result = cli.invoke(app, ["compare", "/dev/zero", "/dev/zero", "--json"])
    assert result.exit_code == 2
    assert time.monotonic() - started < 10  # it used to read until the machine ran out of memory
    message = json.loads(result.stdout)["error"]["message"]
    assert "/dev/zero (larger than 16 MiB; a report is 10-100 KB)" in message


def test_compare_refuses_a_report_past_the_limit_and_reads_one_under_it(tmp_path: Path) -> None:
    big = sparse(tmp_path / "big.json", bounded.REPORT_LIMIT + 1)
    result = cli.invoke(app, ["compare", str(big), str(big)])
    assert result.exit_code == 2 and "larger than 16 MiB" in result.stderr


def test_a_requirements_file_of_900000_lines_is_refused_before_pip_or_uv_read_it(tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("".join(f"p{n}\n" for n in range(900_000)))  # 6.5 MB: under the size limit
    started = time.monotonic()
    result = cli.invoke(app, ["export", "--file", str(requirements), "--format", "pip"])
    assert time.monotonic() - started < 20  # it used to take 4.5 minutes, then uv grew to 10.7 GB
    assert result.exit_code == 2
    error = next(line for line in result.stderr.splitlines() if line.startswith("error:"))
    assert f"{requirements}: more than 200,000 lines long, far past any real" in error
    assert "700 hashed requirements: 1.3 MB, 15,000 lines" in error


@posix_only
def test_an_include_of_dev_zero_is_refused_too(tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("six\n-r /dev/zero\n")
    result = cli.invoke(app, ["export", "--file", str(requirements), "--format", "pip"])
    assert result.exit_code == 2
    assert "error: /dev/zero: larger than 16 MiB" in result.stderr
    assert "what its -r and -c lines include" in result.stderr


def test_requirements_that_include_each_other_are_refused_not_recursed_for_ever(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("six\n-r b.txt\n")
    (tmp_path / "b.txt").write_text("idna\n-r a.txt\n")
    result = cli.invoke(app, ["export", "--file", str(tmp_path / "a.txt"), "--format", "pip"])
    assert result.exit_code == 2
    assert f"error: {tmp_path / 'b.txt'}: includes {tmp_path / 'a.txt'}, which includes it again" in result.stderr


def test_an_environment_yml_past_the_limit_is_refused(tmp_path: Path) -> None:
    yml = sparse(tmp_path / "environment.yml", bounded.USER_FILE_LIMIT + 1)
    result = cli.invoke(app, ["export", "--file", str(yml), "--format", "pip"])
    assert result.exit_code == 2 and f"error: {yml}: larger than 16 MiB" in result.stderr


@posix_only
def test_a_lock_that_never_ends_is_refused(tmp_path: Path) -> None:
    result = cli.invoke(app, ["download", "--lock", "/dev/zero", "--dest", str(tmp_path / "wheels")])
    assert result.exit_code == 2
    assert "error: /dev/zero: larger than 64 MiB, far past any real lock" in result.stderr
    assert not (tmp_path / "wheels").exists()


def test_output_keeps_its_head_and_tail_and_says_what_was_left_out() -> None:
    kept = HeadTail(head=10, tail=10)
    for chunk in (b"0123456789", b"abcdefghij" * 3, b"KLMNOPQRST"):
        kept.add(chunk)
    text = kept.text()
    assert text.startswith("0123456789\n[envcheck: 30 bytes of output left out here;")
    assert text.endswith("are kept]\nKLMNOPQRST")
    assert kept.dropped == 30 and kept.total == 50


def test_a_log_that_took_the_head_gets_only_the_rest() -> None:
    kept = HeadTail(head=4, tail=4)
    kept.add(b"abcd")  # logged as it came
    kept.add(b"efgh")
    assert kept.since(4) == "efgh"  # nothing dropped: the rest follows
    kept.add(b"ijkl")
    assert kept.since(4).endswith("ijkl") and "4 bytes of output left out" in kept.since(4)


def test_sizes_read_as_people_write_them() -> None:
    assert [bounded.describe(n) for n in (16 * MIB, 512 * 1024, 300)] == ["16 MiB", "512 KiB", "300 bytes"]
    assert str(TooLarge(Path("x"), MIB)) == "x is larger than 1 MiB"
