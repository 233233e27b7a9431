"""Probe part: the reference network's data, the network in NumPy, the scratch level, and the record helpers
every level shares.

Stand-alone, standard library only at module level (NumPy arrives as an argument); loaded by smoke_train.py.
The levels and their runs are the host's table (envcheck/smoke/levels.py), received in input.json: a run is
{"name", "level", "batch", "loss"}. ``TRAINERS`` maps a level's name to the function that trains one of its runs.
"""

# ruff: noqa: B905  (zip(strict=...) needs Python 3.10; probes run on 3.8+)

import time
import traceback

PARAM_NAMES = ("W_h", "b_h", "W_o", "b_o")
SHAPES = ((4, 3), (1, 3), (3, 1), (1, 1))
X_DATA = [[1.0, 0.0, 1.0, 0.0], [1.0, 0.0, 1.0, 1.0], [0.0, 1.0, 0.0, 1.0]]
Y_DATA = [[1.0], [1.0], [0.0]]
CURVE_POINTS = 100  # loss curve points sent to the host; the plot uses every epoch


# ---------------------------------------------------------------- records


def number(value):
    """A finite float, or None (JSON has no NaN)."""
    value = float(value)
    if value != value or value in (float("inf"), float("-inf")):
        return None
    return value


def nested(array):
    return [[number(v) for v in row] for row in array.tolist()]


def describe(exc):
    """One line: the exception's type and what it says; for TensorFlow's 'Graph execution error:' followed by
    where the op was defined, the line that gives the cause."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if len(lines) > 1 and lines[0].endswith(":"):
        causes = [
            line
            for line in lines[1:]
            if not line.startswith(("File ", "Detected at node", "[[")) and not line.endswith(":")
        ]
        lines = causes[:1] or lines
    text = f"{type(exc).__name__}: {lines[0] if lines else ''}".strip()
    return text[:500]


def new_record(run, **facts):
    """A run's record: the host's row (name, level, batch, loss) and what is known so far."""
    record = {key: run[key] for key in ("name", "level", "batch", "loss")}
    record.update(facts)
    return record


def error_record(run, exc):
    tail = traceback.format_exception(type(exc), exc, exc.__traceback__)
    return new_record(run, status="error", error=describe(exc), traceback="".join(tail)[-2000:])


def not_run(run, status, reason):
    return new_record(run, status=status, error=reason)


def downsample(curve):
    if not curve:
        return {"epoch": [], "loss": []}
    step = max(1, len(curve) // CURVE_POINTS)
    idx = list(range(0, len(curve), step))
    if idx[-1] != len(curve) - 1:
        idx.append(len(curve) - 1)
    return {"epoch": [i + 1 for i in idx], "loss": [number(curve[i]) for i in idx]}


# ---------------------------------------------------------------- what every trainer reads


class Training:
    """The network, the hyper-parameters and, once a TensorFlow level starts, TensorFlow and the modules the
    levels need (smoke_tf.start). A trainer is ``trainer(training, run) -> (record, loss per epoch)``."""

    def __init__(self, answer, net, epochs, lr, device):
        self.answer, self.net, self.epochs, self.lr, self.device = answer, net, epochs, lr, device
        self.tf = None
        self.scope = None  # smoke_tf.Scope: the device the TF 2 levels run under
        self.modules = {}  # name -> imported module, for the levels' "needs" besides TensorFlow
        self.unavailable = {}  # module name -> (status, reason) for every run of a level that needs it
        self.gradients = {}  # level -> its autodiff gradient at the initial weights
        self.errors = answer.data["errors"]
        self.reference = answer.data["reference"]

    def why_not(self, level):
        """(status, reason) when a module the level needs is unavailable, else None."""
        return next((self.unavailable[name] for name in level["needs"] if name in self.unavailable), None)

    def pinned(self, device, scope):
        """The same training on another device, with facts of its own (the GPU-vs-CPU rerun)."""
        other = Training.__new__(Training)
        other.__dict__.update(self.__dict__)
        other.device, other.scope = device, scope
        other.gradients, other.errors, other.reference = {}, {}, {}
        return other


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


def run_scratch(net, epochs, lr, run):
    batch = run["batch"]
    record = new_record(run, devices={"compute": "NumPy (host CPU)"})
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


def gradient_dict(grads):
    return {name: nested(g) for name, g in zip(PARAM_NAMES, grads)}


def train_scratch(training, run):
    return run_scratch(training.net, training.epochs, training.lr, run)


TRAINERS = {"scratch": train_scratch}
