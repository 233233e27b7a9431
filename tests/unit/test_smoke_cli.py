"""`envcheck smoke-train` through typer's CliRunner: usage errors, the JSON envelope, crashed and hung probes."""

from __future__ import annotations

import importlib.util
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
from envcheck.smoke.distributed import STRATEGIES
from envcheck.smoke.levels import DEVICES, names

cli = CliRunner()
PYTHON = sys.executable
# the parser offers the core's own tables, as click lists them
CHOICES = {
    name: ", ".join(repr(value) for value in table)
    for name, table in (("levels", names()), ("devices", DEVICES), ("strategies", STRATEGIES))
}
ENVELOPE_KEYS = {"schema_version", "envcheck_version", "command", "status", "exit_code"}
PAYLOAD_KEYS = {
    "environment",
    "request",
    "versions",
    "device",
    "thresholds",
    "runs",
    "reference",
    "checks",
    "probe",
    "plot",
    "duration",
}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--level", "tape", "--level", "pytorch"],
            f"error: Invalid value for '--level' / '-l': 'pytorch' is not one of {CHOICES['levels']}.",
        ),
        (["--device", "tpu"], f"error: Invalid value for '--device': 'tpu' is not one of {CHOICES['devices']}."),
        (["--epochs", "0"], "error: Invalid value for '--epochs': 0 is not in the range 1<=x<=100000."),
        (["--lr", "-1"], "error: --lr must be a positive finite number, not -1.0"),
        (["--lr", "inf"], "error: --lr must be a positive finite number, not inf"),
        (["--lr", "nan"], "error: --lr must be a positive finite number, not nan"),
        (["--lr", "0"], "error: --lr must be a positive finite number, not 0.0"),
        (["--seed", "-1"], "error: --seed must be between 0 and 4294967295, not -1"),
        (["--seed", str(2**32)], "error: --seed must be between 0 and 4294967295, not 4294967296"),
        (["--epochs", "-5"], "error: Invalid value for '--epochs': -5 is not in the range 1<=x<=100000."),
        (
            ["--epochs", "1000000000000"],
            "error: Invalid value for '--epochs': 1000000000000 is not in the range 1<=x<=100000.",
        ),
        (["--timeout", "inf"], "error: Invalid value for '--timeout': inf is not in the range 1.0<=x<=86400.0."),
        (["--timeout", "nan"], "error: Invalid value for '--timeout': nan is not a number of seconds."),
        (
            ["--strategy", "parameter-server"],
            f"error: Invalid value for '--strategy': 'parameter-server' is not one of {CHOICES['strategies']}.",
        ),
        (["--workers", "1"], "error: --workers must be between 2 and 16, not 1"),
        (["--workers", "17"], "error: --workers must be between 2 and 16, not 17"),
        (["--workers", "2", "--strategy", "mirrored"], "error: --strategy and --workers cannot be used together"),
        (["--workers", "2", "--level", "tape"], "error: --level cannot be used with --workers"),
    ],
)
def test_bad_option_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    result = cli.invoke(app, ["smoke-train", "--python", PYTHON, *args])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert lines[0] == message
    assert len(lines) == 1 or (len(lines) == 2 and lines[1].startswith("hint: "))
    assert result.stdout == ""


def test_missing_interpreter_in_prefix_is_unusable_exit_3(tmp_path: Path) -> None:
    result = cli.invoke(app, ["smoke-train", "--prefix", str(tmp_path)])
    assert result.exit_code == 3
    assert "has no python interpreter" in result.stderr


def test_an_interpreter_that_cannot_run_the_probe_is_unusable_exit_3(tmp_path: Path) -> None:
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\necho 'not a python' >&2\nexit 1\n")
    fake.chmod(0o755)
    result = cli.invoke(app, ["smoke-train", "--python", str(fake)])
    assert result.exit_code == 3
    assert "cannot run envcheck's training probe" in result.stderr
    assert "not a python" in result.stderr


def test_json_envelope_has_every_key() -> None:
    pytest.importorskip("numpy")
    result = cli.invoke(app, ["smoke-train", "--python", PYTHON, "--level", "scratch", "--epochs", "2000", "--json"])
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document.keys() >= ENVELOPE_KEYS | PAYLOAD_KEYS
    assert document["command"] == "smoke-train"
    assert document["status"] == "pass" and document["exit_code"] == 0
    assert document["request"]["levels"] == ["scratch"]
    assert [r["name"] for r in document["runs"]] == ["scratch-batchN", "scratch-batch1"]
    run = document["runs"][0]
    for key in ("loss", "final_loss", "final_outputs", "final_weights", "first_step_s", "rest_s", "steps_per_s"):
        assert key in run
    assert run["device"] == "NumPy"
    assert {c["id"] for c in document["checks"]} >= {"level.scratch-batchN.converged", "level.scratch-batch1.loss-fell"}
    assert {"python", "numpy"} <= document["versions"].keys()


# ---------------------------------------------------------------------------------------------- dying probes


