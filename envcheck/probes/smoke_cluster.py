"""Probe part: one worker of a real cluster (TF_CONFIG, or a Slurm job step) and how it learns that a peer is gone.

Stand-alone, standard library only at module level; loaded by smoke_distributed.py.

Slurm: tf.distribute.cluster_resolver.SlurmClusterResolver reads the step (its nodes, the tasks on each, this
task's rank). envcheck tells it the port base the host chose (the step's reserved ports, SLURM_STEP_RESV_PORTS,
or one derived from the job and step ids, so that two steps on one node do not take the same ports) and never
lets it guess the GPUs: it runs nvidia-smi when not told, and it hands out one address per group of GPUs, so a
node without one gets no address at all (``range(0, 0, 0)``). It is asked for one address per task, and the
strategy is told what this task really has (a SimpleClusterResolver over the same cluster). The task checks that
the address it was given is on its own node at its own local index (SLURMD_NODENAME, SLURM_LOCALID): the
resolver sorts nodes by name and assumes Slurm's block distribution, and a wrong guess must fail here, named.

Peers: a TCP connection to a peer's address says whether anything still listens there. Before the join a
watchdog (this script run as a program: ``python smoke_cluster.py CONTROL_DIR WORKER_PID LIMIT``) names the
peers that never answered or stopped answering; after it, a failed collective names the task TensorFlow
blames, or else the peers that no longer answer.
"""

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

WATCH_S = 1.0  # how often the join watchdog knocks on the peers
KNOCK_S = 1.0  # how long one knock may take
BLAMED = re.compile(r"/job:(\w+)/replica:\d+/task:(\d+)")


class ClusterError(Exception):
    """The cluster cannot be formed as described; the message says why and what to do."""


# ---------------------------------------------------------------- Slurm: addresses, this task, its GPUs


def slurm_cluster(tf, slurm):
    """(ClusterSpec as a dict, task type, task index, tasks on this node) from SlurmClusterResolver."""
    resolver = tf.distribute.cluster_resolver.SlurmClusterResolver(
        port_base=int(slurm["port_base"]),
        gpus_per_node=int(slurm["tasks_per_node"]),  # one "GPU" per task: every task gets an address
        gpus_per_task=1,
        auto_set_gpu=False,  # this task's GPUs are chosen below, from what TensorFlow sees
    )
    spec = resolver.cluster_spec().as_dict()
    task_type, task_id = resolver.task_type, resolver.task_id
    tasks = spec.get(task_type) or []
    if task_id is None or not 0 <= task_id < len(tasks):
        raise ClusterError(f"SlurmClusterResolver found no place for rank {os.environ.get('SLURM_PROCID')}")
    host, _, port = tasks[task_id].rpartition(":")
    node = slurm.get("node") or host
    local = int(slurm["local_id"])
    if host != node or int(port) != int(slurm["port_base"]) + local:
        raise ClusterError(
            f"SlurmClusterResolver gives rank {os.environ.get('SLURM_PROCID')} the address {tasks[task_id]}, but "
            f"Slurm started it on {node} as its local task {local}: it assumes block distribution and nodes in name "
            "order; start the step with srun -m block, or describe the cluster in TF_CONFIG"
        )
    here = sum(1 for address in tasks if address.rpartition(":")[0] == host)
    return spec, task_type, task_id, here


def share_gpus(gpus, local_id, tasks_here, bound):
    """This task's GPUs among those TensorFlow sees: all of them when Slurm gave each task its own (``bound``),
    else an equal share by local index, or one GPU taken in turn when there are fewer GPUs than tasks."""
    if not gpus or bound or tasks_here <= 1:
        return list(gpus)
    if len(gpus) >= tasks_here:
        share = len(gpus) // tasks_here
        return list(gpus[local_id * share : (local_id + 1) * share])
    return [gpus[local_id % len(gpus)]]


# ---------------------------------------------------------------- peers


def answering(address, timeout=KNOCK_S):
    """Whether something accepts a TCP connection at ``host:port`` (a live TensorFlow server does)."""
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            return True
    except (OSError, ValueError):
        return False


def peers(info):
    """(index, address) of every other task of the cluster, as the cluster lists them."""
    task = info.get("task") or {}
    found = []
    for job, tasks in sorted((info.get("cluster") or {}).items()):
        for index, address in enumerate(tasks):
            if (job, index) != (task.get("type"), task.get("index")):
                found.append((job, index, address))
    return found


def knock(addresses):
    """{address: answering} for every address at once: a dead host must cost one time-out, not one each."""
    result = {}
    threads = [threading.Thread(target=lambda a=a: result.__setitem__(a, answering(a))) for a in addresses]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return result


