"""Probe part: the TensorFlow levels (keras, tape, tf1-optimizer, tf1-gradients) and the GPU-vs-CPU rerun.

Stand-alone, standard library only at module level; TensorFlow and Keras are imported inside functions.
Loaded by smoke_train.py; the shared records come from smoke_net.py. ``TRAINERS`` maps each level of the
host's table to the function that trains one of its runs.
"""

# ruff: noqa: B905  (zip(strict=...) needs Python 3.10; probes run on 3.8+)

import contextlib
import importlib
import importlib.util
import os
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
PARAM_NAMES = _net.PARAM_NAMES
SHAPES = _net.SHAPES
describe = _net.describe
new_record = _net.new_record
finish = _net.finish
timing = _net.timing
sse_loss = _net.sse_loss
mse_loss = _net.mse_loss
sequential_reference = _net.sequential_reference
gradient_dict = _net.gradient_dict


# ---------------------------------------------------------------- TensorFlow set-up


def import_tensorflow(answer, device, logical_cpus=0, choose_gpus=None, before_init=None):
    """Import TensorFlow, pin or hide devices as asked, and record what TensorFlow sees.

    ``logical_cpus``: split the CPU into that many logical devices when no GPU is used (a mirrored run on a
    CPU-only machine); ``choose_gpus(tf, gpus)``: the GPUs to keep visible (a worker's share). Both must
    happen before anything initialises the runtime, so they happen here; so does ``before_init(tf)``, for a
    MultiWorkerMirroredStrategy, whose collective ops must be configured at program start-up.
    """
    import tensorflow as tf

    info = answer.data["tensorflow"]
    info["version"] = tf.__version__
    info["built_with_cuda"] = bool(tf.test.is_built_with_cuda())
    if device == "cpu":
        # Hidden before anything initialises the runtime, so no op can land on a GPU.
        tf.config.set_visible_devices([], "GPU")
    gpus = tf.config.list_physical_devices("GPU")
    if choose_gpus is not None and gpus and device != "cpu":
        gpus = choose_gpus(tf, gpus)
        tf.config.set_visible_devices(gpus, "GPU")
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
    if logical_cpus > 1 and (device == "cpu" or not gpus):
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * logical_cpus)
    if before_init is not None:
        before_init(tf)
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


def train_keras(training, run):
    net, tf, keras, scope = training.net, training.tf, training.modules["keras"], training.scope
    record = new_record(run)
    rows = [(net.X[i : i + 1], net.yt[i : i + 1]) for i in range(len(net.X))]
    curve = []
    start = time.perf_counter()
    with scope:
        model = keras_model(keras, net)
        model.compile(loss=keras.losses.MeanSquaredError(), optimizer=keras.optimizers.SGD(learning_rate=training.lr))
        first = None
        steps = 0
        for _ in range(training.epochs):
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


def train_tape(training, run):
    """The tape level's run; the level's gradient at the initial weights is taken once, before its first run."""
    net, tf, keras, scope = training.net, training.tf, training.modules["keras"], training.scope
    level = run["level"]
    if level not in training.gradients and level + "-gradient" not in training.errors:
        try:
            training.gradients[level] = gradient_dict(tape_gradient(net, tf, keras, scope))
        except Exception as exc:  # the runs still train; the gradient check then has one source fewer
            training.errors[level + "-gradient"] = describe(exc)
    return run_tape(net, tf, keras, training.epochs, training.lr, run, scope)


def run_tape(net, tf, keras, epochs, lr, run, scope):
    batch = run["batch"]
    record = new_record(run, compiled="tf.function (one loop)")
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


def train_tf1_optimizer(training, run):
    record, curve, gradient = run_tf1_optimizer(training.net, training.tf, training.epochs, training.lr,
                                                training.device, run)  # fmt: skip
    training.gradients[run["level"]] = gradient_dict(gradient)
    return record, curve


