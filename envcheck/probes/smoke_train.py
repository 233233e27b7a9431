"""Probe: train the tutorial's reference network at every level and record what happened.

Stand-alone; standard library at module level, NumPy / TensorFlow / Keras / matplotlib imported inside functions.
Usage: python -I smoke_train.py CONTROL_DIR  (reads CONTROL_DIR/input.json, writes CONTROL_DIR/output.json)

Input: levels (scratch, keras, tape, tf1-optimizer, tf1-gradients), seed, epochs, lr, device (cpu|gpu|auto),
plot (a PNG path or null), compare_cpu (bool), parallel (bool).

The network: 4 inputs -> 3 sigmoid -> 1 sigmoid, rows of X are samples (h = sigmoid(X @ W_h + b_h)).
Every level starts from the same initial weights, drawn with numpy.random.RandomState(seed).uniform(-1, 1),
in float64. One "run" is a level in one batch mode (``tape-batch1``, ``tape-batchN``, ...).

Facts only: the host decides what passes. The answer is rewritten after every run, so a crash keeps the
runs before it. With two or more CPUs the keras level (thousands of train_on_batch calls, the slowest by far)
runs in a second process started by this one, so both import TensorFlow at the same time; the host's
timeout kills the whole process group.
"""

# ruff: noqa: B905  (zip(strict=...) needs Python 3.10; probes run on 3.8+)

import contextlib
import json
import os
import platform
import subprocess
import sys
import time
import traceback

LEVELS = ("scratch", "keras", "tape", "tf1-optimizer", "tf1-gradients")
TF_LEVELS = ("keras", "tape", "tf1-optimizer", "tf1-gradients")
PARAM_NAMES = ("W_h", "b_h", "W_o", "b_o")
SHAPES = ((4, 3), (1, 3), (3, 1), (1, 1))
X_DATA = [[1.0, 0.0, 1.0, 0.0], [1.0, 0.0, 1.0, 1.0], [0.0, 1.0, 0.0, 1.0]]
Y_DATA = [[1.0], [1.0], [0.0]]
CURVE_POINTS = 100  # loss curve points sent to the host; the plot uses every epoch
SSE = "sse: sum over samples of (yp - yt)^2"
MSE = "mse: keras.losses.MeanSquaredError (mean over samples of (yp - yt)^2)"


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


def number(value):
    """A finite float, or None (JSON has no NaN)."""
    value = float(value)
    if value != value or value in (float("inf"), float("-inf")):
        return None
    return value


def nested(array):
    return [[number(v) for v in row] for row in array.tolist()]


def describe(exc):
    text = f"{type(exc).__name__}: {exc}".strip()
    return text.splitlines()[0][:500] if text else type(exc).__name__


def error_record(name, level, batch, loss, exc):
    tail = traceback.format_exception(type(exc), exc, exc.__traceback__)
    return {
        "name": name,
        "level": level,
        "batch": batch,
        "loss": loss,
        "status": "error",
        "error": describe(exc),
        "traceback": "".join(tail)[-2000:],
    }


def not_run(name, level, batch, loss, status, reason):
    return {"name": name, "level": level, "batch": batch, "loss": loss, "status": status, "error": reason}


