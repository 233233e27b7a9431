"""`envcheck setup` through typer's CliRunner: exit codes, one-line errors, the JSON envelope."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
from support.setups import MINI, FakeInstaller
from typer.testing import CliRunner

from envcheck.cli import app

cli = CliRunner()


def test_version() -> None:
    result = cli.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.startswith("envcheck ")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["setup", "--profile", "nope"], "error: unknown profile 'nope'"),
        (["setup", "--file", "missing.toml"], "missing.toml: no such file"),
        (
            ["setup", "--backend", "docker"],
            "error: Invalid value for '--backend': 'docker' is not one of 'venv', 'conda'.",
        ),
        (["setup", "--installer", "npm"], "error: Invalid value for '--installer': 'npm' is not one of 'uv', 'pip'."),
    ],
)
def test_bad_input_gives_one_error_line_a_hint_and_exit_2(args: list[str], message: str) -> None:
    result = cli.invoke(app, args)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert message in lines[0]
    assert len(lines) <= 2 and (len(lines) == 1 or lines[1].startswith("hint:"))


def test_refusal_is_exit_2_and_leaves_the_folder_alone(tmp_path: Path) -> None:
    (tmp_path / "data.csv").write_text("a,b")
    result = cli.invoke(app, ["setup", "--prefix", str(tmp_path)])
    assert result.exit_code == 2
    assert "is not a Python environment" in result.stderr
    assert (tmp_path / "data.csv").read_text() == "a,b"


def test_json_prints_exactly_one_envelope_on_stdout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    FakeInstaller(monkeypatch)
    profile = tmp_path / "mini.toml"
    profile.write_text(MINI)
    result = cli.invoke(app, ["setup", "--file", str(profile), "--prefix", str(tmp_path / "env"), "--json"])
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert {"schema_version", "envcheck_version", "command", "status", "exit_code"} <= document.keys()
    assert document["command"] == "setup" and document["action"] == "created"
    assert document["prefix"] == str(tmp_path / "env")
    # the profile is named again with its file, as verify needs it, and every path survives the shell
    expected = ["envcheck", "verify", "--file", str(profile), "--prefix", str(tmp_path / "env")]
    assert shlex.split(document["next_command"]) == expected
    assert document["status"] == "pass" and document["exit_code"] == 0


def test_summary_names_path_python_versions_and_next_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    FakeInstaller(monkeypatch)
    profile = tmp_path / "mini.toml"
    profile.write_text(MINI)
    args = ["setup", "--file", str(profile), "--prefix", str(tmp_path / "env")]
    first = cli.invoke(app, args)
    assert first.exit_code == 0, first.stderr
    assert "Environment created" in first.stdout and "next: envcheck verify --file" in first.stdout
    assert "install packages" in first.stderr
    second = cli.invoke(app, args)
    assert "up to date" in second.stdout


def test_errors_reach_json_scripts_as_an_envelope_too() -> None:
    result = cli.invoke(app, ["setup", "--profile", "nope", "--json"])
    assert result.exit_code == 2
    document = json.loads(result.stdout)
    assert document["command"] == "setup" and document["status"] == "error" and document["exit_code"] == 2
    assert document["error"]["message"] == "unknown profile 'nope'"
    assert "available profiles" in document["error"]["hint"]
    verify = json.loads(cli.invoke(app, ["verify", "--prefix", "/no/such/env", "--json"]).stdout)
    assert verify["command"] == "verify" and verify["error"]["message"] == "no such environment: /no/such/env"
