"""A --cluster worker that Slurm stops with SIGTERM writes a report that says what happened to the job and names
the peers that no longer answer, instead of "interrupted". The signal is real (sent to this process inside
typer's CliRunner); the probe and scontrol are stand-ins through runner.run, the one thing patched.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from envcheck import runner
from envcheck.cli import app
from envcheck.smoke import stopped

FIXTURES = Path(__file__).parents[1] / "fixtures" / "distributed"
cli = CliRunner()


def slurm_environment() -> dict[str, str]:
    lines = (FIXTURES / "slurm-srun-N2-ntasks-per-node2.env").read_text(encoding="utf-8").splitlines()
    environ = dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))
    return {**environ, "SLURM_PROCID": "0", "SLURM_LOCALID": "0", "SLURM_STEP_NUM_TASKS": "2"}


@pytest.fixture
def listening() -> Iterator[str]:
    """An address where something answers, as a live worker's server does."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield f"127.0.0.1:{server.getsockname()[1]}"


@pytest.fixture
def silent() -> str:
    """An address where nothing answers any more, as a dead worker's."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{s.getsockname()[1]}"


def partial_answer(addresses: list[str]) -> dict[str, Any]:
    """What the training probe of task 0 had written when the signal came: joined, training."""
    return {
        "complete": False,
        "versions": {"python": "3.11.7", "numpy": "2.4.6", "tensorflow": "2.21.0"},
        "tensorflow": {"version": "2.21.0", "physical_gpus": []},
        "runs": {"cluster-batchN": {"name": "cluster-batchN", "status": "running", "joined": True}},
        "distributed": {
            "mode": "cluster",
            "stage": "training",
            "source": "slurm",
            "cluster": {"worker": addresses},
            "task": {"type": "worker", "index": 0},
            "expected_workers": len(addresses),
        },
    }


def failed_answer(listening: str, silent: str) -> dict[str, Any]:
    """Worker 0's answer once it saw worker 1 go: its training failed."""
    answer = partial_answer([listening, silent])
    found = {"index": 1, "address": silent, "error": "stopped answering 3.2 s into training (Connection reset)"}
    answer["distributed"].update(stage="failed", failures=[found])
    return answer


def fake_slurm(
    monkeypatch: pytest.MonkeyPatch, answer: dict[str, Any], signum: int | None, job_state: str
) -> list[str]:
    """runner.run: the probe writes ``answer`` and the process gets ``signum`` (None: the probe exits 1 by itself,
    its training failed); scontrol says ``job_state``."""
    calls: list[str] = []

    def run(argv: Sequence[str | os.PathLike[str]], *, timeout: float, **_: Any) -> runner.Completed:
        args = tuple(map(str, argv))
        calls.append(Path(args[0]).name)
        if args[0] == "scontrol":
            out = f"JobId=481516 JobName=envcheck JobState={job_state} Reason=None\n"
            return runner.Completed(argv=args, returncode=0, stdout=out, stderr="", duration=0.01)
        (Path(args[-1]) / "output.json").write_text(json.dumps(answer))
        if signum is None:
            return runner.Completed(argv=args, returncode=1, stdout="", stderr="", duration=0.01)
        # what slurmstepd does: the handler kills the children; Ctrl-C interrupts, Slurm's SIGTERM is reported
        os.kill(os.getpid(), signum)
        assert signum == signal.SIGTERM, "Ctrl-C should have interrupted the probe"
        return runner.Completed(argv=args, returncode=-signal.SIGKILL, stdout="", stderr="", duration=0.01)

    monkeypatch.setattr(runner, "run", run)
    for name, value in slurm_environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("TF_CONFIG", raising=False)
    return calls


def smoke_cluster() -> Any:
    return cli.invoke(app, ["smoke-train", "--python", sys.executable, "--cluster", "--json"])


def test_sigterm_from_slurm_names_the_dead_peer_and_the_jobs_fate(
    monkeypatch: pytest.MonkeyPatch, listening: str, silent: str
) -> None:
    calls = fake_slurm(monkeypatch, partial_answer([listening, silent]), signal.SIGTERM, "RUNNING")
    result = smoke_cluster()
    assert result.exit_code == 1, result.stderr
    document = json.loads(result.stdout)
    checks = {c["id"]: c for c in document["checks"]}
    why = checks["distributed.stopped"]
    assert why["status"] == "fail"
    assert why["detail"].startswith("Slurm stopped this task with SIGTERM while training: job 481516 is still running")
    assert "-K, --kill-on-bad-exit" in why["detail"] and "srun: error" in why["hint"]
    assert why["data"]["answering"] == {silent: False}
    assert checks["distributed.workers"]["detail"] == f"worker 1 at {silent} no longer answers"
    assert checks["level.cluster-batchN.converged"]["detail"] == "stopped by SIGTERM from Slurm while training"
    assert document["distributed"]["stopped"] == {"signal": "SIGTERM", "job_state": "RUNNING"}
    assert calls[1:] == ["scontrol"]  # the probe, then Slurm asked about the job


