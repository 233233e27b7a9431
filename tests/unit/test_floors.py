"""The floors of the house: import-linter's contracts in pyproject.toml hold (no upward import, no cycle), and
every module of envcheck stands on one of the floors."""

from __future__ import annotations

import pkgutil
from pathlib import Path

import pytest

import envcheck

PYPROJECT = Path(__file__).parents[2] / "pyproject.toml"

api = pytest.importorskip("importlinter.api", reason="import-linter is not installed (pip install -e '.[test]')")
from importlinter.application import use_cases  # noqa: E402 - after the skip: import-linter may be absent


def test_no_module_imports_from_a_higher_floor_or_in_a_circle(capsys: pytest.CaptureFixture[str]) -> None:
    kept = use_cases.lint_imports(config_filename=str(PYPROJECT), cache_dir=None, no_logo=True)
    assert kept, capsys.readouterr().out


def test_every_module_of_envcheck_is_on_a_floor() -> None:
    contracts = api.read_configuration(str(PYPROJECT))["contracts_options"]
    floors = next(c for c in contracts if c.get("id") == "floors")["layers"]
    placed = {name.strip() for layer in floors for name in layer.split("|")}
    modules = {f"envcheck.{m.name}" for m in pkgutil.iter_modules(envcheck.__path__)}
    assert modules - placed == set(), "add these modules to a floor in pyproject.toml"
    assert placed - modules == set(), "these floors name modules that do not exist"


def test_no_module_is_longer_than_500_lines() -> None:
    """A module that grows past 500 lines is split where its parts are (CONTRIBUTING.md: the layout)."""
    root = Path(envcheck.__file__).parent
    long = {str(p.relative_to(root)): n for p in root.rglob("*.py") if (n := len(p.read_text().splitlines())) > 500}
    assert long == {}
