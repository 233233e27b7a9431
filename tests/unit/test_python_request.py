"""`--python 3.13`: a version asked for by number finds ``python3.13`` on PATH, else asks uv, else says how to get one."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

import pytest
from support.setups import MINI, FakeInstaller
from typer.testing import CliRunner

from envcheck.cli import app
from envcheck.errors import NoEnvironmentError
from envcheck.targets import find_interpreter

RUNNING = f"{sys.version_info[0]}.{sys.version_info[1]}"


@pytest.fixture
def on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder first on PATH holding ``python3.X`` for the running interpreter."""
    folder = tmp_path / "bin"
    folder.mkdir()
    (folder / f"python{RUNNING}").symlink_to(sys.executable)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    return folder


def test_a_version_finds_the_interpreter_of_that_name_on_path(on_path: Path) -> None:
    assert find_interpreter(RUNNING) == on_path / f"python{RUNNING}"


def test_a_version_nothing_provides_says_how_to_get_one() -> None:
    with pytest.raises(NoEnvironmentError) as info:
        find_interpreter("3.99")
    assert info.value.message == "no Python 3.99 found (looked for python3.99 and asked uv)"
    assert info.value.hint is not None and " python install 3.99;" in info.value.hint


def test_a_name_that_is_neither_path_nor_version_is_refused_with_the_forms_that_work() -> None:
    with pytest.raises(NoEnvironmentError) as info:
        find_interpreter("no-such-python")
    assert "e.g. --python 3.12" in (info.value.hint or "")


def test_setup_builds_from_a_version_request(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, on_path: Path) -> None:
    fake = FakeInstaller(monkeypatch)
    monkeypatch.setenv("ENVCHECK_HOME", str(tmp_path / "home"))
    profile = tmp_path / "mini.toml"
    profile.write_text(MINI)
    args = ["setup", "--file", str(profile), "--prefix", str(tmp_path / "env"), "--python", RUNNING, "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.stderr
    (create,) = [c for c in fake.calls if "venv" in c]
    assert str(on_path / f"python{RUNNING}") in create


def test_the_python_range_hint_is_a_command_setup_accepts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    FakeInstaller(monkeypatch)
    monkeypatch.setenv("ENVCHECK_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no python3.X on PATH: the hint asks for a version
    profile = tmp_path / "mini.toml"
    profile.write_text(MINI.replace('python = ">=3.8"', f'python = ">{sys.version_info[0]}.{sys.version_info[1]}.99"'))
    result = CliRunner().invoke(app, ["setup", "--file", str(profile), "--prefix", str(tmp_path / "env")])
    assert result.exit_code == 2
    hint = next(line for line in result.stderr.splitlines() if line.startswith("hint: ")).removeprefix("hint: run: ")
    words = shlex.split(hint)
    # PATH is empty here: the hint names this envcheck by its path, which works as typed
    assert Path(words[0]).is_absolute() and Path(words[0]).name == "envcheck" and Path(words[0]).is_file()
    assert words[1:6] == ["setup", "--file", str(profile), "--prefix", str(tmp_path / "env")]
    assert words[6:] == ["--python", "3.14"]  # the newest release the range allows, as a version uv can provide
