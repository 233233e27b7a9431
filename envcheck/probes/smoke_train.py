"""Probe: train the tutorial's reference network at every level and record what happened.

Stand-alone; standard library at module level, NumPy / TensorFlow / Keras / matplotlib imported inside functions.
Usage: python -I smoke_train.py CONTROL_DIR  (reads CONTROL_DIR/input.json, writes CONTROL_DIR/output.json)

Input: levels (scratch, keras, tape, tf1-optimizer, tf1-gradients), seed, epochs, lr, device (cpu|gpu|auto),
plot (a PNG path or null), compare_cpu (bool), parallel (bool); mode (levels, the default; mirrored, workers,
worker or cluster: see smoke_distributed.py) with workers, join_timeout and run for the distributed modes.

The parts: smoke_net.py (data, NumPy network, scratch level, shared records), smoke_tf.py (the TensorFlow
levels), smoke_distributed.py (tf.distribute); this file orchestrates. They load each other by path.

The network: 4 inputs -> 3 sigmoid -> 1 sigmoid, rows of X are samples (h = sigmoid(X @ W_h + b_h)).
Every level starts from the same initial weights, drawn with numpy.random.RandomState(seed).uniform(-1, 1),
in float64. One "run" is a level in one batch mode (``tape-batch1``, ``tape-batchN``, ...).

Facts only: the host decides what passes. The answer is rewritten after every run, so a crash keeps the
runs before it. With two or more CPUs the keras level (thousands of train_on_batch calls, the slowest by far)
runs in a second process started by this one, so both import TensorFlow at the same time; the host's
timeout kills the whole process group.
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
LEVELS, TF_LEVELS, SSE, MSE = _net.LEVELS, _net.TF_LEVELS, _net.SSE, _net.MSE
number, describe, not_run, runs_of = _net.number, _net.describe, _net.not_run, _net.runs_of


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


# ---------------------------------------------------------------- worker process for the keras level


def start_worker(control_dir, request):
    worker_dir = os.path.join(control_dir, "keras-worker")
    os.makedirs(worker_dir, exist_ok=True)
    payload = dict(request, levels=["keras"], plot=None, compare_cpu=False, parallel=False, worker=True)
    with open(os.path.join(worker_dir, "input.json"), "w", encoding="utf-8") as handle:
        json.dump(payload, handle)
    # Same interpreter, same flags; it inherits this process group, so a host timeout ends both.
    flags = ["-I", "-B"] if sys.flags.dont_write_bytecode else ["-I"]
    proc = subprocess.Popen([sys.executable, *flags, os.path.abspath(__file__), worker_dir], stdin=subprocess.DEVNULL)
    return proc, worker_dir


def collect_worker(answer, proc, worker_dir):
    started = time.perf_counter()
    returncode = proc.wait()
    data = None
    try:
        with open(os.path.join(worker_dir, "output.json"), encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        pass
    answer.data["worker"] = {
        "levels": ["keras"],
        "returncode": returncode,
        "waited_s": round(time.perf_counter() - started, 3),
    }
    runs = (data or {}).get("runs", {})
    for name, _batch, loss in [("keras-batch1", "1", MSE)]:
        if name in runs:
            answer.add_run(runs[name], (data or {}).get("curves", {}).get(name))
        else:
            how = f"was killed by signal {-returncode}" if returncode < 0 else f"exited with code {returncode}"
            answer.add_run(not_run(name, "keras", "1", loss, "error", "the keras worker process " + how))
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
    levels = [lv for lv in LEVELS if lv in request.get("levels", LEVELS)]
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
            "request": {"levels": levels, "seed": seed, "epochs": epochs, "lr": lr, "device": device},
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
            for name, batch, loss in runs_of(level):
                answer.add_run(not_run(name, level, batch, loss, "unavailable", "numpy: " + describe(exc)))
        answer.data["complete"] = True
        answer.write()
        return
    answer.data["versions"]["numpy"] = np.__version__
    net = _net.Net(np, seed)
    answer.data["reference"]["initial_weights"] = net.weights(net.init)
    chain_rule, _ = net.gradient(net.init, net.X, net.yt)
    answer.data["reference"]["chain_rule_gradient"] = _net.gradient_dict(chain_rule)
    answer.write()

    mode = request.get("mode", "levels")
    if mode != "levels":
        train_distributed(answer, net, request, control_dir, mode)
        answer.data["wall_s"] = round(time.perf_counter() - started, 3)
        answer.data["complete"] = True
        answer.write()
        return

    # Start the keras worker before importing TensorFlow here, so both imports overlap.
    proc = None
    others = [lv for lv in levels if lv in TF_LEVELS and lv != "keras"]
    if (
        "keras" in levels
        and others
        and request.get("parallel", True)
        and (os.cpu_count() or 1) >= 2
        and installed("keras")
    ):
        try:
            proc, worker_dir = start_worker(control_dir, request)
            answer.data["processes"] = 2
            levels = [lv for lv in levels if lv != "keras"]
        except OSError as exc:  # keras then runs here, after the others
            answer.data["errors"]["worker"] = describe(exc)

    if "scratch" in levels:
        for batch in ("N", "1"):
            try:
                answer.add_run(*_net.run_scratch(net, epochs, lr, batch))
            except Exception as exc:
                answer.add_run(_net.error_record("scratch-batch" + batch, "scratch", batch, SSE, exc))

    tf_levels = [lv for lv in levels if lv in TF_LEVELS]
    if tf_levels:
        sibling("smoke_tf").run_tf_levels(answer, net, tf_levels, request, epochs, lr, device)

    if proc is not None:
        collect_worker(answer, proc, worker_dir)
    if worker:
        answer.data["curves"] = answer.curves
    elif request.get("plot"):
        plot(answer, request["plot"])
    answer.data["wall_s"] = round(time.perf_counter() - started, 3)
    answer.data["complete"] = True
    answer.write()


def train_distributed(answer, net, request, control_dir, mode):
    """--strategy mirrored, --workers N (this process launches them; each is mode 'worker'), --cluster."""
    distributed = sibling("smoke_distributed")
    answer.data["mode"] = mode
    answer.data["distributed"] = {"mode": mode}
    if mode == "workers":
        distributed.launch_workers(answer, net, request, control_dir, os.path.abspath(__file__))
        return
    if mode != "worker":  # the launcher of loopback workers computed it once for all of them
        distributed.reference(answer, net, int(request["epochs"]), float(request["lr"]))
    if mode == "mirrored":
        distributed.run_mirrored(answer, net, request)
    else:
        distributed.run_worker(answer, net, request)


if __name__ == "__main__":
    main(sys.argv[1])
    # The answer is on disk; skip TensorFlow's slow interpreter teardown (thread pools, sessions).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
