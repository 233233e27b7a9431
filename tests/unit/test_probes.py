"""Probe scripts run for real with the current interpreter."""

from __future__ import annotations

import sys
import venv
from pathlib import Path

import pytest

from envcheck.locations import python_in
from envcheck.probes import run_probe


def test_interpreter_probe_reports_facts_and_markers() -> None:
    outcome = run_probe(Path(sys.executable), "interpreter", timeout=60)
    assert outcome.ok, outcome.failure
    assert outcome.data["version_info"][:2] == list(sys.version_info[:2])
    assert outcome.data["bits"] == 64
    assert outcome.data["prefix"] == sys.prefix
    assert outcome.data["markers"]["sys_platform"] == sys.platform


def test_imports_probe_records_each_failure_and_goes_on() -> None:
    outcome = run_probe(
        Path(sys.executable),
        "imports",
        {"modules": ["json", "envcheck_no_such_module", "csv"], "distributions": ["pytest", "no-such-dist"]},
        timeout=60,
    )
    assert outcome.ok, outcome.failure
    modules = outcome.data["modules"]
    assert modules["json"]["ok"] and modules["csv"]["ok"]
    assert modules["envcheck_no_such_module"] == {**modules["envcheck_no_such_module"], "ok": False}
    assert modules["envcheck_no_such_module"]["error_type"] == "ModuleNotFoundError"
    assert outcome.data["distributions"]["pytest"]
    assert outcome.data["distributions"]["no-such-dist"] is None


def test_probes_do_not_see_envcheck_or_the_probe_folder() -> None:
    outcome = run_probe(Path(sys.executable), "imports", {"modules": ["interpreter"]}, timeout=60)
    assert outcome.data["modules"]["interpreter"]["ok"] is False


def test_probes_honour_the_wish_not_to_write_bytecode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "site").mkdir()
    module = tmp_path / "site" / "envcheck_bytecode_probe_target.py"
    module.write_text("VALUE = 1\n")
    # the probe runs isolated (-I), so the module is reached through a .pth file of a throwaway venv
    venv.EnvBuilder(with_pip=False).create(tmp_path / "env")
    python = python_in(tmp_path / "env")
    site = next((tmp_path / "env" / "lib").glob("python3*/site-packages"))
    (site / "target.pth").write_text(str(tmp_path / "site") + "\n")

    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    assert run_probe(python, "imports", {"modules": ["envcheck_bytecode_probe_target"]}, timeout=60).ok
    assert not (tmp_path / "site" / "__pycache__").exists()
    run_probe(python, "imports", {"modules": ["envcheck_bytecode_probe_target"]}, timeout=60, write_bytecode=True)
    assert list((tmp_path / "site" / "__pycache__").glob("envcheck_bytecode_probe_target*.pyc"))


def test_what_a_probe_writes_to_the_temporary_folder_goes_with_it(tmp_path: Path) -> None:
    # as TensorFlow's autograph does for every function it converts: a file in the temporary folder, never removed
    (tmp_path / "site").mkdir()
    said = tmp_path / "written-at.txt"
    (tmp_path / "site" / "envcheck_temporary_writer.py").write_text(
        "import pathlib, tempfile\n"
        "handle, name = tempfile.mkstemp(prefix='__autograph_generated_file', suffix='.py')\n"
        f"pathlib.Path({str(said)!r}).write_text(name)\n"
    )
    venv.EnvBuilder(with_pip=False).create(tmp_path / "env")
    site = next((tmp_path / "env" / "lib").glob("python3*/site-packages"))
    (site / "writer.pth").write_text(str(tmp_path / "site") + "\n")

    assert run_probe(python_in(tmp_path / "env"), "imports", {"modules": ["envcheck_temporary_writer"]}, timeout=60).ok
    written = Path(said.read_text())
    assert written.parent.parent.name.startswith("envcheck-probe-")
    assert not written.parent.parent.exists()
