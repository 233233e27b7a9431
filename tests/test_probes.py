"""Probe scripts run for real with the current interpreter."""

from __future__ import annotations

import sys
from pathlib import Path

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
