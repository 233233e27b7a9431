"""`envcheck export`: what a user sees on stdout and stderr, and the exit codes. All real, in-process."""

from __future__ import annotations

import platform
from pathlib import Path

import pytest
from typer.testing import CliRunner

from envcheck.cli import app
from envcheck.profiles.files import load_profile


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVCHECK_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter"))


def export(*args: str):
    return CliRunner().invoke(app, ["export", *args])


def test_conda_format_prints_only_the_environment_file() -> None:
    result = export("--format", "conda")
    assert result.exit_code == 0
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert "name: deep-learning" in lines and "dependencies:" in lines
    major_minor = ".".join(platform.python_version_tuple()[:2])
    if load_profile("deep-learning").python.contains(platform.python_version()):
        assert f"  - python={major_minor}" in lines  # the python setup would build with
    assert lines[-3:] == ["  - pip:", "      - tensorflow>=2.16", "      - keras>=3.0"]


def test_conda_is_the_default_format() -> None:
    assert export().stdout == export("--format", "conda").stdout


def test_pip_format_prints_a_requirements_file() -> None:
    result = export("--format", "pip", "--profile", "deep-learning-gpu")
    assert result.exit_code == 0
    requirements = [line for line in result.stdout.splitlines() if not line.startswith("#")]
    assert requirements == load_profile("deep-learning-gpu").requirement_strings()


def test_exported_file_is_accepted_back_with_file(tmp_path: Path) -> None:
    exported = tmp_path / "environment.yml"
    exported.write_text(export("--format", "conda").stdout, encoding="utf-8")
    again = export("--format", "conda", "--file", str(exported))
    assert again.exit_code == 0
    assert again.stdout.split("name:", 1)[1] == export("--format", "conda").stdout.split("name:", 1)[1]


def test_unknown_format_is_exit_2_with_a_hint() -> None:
    result = export("--format", "yaml")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "error: Invalid value for '--format': 'yaml' is not one of 'conda', 'pip'.",
        "hint: run: envcheck export --help",
    ]


def test_broken_environment_file_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "environment.yml"
    path.write_text("name: x\ndependencies:\n  - numpy\n  - {a: b}\n", encoding="utf-8")
    result = export("--file", str(path))
    assert result.exit_code == 2
    assert f"{path}:4:" in result.stderr
    assert result.stdout == ""


def test_profile_and_file_together_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "environment.yml"
    path.write_text("dependencies:\n  - numpy\n", encoding="utf-8")
    result = export("--profile", "deep-learning", "--file", str(path))
    assert result.exit_code == 2
    assert "cannot be used together" in result.stderr
