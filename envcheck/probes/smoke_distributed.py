"""Probe part: the reference network trained with tf.distribute, on several devices or several workers.

Stand-alone, standard library only at module level; loaded by smoke_train.py. Three modes:

- ``mirrored``: MirroredStrategy over every local device of the requested kind (all GPUs, or two logical CPU
  devices on a machine without one, so the code path really runs on any laptop).
- ``workers``: this process launches N copies of smoke_train.py on this machine (mode ``worker``), each with a
  TF_CONFIG for MultiWorkerMirroredStrategy over 127.0.0.1 on free ports, watches that they join within the
  time limit and finish, stops the others when one dies or does not join, and collects their answers.
- ``cluster``: this process is one worker of a real cluster: TF_CONFIG from the environment, else Slurm's
  variables read by tf.distribute.cluster_resolver.SlurmClusterResolver (under srun).

Every distributed process trains the same batch-N run: the three samples split across the replicas, each
replica's gradient of its own samples' squared error all-reduced (summed: the full-batch gradient) and applied
to its copy of the weights by tf.distribute's update. The weights each replica ends at, the spread across all
replicas (gathered with a collective), the time of one all-reduce and the single-process NumPy batch-N run
from the same initial weights are facts for the host, which judges.
"""

# ruff: noqa: B905  (zip(strict=...) needs Python 3.10; probes run on 3.8+)

import contextlib
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import threading
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
PARAM_NAMES, SHAPES = _net.PARAM_NAMES, _net.SHAPES
number, describe = _net.number, _net.describe

POLL_S = 0.2
COLLECTIVE_STEPS = 50  # all-reduces timed on their own, after training


# ---------------------------------------------------------------- training under a strategy


def train(net, tf, strategy, epochs, lr, on_joined):
    """The batch-N run under ``strategy``; returns the facts of this process's replicas.

    ``on_joined(facts)`` is called once the first collective has completed, that is once every worker is in.
    """
    n = strategy.num_replicas_in_sync
    with strategy.scope():
        variables = [tf.Variable(p, dtype=tf.float64, name=name) for p, name in zip(net.init, PARAM_NAMES)]
    X, Y = tf.constant(net.X), tf.constant(net.yt)
    rate = tf.constant(lr, dtype=tf.float64)
    SUM = tf.distribute.ReduceOp.SUM

    def descend(variable, gradient):
        return variable.assign_sub(rate * gradient)

    def apply(distribution, gradients):
        for variable, gradient in zip(variables, gradients):
            distribution.extended.update(variable, descend, args=(gradient,), group=False)

    def step():
        ctx = tf.distribute.get_replica_context()
        rows = tf.range(ctx.replica_id_in_sync_group, len(net.X), n)  # replica k takes samples k, k+n, ...
        x, y = tf.gather(X, rows), tf.gather(Y, rows)
        with tf.GradientTape() as tape:
            W_h, b_h, W_o, b_o = variables
            yp = tf.sigmoid(tf.matmul(tf.sigmoid(tf.matmul(x, W_h) + b_h), W_o) + b_o)
            loss = tf.reduce_sum(tf.pow(yp - y, 2))
        gradients = ctx.all_reduce(SUM, tape.gradient(loss, variables))
        ctx.merge_call(apply, args=(gradients,))
        return ctx.all_reduce(SUM, loss)

    @tf.function
    def run(count):
        losses = tf.TensorArray(tf.float64, size=count)
        for i in tf.range(count):
            losses = losses.write(i, strategy.experimental_local_results(strategy.run(step))[0])
        return losses.stack()

    def gathered():
        ctx = tf.distribute.get_replica_context()
        flat = tf.concat([tf.reshape(v, [-1]) for v in variables], 0)
        every = ctx.all_gather(tf.expand_dims(flat, 0), axis=0)  # one row per replica, all workers
        return tf.reduce_max(tf.abs(every - every[0:1])), tf.shape(every)[0]

    spread_fn = tf.function(lambda: strategy.run(gathered))

    def spread():
        value, rows = spread_fn()
        return float(strategy.experimental_local_results(value)[0]), int(strategy.experimental_local_results(rows)[0])

    initial_spread, gathered_replicas = spread()  # the first collective: every worker has joined
    facts = {"joined": True, "replicas_in_sync": n, "gathered_replicas": gathered_replicas}
    facts["initial_spread"] = number(initial_spread)
    on_joined(facts)
    start = time.perf_counter()
    head = run(tf.constant(1)).numpy()
    first = time.perf_counter() - start
    tail = run(tf.constant(epochs - 1)).numpy() if epochs > 1 else []
    rest = time.perf_counter() - start - first
    curve = [float(v) for v in list(head) + list(tail)]

    zeros = [tf.zeros(s, dtype=tf.float64) for s in SHAPES]

    @tf.function
    def collectives(count):
        for _ in tf.range(count):
            strategy.run(lambda: tf.distribute.get_replica_context().all_reduce(SUM, zeros))

    collectives(tf.constant(1))  # traced and warmed
    started = time.perf_counter()
    collectives(tf.constant(COLLECTIVE_STEPS))
    collective_s = (time.perf_counter() - started) / COLLECTIVE_STEPS

    final_spread, _ = spread()
    local = [strategy.experimental_local_results(v) for v in variables]
    replicas = []
    for k in range(len(local[0])):
        params = [local[i][k].numpy().reshape(SHAPES[i]) for i in range(len(variables))]
        replicas.append({"device": local[0][k].device, "weights": net.weights(params)})
    first_params = [local[i][0].numpy().reshape(SHAPES[i]) for i in range(len(variables))]
    facts.update(
        steps=epochs,
        first_step_s=round(first, 6),
        rest_s=round(rest, 6),
        steps_per_s=round((epochs - 1) / rest, 1) if epochs > 1 and rest > 0 else None,
        train_s_per_step=round(rest / (epochs - 1), 9) if epochs > 1 else None,
        collective_s_per_step=round(collective_s, 9),
        collective_steps=COLLECTIVE_STEPS,
        spread=number(final_spread),
        replicas=replicas,
        initial_loss=number(curve[0]) if curve else None,
        final_loss=number(net.sse(first_params, net.X, net.yt)),
        final_outputs=net.outputs(first_params),
        final_weights=net.weights(first_params),
        loss_curve=_net.downsample(curve),
    )
    return facts


