"""Distributed smoke-train on the host: the cluster this worker belongs to, and the rules for replicas and workers.

The training probe runs the reference network under tf.distribute (envcheck/probes/smoke_distributed.py) and
reports facts; the functions here read the cluster from TF_CONFIG or Slurm's variables before anything starts
(refusing one that cannot train, and naming a host that does not resolve), and judge what came back. No process
is started here.
"""

from __future__ import annotations

import json
import math
import re
import time
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from envcheck.errors import UsageError
from envcheck.results import CheckResult, Status
from envcheck.smoke import levels as table
from envcheck.smoke import rules

STRATEGIES = ("mirrored",)
MAX_WORKERS = 16
# The tasks MultiWorkerMirroredStrategy trains on: no parameter server ("ps"), no evaluator.
TRAINING_JOBS = ("chief", "worker")
# Seconds a loopback worker may take to import TensorFlow and join the others.
DEFAULT_JOIN_TIMEOUT = 180.0
# Every replica applies the same all-reduced gradient to the same weights: on a GPU (NCCL broadcasts one
# result) they must be bit-identical; on CPU a reduction in another order may differ in the last bit.
REPLICA_TOLERANCE_CPU = 1e-12
REPLICA_TOLERANCE_GPU = 0.0
# The distributed run against the single-process batch-N run from the same initial weights: the sum of the
# replicas' gradients is the full-batch gradient, so only round-off separates them.
SINGLE_PROCESS_TOLERANCE_CPU = rules.TRAJECTORY_TOLERANCE
SINGLE_PROCESS_TOLERANCE_GPU = rules.GPU_CPU_TOLERANCE
# After the join, a collective that waits longer than this for a peer fails: a dead or frozen worker is named
# within seconds instead of holding the others until --timeout. One all-reduce here takes about a millisecond.
COLLECTIVE_TIMEOUT = 5.0
# Slurm's variables that tf.distribute.cluster_resolver.SlurmClusterResolver reads in a job step (srun).
SLURM_STEP_VARIABLES = ("SLURM_PROCID", "SLURM_STEP_NUM_TASKS", "SLURM_STEP_NODELIST", "SLURM_STEP_TASKS_PER_NODE")
# Without ports reserved for the step, the port base is derived from the job and step ids, inside this range
# (below Linux's ephemeral ports), so that two steps on one node rarely meet; every task derives the same.
DERIVED_PORTS = (20000, 32000)
CLUSTER_HINT = (
    "set TF_CONFIG for this worker, or start every worker with srun (srun -N 2 envcheck smoke-train --cluster)"
)


@dataclass(frozen=True)
class SlurmStep:
    """What this task of a Slurm job step tells TensorFlow beyond Slurm's own variables: ports and its place."""

    job_id: str
    step_id: str
    node: str  # SLURMD_NODENAME: the node Slurm started this task on
    local_id: int  # SLURM_LOCALID: this task's index among the step's tasks on its node
    tasks_per_node: int  # the most tasks of the step on any one node
    port_base: int  # task k of a node listens on port_base + k
    ports: str  # where port_base comes from, for the report
    gpus_bound: bool  # Slurm gave each task GPUs of its own (--gpus-per-task): a task uses all it sees

    def to_json(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "step_id": self.step_id,
            "node": self.node,
            "local_id": self.local_id,
            "tasks_per_node": self.tasks_per_node,
            "port_base": self.port_base,
            "ports": self.ports,
            "gpus_bound": self.gpus_bound,
        }


@dataclass(frozen=True)
class ClusterSpec:
    """This process's place in a cluster: where the description came from, its task, and the worker count."""

    source: str  # "TF_CONFIG" or "slurm"
    task_type: str
    task_index: int
    num_workers: int
    addresses: tuple[str, ...] = ()  # known on the host for TF_CONFIG; Slurm's are resolved inside the probe
    nodes: str | None = None  # Slurm's compressed node list, as Slurm wrote it
    slurm: SlurmStep | None = None

    @property
    def is_chief(self) -> bool:
        return self.task_type == "chief" or (self.task_type == "worker" and self.task_index == 0)

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "task_type": self.task_type,
            "task_index": self.task_index,
            "num_workers": self.num_workers,
            "addresses": list(self.addresses),
            "nodes": self.nodes,
            "chief": self.is_chief,
            "slurm": self.slurm.to_json() if self.slurm else None,
        }


