"""End to end on the shared environment: MirroredStrategy on two logical CPUs, two loopback workers under
MultiWorkerMirroredStrategy, a worker killed mid-run, and compare on two real verify reports.

Few epochs keep them short: agreement with the single-process run does not need convergence.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

EPOCHS = "60"
TIMEOUT = 600


def envcheck(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "envcheck", *args], capture_output=True, text=True, timeout=TIMEOUT)


def checks_of(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in document["checks"]}


def final_weights(document: dict[str, Any], name: str) -> dict[str, Any]:
    return next(r for r in document["runs"] if r["name"] == name)["final_weights"]


def max_difference(a: dict[str, Any], b: dict[str, Any]) -> float:
    flat = lambda w: [v for name in sorted(w) for row in w[name] for v in row]  # noqa: E731
    return max(abs(x - y) for x, y in zip(flat(a), flat(b), strict=True))


@pytest.fixture(scope="module")
def single_process(dl_env: Path) -> dict[str, Any]:
    """The single-process TF batch-N run (tape) from the same seed: what every distributed run must match."""
    done = envcheck("smoke-train", "--prefix", str(dl_env), "--level", "scratch", "--level", "tape",
                    "--epochs", EPOCHS, "--json")  # fmt: skip
    return json.loads(done.stdout)


def test_mirrored_on_two_logical_cpus_agrees_with_the_single_process_run(
    dl_env: Path, single_process: dict[str, Any]
) -> None:
    done = envcheck("smoke-train", "--prefix", str(dl_env), "--strategy", "mirrored", "--device", "cpu",
                    "--epochs", EPOCHS, "--json")  # fmt: skip
    document = json.loads(done.stdout)
    checks = checks_of(document)
    assert checks["distributed.workers"]["status"] == "pass", checks["distributed.workers"]
    assert checks["distributed.workers"]["data"]["replicas_in_sync"] == 2
    assert checks["distributed.replicas-agree"]["status"] == "pass"
    assert checks["distributed.vs-single-process"]["status"] == "pass"
    assert checks["distributed.vs-single-process"]["data"]["max_abs_difference"] <= 1e-10
    assert document["distributed"]["devices"] == ["/device:CPU:0", "/device:CPU:1"]
    mirrored = final_weights(document, "mirrored-batchN")
    assert max_difference(mirrored, final_weights(single_process, "tape-batchN")) <= 1e-10


def test_two_workers_on_loopback_agree_with_the_single_process_run(
    dl_env: Path, single_process: dict[str, Any]
) -> None:
    done = envcheck("smoke-train", "--prefix", str(dl_env), "--workers", "2", "--epochs", EPOCHS, "--json")
    document = json.loads(done.stdout)
    checks = checks_of(document)
    assert done.returncode in (0, 1), done.stderr[-3000:]
    for check_id in ("distributed.workers", "distributed.replicas-agree", "distributed.vs-single-process"):
        assert checks[check_id]["status"] == "pass", checks[check_id]
    assert checks["distributed.collective-time"]["data"]["collective_s_per_step"][0] > 0
    info = document["distributed"]
    assert info["expected_workers"] == 2 and info["workers_joined"] == 2
    assert [w["address"].split(":")[0] for w in info["workers"]] == ["127.0.0.1", "127.0.0.1"]
    workers = final_weights(document, "workers-batchN")
    assert max_difference(workers, final_weights(single_process, "tape-batchN")) <= 1e-10


def _processes_mentioning(text: str) -> dict[int, str]:
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if text in cmdline:
                found[int(entry.name)] = cmdline
    return found


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds the worker processes through /proc (Linux)")
def test_a_worker_killed_mid_run_fails_the_check_and_leaves_no_process(dl_env: Path) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "envcheck",
            "smoke-train",
            "--prefix",
            str(dl_env),
            "--workers",
            "2",
            "--epochs",
            "100000",  # the most --epochs takes: minutes of training, far longer than this test waits
            "--json",
        ],  # fmt: skip
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        worker_dir, pid = _wait_for_joined_worker(1, deadline=time.monotonic() + 300)
        os.kill(pid, signal.SIGKILL)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 1, stderr[-3000:]
    check = checks_of(json.loads(stdout))["distributed.workers"]
    assert check["status"] == "fail"
    assert check["detail"].startswith("worker 1 at 127.0.0.1:")
    assert "was killed by SIGKILL after joining; the other workers were stopped" in check["detail"]
    control = str(worker_dir.parent)
    assert _processes_mentioning(control) == {}  # no worker, no launcher left
    assert not Path(control).exists()  # the probe's control folder was removed


def _wait_for_joined_worker(index: int, *, deadline: float) -> tuple[Path, int]:
    """The folder and pid of loopback worker ``index`` once its answer says it joined the others."""
    while time.monotonic() < deadline:
        for pid, cmdline in _processes_mentioning(f"worker-{index}").items():
            if "smoke_train.py" not in cmdline:
                continue
            worker_dir = Path(cmdline.split()[-1])
            try:
                answer = json.loads((worker_dir / "output.json").read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if (answer.get("runs", {}).get("workers-batchN") or {}).get("joined"):
                return worker_dir, pid
        time.sleep(0.5)
    pytest.fail(f"worker {index} did not join in time")


def test_compare_of_two_real_verify_reports_one_edited_reports_the_drift(dl_env: Path, tmp_path: Path) -> None:
    done = envcheck("verify", "--prefix", str(dl_env), "--json")
    original = tmp_path / "node-a.json"
    original.write_text(done.stdout, encoding="utf-8")
    edited = json.loads(done.stdout)
    edited["versions"]["tensorflow"] = "2.16.1"
    next(c for c in edited["checks"] if c["id"] == "work.matmul")["status"] = "fail"
    other = tmp_path / "node-b.json"
    other.write_text(json.dumps(edited), encoding="utf-8")

    same = envcheck("compare", str(original), str(original))
    assert same.returncode == 0, same.stdout + same.stderr
    drift = envcheck("compare", str(original), str(other), "--json")
    assert drift.returncode == 1
    document = json.loads(drift.stdout)
    reports = {r["path"]: r["drift"] for r in document["reports"]}
    tensorflow = json.loads(done.stdout)["versions"]["tensorflow"]
    assert reports[str(other)] == [f"tensorflow 2.16.1 (reference {tensorflow})", "work.matmul fail (reference pass)"]
