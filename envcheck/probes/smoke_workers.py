"""Probe part: the loopback launcher of ``--workers N``: N copies of smoke_train.py on this machine.

Stand-alone, standard library only; loaded by smoke_train.py. Each worker (mode ``worker``) gets a TF_CONFIG
for MultiWorkerMirroredStrategy over 127.0.0.1 on free ports; the launcher watches that they join within the
time limit and finish, stops the others when one dies or does not join, and collects their answers.
"""

# ruff: noqa: B905  (zip(strict=...) needs Python 3.10; probes run on 3.8+)

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

POLL_S = 0.2


def watch_launcher(launcher_pid):
    """A loopback worker never outlives its launcher, however the launcher ended (even SIGKILL)."""

    def watch():
        while os.getppid() == launcher_pid:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="envcheck-launcher-watch", daemon=True).start()


def stop_on_signals(procs):
    """SIGTERM or SIGINT to the launcher stops and reaps every worker first (TensorFlow's workers may not
    stop on SIGTERM themselves), then ends the launcher the way the signal would have."""

    def handler(signum, frame):
        stop(procs)
        os._exit(128 + signum)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, handler)


def free_ports(count):
    """Ports the kernel hands out as free on 127.0.0.1 (held together, so they are distinct)."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def describe_exit(returncode):
    if returncode < 0:
        try:
            return "was killed by " + signal.Signals(-returncode).name
        except ValueError:
            return f"was killed by signal {-returncode}"
    return f"exited with code {returncode}"


def read_json(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def launch_workers(answer, training, request, control_dir, script, reference):
    """Start N workers, watch them join and finish, stop them all at the first one that fails."""
    count = int(request["workers"])
    join_timeout = float(request.get("join_timeout", 120))
    addresses = [f"127.0.0.1:{port}" for port in free_ports(count)]
    info = answer.data["distributed"]
    info.update(expected_workers=count, addresses=addresses, join_timeout_s=join_timeout, workers=[])
    flags = ["-I", "-B"] if sys.flags.dont_write_bytecode else ["-I"]
    procs, dirs = [], []
    stop_on_signals(procs)  # the list fills below; the handler sees every worker started so far
    for index, _address in enumerate(addresses):
        worker_dir = os.path.join(control_dir, f"worker-{index}")
        os.makedirs(worker_dir, exist_ok=True)
        payload = {key: request.get(key) for key in ("seed", "epochs", "lr", "device", "collective_timeout")}
        payload.update(
            launcher_pid=os.getpid(),
            mode="worker",
            run=request["run"],
            worker_index=index,
            tf_config={"cluster": {"worker": addresses}, "task": {"type": "worker", "index": index}},
        )
        with open(os.path.join(worker_dir, "input.json"), "w", encoding="utf-8") as handle:
            json.dump(payload, handle)
        # Same interpreter and flags; same process group, so the host's timeout or Ctrl-C ends every worker.
        procs.append(subprocess.Popen([sys.executable, *flags, script, worker_dir], stdin=subprocess.DEVNULL))
        dirs.append(worker_dir)
    name = request["run"]["name"]
    started = time.monotonic()
    failures = []
    try:
        while True:
            answers = [read_json(os.path.join(d, "output.json")) or {} for d in dirs]
            joined = [bool((a.get("runs", {}).get(name) or {}).get("joined")) for a in answers]
            codes = [p.poll() for p in procs]
            for index, code in enumerate(codes):
                complete = answers[index].get("complete")
                if code is not None and (code != 0 or not complete):
                    how = describe_exit(code) if code != 0 else "exited without finishing its answer"
                    when = "after joining" if joined[index] else "before joining"
                    failures.append({"index": index, "address": addresses[index], "error": how + " " + when})
            if failures or all(code == 0 for code in codes):
                break
            if not all(joined) and time.monotonic() - started > join_timeout:
                for index, ok in enumerate(joined):
                    if not ok:
                        failures.append(
                            {
                                "index": index,
                                "address": addresses[index],
                                "error": f"did not join within {join_timeout:g} s",
                            }
                        )
                break
            time.sleep(POLL_S)
    finally:
        stop(procs)
    info["waited_s"] = round(time.monotonic() - started, 3)
    info["failures"] = failures
    if not failures:  # after the workers, so that watching them never waits for it
        reference(training, request)
    for index, (proc, worker_dir) in enumerate(zip(procs, dirs)):
        data = read_json(os.path.join(worker_dir, "output.json")) or {}
        run = (data.get("runs") or {}).get(name) or {}
        info["workers"].append(
            {
                "index": index,
                "address": addresses[index],
                "returncode": proc.returncode,
                "joined": bool(run.get("joined")),
                "run": run,
                "tensorflow": data.get("tensorflow") or {},
                "errors": data.get("errors") or {},
            }
        )
        if index == 0 and run:
            answer.data["runs"][name] = run  # worker 0's run stands for all in the table
        if index == 0 and data:
            answer.data["tensorflow"] = data.get("tensorflow") or {}
            answer.data["device_used"] = data.get("device_used")
            for key, value in (data.get("versions") or {}).items():
                answer.data["versions"].setdefault(key, value)
    answer.write()


def stop(procs):
    """Every worker still running is killed and reaped: none outlives the launcher."""
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
    for proc in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)