def distributed_run(answer, net, tf, strategy, request):
    """Train under ``strategy`` and record the run (the host's row, and the facts) in the answer."""
    run = request["run"]
    record = _net.new_record(run, status="running", strategy=type(strategy).__name__)
    answer.data["distributed"]["strategy"] = record["strategy"]
    answer.data["distributed"]["stage"] = "joining"
    answer.write()

    def joined(facts):
        # written at once: the launcher of loopback workers watches for it to tell a slow join from a hang
        answer.data["distributed"]["stage"] = "training"
        answer.add_run(dict(record, **facts))

    try:
        facts = train(net, tf, strategy, int(request["epochs"]), float(request["lr"]), joined)
    except Exception as exc:
        answer.data["distributed"]["stage"] = "failed"
        answer.add_run(_net.error_record(run, exc))
        return
    record.update(facts, status="ok")
    record["devices"] = {
        "variables": sorted({r["device"] for r in facts["replicas"] if r.get("device")}),
        "outputs": [],
    }
    answer.data["distributed"]["stage"] = "trained"
    answer.add_run(record)


# ---------------------------------------------------------------- mirrored: several local devices


def run_mirrored(answer, net, request):
    import_tensorflow = sibling("smoke_tf").import_tensorflow
    device = request.get("device", "auto")
    try:
        tf = import_tensorflow(answer, device, logical_cpus=2)
    except Exception as exc:
        answer.data["errors"]["tensorflow"] = describe(exc)
        answer.add_run(_net.not_run(request["run"], "unavailable", "tensorflow: " + describe(exc)))
        return
    answer.data["versions"]["tensorflow"] = tf.__version__
    gpus = answer.data["tensorflow"]["physical_gpus"]
    if device == "gpu" and not gpus:
        answer.data["device_error"] = "TensorFlow sees no GPU"
        answer.add_run(_net.not_run(request["run"], "skipped", "--device gpu, but TensorFlow sees no GPU"))
        return
    kind = "GPU" if gpus and device != "cpu" else "CPU"
    devices = [d.name for d in tf.config.list_logical_devices(kind)]
    answer.data["device_used"] = ", ".join(d.rsplit("device:", 1)[-1] for d in devices)
    answer.data["distributed"]["devices"] = devices
    answer.data["distributed"]["expected_replicas"] = len(devices)
    try:
        strategy = tf.distribute.MirroredStrategy(devices=devices)
    except Exception as exc:
        answer.add_run(_net.error_record(request["run"], exc))
        return
    distributed_run(answer, net, tf, strategy, request)


# ---------------------------------------------------------------- one worker of a cluster (loopback or real)


def run_worker(answer, net, request):
    """A loopback worker (TF_CONFIG from the launcher) or a real cluster's worker (TF_CONFIG or Slurm)."""
    mode = request["mode"]
    info = answer.data["distributed"]
    if mode == "worker":
        watch_launcher(int(request["launcher_pid"]))
        os.environ["TF_CONFIG"] = json.dumps(request["tf_config"])  # read by TensorFlow when the strategy starts
    import_tensorflow = sibling("smoke_tf").import_tensorflow
    device = request.get("device", "auto")
    made = {}

    def start_strategy(tf):
        # MultiWorkerMirroredStrategy configures collective ops, which must precede the runtime's start-up.
        try:
            if mode == "cluster" and not os.environ.get("TF_CONFIG"):
                resolver = tf.distribute.cluster_resolver.SlurmClusterResolver()
                info["source"] = "slurm"
            else:
                resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
                info["source"] = "TF_CONFIG"
            spec = resolver.cluster_spec().as_dict()
            info["cluster"] = {job: list(tasks) for job, tasks in spec.items()}
            info["task"] = {"type": resolver.task_type, "index": resolver.task_id}
            info["expected_workers"] = sum(len(tasks) for tasks in spec.values())
            answer.write()
            made["strategy"] = tf.distribute.MultiWorkerMirroredStrategy(cluster_resolver=resolver)
        except Exception as exc:
            made["error"] = exc

    try:
        tf = import_tensorflow(answer, device, gpu_index=request.get("worker_index"), before_init=start_strategy)
    except Exception as exc:
        answer.data["errors"]["tensorflow"] = describe(exc)
        answer.add_run(_net.not_run(request["run"], "unavailable", "tensorflow: " + describe(exc)))
        return
    answer.data["versions"]["tensorflow"] = tf.__version__
    gpus = answer.data["tensorflow"]["physical_gpus"]
    if device == "gpu" and not gpus:
        answer.data["device_error"] = "TensorFlow sees no GPU"
        answer.add_run(_net.not_run(request["run"], "skipped", "--device gpu, but TensorFlow sees no GPU"))
        return
    answer.data["device_used"] = "GPU" if gpus and device != "cpu" else "CPU:0"
    if "error" in made:
        answer.add_run(_net.error_record(request["run"], made["error"]))
        return
    strategy = made["strategy"]
    distributed_run(answer, net, tf, strategy, request)


# ---------------------------------------------------------------- workers: the loopback launcher


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
        payload = {key: request.get(key) for key in ("seed", "epochs", "lr", "device")}
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