def cluster_from_environment(environ: Mapping[str, str]) -> ClusterSpec:
    """The cluster from TF_CONFIG when set, else from a Slurm job step; a usage error when neither is usable."""
    raw = environ.get("TF_CONFIG", "").strip()
    if raw:
        return _from_tf_config(raw)
    if any(name in environ for name in SLURM_STEP_VARIABLES):
        return _from_slurm(environ)
    if "SLURM_JOB_ID" in environ:
        raise UsageError(
            "--cluster inside a Slurm allocation but outside a job step: SLURM_PROCID and SLURM_STEP_* are not set",
            "start one envcheck per task with srun: srun -N 2 --ntasks-per-node=1 envcheck smoke-train --cluster",
        )
    raise UsageError("--cluster needs TF_CONFIG or a Slurm job step, and this process has neither", CLUSTER_HINT)


def _from_tf_config(raw: str) -> ClusterSpec:
    try:
        config = json.loads(raw)
    except ValueError as exc:
        raise UsageError(f"TF_CONFIG is not valid JSON: {exc}", CLUSTER_HINT) from exc
    cluster = config.get("cluster") if isinstance(config, dict) else None
    task = config.get("task") if isinstance(config, dict) else None
    if not isinstance(cluster, dict) or not isinstance(task, dict):
        raise UsageError('TF_CONFIG needs "cluster" and "task" objects', CLUSTER_HINT)
    jobs = {str(job): tasks for job, tasks in cluster.items()}
    if any(not isinstance(tasks, list) or not all(isinstance(a, str) for a in tasks) for tasks in jobs.values()):
        raise UsageError('TF_CONFIG "cluster" must map each job to a list of "host:port" addresses', CLUSTER_HINT)
    task_type, task_index = task.get("type"), task.get("index")
    if task_type not in jobs or not isinstance(task_index, int) or not 0 <= task_index < len(jobs[task_type]):
        raise UsageError(
            f"TF_CONFIG's task {task_type!r} #{task_index!r} is not in its cluster ({', '.join(jobs) or 'empty'})",
            CLUSTER_HINT,
        )
    impossible = _impossible(jobs)
    if impossible is not None:
        raise UsageError(impossible, "give every worker a TF_CONFIG with only chief and worker tasks at host:port")
    workers = [*jobs.get("chief", []), *jobs.get("worker", [])]
    return ClusterSpec("TF_CONFIG", task_type, task_index, len(workers), tuple(workers))


def _impossible(jobs: Mapping[str, list[str]]) -> str | None:
    """What makes a well-formed TF_CONFIG one that cannot train: TensorFlow would start and wait for the whole
    time limit. A job other than chief and worker; an address that is not host:port with a port from 1 to 65535."""
    for job, addresses in jobs.items():
        if job not in TRAINING_JOBS:
            return (
                f"TF_CONFIG's cluster has a {job!r} job: MultiWorkerMirroredStrategy trains on chief and worker"
                " tasks only (no parameter servers)"
            )
        for index, address in enumerate(addresses):
            host, _, port = address.rpartition(":")
            if not host.strip("[]") or not port.isdigit() or not 1 <= int(port) <= 65535:
                return f"TF_CONFIG's {job} #{index} is {address!r}, not host:port with a port from 1 to 65535"
    return None


