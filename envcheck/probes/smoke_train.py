"""Probe: train the tutorial's reference network at every level and record what happened.

Stand-alone; standard library at module level, NumPy / TensorFlow / Keras / matplotlib imported inside functions.
Usage: python -I smoke_train.py CONTROL_DIR  (reads CONTROL_DIR/input.json, writes CONTROL_DIR/output.json)

Input: levels (the host's table rows to train: name, needs, own_process, cpu_rerun, runs), seed, epochs, lr,
device (cpu|gpu|auto), plot (a PNG path or null), compare_cpu (bool), parallel (bool); mode (levels, the
default; mirrored, workers, worker or cluster: see smoke_distributed.py) with workers, join_timeout, run and
reference_run for the distributed modes. Each level is trained by ``TRAINERS[name]`` of a probe part.

The parts: smoke_net.py (data, NumPy network, scratch level, shared records), smoke_tf.py (the TensorFlow
levels), smoke_distributed.py (tf.distribute), smoke_workers.py (the loopback launcher), smoke_cluster.py (a
real cluster's worker); this file orchestrates. They load each other by path.

The network: 4 inputs -> 3 sigmoid -> 1 sigmoid, rows of X are samples (h = sigmoid(X @ W_h + b_h)).
Every level starts from the same initial weights, drawn with numpy.random.RandomState(seed).uniform(-1, 1),
in float64. One "run" is a level in one batch mode (``tape-batch1``, ``tape-batchN``, ...), named by the host.

Facts only: the host decides what passes. The answer is rewritten after every run, so a crash keeps the
runs before it. With two or more CPUs the levels marked own_process (keras: thousands of train_on_batch calls,
the slowest by far) run in a second process started by this one, so both import TensorFlow at the same time;
the host's timeout kills the whole process group.
"""

# ruff: noqa: B905  (zip(strict=...) needs Python 3.10; probes run on 3.8+)

import importlib.util
import json
import os
import platform
import subprocess
import sys
import time