def downsample(curve):
    if not curve:
        return {"epoch": [], "loss": []}
    step = max(1, len(curve) // CURVE_POINTS)
    idx = list(range(0, len(curve), step))
    if idx[-1] != len(curve) - 1:
        idx.append(len(curve) - 1)
    return {"epoch": [i + 1 for i in idx], "loss": [number(curve[i]) for i in idx]}


def runs_of(level):
    """(run name, batch mode, loss) for each run a level makes."""
    return {
        "scratch": [("scratch-batchN", "N", SSE), ("scratch-batch1", "1", SSE)],
        "keras": [("keras-batch1", "1", MSE)],
        "tape": [("tape-batch1", "1", SSE), ("tape-batchN", "N", SSE)],
        "tf1-optimizer": [("tf1-optimizer-batchN", "N", SSE)],
        "tf1-gradients": [("tf1-gradients-batchN", "N", SSE)],
    }[level]


# ---------------------------------------------------------------- the network in NumPy


class Net:
    """Data, initial weights and the chain-rule gradient, in NumPy float64."""

    def __init__(self, np, seed):
        self.np = np
        self.X = np.array(X_DATA, dtype=np.float64)
        self.yt = np.array(Y_DATA, dtype=np.float64)
        rng = np.random.RandomState(seed)
        self.init = [rng.uniform(-1.0, 1.0, shape).astype(np.float64) for shape in SHAPES]

    def sigmoid(self, z):
        return 1.0 / (1.0 + self.np.exp(-z))

    def forward(self, params, x):
        W_h, b_h, W_o, b_o = params
        h = self.sigmoid(x @ W_h + b_h)
        return h, self.sigmoid(h @ W_o + b_o)

    def sse(self, params, x, y):
        return float(((self.forward(params, x)[1] - y) ** 2).sum())

    def gradient(self, params, x, y):
        """dE/d(W_h, b_h, W_o, b_o) of E = sum (yp - yt)^2, written out with the chain rule."""
        W_h, b_h, W_o, b_o = params
        h, yp = self.forward(params, x)
        delta_o = 2.0 * (yp - y) * yp * (1.0 - yp)  # dE/dz_o
        delta_h = (delta_o @ W_o.T) * h * (1.0 - h)  # dE/dz_h
        grads = [x.T @ delta_h, delta_h.sum(axis=0, keepdims=True), h.T @ delta_o, delta_o.sum(axis=0, keepdims=True)]
        return grads, float(((yp - y) ** 2).sum())

    def weights(self, params):
        return {name: nested(p) for name, p in zip(PARAM_NAMES, params)}

    def outputs(self, params):
        return [number(v) for v in self.forward(params, self.X)[1].ravel()]


def finish(record, net, params, loss_fn, curve):
    """The facts every successful run reports, computed the same way for every level."""
    record.update(
        status="ok",
        initial_loss=number(loss_fn(net.init)),
        final_loss=number(loss_fn(params)),
        final_outputs=net.outputs(params),
        final_weights=net.weights(params),
        loss_curve=downsample(curve),
    )
    return record


def timing(record, first_s, rest_s, steps):
    record.update(
        steps=steps,
        first_step_s=round(first_s, 6),
        rest_s=round(rest_s, 6),
        steps_per_s=round((steps - 1) / rest_s, 1) if steps > 1 and rest_s > 0 else None,
    )


def sse_loss(net):
    return lambda params: net.sse(params, net.X, net.yt)


def mse_loss(net):
    return lambda params: net.sse(params, net.X, net.yt) / len(net.X)


# ---------------------------------------------------------------- scratch level (NumPy, chain rule)


def run_scratch(net, epochs, lr, batch):
    name = "scratch-batch" + batch
    record = {"name": name, "level": "scratch", "batch": batch, "loss": SSE, "devices": {"compute": "NumPy (host CPU)"}}
    params = [p.copy() for p in net.init]
    curve = []
    X, yt = net.X, net.yt
    rows = [(X[i : i + 1], yt[i : i + 1]) for i in range(len(X))]
    steps = 0
    start = time.perf_counter()
    first = None
    for _ in range(epochs):
        epoch_loss = 0.0
        batches = rows if batch == "1" else [(X, yt)]
        for x, y in batches:
            grads, loss = net.gradient(params, x, y)
            params = [p - lr * g for p, g in zip(params, grads)]
            epoch_loss += loss
            steps += 1
            if first is None:
                first = time.perf_counter() - start
        curve.append(epoch_loss)
    rest = time.perf_counter() - start - first
    timing(record, first, rest, steps)
    return finish(record, net, params, sse_loss(net), curve), curve


def sequential_reference(net, epochs, lr):
    """The chain-rule counterpart of the article's low level: one parameter updated after another, each
    gradient evaluated at the weights that already include the previous updates."""
    params = [p.copy() for p in net.init]
    for _ in range(epochs):
        for k in range(4):
            grads, _ = net.gradient(params, net.X, net.yt)
            params[k] = params[k] - lr * grads[k]
    return net.weights(params)


# ---------------------------------------------------------------- TensorFlow set-up


def import_tensorflow(answer, device):
    """Import TensorFlow, pin or hide devices as asked, and record what TensorFlow sees."""
    import tensorflow as tf

    info = answer.data["tensorflow"]
    info["version"] = tf.__version__
    info["built_with_cuda"] = bool(tf.test.is_built_with_cuda())
    if device == "cpu":
        # Hidden before anything initialises the runtime, so no op can land on a GPU.
        tf.config.set_visible_devices([], "GPU")
    gpus = tf.config.list_physical_devices("GPU")
    info["physical_gpus"] = [g.name for g in gpus]
    details = []
    for gpu in gpus:
        with contextlib.suppress(RuntimeError, ValueError):  # already initialised: keep TensorFlow's choice
            tf.config.experimental.set_memory_growth(gpu, True)
        try:
            d = tf.config.experimental.get_device_details(gpu)
            details.append(
                {"name": d.get("device_name"), "compute_capability": list(d.get("compute_capability") or [])}
            )
        except (RuntimeError, ValueError, AttributeError):
            details.append({})
    info["gpu_details"] = details
    if device == "cpu":
        info["hidden_gpus"] = True
    info["logical_devices"] = [d.name for d in tf.config.list_logical_devices()]
    return tf


def device_name(device, tf):
    """The tf.device string the TF levels run under, or None to let TensorFlow place ops."""
    if device == "cpu":
        return "/device:CPU:0"
    if device == "gpu":
        return "/device:GPU:0"
    return None


class Scope:
    """``with tf.device(name)`` when a device is pinned, a no-op otherwise."""

    def __init__(self, tf, name):
        self.cm = tf.device(name) if name else None

    def __enter__(self):
        if self.cm is not None:
            self.cm.__enter__()

    def __exit__(self, *exc):
        if self.cm is not None:
            return self.cm.__exit__(*exc)
        return False


def keras_model(keras, net):
    model = keras.Sequential(
        [
            keras.Input(shape=(4,), dtype="float64"),
            keras.layers.Dense(3, activation="sigmoid", dtype="float64"),
            keras.layers.Dense(1, activation="sigmoid", dtype="float64"),
        ]
    )
    # Keras keeps biases as vectors; the network's b_h is 1x3 and b_o 1x1.
    model.set_weights([net.init[0], net.init[1].ravel(), net.init[2], net.init[3].ravel()])
    return model


def keras_params(net, model):
    W_h, b_h, W_o, b_o = model.get_weights()
    np = net.np
    return [np.asarray(W_h), np.asarray(b_h).reshape(1, 3), np.asarray(W_o), np.asarray(b_o).reshape(1, 1)]


def var_device(variable):
    inner = getattr(variable, "value", variable)  # a Keras 3 Variable wraps a tf.Variable
    return getattr(inner, "device", None) or getattr(variable, "device", None)


def sorted_unique(items):
    return sorted({i for i in items if i})


# ---------------------------------------------------------------- keras level


def run_keras(net, tf, keras, epochs, lr, scope):
    name = "keras-batch1"
    record = {"name": name, "level": "keras", "batch": "1", "loss": MSE}
    rows = [(net.X[i : i + 1], net.yt[i : i + 1]) for i in range(len(net.X))]
    curve = []
    start = time.perf_counter()
    with scope:
        model = keras_model(keras, net)
        model.compile(loss=keras.losses.MeanSquaredError(), optimizer=keras.optimizers.SGD(learning_rate=lr))
        first = None
        steps = 0
        for _ in range(epochs):
            epoch_loss = 0.0
            for x, y in rows:
                epoch_loss += float(model.train_on_batch(x, y))
                steps += 1
                if first is None:
                    first = time.perf_counter() - start
            curve.append(epoch_loss / len(rows))
        rest = time.perf_counter() - start - first
        outputs = model(tf.constant(net.X))
    timing(record, first, rest, steps)
    record["devices"] = {
        "variables": sorted_unique(var_device(v) for v in model.weights),
        "outputs": sorted_unique([outputs.device]),
    }
    record["jit_compile"] = bool(getattr(model, "jit_compile", False))
    return finish(record, net, keras_params(net, model), mse_loss(net), curve), curve


# ---------------------------------------------------------------- tape level (TF 2)


def tape_gradient(net, tf, keras, scope):
    """tf.GradientTape's gradient of the sum of squared errors at the initial weights, all samples."""
    with scope:
        model = keras_model(keras, net)
        x, y = tf.constant(net.X), tf.constant(net.yt)
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.pow(model(x) - y, 2))
        grads = tape.gradient(loss, model.trainable_weights)
    return [g.numpy().reshape(shape) for g, shape in zip(grads, SHAPES)]


