"""Output written to a pipe or a file is whole: no table column cut to `10,7…`, no line wrapped at 80 columns.

The smoke-train report is rendered from a recorded CPU machine's facts (every level), with a python whose
path alone is longer than 80 columns; CliRunner's stdout is not a terminal, as a pipe or a file is not.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from envcheck import runner
from envcheck.cli import app

FACTS = Path(__file__).parent.parent / "fixtures" / "smoke" / "cpu_machine_device_auto.json"


@pytest.fixture
def long_python(tmp_path: Path) -> Path:
    folder = tmp_path / ("a-folder-with-a-name-long-enough-to-pass-eighty-columns-on-its-own-" * 2)
    folder.mkdir()
    python = folder / "python"
    python.symlink_to(sys.executable)
    return python


def recorded_training(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """runner.run answers with the recorded facts, as the training probe does."""
    facts: dict[str, Any] = json.loads(FACTS.read_text(encoding="utf-8"))

    def run(argv: Sequence[str | os.PathLike[str]], *, timeout: float, **_: Any) -> runner.Completed:
        (Path(argv[-1]) / "output.json").write_text(json.dumps(facts), encoding="utf-8")
        return runner.Completed(tuple(map(str, argv)), 0, "", "", 1.0)

    monkeypatch.setattr(runner, "run", run)
    return facts


def test_the_smoke_train_table_and_header_are_whole_in_a_pipe(
    monkeypatch: pytest.MonkeyPatch, long_python: Path
) -> None:
    facts = recorded_training(monkeypatch)
    result = CliRunner().invoke(app, ["smoke-train", "--python", str(long_python)])
    assert "…" not in result.stdout
    lines = result.stdout.splitlines()
    assert any(str(long_python) in line and "(profile" in line for line in lines)  # one line, not wrapped
    for name, run in facts["runs"].items():
        row = next(line for line in lines if f" {name} " in line)
        assert row.rstrip().endswith(f"{run['steps_per_s']:,.0f}"), row  # the last column, all of it
    assert max(len(line) for line in lines) > 80