def test_a_cancelled_job_says_so_and_blames_this_task_when_every_peer_answers(
    monkeypatch: pytest.MonkeyPatch, listening: str
) -> None:
    answer = partial_answer(["127.0.0.1:1", listening])
    fake_slurm(monkeypatch, answer, signal.SIGTERM, "CANCELLED")
    document = json.loads(smoke_cluster().stdout)
    checks = {c["id"]: c for c in document["checks"]}
    assert checks["distributed.stopped"]["detail"].endswith("while training: job 481516 was cancelled (scancel)")
    assert checks["distributed.workers"]["detail"] == "worker 0 at 127.0.0.1:1 was stopped by SIGTERM"


def test_ctrl_c_stays_an_interruption(monkeypatch: pytest.MonkeyPatch, silent: str) -> None:
    calls = fake_slurm(monkeypatch, partial_answer(["127.0.0.1:1", silent]), signal.SIGINT, "RUNNING")
    result = smoke_cluster()
    assert result.exit_code == 130
    assert json.loads(result.stdout)["error"]["message"] == "interrupted"
    assert "scontrol" not in calls


@pytest.mark.parametrize(
    ("state", "words"),
    [
        ("RUNNING", "is still running, so Slurm ended this step"),
        ("COMPLETING", "is ending: srun ended its step because a task failed"),
        ("CANCELLED", "was cancelled (scancel)"),
        ("TIMEOUT", "reached its time limit"),
        ("NODE_FAIL", "is NODE_FAIL"),
        (None, "scontrol could not say why"),
    ],
)
def test_the_jobs_fate_in_words(state: str | None, words: str) -> None:
    assert words in stopped.what_happened(state, "7")


def test_no_scontrol_means_no_job_state(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    assert stopped.job_state("7") is None


def test_a_worker_that_had_named_its_dead_peer_keeps_that_failure(
    monkeypatch: pytest.MonkeyPatch, listening: str, silent: str
) -> None:
    """srun -K's SIGTERM may come just after the worker saw its peer go: what it found stays in the report."""
    fake_slurm(monkeypatch, failed_answer(listening, silent), signal.SIGTERM, "RUNNING")
    checks = {c["id"]: c for c in json.loads(smoke_cluster().stdout)["checks"]}
    assert checks["distributed.stopped"]["detail"].startswith(
        "Slurm stopped this task with SIGTERM after its training had failed: job 481516 is still running"
    )
    assert checks["distributed.stopped"]["data"]["stage"] == "failed"
    assert checks["distributed.workers"]["detail"] == (
        f"worker 1 at {silent} stopped answering 3.2 s into training (Connection reset)"
    )


def sigterm_on_call(monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> None:
    """``module.name`` gets SIGTERM, as slurmstepd sends it, at the moment it is called, then runs."""
    real = getattr(module, name)

    def signalled(*args: Any, **kwargs: Any) -> Any:
        os.kill(os.getpid(), signal.SIGTERM)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, signalled)


def test_sigterm_after_the_probe_ended_still_gives_the_report_of_what_happened(
    monkeypatch: pytest.MonkeyPatch, listening: str, silent: str
) -> None:
    """The probe saw its peer go and ended by itself; srun -K's SIGTERM lands while its answer is read."""
    from envcheck.smoke import train

    fake_slurm(monkeypatch, failed_answer(listening, silent), None, "COMPLETING")
    sigterm_on_call(monkeypatch, train, "_probe_check")
    result = smoke_cluster()
    assert result.exit_code == 1, result.stderr
    checks = {c["id"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["distributed.stopped"]["detail"].startswith(
        "Slurm stopped this task with SIGTERM after its training had failed: job 481516 is ending"
    )
    assert checks["distributed.workers"]["detail"] == (
        f"worker 1 at {silent} stopped answering 3.2 s into training (Connection reset)"
    )


def test_sigterm_while_the_report_is_written_leaves_it_whole(
    monkeypatch: pytest.MonkeyPatch, listening: str, silent: str
) -> None:
    """The report is written already when the signal lands: it stays one whole document, not "interrupted"."""
    from envcheck.output import display

    calls = fake_slurm(monkeypatch, failed_answer(listening, silent), None, "COMPLETING")
    sigterm_on_call(monkeypatch, display, "show")
    result = smoke_cluster()
    assert result.exit_code == 1, result.stderr
    document = json.loads(result.stdout)  # one document: nothing was appended to it
    checks = {c["id"]: c for c in document["checks"]}
    assert checks["distributed.workers"]["detail"].startswith(f"worker 1 at {silent} stopped answering")
    assert "distributed.stopped" not in checks  # it came after the report was made
    assert "interrupted" not in result.stderr
    assert "scontrol" not in calls