def run_tf1_optimizer(net, tf, epochs, lr, device, run):
    """GradientDescentOptimizer(lr).compute_gradients(E, params) / apply_gradients, run in a Session loop."""
    v1 = tf.compat.v1
    record = new_record(run)
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


def train_tf1_gradients(training, run):
    net, epochs, lr = training.net, training.epochs, training.lr
    record, curve, gradient = run_tf1_gradients(net, training.tf, epochs, lr, training.device, run)
    training.gradients[run["level"]] = gradient_dict(gradient)
    # the chain-rule twin of this level, for the host's trajectory check
    training.reference["sequential_weights"] = sequential_reference(net, epochs, lr)
    return record, curve


def run_tf1_gradients(net, tf, epochs, lr, device, run):
    """tf.gradients(E, [p])[0] per parameter, evaluated with sess.run and applied by hand, one after another."""
    v1 = tf.compat.v1
    record = new_record(run, update_order="W_h, b_h, W_o, b_o; each gradient fed the weights updated so far")
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


# ---------------------------------------------------------------- the levels' TensorFlow, the GPU-vs-CPU rerun

TRAINERS = {
    "keras": train_keras,
    "tape": train_tape,
    "tf1-optimizer": train_tf1_optimizer,
    "tf1-gradients": train_tf1_gradients,
}
# What a module needs once imported, before any level uses it.
SETUP = {"keras": lambda keras: keras.config.set_floatx("float64")}  # the optimizer's learning rate follows floatx


def start(training, levels):
    """Import TensorFlow and the other modules ``levels`` need; what cannot be had is marked unavailable."""
    answer = training.answer
    try:
        tf = import_tensorflow(answer, training.device)
    except Exception as exc:
        answer.data["errors"]["tensorflow"] = describe(exc)
        training.unavailable["tensorflow"] = ("unavailable", "tensorflow: " + describe(exc))
        return
    answer.data["versions"]["tensorflow"] = tf.__version__
    try:  # the header names keras even when no keras level runs here
        import importlib.metadata as metadata

        answer.data["versions"].setdefault("keras", metadata.version("keras"))
    except Exception:
        pass
    gpus = answer.data["tensorflow"]["physical_gpus"]
    if training.device == "gpu" and not gpus:
        answer.data["device_error"] = "TensorFlow sees no GPU"
        training.unavailable["tensorflow"] = ("skipped", "--device gpu, but TensorFlow sees no GPU")
        return
    answer.data["device_used"] = "GPU:0" if (gpus and training.device != "cpu") else "CPU:0"
    training.tf = tf
    training.scope = Scope(tf, device_name(training.device, tf))
    for name in dict.fromkeys(m for level in levels for m in level["needs"] if m != "tensorflow"):
        try:
            module = importlib.import_module(name)
            SETUP.get(name, lambda module: None)(module)
        except Exception as exc:
            answer.data["errors"][name] = describe(exc)
            training.unavailable[name] = ("unavailable", name + ": " + describe(exc))
            continue
        training.modules[name] = module
        answer.data["versions"][name] = getattr(module, "__version__", None)
    answer.write()


def compare_on_cpu(training, levels, trainers):
    """The runs of ``levels`` again, pinned to the CPU, so the host can compare the GPU's numbers with the CPU's."""
    tf = training.tf
    cpu = training.pinned("cpu", Scope(tf, "/device:CPU:0"))
    result = {"runs": {}}
    try:
        for level in levels:
            trainer = trainers.get(level["name"])
            if trainer is None or training.why_not(level):
                continue
            for run in level["runs"]:
                record, _ = trainer(cpu, run)
                result["runs"][run["name"]] = {
                    "final_weights": record["final_weights"],
                    "final_outputs": record["final_outputs"],
                    "devices": record["devices"],
                }
        if cpu.errors:
            result["error"] = next(iter(cpu.errors.values()))
    except Exception as exc:
        result["error"] = describe(exc)
    result["gradients"] = cpu.gradients
    training.answer.data["cpu_reference"] = result
    training.answer.write()