def run_tape(net, tf, keras, epochs, lr, batch, scope, suffix=""):
    name = "tape-batch" + batch + suffix
    record = {"name": name, "level": "tape", "batch": batch, "loss": SSE, "compiled": "tf.function (one loop)"}
    per_epoch = 3 if batch == "1" else 1
    steps = epochs * per_epoch
    start = time.perf_counter()
    with scope:
        model = keras_model(keras, net)
        optimizer = keras.optimizers.SGD(learning_rate=lr)
        optimizer.build(model.trainable_weights)
        X, Y = tf.constant(net.X), tf.constant(net.yt)

        @tf.function
        def train(first_step, count):
            losses = tf.TensorArray(tf.float64, size=count)
            for i in tf.range(count):
                if batch == "1":
                    row = tf.reshape((first_step + i) % 3, [1])
                    x, y = tf.gather(X, row), tf.gather(Y, row)
                else:
                    x, y = X, Y
                with tf.GradientTape() as tape:
                    ypred = model(x)
                    loss = tf.reduce_sum(tf.pow(ypred - y, 2))
                gradients = tape.gradient(loss, model.trainable_weights)
                optimizer.apply_gradients(zip(gradients, model.trainable_weights))
                losses = losses.write(i, loss)
            return losses.stack()

        head = train(tf.constant(0), tf.constant(1)).numpy()
        first = time.perf_counter() - start
        tail = train(tf.constant(1), tf.constant(steps - 1)).numpy() if steps > 1 else []
        rest = time.perf_counter() - start - first
        outputs = model(X)
    losses = list(head) + list(tail)
    curve = [sum(losses[e * per_epoch : (e + 1) * per_epoch]) for e in range(epochs)]
    timing(record, first, rest, steps)
    record["devices"] = {
        "variables": sorted_unique(var_device(v) for v in model.trainable_weights),
        "outputs": sorted_unique([outputs.device]),
    }
    return finish(record, net, keras_params(net, model), sse_loss(net), curve), curve