def sibling(name):
    """Another probe script of this folder, loaded by path under a private name, once per process."""
    key = "_envcheck_probe_" + name
    if key not in sys.modules:
        here = os.path.dirname(os.path.abspath(__file__))
        spec = importlib.util.spec_from_file_location(key, os.path.join(here, name + ".py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module
        spec.loader.exec_module(module)
    return sys.modules[key]


_net = sibling("smoke_net")
_tf = sibling("smoke_tf")
number, describe, not_run = _net.number, _net.describe, _net.not_run
# Level name -> the function that trains one of its runs; each probe part names its own levels.
TRAINERS = {**_net.TRAINERS, **_tf.TRAINERS}


# ---------------------------------------------------------------- plumbing


class Answer:
    """The JSON answer, written atomically whenever something new is known."""

    def __init__(self, control_dir, data):
        self.path = os.path.join(control_dir, "output.json")
        self.data = data
        self.curves = {}  # run name -> loss per epoch (full length), for the plot

    def write(self):
        tmp = self.path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(self.data, handle, allow_nan=False)
        os.replace(tmp, self.path)

    def add_run(self, record, curve=None):
        self.data["runs"][record["name"]] = record
        if curve is not None:
            self.curves[record["name"]] = [number(v) for v in curve]
        self.write()


# ---------------------------------------------------------------- worker process for the slow levels


def start_worker(control_dir, request, levels):
    worker_dir = os.path.join(control_dir, "level-worker")
    os.makedirs(worker_dir, exist_ok=True)
    payload = dict(request, levels=levels, plot=None, compare_cpu=False, parallel=False, worker=True)
    with open(os.path.join(worker_dir, "input.json"), "w", encoding="utf-8") as handle:
        json.dump(payload, handle)
    # Same interpreter, same flags; it inherits this process group, so a host timeout ends both.
    flags = ["-I", "-B"] if sys.flags.dont_write_bytecode else ["-I"]
    proc = subprocess.Popen([sys.executable, *flags, os.path.abspath(__file__), worker_dir], stdin=subprocess.DEVNULL)
    return proc, worker_dir


def collect_worker(answer, proc, worker_dir, levels):
    started = time.perf_counter()
    returncode = proc.wait()
    data = None
    try:
        with open(os.path.join(worker_dir, "output.json"), encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        pass
    answer.data["worker"] = {
        "levels": [level["name"] for level in levels],
        "returncode": returncode,
        "waited_s": round(time.perf_counter() - started, 3),
    }
    runs = (data or {}).get("runs", {})
    for run in (run for level in levels for run in level["runs"]):
        name = run["name"]
        if name in runs:
            answer.add_run(runs[name], (data or {}).get("curves", {}).get(name))
        else:
            how = f"was killed by signal {-returncode}" if returncode < 0 else f"exited with code {returncode}"
            answer.add_run(not_run(run, "error", f"the {run['level']} worker process " + how))
    if data:
        info = answer.data["tensorflow"]
        if not info.get("version") and data.get("tensorflow", {}).get("version"):
            answer.data["tensorflow"] = data["tensorflow"]
        for key, value in data.get("versions", {}).items():
            answer.data["versions"].setdefault(key, value)


# ---------------------------------------------------------------- plot


def plot(answer, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except Exception as exc:  # a missing or broken matplotlib is a fact to report, not a crash
        answer.data["plot"] = {"path": path, "written": False, "error": describe(exc)}
        return
    versions = answer.data["versions"]
    try:
        fig, ax = plt.subplots(figsize=(9, 5.5), dpi=100)
        for name, curve in sorted(answer.curves.items()):
            loss = answer.data["runs"][name].get("loss", "")
            ax.plot(
                range(1, len(curve) + 1),
                [v if v is not None else float("nan") for v in curve],
                label="{} ({})".format(name, loss.split(":")[0]),
            )
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
        title = "envcheck smoke-train on {} - python {}, numpy {}, tensorflow {}, keras {}".format(
            answer.data.get("device_used") or answer.data["request"]["device"],
            versions.get("python"),
            versions.get("numpy"),
            versions.get("tensorflow"),
            versions.get("keras"),
        )
        ax.set_title(title, fontsize=9)
        fig.tight_layout()
        fig.savefig(path, format="png")
        plt.close(fig)
        answer.data["plot"] = {"path": path, "written": True, "matplotlib": matplotlib.__version__}
    except Exception as exc:  # e.g. an unwritable path
        answer.data["plot"] = {"path": path, "written": False, "error": describe(exc)}


# ---------------------------------------------------------------- main


def installed(name):
    import importlib.util

    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def main(control_dir):
    started = time.perf_counter()
    with open(os.path.join(control_dir, "input.json"), encoding="utf-8") as handle:
        request = json.load(handle)
    levels = list(request.get("levels") or [])
    seed = int(request.get("seed", 0))
    epochs = int(request.get("epochs", 2000))
    lr = float(request.get("lr", 0.1))
    device = request.get("device", "auto")
    worker = bool(request.get("worker", False))
    answer = Answer(
        control_dir,
        {
            "probe": "smoke_train",
            "complete": False,
            "request": {
                "levels": [level["name"] for level in levels],
                "seed": seed,
                "epochs": epochs,
                "lr": lr,
                "device": device,
            },
            "versions": {"python": platform.python_version()},
            "executable": sys.executable,
            "cpu_count": os.cpu_count(),
            "tensorflow": {},
            "runs": {},
            "reference": {},
            "errors": {},
            "processes": 1,
        },
    )
    answer.write()

    try:
        import numpy as np
    except Exception as exc:
        answer.data["errors"]["numpy"] = describe(exc)
        for level in levels:
            for run in level["runs"]:
                answer.add_run(not_run(run, "unavailable", "numpy: " + describe(exc)))
        answer.data["complete"] = True
        answer.write()
        return
    answer.data["versions"]["numpy"] = np.__version__
    net = _net.Net(np, seed)
    answer.data["reference"]["initial_weights"] = net.weights(net.init)
    chain_rule, _ = net.gradient(net.init, net.X, net.yt)
    answer.data["reference"]["chain_rule_gradient"] = _net.gradient_dict(chain_rule)
    answer.write()
    training = _net.Training(answer, net, epochs, lr, device)

    mode = request.get("mode", "levels")
    if mode != "levels":
        train_distributed(answer, training, request, control_dir, mode)
        answer.data["wall_s"] = round(time.perf_counter() - started, 3)
        answer.data["complete"] = True
        answer.write()
        return

    # Start the slow levels' process before importing TensorFlow here, so both imports overlap.
    proc = None
    own = [level for level in levels if level["own_process"]]
    others = [level for level in levels if "tensorflow" in level["needs"] and not level["own_process"]]
    if (
        own
        and others
        and request.get("parallel", True)
        and (os.cpu_count() or 1) >= 2
        and all(installed(name) for level in own for name in level["needs"])
    ):
        try:
            proc, worker_dir = start_worker(control_dir, request, own)
            answer.data["processes"] = 2
            levels = [level for level in levels if not level["own_process"]]
        except OSError as exc:  # they then run here, after the others
            answer.data["errors"]["worker"] = describe(exc)

    tf_levels = [level for level in levels if "tensorflow" in level["needs"]]
    for level in levels:
        if level in tf_levels and training.tf is None and "tensorflow" not in training.unavailable:
            _tf.start(training, tf_levels)
        train_level(training, level)
        if training.tf is not None:
            answer.data["reference"]["autodiff_gradients"] = training.gradients
            answer.write()
    rerun = [level for level in tf_levels if level["cpu_rerun"]]
    gpus = answer.data["tensorflow"].get("physical_gpus")
    if request.get("compare_cpu") and rerun and gpus and device != "cpu" and training.tf is not None:
        _tf.compare_on_cpu(training, rerun, TRAINERS)

    if proc is not None:
        collect_worker(answer, proc, worker_dir, own)
    if worker:
        answer.data["curves"] = answer.curves
    elif request.get("plot"):
        plot(answer, request["plot"])
    answer.data["wall_s"] = round(time.perf_counter() - started, 3)
    answer.data["complete"] = True
    answer.write()


def train_level(training, level):
    """Every run of ``level`` by its trainer; a run that raises is recorded with its traceback, the next goes on."""
    answer = training.answer
    trainer = TRAINERS.get(level["name"])
    why_not = training.why_not(level)
    for run in level["runs"]:
        if why_not is not None:
            answer.add_run(not_run(run, *why_not))
        elif trainer is None:
            answer.add_run(not_run(run, "error", "this probe has no trainer for level " + repr(level["name"])))
        else:
            try:
                answer.add_run(*trainer(training, run))
            except Exception as exc:
                answer.add_run(_net.error_record(run, exc))


def train_distributed(answer, training, request, control_dir, mode):
    """--strategy mirrored, --workers N (this process launches them; each is mode 'worker'), --cluster."""
    distributed = sibling("smoke_distributed")
    answer.data["mode"] = mode
    answer.data["distributed"] = {"mode": mode}
    if mode == "workers":
        launcher = sibling("smoke_workers")
        launcher.launch_workers(answer, training, request, control_dir, os.path.abspath(__file__), reference)
        return
    if mode != "worker":  # the launcher of loopback workers computed it once for all of them
        reference(training, request)
    if mode == "mirrored":
        distributed.run_mirrored(answer, training.net, request)
    else:
        distributed.run_worker(answer, training.net, request)


def reference(training, request):
    """The single-process run the distributed run must match (the host names it), trained by its level."""
    train_level(training, {"name": request["reference_run"]["level"], "needs": [], "runs": [request["reference_run"]]})


if __name__ == "__main__":
    main(sys.argv[1])
    # The answer is on disk; skip TensorFlow's slow interpreter teardown (thread pools, sessions).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