def unresolved(addresses: Sequence[str], *, within: float) -> list[str]:
    """The addresses whose host does not resolve, trying again for up to ``within`` seconds: a peer's name may
    appear only once it runs (a Kubernetes pod behind a headless Service is named when it is ready)."""
    deadline = time.monotonic() + within
    while True:
        missing = [a for a in addresses if not _resolves(a.rpartition(":")[0].strip("[]"))]
        if not missing or time.monotonic() >= deadline:
            return missing
        time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))


def _resolves(host: str) -> bool:
    import socket  # here: the command line imports this module for its table of strategies

    try:
        socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return False
    return True


def _from_slurm(environ: Mapping[str, str]) -> ClusterSpec:
    missing = [name for name in SLURM_STEP_VARIABLES if not environ.get(name)]
    if missing:
        raise UsageError(f"--cluster under Slurm, but {', '.join(missing)} not set (not inside srun?)", CLUSTER_HINT)
    try:
        rank, tasks = int(environ["SLURM_PROCID"]), int(environ["SLURM_STEP_NUM_TASKS"])
    except ValueError as exc:
        raise UsageError(f"Slurm's task numbers are not numbers: {exc}", CLUSTER_HINT) from exc
    if not 0 <= rank < tasks:
        raise UsageError(f"SLURM_PROCID {rank} is outside the step's {tasks} task(s)", CLUSTER_HINT)
    per_node = _tasks_per_node(environ["SLURM_STEP_TASKS_PER_NODE"])
    port_base, ports = slurm_port_base(environ, per_node)
    try:
        local_id = int(environ.get("SLURM_LOCALID") or 0)
    except ValueError as exc:
        raise UsageError(f"SLURM_LOCALID is not a number: {exc}", CLUSTER_HINT) from exc
    step = SlurmStep(
        job_id=environ.get("SLURM_JOB_ID", ""),
        step_id=environ.get("SLURM_STEP_ID") or environ.get("SLURM_STEPID") or "",
        node=environ.get("SLURMD_NODENAME", ""),
        local_id=local_id,
        tasks_per_node=per_node,
        port_base=port_base,
        ports=ports,
        gpus_bound=bool(environ.get("SLURM_GPUS_PER_TASK")),
    )
    return ClusterSpec("slurm", "worker", rank, tasks, nodes=environ["SLURM_STEP_NODELIST"], slurm=step)


def _tasks_per_node(value: str) -> int:
    """The most tasks on one node, from Slurm's '2(x3),1' (two tasks on each of three nodes, then one)."""
    counts = [int(count) for count, _ in re.findall(r"(\d+)(\(x\d+\))?", value)]
    if not counts:
        raise UsageError(f"SLURM_STEP_TASKS_PER_NODE is not Slurm's tasks-per-node list: {value!r}", CLUSTER_HINT)
    return max(counts)


def slurm_port_base(environ: Mapping[str, str], tasks_per_node: int) -> tuple[int, str]:
    """The first port of the step's tasks on a node, and where it comes from.

    Slurm reserves ports for each step where MpiParams=ports= is configured (SLURM_STEP_RESV_PORTS, such as
    '20008-20010'); they are used when they hold one port per task of the node. Otherwise a base derived from
    the job and step ids, the same in every task, keeps two steps on one node apart (TensorFlow's 8888 would not).
    """
    reserved = environ.get("SLURM_STEP_RESV_PORTS", "").strip()
    ports: list[int] = []
    for first, last in re.findall(r"(\d+)(?:-(\d+))?", reserved):
        ports.extend(range(int(first), int(last or first) + 1))
    if ports and ports[:tasks_per_node] == list(range(ports[0], ports[0] + tasks_per_node)):
        return ports[0], f"reserved by Slurm for the step (SLURM_STEP_RESV_PORTS={reserved})"
    low, high = DERIVED_PORTS
    slots = (high - low) // max(tasks_per_node, 1)
    key = f"{environ.get('SLURM_JOB_ID', '')}.{environ.get('SLURM_STEP_ID') or environ.get('SLURM_STEPID', '')}"
    base = low + (zlib.crc32(key.encode()) % slots) * max(tasks_per_node, 1)
    return base, "derived from the job and step ids (no ports reserved: MpiParams=ports= in slurm.conf reserves some)"