# ---------------------------------------------------------------- TF 1.x levels (graph mode, Session)


def session_config(tf, device):
    v1 = tf.compat.v1
    # One thread per pool and per session: the graph is tiny, so thread hand-offs cost more than they give.
    config = v1.ConfigProto(
        inter_op_parallelism_threads=1,
        intra_op_parallelism_threads=1,
        use_per_session_threads=True,
        allow_soft_placement=(device != "gpu"),
    )
    config.gpu_options.allow_growth = True
    return config


def traced_devices(tf, graph, run_metadata, output_op):
    """Which device executed which node, read from a traced Session.run."""
    variables, outputs, every = [], [], []
    variable_ops = {"VarHandleOp", "ReadVariableOp", "ResourceApplyGradientDescent", "AssignVariableOp"}
    for dev_stats in run_metadata.step_stats.dev_stats:
        for node in dev_stats.node_stats:
            node_name = node.node_name.split(":")[0]
            every.append(dev_stats.device)
            try:
                op_type = graph.get_operation_by_name(node_name).type
            except (KeyError, ValueError):
                continue
            if op_type in variable_ops:
                variables.append(dev_stats.device)
            if node_name == output_op:
                outputs.append(dev_stats.device)
    return {"variables": sorted_unique(variables), "outputs": sorted_unique(outputs), "ops": sorted_unique(every)}


