"""The --json contract of every command: the envelope's keys, one status vocabulary, and errors as envelopes.

Whatever ends a command (a finished check, an option click refuses, envcheck's own error, a disk that is
read-only or full, a bug) the user gets one `error:` line and one `hint:` line on stderr, a documented exit
code and, with --json, exactly one envelope on stdout. The disk cases use a real tmpfs, mounted read-only or
filled up, where the tests run as root; elsewhere they are skipped with the reason.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import contract
from support.setups import MINI, FakeInstaller
from typer.testing import CliRunner

from envcheck.cli import app
from envcheck.output.envelope import STATUSES, status_of

cli = CliRunner()
BASE = ["schema_version", "envcheck_version", "command", "status", "exit_code"]
KEYS = {
    "setup": [
        *BASE,
        "action",
        "prefix",
        "profile",
        "backend",
        "installer",
        "python",
        "versions",
        "kernel",
        "log",
        "duration",
        "next_command",
        "run_command",
        "phases",
        "lock",
        "warnings",
    ],
    "export": [*BASE, "profile", "format", "content"],
    "verify": [*BASE, "environment", "versions", "devices", "checks", "plan", "duration", "lock"],
    "smoke-train": [
        *BASE,
        *("environment", "request", "versions", "device", "thresholds", "runs", "reference", "checks", "probe"),
        *("plot", "distributed", "duration"),
    ],
    "compare": [*BASE, "reference", "agree", "reports", "drift"],
    "error": [*BASE, "error"],
}


@pytest.mark.parametrize("name", list(KEYS))
def test_the_pinned_keys_are_the_keys_its_published_schema_names(name: str) -> None:
    """The order is pinned here; the keys themselves are the published schema's (envcheck schema NAME)."""
    kind = "error" if name == "error" else "report"
    keys = contract.describe(name)["keys"]
    assert {k.split(".")[1] for k in keys if k.startswith(f"{kind}.") and k.count(".") == 1} == set(KEYS[name])


def envelope_of(result: object) -> dict:
    stdout = result.stdout  # type: ignore[attr-defined]
    return json.loads(stdout)  # exactly one document: anything else on stdout fails to parse


def assert_one_error(result: object, code: int, command: str) -> dict:
    """The error's two lines on stderr and the error envelope on stdout, with the given exit code."""
    assert result.exit_code == code, result.stderr  # type: ignore[attr-defined]
    lines = result.stderr.strip().splitlines()  # type: ignore[attr-defined]
    assert len(lines) == 2 and lines[0].startswith("error: ") and lines[1].startswith("hint: "), lines
    document = envelope_of(result)
    assert list(document) == KEYS["error"]
    assert document["command"] == command and document["exit_code"] == code
    assert document["status"] == ("error" if code != 1 else "fail")
    assert list(document["error"]) == ["message", "hint"]
    assert lines[0] == f"error: {document['error']['message']}"
    return document


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVCHECK_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter"))


# ---------------------------------------------------------------------------------------------- usage errors


@pytest.mark.parametrize(
    ("args", "command", "says"),
    [
        (["verify", "--json", "--timeout", "0"], "verify", "'--timeout': 0.0 is not in the range 1.0<=x<=86400.0"),
        (["setup", "--json", "--bogus"], "setup", "No such option: --bogus"),
        (["smoke-train", "--json", "--epochs", "abc"], "smoke-train", "'--epochs': 'abc' is not a valid int"),
        (["export", "--json", "--format"], "export", "Option '--format' requires an argument"),
        (["no-such-command", "--json"], "envcheck", "No such command 'no-such-command'"),
    ],
)
def test_options_click_refuses_come_as_the_error_envelope(args: list[str], command: str, says: str) -> None:
    document = assert_one_error(cli.invoke(app, args), 2, command)
    assert says in document["error"]["message"]
    # the hint is a command that works
    help_args = ["--help"] if command == "envcheck" else [command, "--help"]
    assert document["error"]["hint"] == f"run: envcheck {' '.join(help_args)}"
    assert cli.invoke(app, help_args).exit_code == 0


def test_without_json_a_refused_option_is_two_lines_and_nothing_on_stdout() -> None:
    result = cli.invoke(app, ["verify", "--timeout", "0"])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [
        "error: Invalid value for '--timeout': 0.0 is not in the range 1.0<=x<=86400.0.",
        "hint: run: envcheck verify --help",
    ]


# ---------------------------------------------------------------------------------------------- every command


def test_setup_envelope_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    FakeInstaller(monkeypatch)
    profile = tmp_path / "mini.toml"
    profile.write_text(MINI)
    result = cli.invoke(app, ["setup", "--file", str(profile), "--prefix", str(tmp_path / "env"), "--json"])
    assert result.exit_code == 0, result.stderr
    document = envelope_of(result)
    assert list(document) == KEYS["setup"]
    assert document["status"] == "pass"


def test_export_envelope_keys_and_content_is_the_plain_output() -> None:
    result = cli.invoke(app, ["export", "--format", "pip", "--json"])
    assert result.exit_code == 0, result.stderr
    document = envelope_of(result)
    assert list(document) == KEYS["export"]
    assert (document["command"], document["status"], document["format"]) == ("export", "pass", "pip")
    assert document["content"] == cli.invoke(app, ["export", "--format", "pip"]).stdout