def fake_run(
    monkeypatch: pytest.MonkeyPatch, *, returncode: int | None, timed_out: bool = False, partial: bool = True
) -> None:
    """runner.run that leaves a partial answer (scratch done) and then 'dies' as asked."""

    def run(argv: Sequence[str | os.PathLike[str]], *, timeout: float, **_: Any) -> runner.Completed:
        control = Path(argv[-1])
        if partial:
            answer = {
                "complete": False,
                "versions": {"python": "3.11.7", "numpy": "2.4.6"},
                "runs": {
                    "scratch-batchN": {
                        "name": "scratch-batchN",
                        "level": "scratch",
                        "batch": "N",
                        "loss": "sse: sum",
                        "status": "ok",
                        "initial_loss": 0.85,
                        "final_loss": 0.0034,
                        "final_outputs": [0.98, 0.97, 0.04],
                        "final_weights": {
                            "W_h": [[0.1] * 3] * 4,
                            "b_h": [[0.0] * 3],
                            "W_o": [[0.2]] * 3,
                            "b_o": [[0.0]],
                        },
                    }
                },
            }
            (control / "output.json").write_text(json.dumps(answer))
        return runner.Completed(
            argv=tuple(map(str, argv)),
            returncode=returncode,
            stdout="",
            stderr="Fatal Python error: Segmentation fault\n",
            duration=1.0,
            timed_out=timed_out,
        )

    monkeypatch.setattr(runner, "run", run)


def test_a_probe_killed_by_a_signal_is_a_failed_check_not_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_run(monkeypatch, returncode=-11)
    result = cli.invoke(app, ["smoke-train", "--python", PYTHON, "--level", "scratch", "--json"])
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    checks = {c["id"]: c for c in document["checks"]}
    assert checks["smoke.probe"]["status"] == "fail"
    assert checks["smoke.probe"]["detail"] == "the training process was killed by SIGSEGV"
    assert checks["level.scratch-batchN.converged"]["status"] == "pass"  # the partial answer still counts
    assert "killed by SIGSEGV" in checks["level.scratch-batch1.converged"]["detail"]


def test_a_probe_that_dies_before_answering_is_still_a_failed_check(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_run(monkeypatch, returncode=-4, partial=False)
    result = cli.invoke(app, ["smoke-train", "--python", PYTHON])
    assert result.exit_code == 1
    assert "killed by SIGILL" in result.stdout
    assert "AVX" in result.stdout


def test_a_probe_that_hangs_names_the_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_run(monkeypatch, returncode=None, timed_out=True)
    result = cli.invoke(app, ["smoke-train", "--python", PYTHON, "--timeout", "42", "--json"])
    assert result.exit_code == 1
    checks = {c["id"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["smoke.probe"]["detail"] == "training did not finish within 42 s (the probe was stopped)"
    assert "--timeout" in checks["smoke.probe"]["hint"]


def test_table_for_people_shows_runs_and_the_total_time() -> None:
    pytest.importorskip("numpy")
    result = cli.invoke(app, ["smoke-train", "--python", PYTHON, "--level", "scratch"])
    assert result.exit_code == 0, result.stderr
    assert "scratch-batch1" in result.stdout and "NumPy" in result.stdout
    assert "versions python" in result.stdout
    assert "total" in result.stdout.splitlines()[-1]


def test_device_gpu_with_only_the_numpy_level_is_refused_exit_2() -> None:
    result = cli.invoke(app, ["smoke-train", "--python", PYTHON, "--level", "scratch", "--device", "gpu"])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert lines[0] == "error: --device gpu needs a TensorFlow level; the scratch level runs in NumPy on the CPU"
    assert lines[1].startswith("hint: add --level tape")


def test_cluster_without_tf_config_or_slurm_is_refused_exit_2(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TF_CONFIG", "SLURM_JOB_ID", "SLURM_PROCID", "SLURM_STEP_NUM_TASKS"):
        monkeypatch.delenv(name, raising=False)
    result = cli.invoke(app, ["smoke-train", "--python", PYTHON, "--cluster", "--json"])
    assert result.exit_code == 2
    assert "error: --cluster needs TF_CONFIG or a Slurm job step" in result.stderr
    assert json.loads(result.stdout)["status"] == "error"


def test_a_probe_that_exits_non_zero_is_shown_with_a_cross(tmp_path: Path) -> None:
    fake = tmp_path / "python"
    # a python that runs the probe and then exits 1: the progress line must not say ✓
    fake.write_text(f'#!/bin/sh\n{sys.executable} "$@"\nexit 1\n')
    fake.chmod(0o755)
    pytest.importorskip("numpy")
    result = cli.invoke(app, ["smoke-train", "--python", str(fake), "--level", "scratch", "--epochs", "50"])
    assert result.exit_code == 1
    stderr = " ".join(result.stderr.split())
    assert "✗ train the reference network (scratch)" in stderr
    assert "(the probe exited with code 1)" in stderr
    assert "✓ train the reference network" not in stderr


def test_workers_where_tensorflow_is_missing_fail_naming_each_worker() -> None:
    """The launcher, its free ports and both worker processes run for real; TensorFlow is absent here."""
    pytest.importorskip("numpy")
    if importlib.util.find_spec("tensorflow") is not None:
        pytest.skip("TensorFlow is installed in the test interpreter; the e2e tests cover this path")
    result = cli.invoke(app, ["smoke-train", "--python", PYTHON, "--workers", "2", "--epochs", "20", "--json"])
    assert result.exit_code == 1, result.stderr
    document = json.loads(result.stdout)
    assert document["request"]["mode"] == "workers" and document["request"]["workers"] == 2
    workers = document["distributed"]["workers"]
    assert [w["index"] for w in workers] == [0, 1]
    assert all(w["address"].startswith("127.0.0.1:") and w["status"] == "unavailable" for w in workers)
    assert workers[0]["address"] != workers[1]["address"]
    check = next(c for c in document["checks"] if c["id"] == "distributed.workers")
    assert check["status"] == "fail"
    assert check["detail"].startswith(f"worker 0 at {workers[0]['address']} tensorflow: ModuleNotFoundError")