def build_forward(tf, X, W_h, b_h, W_o, b_o):
    h = tf.sigmoid(tf.matmul(X, W_h) + b_h)
    return tf.sigmoid(tf.matmul(h, W_o) + b_o, name="ypred")


def run_tf1_optimizer(net, tf, epochs, lr, device):
    """GradientDescentOptimizer(lr).compute_gradients(E, params) / apply_gradients, run in a Session loop."""
    v1 = tf.compat.v1
    record = {"name": "tf1-optimizer-batchN", "level": "tf1-optimizer", "batch": "N", "loss": SSE}
    start = time.perf_counter()
    graph = tf.Graph()  # graph mode stays inside this graph; the TF 2 levels keep running eagerly
    with graph.as_default(), graph.device(device_name(device, tf)):
        X = v1.placeholder(tf.float64, shape=(None, 4), name="X")
        Y = v1.placeholder(tf.float64, shape=(None, 1), name="Y")
        params = [tf.Variable(p, name=n) for p, n in zip(net.init, PARAM_NAMES)]
        ypred = build_forward(tf, X, *params)
        E = tf.reduce_sum(tf.pow(ypred - Y, 2))
        # A float64 tensor: a Python float would become a float32 learning rate (0.1 + 1.5e-9).
        optimizer = v1.train.GradientDescentOptimizer(tf.constant(lr, dtype=tf.float64))
        grads = optimizer.compute_gradients(E, params)
        updates = optimizer.apply_gradients(grads)
        init = v1.global_variables_initializer()
    feed = {X: net.X, Y: net.yt}
    with v1.Session(graph=graph, config=session_config(tf, device)) as sess:
        sess.run(init)
        initial_gradient = [g.reshape(s) for g, s in zip(sess.run([g for g, _ in grads], feed), SHAPES)]
        options = v1.RunOptions(trace_level=v1.RunOptions.SOFTWARE_TRACE)
        metadata = v1.RunMetadata()
        _, loss = sess.run([updates, E], feed, options=options, run_metadata=metadata)
        first = time.perf_counter() - start
        curve = [float(loss)]
        step = sess.make_callable([updates, E], feed_list=[X, Y])
        for _ in range(epochs - 1):
            curve.append(float(step(net.X, net.yt)[1]))
        rest = time.perf_counter() - start - first
        final = [v.reshape(s) for v, s in zip(sess.run(params), SHAPES)]
    timing(record, first, rest, epochs)
    record["devices"] = traced_devices(tf, graph, metadata, ypred.op.name)
    record = finish(record, net, final, sse_loss(net), curve)
    return record, curve, initial_gradient


