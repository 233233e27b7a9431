"""Under a running Slurm cluster (scripts/slurm-up.sh), on the shared environment: the docs' commands as
written, a worker killed mid-training with and without ``srun -K``, and the fleet-check sbatch script.

Each test prints what a user waited for; the figures of docs/cluster.md come from these lines (pytest -s).
No GPU-related variable reaches the tasks: the node is a CPU node, as a CPU partition is.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

pytestmark = pytest.mark.slurm

ROOT = Path(__file__).parents[2]
DOCS = ROOT / "docs" / "cluster.md"
FLEET = ROOT / "docs" / "examples" / "fleet-check.sbatch"
GPU_VARIABLES = ("CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES", "GPU_DEVICE_ORDINAL", "ROCR_VISIBLE_DEVICES")
TIMEOUT = 600
LONG = "100000"  # epochs (the most --epochs takes): a minute or more of training, so that a worker can be killed in the middle of it


def docs_block(starting: str) -> str:
    """The sh block of docs/cluster.md that CI runs as written: marked, and starting with ``starting``."""
    blocks = re.findall(r"<!-- run by tests/e2e/test_slurm_e2e.py -->\n```sh\n(.*?)```", DOCS.read_text(), re.S)
    found = [block for block in blocks if block.startswith(starting)]
    assert len(found) == 1, f"docs/cluster.md has no run block starting with {starting!r}"
    return found[0]


def task_environment(dl_env: Path) -> dict[str, str]:
    """This process's environment (envcheck on PATH, the test's envcheck home), ENV set, no GPU variables."""
    env = {k: v for k, v in os.environ.items() if k not in GPU_VARIABLES and not k.startswith("SLURM_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["ENV"] = str(dl_env)
    return env


def in_allocation(script: str, cwd: Path, env: dict[str, str], tasks: int = 2) -> subprocess.CompletedProcess[str]:
    """``script`` run by bash inside ``salloc -n tasks``, as a user runs the docs' lines in an allocation."""
    return subprocess.run(
        ["salloc", "-n", str(tasks), "--job-name=envcheck-e2e", "bash", "-euo", "pipefail", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def checks_of(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    assert "checks" in document, json.dumps(document.get("error"))  # an error document says why it has none
    return {c["id"]: c for c in document["checks"]}


def weights(document: dict[str, Any], run: str) -> list[float]:
    found = next(r for r in document["runs"] if r["name"] == run)["final_weights"]
    return [v for name in sorted(found) for row in found[name] for v in row]


def test_the_docs_smoke_train_command_trains_two_workers_on_a_cpu_node(
    dl_env: Path, slurm_node: str, tmp_path: Path
) -> None:
    started = time.monotonic()
    done = in_allocation(docs_block("srun -K sh -c 'envcheck smoke-train"), tmp_path, task_environment(dl_env))
    took = time.monotonic() - started
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "all 2 reports agree" in done.stdout
    reports = [json.loads((tmp_path / f"smoke-{task}.json").read_text()) for task in (0, 1)]
    for task, report in enumerate(reports):
        assert report["exit_code"] == 0, [c for c in report["checks"] if c["status"] == "fail"]
        info = report["distributed"]
        assert (info["source"], info["task"]["index"], info["expected_workers"]) == ("slurm", task, 2)
        assert info["gpus"] == {"count": 0, "devices": []}
        assert checks_of(report)["distributed.workers"]["detail"].endswith("; this task on the CPU")
        slurm = report["request"]["cluster"]["slurm"]
        assert slurm["ports"].startswith("reserved by Slurm for the step")  # slurm-up.sh reserves ports
        assert info["workers"][0]["address"] == f"{slurm_node}:{slurm['port_base'] + slurm['local_id']}"
    assert reports[0]["distributed"]["workers_joined"] == 2

    single_started = time.monotonic()
    single = subprocess.run(
        [sys.executable, "-m", "envcheck", "smoke-train", "--prefix", str(dl_env),
         "--level", "scratch", "--level", "tape", "--json"],
        capture_output=True, text=True, timeout=TIMEOUT,
    )  # fmt: skip
    single_took = time.monotonic() - single_started
    alone = json.loads(single.stdout)
    difference = max(
        abs(a - b) for a, b in zip(weights(reports[0], "cluster-batchN"), weights(alone, "tape-batchN"), strict=True)
    )
    assert difference <= 1e-10
    print(
        f"\nsrun -n 2 smoke-train --cluster: {took:.1f} s (each task {reports[0]['duration']:.1f} s, "
        f"{reports[1]['duration']:.1f} s); single process --level scratch --level tape: {single_took:.1f} s; "
        f"final weights differ from the single-process tape-batchN by {difference:.1e}"
    )


def test_the_docs_verify_command_writes_one_report_per_task_and_compare_agrees(
    dl_env: Path, slurm_node: str, tmp_path: Path
) -> None:
    block = docs_block("srun sh -c 'envcheck verify")
    done = in_allocation(block, tmp_path, task_environment(dl_env))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert sorted(p.name for p in tmp_path.glob("verify-*.json")) == [f"verify-{slurm_node}-{t}.json" for t in (0, 1)]
    assert "all 2 reports agree" in done.stdout

    # the same lines with task 1 in a shell that sets another Keras backend
    other = block.replace("sh -c '", """sh -c 'if [ "$SLURM_PROCID" = 1 ]; then export KERAS_BACKEND=jax; fi; """, 1)
    drift = tmp_path / "drift"
    drift.mkdir()
    collect, compare = other.strip().splitlines()
    done = in_allocation(f"{collect} || true\n{compare}", drift, task_environment(dl_env))
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    assert f"verify-{slurm_node}-1.json" in done.stdout
    assert "package.keras.import: pass on 1, fail on 1" in done.stdout
    changed = json.loads((drift / f"verify-{slurm_node}-1.json").read_text())
    assert checks_of(changed)["environ.keras-backend"]["detail"].startswith("KERAS_BACKEND=jax makes Keras run on jax")


def start_long_training(dl_env: Path, tmp_path: Path, *, kill_on_bad_exit: bool) -> subprocess.Popen[str]:
    """Two workers training for minutes; each task's probe works in tmp-TASK/ so that the test sees it join."""
    command = (
        'export TMPDIR="$0/tmp-$SLURM_PROCID" && mkdir -p "$TMPDIR" && '
        f'envcheck smoke-train --prefix "$ENV" --cluster --epochs {LONG} --json > "$0/smoke-$SLURM_PROCID.json"'
    )
    name = f"envcheck-e2e-{tmp_path.name}"
    argv = ["srun", "-n", "2", f"--job-name={name}", *(["-K"] if kill_on_bad_exit else []), "sh", "-c", command]
    return subprocess.Popen([*argv, str(tmp_path)], env=task_environment(dl_env), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip


def wait_until_training(tmp_path: Path, proc: subprocess.Popen[str]) -> None:
    """Until both workers' probes say they joined and train."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        stages = []
        for task in (0, 1):
            for answer in (tmp_path / f"tmp-{task}").glob("envcheck-probe-*/output.json"):
                try:
                    stages.append(json.loads(answer.read_text()).get("distributed", {}).get("stage"))
                except (OSError, ValueError):
                    continue
        if stages == ["training", "training"]:
            return
        assert proc.poll() is None, proc.communicate()[0][-3000:]
        time.sleep(0.5)
    pytest.fail("the two workers did not start training within 300 s")


def task_processes(job_name: str, task: int) -> list[psutil.Process]:
    """Every process of task ``task`` of the job's first step: its shell, envcheck and the training probe."""
    job = subprocess.run(["squeue", "-h", "-n", job_name, "-o", "%i"], capture_output=True, text=True, timeout=30)
    listed = subprocess.run(["scontrol", "listpids", f"{job.stdout.split()[0]}.0"],
                            capture_output=True, text=True, timeout=30)  # fmt: skip
    roots = [int(f[0]) for f in (line.split() for line in listed.stdout.splitlines()[1:]) if f[4:5] == [str(task)]]
    assert roots, listed.stdout
    root = psutil.Process(roots[0])
    return [root, *root.children(recursive=True)]


def left_running(dl_env: Path) -> list[str]:
    """Processes of the shared environment's python (a training probe) still running."""
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if str(dl_env) in cmdline and "smoke_train" in cmdline and proc.info["status"] != psutil.STATUS_ZOMBIE:
            found.append(cmdline)
    return found


def kill_worker_one(dl_env: Path, tmp_path: Path, *, kill_on_bad_exit: bool) -> tuple[dict[str, Any], float, str]:
    """Task 1 SIGKILLed in the middle of training: task 0's report, the seconds until the step ended, srun's words."""
    proc = start_long_training(dl_env, tmp_path, kill_on_bad_exit=kill_on_bad_exit)
    try:
        wait_until_training(tmp_path, proc)
        for victim in task_processes(f"envcheck-e2e-{tmp_path.name}", 1):
            victim.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        output, _ = proc.communicate(timeout=120)
        ended = time.monotonic() - killed
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert left_running(dl_env) == []
    return json.loads((tmp_path / "smoke-0.json").read_text()), ended, output


def test_a_worker_killed_mid_training_is_named_by_the_other_within_10_s(
    dl_env: Path, slurm_node: str, tmp_path: Path
) -> None:
    report, ended, srun = kill_worker_one(dl_env, tmp_path, kill_on_bad_exit=False)
    assert ended < 10, srun
    assert "task 1: Killed" in srun
    assert report["exit_code"] == 1
    peer = report["request"]["cluster"]["slurm"]["port_base"] + 1
    workers = checks_of(report)["distributed.workers"]
    assert workers["status"] == "fail"
    assert workers["detail"].startswith(f"worker 1 at {slurm_node}:{peer} stopped answering"), workers["detail"]
    assert " s into training (" in workers["detail"]
    print(f"\nSIGKILL of worker 1 mid-training: worker 0's report written and the step over in {ended:.1f} s")


def test_srun_k_ends_the_other_worker_with_a_report_of_what_happened(
    dl_env: Path, slurm_node: str, tmp_path: Path
) -> None:
    report, ended, srun = kill_worker_one(dl_env, tmp_path, kill_on_bad_exit=True)
    assert ended < 10, srun
    checks = checks_of(report)
    stopped = checks["distributed.stopped"]
    assert stopped["status"] == "fail"
    # the signal may come before this worker saw its peer go, or just after
    assert re.match(r"Slurm stopped this task with SIGTERM (while training|after its training had failed): job \d+ ",
                    stopped["detail"]), stopped  # fmt: skip
    peer = report["request"]["cluster"]["slurm"]["port_base"] + 1
    workers = checks["distributed.workers"]["detail"]
    assert workers.startswith(f"worker 1 at {slurm_node}:{peer} "), workers
    assert workers.endswith("no longer answers") or "stopped answering" in workers, workers
    assert report["exit_code"] == 1
    print(f"\nsrun -K, SIGKILL of worker 1 mid-training: worker 0's report written and the step over in {ended:.1f} s")


def test_a_worker_that_never_starts_is_named_by_the_other(dl_env: Path, slurm_node: str, tmp_path: Path) -> None:
    """Task 1 exits before starting envcheck (a port taken, a broken node): task 0 stops waiting for it at the
    join limit (three quarters of --timeout) and names it, instead of waiting until --timeout."""
    command = (
        '[ "$SLURM_PROCID" = 1 ] && exit 3; '
        'envcheck smoke-train --prefix "$ENV" --cluster --timeout 40 --json > "$0/smoke-$SLURM_PROCID.json"'
    )
    started = time.monotonic()
    done = subprocess.run(
        ["srun", "-n", "2", "sh", "-c", command, str(tmp_path)],
        env=task_environment(dl_env), capture_output=True, text=True, timeout=TIMEOUT,
    )  # fmt: skip
    took = time.monotonic() - started
    report = json.loads((tmp_path / "smoke-0.json").read_text())
    peer = report["request"]["cluster"]["slurm"]["port_base"] + 1
    workers = checks_of(report)["distributed.workers"]
    assert workers["detail"] == (
        f"worker 1 at {slurm_node}:{peer} nothing answers there after 30 s: the task did not start, or died"
    ), report["checks"]
    assert "smoke.probe" not in checks_of(report)  # the answer came before the time limit
    assert took < 40, done.stderr
    print(f"\na worker that never starts: the other's report after {took:.1f} s (join limit 30 s)")


def test_the_fleet_check_sbatch_script_passes(dl_env: Path, slurm_node: str, tmp_path: Path) -> None:
    started = time.monotonic()
    done = subprocess.run(
        ["sbatch", "--wait", "-n", "2", f"--chdir={tmp_path}", str(FLEET)],
        env=task_environment(dl_env), capture_output=True, text=True, timeout=TIMEOUT,
    )  # fmt: skip
    took = time.monotonic() - started
    job = re.search(r"Submitted batch job (\d+)", done.stdout)
    assert job, done.stdout + done.stderr
    log = (tmp_path / f"fleet-{job.group(1)}.out").read_text()
    assert done.returncode == 0, log
    assert "fleet check passed: 1 node(s), 2 worker(s) agree" in log
    reports = sorted(p.name for p in (tmp_path / f"fleet-{job.group(1)}").iterdir())
    assert reports == ["smoke-0.json", "smoke-1.json", f"verify-{slurm_node}.json"]
    print(f"\nsbatch --wait -n 2 fleet-check.sbatch: {took:.1f} s")