def failures_after(info, error, seconds):
    """The peers to blame for a collective that failed ``seconds`` after training began: the tasks TensorFlow
    names in its error, else those that no longer answer, else every peer (a frozen one still accepts)."""
    cause = first_line(error)
    named = {(job, int(index)) for job, index in BLAMED.findall(error)}
    others = peers(info)
    status = knock([address for _, _, address in others])
    task = info.get("task") or {}
    named.discard((task.get("type"), task.get("index")))
    blamed = [p for p in others if (p[0], p[1]) in named] or [p for p in others if not status[p[2]]] or others
    failures = []
    for job, index, address in blamed:
        what = "stopped answering" if not status[address] else "did not take part in a collective"
        failures.append(
            {
                "index": index,
                "job": job,
                "address": address,
                "answering": status[address],
                "error": f"{what} {seconds:.1f} s into training ({cause})",
            }
        )
    return failures


def first_line(text):
    """The line of TensorFlow's error that says what happened (not its 'Graph execution error:' header)."""
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    for line in lines:
        if "aborted" in line or "timed out" in line or "Connection" in line or "unavailable" in line.lower():
            return line[:300]
    return (lines[-1] if lines else "no message")[:300]


# ---------------------------------------------------------------- the join watchdog

# The join happens inside TensorFlow's C++ (MultiWorkerMirroredStrategy's start), which holds the GIL while it
# waits for the other workers: no thread of the worker can run then. The watchdog is a process of its own.


def start_join_watch(control_dir, limit):
    """Watch this worker's join from a second process (this script, run as a program)."""
    flags = ["-I", "-B"] if sys.flags.dont_write_bytecode else ["-I"]
    argv = [sys.executable, *flags, os.path.abspath(__file__), control_dir, str(os.getpid()), str(limit)]
    return subprocess.Popen(argv, stdin=subprocess.DEVNULL)


def read_answer(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def watch_join(control_dir, worker_pid, limit):
    """Until the worker's answer says it joined (or failed): knock on its peers every second. A peer that
    answered and stops answering, or a join longer than ``limit`` seconds, ends the worker (SIGKILL: nothing
    else reaches it inside the join) after writing its answer, which names the peers to blame."""
    path = os.path.join(control_dir, "output.json")
    started = time.monotonic()
    seen = set()
    while os.getppid() == worker_pid:
        time.sleep(WATCH_S)
        data = read_answer(path) or {}
        info = data.get("distributed") or {}
        if info.get("stage") not in (None, "joining"):
            return  # joined, failed, or done: the worker speaks for itself from here
        others = peers(info)
        if not others:
            continue  # the cluster is not known yet (TensorFlow is still importing)
        status = knock([address for _, _, address in others])
        waited = time.monotonic() - started
        gone = [p for p in others if p[2] in seen and not status[p[2]]]
        seen.update(address for address, up in status.items() if up)
        if gone:
            why = f"answered, then stopped answering before joining ({waited:.0f} s)"
            return end_worker(path, worker_pid, [(peer, why, False) for peer in gone])
        if waited > limit:
            late = f"answers, but did not join within {limit:g} s"
            silent = f"nothing answers there after {limit:g} s: the task did not start, or died"
            return end_worker(path, worker_pid, [(p, late if status[p[2]] else silent, status[p[2]]) for p in others])


def end_worker(path, worker_pid, blamed):
    data = read_answer(path) or {}
    info = data.setdefault("distributed", {})
    if info.get("stage") not in (None, "joining"):
        return  # it joined in the meantime
    info["failures"] = [
        {"index": index, "job": job, "address": address, "answering": up, "error": why}
        for (job, index, address), why, up in blamed
    ]
    info["stage"] = "failed"
    first = info["failures"][0]
    runs = data.setdefault("runs", {})
    for name, run in runs.items():
        if run.get("status") == "running":
            runs[name] = dict(run, status="error", joined=False)
            runs[name]["error"] = f"worker {first['index']} at {first['address']} {first['error']}"
    data["complete"] = True
    data["ended_by"] = "join-watch"  # the host reads the answer, not the SIGKILL, as the verdict
    tmp = path + ".watch"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(data, handle)
    os.replace(tmp, path)
    with contextlib.suppress(OSError):
        os.kill(worker_pid, signal.SIGKILL)


def describe_cluster(info, resolver_spec, task_type, task_id, source):
    info["source"] = source
    info["cluster"] = {job: list(tasks) for job, tasks in resolver_spec.items()}
    info["task"] = {"type": task_type, "index": task_id}
    info["expected_workers"] = sum(len(tasks) for tasks in resolver_spec.values())


def tf_config_cluster():
    """(cluster dict, task type, task index) from TF_CONFIG, as TFConfigClusterResolver will read it."""
    config = json.loads(os.environ["TF_CONFIG"])
    task = config.get("task") or {}
    return config.get("cluster") or {}, task.get("type"), task.get("index")


if __name__ == "__main__":
    watch_join(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]))