def run_tf1_gradients(net, tf, epochs, lr, device):
    """tf.gradients(E, [p])[0] per parameter, evaluated with sess.run and applied by hand, one after another."""
    v1 = tf.compat.v1
    record = {"name": "tf1-gradients-batchN", "level": "tf1-gradients", "batch": "N", "loss": SSE}
    record["update_order"] = "W_h, b_h, W_o, b_o; each gradient fed the weights updated so far"
    start = time.perf_counter()
    graph = tf.Graph()
    with graph.as_default(), graph.device(device_name(device, tf)):
        X = v1.placeholder(tf.float64, shape=(None, 4), name="X")
        Y = v1.placeholder(tf.float64, shape=(None, 1), name="Y")
        W_h, b_h, W_o, b_o = [v1.placeholder(tf.float64, shape=s, name=n) for s, n in zip(SHAPES, PARAM_NAMES)]
        ypred = build_forward(tf, X, W_h, b_h, W_o, b_o)
        E = tf.reduce_sum(tf.pow(ypred - Y, 2))
        dE_dW_h = tf.gradients(E, [W_h])[0]
        dE_db_h = tf.gradients(E, [b_h])[0]
        dE_dW_o = tf.gradients(E, [W_o])[0]
        dE_db_o = tf.gradients(E, [b_o])[0]
    feeds = [W_h, b_h, W_o, b_o, X, Y]
    p = [a.copy() for a in net.init]
    with v1.Session(graph=graph, config=session_config(tf, device)) as sess:
        initial_gradient = sess.run([dE_dW_h, dE_db_h, dE_dW_o, dE_db_o], dict(zip(feeds, p + [net.X, net.yt])))
        # The loss is fetched with the first gradient of each epoch: the same run, at the epoch's start.
        first_call = sess.make_callable([dE_dW_h, E], feed_list=feeds)
        calls = [sess.make_callable(g, feed_list=feeds) for g in (dE_db_h, dE_dW_o, dE_db_o)]
        options = v1.RunOptions(trace_level=v1.RunOptions.SOFTWARE_TRACE)
        metadata = v1.RunMetadata()
        evaluated, loss = sess.run(
            [dE_dW_h, E], dict(zip(feeds, p + [net.X, net.yt])), options=options, run_metadata=metadata
        )
        p[0] = p[0] - lr * evaluated
        first = time.perf_counter() - start
        curve = []
        for epoch in range(epochs):
            if epoch > 0:
                evaluated, loss = first_call(p[0], p[1], p[2], p[3], net.X, net.yt)
                p[0] = p[0] - lr * evaluated
            curve.append(float(loss))
            for k, call in enumerate(calls, start=1):
                p[k] = p[k] - lr * call(p[0], p[1], p[2], p[3], net.X, net.yt)
        rest = time.perf_counter() - start - first
    timing(record, first, rest, epochs * 4)
    record["devices"] = traced_devices(tf, graph, metadata, ypred.op.name)
    record["devices"]["variables"] = []  # the parameters are NumPy arrays fed to the graph, as in the article
    record = finish(record, net, p, sse_loss(net), curve)
    return record, curve, initial_gradient


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


def gradient_dict(grads):
    return {name: nested(g) for name, g in zip(PARAM_NAMES, grads)}


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
    net = Net(np, seed)
    answer.data["reference"]["initial_weights"] = net.weights(net.init)
    chain_rule, _ = net.gradient(net.init, net.X, net.yt)
    answer.data["reference"]["chain_rule_gradient"] = gradient_dict(chain_rule)
    answer.write()

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
                answer.add_run(*run_scratch(net, epochs, lr, batch))
            except Exception as exc:
                answer.add_run(error_record("scratch-batch" + batch, "scratch", batch, SSE, exc))

    tf_levels = [lv for lv in levels if lv in TF_LEVELS]
    if tf_levels:
        run_tf_levels(answer, net, tf_levels, request, epochs, lr, device)

    if proc is not None:
        collect_worker(answer, proc, worker_dir)
    if worker:
        answer.data["curves"] = answer.curves
    elif request.get("plot"):
        plot(answer, request["plot"])
    answer.data["wall_s"] = round(time.perf_counter() - started, 3)
    answer.data["complete"] = True
    answer.write()


