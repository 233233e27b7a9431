"""The level table of smoke-train: one row per level reaches the CLI, the probe's input, the rules and the docs.

The recipe for a new level is a row in envcheck/smoke/levels.py and a trainer in a probe part; these tests add a
level in the test itself (the row here, the trainer in a copy of the probe folder) and follow it to the report.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from support.probes import load_probe
from typer.testing import CliRunner

from envcheck import probes
from envcheck.cli import app
from envcheck.profiles.files import load_profile
from envcheck.results import Status
from envcheck.smoke import levels, rules
from envcheck.smoke.train import make_options, smoke_train
from envcheck.targets import Target

pytest.importorskip("numpy", reason="the scratch level needs NumPy (a test dependency)")

ROOT = Path(__file__).parents[2]
cli = CliRunner()
# A level the shipped table does not have: the chain rule in NumPy once more, batch N, which must end at the
# scratch batch-N run's weights.
EXTRA = levels.Level(
    "numpy-again",
    "the scratch level's chain rule once more, batch N",
    levels.SSE,
    ((levels.BATCH_ALL, levels.SCRATCH_BATCH_ALL),),
)


@pytest.fixture
def probe_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The probe folder copied, so a test can add a trainer to a probe part; run_probe runs the copy."""
    folder = tmp_path / "probes"
    shutil.copytree(probes.script_path("smoke_train").parent, folder)
    monkeypatch.setattr(probes, "script_path", lambda name: folder / f"{name}.py")
    return folder


def smoke(*levels_asked: str) -> tuple[int, dict[str, Any]]:
    """The command's core with the table as the test left it (the CLI's choices are fixed when it is imported)."""
    target = Target(python=Path(sys.executable), prefix=None, profile=load_profile(None, None), marker=None,
                    origin="python")  # fmt: skip
    report = smoke_train(target, make_options(list(levels_asked) or None, epochs=300))
    return int(report.exit_code), report.payload()


def test_a_new_level_is_a_row_and_a_trainer(monkeypatch: pytest.MonkeyPatch, probe_copy: Path) -> None:
    monkeypatch.setattr(levels, "LEVELS", (*levels.LEVELS, EXTRA))
    net = probe_copy / "smoke_net.py"
    net.write_text(net.read_text() + '\nTRAINERS["numpy-again"] = train_scratch\n')
    seen: list[dict[str, Any]] = []
    real_run = probes.runner.run

    def run(argv: Any, **kwargs: Any) -> Any:
        seen.append(json.loads((Path(argv[-1]) / "input.json").read_text()))
        return real_run(argv, **kwargs)

    monkeypatch.setattr(probes.runner, "run", run)

    code, document = smoke("scratch", "numpy-again")

    assert code == 0, document["checks"]
    assert [row["name"] for row in seen[0]["levels"]] == ["scratch", "numpy-again"]
    assert seen[0]["levels"][1]["runs"] == [
        {"name": "numpy-again-batchN", "level": "numpy-again", "batch": "N", "loss": levels.SSE.label}
    ]
    assert document["request"]["levels"] == ["scratch", "numpy-again"]
    assert [r["name"] for r in document["runs"]] == ["scratch-batchN", "scratch-batch1", "numpy-again-batchN"]
    checks = {c["id"]: c for c in document["checks"]}
    assert checks["level.numpy-again-batchN.converged"]["status"] == "pass"
    assert checks["trajectory.scratch-batchN-vs-numpy-again-batchN"]["status"] == "pass"
    assert checks["trajectory.scratch-batchN-vs-numpy-again-batchN"]["data"]["max_abs_difference"] == 0.0
    assert "| `numpy-again` | the scratch level's chain rule once more, batch N | sum of squared errors |" in (
        levels.markdown_table()
    )


def test_a_row_without_a_trainer_fails_its_runs_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(levels, "LEVELS", (*levels.LEVELS, EXTRA))
    code, document = smoke("numpy-again")
    assert code == 1
    check = {c["id"]: c for c in document["checks"]}["level.numpy-again-batchN.converged"]
    assert check["status"] == "fail"
    assert check["detail"] == "this probe has no trainer for level 'numpy-again'"


def test_the_probe_trains_the_runs_the_table_names_and_no_others(monkeypatch: pytest.MonkeyPatch) -> None:
    one_batch = levels.Level("scratch", "batch 1 only", levels.SSE, ((levels.BATCH_ONE, None),))
    monkeypatch.setattr(levels, "LEVELS", (one_batch,))
    code, document = smoke()
    assert code == 0
    assert [r["name"] for r in document["runs"]] == ["scratch-batch1"]
    assert [c["id"] for c in document["checks"] if c["id"].startswith("level.")] == [
        "level.scratch-batch1.converged",
        "level.scratch-batch1.loss-fell",
    ]


def test_the_command_line_offers_the_tables_levels() -> None:
    from envcheck.cli import options

    assert [choice.value for choice in options.Level] == list(levels.names())
    assert [choice.value for choice in options.Device] == list(levels.DEVICES)
    help_text = cli.invoke(app, ["smoke-train", "--help"], terminal_width=200).stdout
    assert "scratch|keras|tape|tf1-optimizer|tf1-gradients" in help_text.replace(" ", "")


def test_an_unknown_level_lists_the_table() -> None:
    from envcheck.errors import UsageError

    with pytest.raises(UsageError, match="valid levels: scratch, keras, tape, tf1-optimizer, tf1-gradients$"):
        make_options(["pytorch"])


def test_every_shipped_level_has_a_trainer_in_the_probe() -> None:
    folder = probes.script_path("smoke_train").parent
    trainers = {**load_probe("smoke_net", folder).TRAINERS, **load_probe("smoke_tf", folder).TRAINERS}
    assert set(levels.names()) <= trainers.keys()


def test_pairs_and_losses_come_from_the_table() -> None:
    pairs = [(run.matches, run.name) for run in levels.runs_for(levels.names()) if run.matches]
    assert pairs == [
        ("scratch-batch1", "keras-batch1"),
        ("scratch-batch1", "tape-batch1"),
        ("scratch-batchN", "tape-batchN"),
        ("scratch-batchN", "tf1-optimizer-batchN"),
        ("scratch-sequential", "tf1-gradients-batchN"),
    ]
    assert rules.loss_kind({"name": "keras-batch1"}) == "mse"
    assert rules.loss_kind({"name": "cluster-batchN"}) == "sse"
    missing = rules.check_converged({"name": "keras-batch1", "status": "missing", "error": "not run"})
    assert missing.status is Status.FAIL


def test_the_docs_show_the_tables_levels() -> None:
    """The smoke-train page marks where the docs build writes the table; no page keeps a copy of its own."""
    assert (ROOT / "docs" / "smoke-train.md").read_text().count(levels.DOCS_MARK) == 1
    copies = [p.name for p in (ROOT / "docs").rglob("*.md") if "| level | what it does |" in p.read_text()]
    assert copies == []
    assert "on_page_markdown" in (ROOT / "docs" / "hooks" / "reference.py").read_text()
    table = levels.markdown_table().splitlines()
    assert table[:2] == ["| level | what it does | loss |", "| --- | --- | --- |"]
    assert [row.split("|")[1].strip(" `") for row in table[2:]] == list(levels.names())
    assert table[3] == (
        "| `keras` | `model.compile(loss=MeanSquaredError(), optimizer=SGD(lr))`, then `train_on_batch` sample by "
        "sample | mean squared error |"
    )
