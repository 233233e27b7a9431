"""Where envcheck keeps its environments: ENVCHECK_HOME, else the per-user data folder of the platform."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from envcheck.locations import default_prefix, envcheck_home

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the XDG rules apply on Linux")


def test_envcheck_home_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVCHECK_HOME", str(tmp_path / "eh"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_prefix("lab") == tmp_path / "eh" / "envs" / "lab"


@linux_only
def test_an_absolute_xdg_data_home_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ENVCHECK_HOME", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert envcheck_home() == tmp_path / "xdg" / "envcheck"


@linux_only
@pytest.mark.parametrize("value", ["relative/share", "./share", ""])
def test_a_relative_or_empty_xdg_data_home_is_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.delenv("ENVCHECK_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_DATA_HOME", value)
    monkeypatch.chdir(tmp_path)
    home = envcheck_home()
    assert home == tmp_path / "home" / ".local" / "share" / "envcheck"
    assert home.is_absolute()