def run_tf_levels(answer, net, tf_levels, request, epochs, lr, device):
    try:
        tf = import_tensorflow(answer, device)
    except Exception as exc:
        answer.data["errors"]["tensorflow"] = describe(exc)
        for level in tf_levels:
            for name, batch, loss in runs_of(level):
                answer.add_run(not_run(name, level, batch, loss, "unavailable", "tensorflow: " + describe(exc)))
        return
    answer.data["versions"]["tensorflow"] = tf.__version__
    try:  # the header names keras even when no keras level runs here
        import importlib.metadata as metadata

        answer.data["versions"].setdefault("keras", metadata.version("keras"))
    except Exception:
        pass
    gpus = answer.data["tensorflow"]["physical_gpus"]
    if device == "gpu" and not gpus:
        answer.data["device_error"] = "TensorFlow sees no GPU"
        for level in tf_levels:
            for name, batch, loss in runs_of(level):
                answer.add_run(not_run(name, level, batch, loss, "skipped", "--device gpu, but TensorFlow sees no GPU"))
        return
    answer.data["device_used"] = "GPU:0" if (gpus and device != "cpu") else "CPU:0"
    keras = None
    if "keras" in tf_levels or "tape" in tf_levels:
        try:
            import keras

            keras.config.set_floatx("float64")  # the optimizer's learning rate variable follows floatx
            answer.data["versions"]["keras"] = keras.__version__
        except Exception as exc:
            answer.data["errors"]["keras"] = describe(exc)
            keras = None
    answer.write()
    scope = Scope(tf, device_name(device, tf))
    gradients = {}

    for level in tf_levels:
        if level in ("keras", "tape") and keras is None:
            for name, batch, loss in runs_of(level):
                answer.add_run(
                    not_run(name, level, batch, loss, "unavailable", "keras: " + answer.data["errors"]["keras"])
                )
            continue
        if level == "keras":
            try:
                answer.add_run(*run_keras(net, tf, keras, epochs, lr, scope))
            except Exception as exc:
                answer.add_run(error_record("keras-batch1", "keras", "1", MSE, exc))
        elif level == "tape":
            try:
                gradients["tape"] = gradient_dict(tape_gradient(net, tf, keras, scope))
            except Exception as exc:
                answer.data["errors"]["tape-gradient"] = describe(exc)
            for batch in ("1", "N"):
                try:
                    answer.add_run(*run_tape(net, tf, keras, epochs, lr, batch, scope))
                except Exception as exc:
                    answer.add_run(error_record("tape-batch" + batch, "tape", batch, SSE, exc))
        elif level == "tf1-optimizer":
            try:
                record, curve, grad = run_tf1_optimizer(net, tf, epochs, lr, device)
                gradients["tf1-optimizer"] = gradient_dict(grad)
                answer.add_run(record, curve)
            except Exception as exc:
                answer.add_run(error_record("tf1-optimizer-batchN", "tf1-optimizer", "N", SSE, exc))
        elif level == "tf1-gradients":
            try:
                record, curve, grad = run_tf1_gradients(net, tf, epochs, lr, device)
                gradients["tf1-gradients"] = gradient_dict(grad)
                answer.data["reference"]["sequential_weights"] = sequential_reference(net, epochs, lr)
                answer.add_run(record, curve)
            except Exception as exc:
                answer.add_run(error_record("tf1-gradients-batchN", "tf1-gradients", "N", SSE, exc))
        answer.data["reference"]["autodiff_gradients"] = gradients
        answer.write()

    if request.get("compare_cpu") and gpus and device != "cpu" and "tape" in tf_levels and keras is not None:
        compare_on_cpu(answer, net, tf, keras, epochs, lr)


def compare_on_cpu(answer, net, tf, keras, epochs, lr):
    """The tape runs again, pinned to the CPU, so the host can compare the GPU's numbers with the CPU's."""
    cpu = Scope(tf, "/device:CPU:0")
    result = {}
    try:
        result["gradient"] = gradient_dict(tape_gradient(net, tf, keras, cpu))
        for batch in ("1", "N"):
            record, _ = run_tape(net, tf, keras, epochs, lr, batch, cpu, suffix="-cpu")
            result["tape-batch" + batch] = {
                "final_weights": record["final_weights"],
                "final_outputs": record["final_outputs"],
                "devices": record["devices"],
            }
    except Exception as exc:
        result["error"] = describe(exc)
    answer.data["cpu_reference"] = result
    answer.write()


if __name__ == "__main__":
    main(sys.argv[1])
    # The answer is on disk; skip TensorFlow's slow interpreter teardown (thread pools, sessions).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