# ---------------------------------------------------------------------------------------------- rules


def run_name(mode: str) -> str:
    return table.DISTRIBUTED_RUNS[mode].name


def worker_results(facts: Mapping[str, Any], mode: str) -> list[dict[str, Any]]:
    """One entry per worker: index, address, joined, its run. Mirrored and cluster runs are one worker here."""
    info = facts.get("distributed") or {}
    if mode == "workers":
        return [dict(w) for w in info.get("workers") or []]
    run = (facts.get("runs") or {}).get(run_name(mode)) or {}
    task = info.get("task") or {}
    address = "this machine" if mode == "mirrored" else _address_of(info, task)
    return [{"index": task.get("index", 0), "address": address, "joined": bool(run.get("joined")), "run": run}]


def _address_of(info: Mapping[str, Any], task: Mapping[str, Any]) -> str:
    tasks = (info.get("cluster") or {}).get(task.get("type")) or []
    index = task.get("index")
    return tasks[index] if isinstance(index, int) and 0 <= index < len(tasks) else "unknown address"


def evaluate(facts: Mapping[str, Any], *, mode: str, workers: int) -> list[CheckResult]:
    """Every check of a distributed run: workers joined, replicas agree, the single-process run, collectives."""
    checks = [check_workers(facts, mode=mode, expected=workers)]
    results = worker_results(facts, mode)
    runs = [w["run"] for w in results if (w.get("run") or {}).get("status") == "ok"]
    if runs and len(runs) == len(results):
        checks.append(check_replicas_agree(runs))
        reference = (facts.get("runs") or {}).get(table.SCRATCH_BATCH_ALL) or {}
        if reference.get("status") == "ok":
            checks.append(check_single_process(runs[0], reference))
        checks.append(check_collective_time(runs))
    return checks


def check_workers(facts: Mapping[str, Any], *, mode: str, expected: int) -> CheckResult:
    """Every worker joined and finished; a failure names the worker and its address."""
    check_id = "distributed.workers"
    info = facts.get("distributed") or {}
    results = worker_results(facts, mode)
    failures = list(info.get("failures") or [])
    data: dict[str, Any] = {"expected": expected, "failures": failures}
    if mode == "workers" and not results:
        return CheckResult(check_id, Status.FAIL, "no worker was started", hint="run with -v to see why", data=data)
    if not failures:
        for worker in results:
            run = worker.get("run") or {}
            if run.get("status") != "ok":
                failures.append(
                    {
                        "index": worker.get("index"),
                        "address": worker.get("address"),
                        "error": str(run.get("error") or "did not finish"),
                    }
                )
    joined = sum(1 for w in results if w.get("joined"))
    first_run: Mapping[str, Any] = next((w["run"] for w in results if (w.get("run") or {}).get("replicas_in_sync")), {})
    replicas = first_run.get("replicas_in_sync")
    data.update(joined=joined, replicas_in_sync=replicas)
    if mode == "cluster":
        expected = int(info.get("expected_workers") or expected)
        data["expected"] = expected
    if failures:
        first = failures[0]
        others = f" ({len(failures) - 1} more)" if len(failures) > 1 else ""
        stopped = "; the other workers were stopped" if mode == "workers" else ""
        return CheckResult(
            check_id,
            Status.FAIL,
            f"worker {first.get('index')} at {first.get('address')} {first.get('error')}{others}{stopped}",
            hint="run with -v to see the workers' output; a worker that cannot join: check the addresses and ports",
            data=data,
        )
    what = {"mirrored": "devices", "workers": "workers", "cluster": "workers"}[mode]
    count = len(results) if mode == "workers" else (replicas if mode == "mirrored" else expected)
    detail = f"{count} {what} joined, {replicas} replica(s) in sync"
    if mode == "cluster":
        gpus = (info.get("gpus") or {}).get("count")
        data["gpus"] = gpus
        mine = "" if gpus is None else f"; this task trained on {gpus} GPU(s)" if gpus else "; this task on the CPU"
        detail = f"{expected} of {expected} workers joined, {replicas} replica(s) in sync{mine}"
    return CheckResult(check_id, Status.PASS, detail, data=data)


