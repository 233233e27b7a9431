"""Why a cluster worker was stopped from outside: what Slurm says about the job, and which peers still answer.

When Slurm ends a task with SIGTERM (``srun -K`` after another task failed, ``scancel``, the time limit), the
training probe is gone before it could say anything; its last answer names the cluster. This module asks
Slurm for the job's state (``scontrol show job``) and knocks on every peer's address, so that the report says
what happened to the job and which worker is gone instead of only "interrupted".
"""

from __future__ import annotations

import re
import signal
import socket
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from envcheck import runner
from envcheck.errors import EnvcheckError
from envcheck.results import CheckResult, Status
from envcheck.smoke.distributed import ClusterSpec

# What the worker was doing, from the stage its answer last gave.
STAGES = {
    "joining": "while joining the other workers",
    "training": "while training",
    "trained": "after training",
    "failed": "after its training had failed",
}
KNOCK_S = 1.0  # Slurm's KillWait (30 s by default) leaves time for one knock on every peer at once
SCONTROL_S = 3.0
STOPPED_HINT = "srun's own output names the task that failed first (srun: error: NODE: task N: ...); read its report"


def finishing_signals(cluster: ClusterSpec | None) -> tuple[int, ...]:
    """The signals that end a run with its report instead of as interrupted: in a Slurm step, SIGTERM is how
    Slurm ends a task (``srun -K`` after another failed, scancel, the time limit), with KillWait to go."""
    return (signal.SIGTERM,) if cluster is not None and cluster.slurm is not None else ()


def ended_by_slurm(cluster: ClusterSpec | None) -> bool:
    """Whether one of ``finishing_signals`` has come."""
    number = runner.stopping_signal()
    return number is not None and number in finishing_signals(cluster)


def job_state(job_id: str) -> str | None:
    """Slurm's JobState of ``job_id`` (RUNNING, CANCELLED, TIMEOUT, ...), or None when scontrol cannot say."""
    if not job_id:
        return None
    try:
        done = runner.run(["scontrol", "show", "job", "-o", job_id], timeout=SCONTROL_S)
    except EnvcheckError:  # no scontrol here
        return None
    found = re.search(r"\bJobState=(\S+)", done.stdout) if done.ok else None
    return found.group(1) if found else None


def answering(addresses: Sequence[str], timeout: float = KNOCK_S) -> dict[str, bool]:
    """{address: whether something accepts a TCP connection there}, all knocked on at once."""
    result: dict[str, bool] = {}

    def knock(address: str) -> None:
        host, _, port = address.rpartition(":")
        try:
            with socket.create_connection((host, int(port)), timeout=timeout):
                result[address] = True
        except (OSError, ValueError):
            result[address] = False

    threads = [threading.Thread(target=knock, args=(a,), daemon=True) for a in addresses]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout + 1)
    return {address: result.get(address, False) for address in addresses}


def what_happened(state: str | None, job_id: str) -> str:
    """The job's fate in words, from its state while this task is being stopped."""
    job = f"job {job_id}" if job_id else "the job"
    if state is None:
        return f"{job}: scontrol could not say why"
    if state == "CANCELLED":
        return f"{job} was cancelled (scancel)"
    if state == "COMPLETING":
        return (
            f"{job} is ending: srun ended its step because a task failed (-K, --kill-on-bad-exit), "
            "or the job was cancelled"
        )
    if state == "TIMEOUT":
        return f"{job} reached its time limit (sbatch --time)"
    if state == "RUNNING":
        return (
            f"{job} is still running, so Slurm ended this step: srun ends a step's tasks when one of them fails "
            "(-K, --kill-on-bad-exit) or when the step is cancelled"
        )
    return f"{job} is {state}"


def stopped_facts(
    facts: Mapping[str, Any], spec: ClusterSpec, signal_name: str, run_name: str
) -> tuple[dict[str, Any], CheckResult]:
    """The probe's last answer completed with what happened: the failures the worker found itself, else every peer
    that no longer answers (or this task, when all do), and a check says why the task was stopped."""
    updated = dict(facts)
    info = dict(updated.get("distributed") or {})
    task = info.get("task") or {"type": spec.task_type, "index": spec.task_index}
    stage = info.get("stage")
    doing = STAGES.get(str(stage), "while starting")
    peers = [
        (job, index, address)
        for job, tasks in sorted((info.get("cluster") or {}).items())
        for index, address in enumerate(tasks)
        if (job, index) != (task.get("type"), task.get("index"))
    ]
    status = answering([address for _, _, address in peers])
    state = job_state(spec.slurm.job_id if spec.slurm else "")
    happened = what_happened(state, spec.slurm.job_id if spec.slurm else "")
    gone = [p for p in peers if not status[p[2]]]
    if info.get("failures"):
        failures = list(info["failures"])  # the worker named them itself, before the signal came
    elif gone:
        failures = [
            {"index": index, "job": job, "address": address, "answering": False, "error": "no longer answers"}
            for job, index, address in gone
        ]
    else:
        own = _own_address(info, task)
        failures = [{"index": task.get("index"), "address": own, "error": f"was stopped by {signal_name}"}]
    info.update(stage="stopped", failures=failures, stopped={"signal": signal_name, "job_state": state})
    updated["distributed"] = info
    runs = dict(updated.get("runs") or {})
    run = dict(runs.get(run_name) or {"name": run_name})
    if run.get("status") != "ok":
        run.update(status="error", error=f"stopped by {signal_name} from Slurm {doing}")
        runs[run_name] = run
    updated["runs"] = runs
    check = CheckResult(
        "distributed.stopped",
        Status.FAIL,
        f"Slurm stopped this task with {signal_name} {doing}: {happened}",
        hint=STOPPED_HINT,
        data={"signal": signal_name, "job_state": state, "stage": stage, "answering": status},
    )
    return updated, check


def _own_address(info: Mapping[str, Any], task: Mapping[str, Any]) -> str:
    tasks = (info.get("cluster") or {}).get(task.get("type")) or []
    index = task.get("index")
    return tasks[index] if isinstance(index, int) and 0 <= index < len(tasks) else "this task"