def test_verify_and_smoke_train_envelope_keys(tmp_path: Path) -> None:
    pytest.importorskip("numpy")
    profile = tmp_path / "small.toml"
    profile.write_text('schema = 1\nname = "small"\nkernel = false\n[[package]]\nrequirement = "pip"\n')
    verify = cli.invoke(app, ["verify", "--python", sys.executable, "--file", str(profile), "--json"])
    assert list(envelope_of(verify)) == KEYS["verify"]
    smoke = cli.invoke(app, ["smoke-train", "--python", sys.executable, "--level", "scratch", "--json"])
    assert list(envelope_of(smoke)) == KEYS["smoke-train"]
    for result in (verify, smoke):
        document = envelope_of(result)
        assert document["status"] in STATUSES
        # one vocabulary: the status follows from the exit code, whatever the command
        assert document["status"] == status_of(result.exit_code, warned=document["status"] == "warn")


def test_compare_envelope_keys(tmp_path: Path) -> None:
    report = Path(__file__).parents[1] / "fixtures" / "compare" / "verify-linux-cpu.json"
    result = cli.invoke(app, ["compare", str(report), str(report), "--json"])
    document = envelope_of(result)
    assert list(document) == KEYS["compare"]
    assert document["status"] == status_of(result.exit_code) == "pass"
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    assert_one_error(cli.invoke(app, ["compare", str(report), str(bad), "--json"]), 2, "compare")


def test_an_envcheck_error_with_json_is_the_error_envelope(tmp_path: Path) -> None:
    document = assert_one_error(cli.invoke(app, ["verify", "--prefix", str(tmp_path / "none"), "--json"]), 2, "verify")
    assert "no such environment" in document["error"]["message"]


def test_the_status_vocabulary() -> None:
    assert STATUSES == ("pass", "warn", "fail", "error")
    assert [status_of(code) for code in (0, 1, 2, 3, 130)] == ["pass", "fail", "error", "error", "error"]
    assert status_of(0, warned=True) == "warn"


# ---------------------------------------------------------------------------------------------- anything else


def test_an_unexpected_error_is_one_line_exit_3_and_the_envelope(monkeypatch: pytest.MonkeyPatch) -> None:
    import envcheck.profiles.condafile

    def broken(*args: object) -> str:
        raise KeyError("format")

    monkeypatch.setattr(envcheck.profiles.condafile, "export_text", broken)
    document = assert_one_error(cli.invoke(app, ["export", "--json"]), 3, "export")
    assert document["error"]["message"] == "envcheck could not finish: KeyError: 'format'"
    assert "Traceback" not in cli.invoke(app, ["export"]).output


@contextlib.contextmanager
def tmpfs(where: Path, size: str) -> Iterator[Path]:
    """A real tmpfs of ``size`` at ``where``; skips the test, with the reason, where it cannot be mounted."""
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root on Linux")
    where.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False, timeout=30)


def remount_read_only(where: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(where)], check=True, timeout=30)


def test_a_read_only_disk_under_envchecks_home_is_one_line_exit_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    FakeInstaller(monkeypatch)
    profile = tmp_path / "mini.toml"
    profile.write_text(MINI)
    with tmpfs(tmp_path / "ro", "1m") as home:
        remount_read_only(home)
        monkeypatch.setenv("ENVCHECK_HOME", str(home))
        args = ["setup", "--file", str(profile), "--prefix", str(tmp_path / "env"), "--json"]
        document = assert_one_error(cli.invoke(app, args), 3, "setup")
    assert document["error"]["message"].startswith("Read-only file system: ")
    assert "writable place" in document["error"]["hint"]
    assert not (tmp_path / "env").exists()


def test_a_full_disk_under_envchecks_home_is_one_line_exit_3_and_nothing_half_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    FakeInstaller(monkeypatch)
    profile = tmp_path / "mini.toml"
    profile.write_text(MINI)
    with tmpfs(tmp_path / "full", "64k") as home:
        (home / "logs").mkdir()
        with contextlib.suppress(OSError), (home / "filler").open("wb") as filler:
            while True:
                filler.write(b"\0" * 4096)
                filler.flush()
        monkeypatch.setenv("ENVCHECK_HOME", str(home))
        args = ["setup", "--file", str(profile), "--prefix", str(tmp_path / "env"), "--json"]
        document = assert_one_error(cli.invoke(app, args), 3, "setup")
    assert document["error"]["message"].startswith("No space left on device")
    assert "free some space" in document["error"]["hint"]
    assert not (tmp_path / "env").exists()


def test_recreate_on_a_read_only_disk_is_one_line_and_keeps_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    FakeInstaller(monkeypatch)
    profile = tmp_path / "mini.toml"
    profile.write_text(MINI)
    with tmpfs(tmp_path / "disk", "64m") as disk:
        prefix = disk / "env"
        args = ["setup", "--file", str(profile), "--prefix", str(prefix), "--json"]
        assert cli.invoke(app, args).exit_code == 0
        remount_read_only(disk)
        result = cli.invoke(app, [*args, "--recreate"])
        assert result.exit_code in (2, 3)
        document = assert_one_error(result, result.exit_code, "setup")
        assert str(disk) in document["error"]["message"]
        assert (prefix / "envcheck-marker.json").is_file()  # the environment is where it was, untouched