def _on_gpu(run: Mapping[str, Any]) -> bool:
    return "GPU" in " ".join((run.get("devices") or {}).get("variables") or []).upper()


def check_replicas_agree(runs: Sequence[Mapping[str, Any]]) -> CheckResult:
    """Every replica of every worker ends at the same weights (the all-gathered spread counts the remote ones)."""
    reference = runs[0]["final_weights"]
    diffs = [
        rules.max_abs_difference(reference, replica.get("weights") or {})
        for run in runs
        for replica in run.get("replicas") or [{"weights": run.get("final_weights")}]
    ]
    spreads = [_finite_or_inf(run.get("spread")) for run in runs]
    worst = max([*diffs, *spreads], default=0.0)
    tolerance = REPLICA_TOLERANCE_GPU if any(_on_gpu(r) for r in runs) else REPLICA_TOLERANCE_CPU
    data = {"max_abs_difference": worst, "tolerance": tolerance, "replicas": len(diffs), "spread": spreads}
    if worst <= tolerance:
        exact = "exactly" if worst == 0.0 else f"to {worst:.1e}"
        return CheckResult(
            "distributed.replicas-agree",
            Status.PASS,
            f"{len(diffs)} replica(s) end at the same weights {exact}",
            data=data,
        )
    return CheckResult(
        "distributed.replicas-agree",
        Status.FAIL,
        f"replicas end at different weights: largest difference {worst:.1e} (> {tolerance:.0e})",
        hint="the all-reduce gave replicas different results: check the collective's transport and versions",
        data=data,
    )


def check_single_process(run: Mapping[str, Any], reference: Mapping[str, Any]) -> CheckResult:
    """The distributed run against the single-process batch-N run from the same initial weights."""
    diff = rules.max_abs_difference(reference["final_weights"], run["final_weights"])
    on_gpu = _on_gpu(run)
    tolerance = SINGLE_PROCESS_TOLERANCE_GPU if on_gpu else SINGLE_PROCESS_TOLERANCE_CPU
    data = {"max_abs_difference": diff, "tolerance": tolerance, "reference": reference.get("name"), "on_gpu": on_gpu}
    if diff <= tolerance:
        return CheckResult(
            "distributed.vs-single-process",
            Status.PASS,
            f"final weights agree with the single-process batch-N run to {diff:.1e}",
            data=data,
        )
    return CheckResult(
        "distributed.vs-single-process",
        Status.FAIL,
        f"final weights differ from the single-process batch-N run by {diff:.1e} (> {tolerance:.0e})",
        hint="the replicas' summed gradients are not the full-batch gradient: the all-reduce or the split is wrong",
        data=data,
    )


def check_collective_time(runs: Sequence[Mapping[str, Any]]) -> CheckResult:
    """The wall time of one all-reduce of the gradients, the slowest worker's (a figure, not a verdict)."""
    times = [_finite_or_inf(r.get("collective_s_per_step")) for r in runs]
    steps = [_finite_or_inf(r.get("train_s_per_step")) for r in runs if r.get("train_s_per_step") is not None]
    worst = max(times)
    data = {"collective_s_per_step": times, "train_s_per_step": steps}
    if worst == math.inf:
        return CheckResult("distributed.collective-time", Status.WARN, "the collective was not timed", data=data)
    step = f"; a training step {max(steps) * 1000:.2f} ms" if steps and max(steps) < math.inf else ""
    return CheckResult(
        "distributed.collective-time",
        Status.PASS,
        f"one all-reduce of the gradients {worst * 1000:.3f} ms per step{step}",
        data=data,
    )


def _finite_or_inf(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.inf
    return number if math.isfinite(number) else math.inf
