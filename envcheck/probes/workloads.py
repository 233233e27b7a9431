"""Probe helper: what the deep-learning stack says about itself once imported (TensorFlow's devices and build,
Keras's backend) and one small real operation per package (a matmul on every device, a convolution and an
XLA-compiled function on the first GPU, a groupby, a fit, a plot), each checked against a known answer.

Standard library at module level; the stack is imported inside the functions. Loaded by path by environment.py.
"""

import time

MAX_ERROR = 2000


def error_facts(exc):
    return {"error_type": type(exc).__name__, "error": str(exc)[:MAX_ERROR]}


# ---------------------------------------------------------------- TensorFlow and Keras facts


def tensorflow_facts(mapped_libraries=None):
    """TensorFlow's version, devices and build; ``mapped_libraries`` reads the CUDA libraries it loaded."""
    import tensorflow as tf

    facts = {"version": getattr(tf, "__version__", None)}
    try:
        facts["physical_devices"] = [
            {"name": d.name, "device_type": d.device_type} for d in tf.config.list_physical_devices()
        ]
    except Exception as exc:  # noqa: BLE001
        facts["physical_devices"] = []
        facts["devices_error"] = error_facts(exc)
    details = []
    for device in tf.config.list_physical_devices("GPU"):
        entry = {"name": device.name}
        try:
            raw = tf.config.experimental.get_device_details(device)
            entry["device_name"] = raw.get("device_name")
            capability = raw.get("compute_capability")
            entry["compute_capability"] = list(capability) if capability else None
        except Exception as exc:  # noqa: BLE001
            entry.update(error_facts(exc))
        details.append(entry)
    facts["gpu_details"] = details
    try:
        info = dict(tf.sysconfig.get_build_info())
        facts["build_info"] = {k: v for k, v in info.items() if isinstance(v, (str, bool, int, float, type(None)))}
    except Exception as exc:  # noqa: BLE001
        facts["build_info"] = {}
        facts["build_info_error"] = error_facts(exc)
    try:
        facts["built_with_cuda"] = bool(tf.test.is_built_with_cuda())
    except Exception:  # noqa: BLE001
        facts["built_with_cuda"] = None
    if mapped_libraries is not None:
        # after listing the devices: TensorFlow has loaded the driver and the CUDA libraries it found by then
        facts["mapped_libraries"] = mapped_libraries()
    return facts


def keras_facts():
    import keras

    facts = {"version": getattr(keras, "__version__", None)}
    backend = None
    for reader in (lambda: keras.config.backend(), lambda: keras.backend.backend()):
        try:
            backend = reader()
            break
        except Exception:  # noqa: BLE001 - Keras 2 has no keras.config
            continue
    facts["backend"] = backend
    return facts


# ---------------------------------------------------------------- work


def work_matmul():
    """One small matmul on every device TensorFlow lists, compared with NumPy's answer."""
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(12345)
    a = rng.standard_normal((64, 64)).astype("float32")
    b = rng.standard_normal((64, 64)).astype("float32")
    expected = a.astype("float64") @ b.astype("float64")
    results = []
    devices = [d for d in tf.config.list_logical_devices() if d.device_type in ("CPU", "GPU")]
    for device in devices:
        started = time.perf_counter()
        entry = {"device": device.name, "device_type": device.device_type}
        try:
            with tf.device(device.name):
                product = tf.matmul(tf.constant(a), tf.constant(b))
            got = product.numpy().astype("float64")
            diff = float(np.max(np.abs(got - expected)))
            entry.update(ok=bool(np.allclose(got, expected, rtol=1e-3, atol=1e-3)), max_abs_diff=diff)
            entry["placed_on"] = getattr(product, "device", None)
        except Exception as exc:  # noqa: BLE001
            entry.update(ok=False, **error_facts(exc))
        entry["seconds"] = round(time.perf_counter() - started, 4)
        results.append(entry)
    return {"ok": bool(results) and all(r["ok"] for r in results), "devices": results}


def first_gpu():
    import tensorflow as tf

    gpus = [d for d in tf.config.list_logical_devices("GPU")]
    return gpus[0].name if gpus else None


def work_conv():
    """One small 2-D convolution on the first GPU (cuDNN), compared with the same one on the CPU."""
    import numpy as np
    import tensorflow as tf

    gpu = first_gpu()
    if gpu is None:
        return {"ok": None, "skipped": "no GPU"}
    rng = np.random.default_rng(12345)
    images = rng.standard_normal((2, 16, 16, 3)).astype("float32")
    kernel = rng.standard_normal((3, 3, 3, 8)).astype("float32")
    with tf.device("/CPU:0"):
        expected = tf.nn.conv2d(images, kernel, strides=1, padding="SAME").numpy()
    with tf.device(gpu):
        got = tf.nn.conv2d(tf.constant(images), tf.constant(kernel), strides=1, padding="SAME")
    values = got.numpy()
    diff = float(np.max(np.abs(values - expected)))
    ok = bool(np.allclose(values, expected, rtol=1e-3, atol=1e-3))
    return {"ok": ok, "device": gpu, "placed_on": getattr(got, "device", None), "max_abs_diff": diff}


def work_xla():
    """One function compiled by XLA (jit_compile=True) on the first GPU: needs libdevice and ptxas."""
    import numpy as np
    import tensorflow as tf

    gpu = first_gpu()
    if gpu is None:
        return {"ok": None, "skipped": "no GPU"}
    rng = np.random.default_rng(12345)
    a = rng.standard_normal((32, 32)).astype("float32")
    b = rng.standard_normal((32, 32)).astype("float32")
    expected = np.tanh(a.astype("float64") @ b.astype("float64")) + 1.0

    @tf.function(jit_compile=True)
    def compiled(x, y):
        return tf.tanh(tf.matmul(x, y)) + 1.0

    with tf.device(gpu):
        got = compiled(tf.constant(a), tf.constant(b))
    values = got.numpy().astype("float64")
    diff = float(np.max(np.abs(values - expected)))
    ok = bool(np.allclose(values, expected, rtol=1e-3, atol=1e-3))
    return {"ok": ok, "device": gpu, "placed_on": getattr(got, "device", None), "max_abs_diff": diff}


def work_pandas():
    import pandas as pd

    frame = pd.DataFrame({"key": ["a", "b", "a", "b"], "value": [1, 2, 3, 4]})
    sums = frame.groupby("key")["value"].sum().to_dict()
    return {"ok": sums == {"a": 4, "b": 6}, "result": {str(k): int(v) for k, v in sums.items()}}


def work_sklearn():
    # a fit and a transform through scikit-learn's estimator machinery; sklearn.preprocessing costs about a
    # tenth of a second once the stack is imported, where sklearn.linear_model (scipy.optimize, the solvers)
    # cost half a second to a second on two cores, which the bare `import sklearn` does not pay
    import numpy as np
    from sklearn.preprocessing import StandardScaler

    scaled = StandardScaler().fit_transform(np.array([[1.0], [3.0]]))
    values = [float(v) for v in scaled[:, 0]]
    return {"ok": abs(values[0] + 1.0) < 1e-9 and abs(values[1] - 1.0) < 1e-9, "result": values}


def work_matplotlib():
    import io

    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(2, 2), dpi=50)
    FigureCanvasAgg(figure)
    figure.subplots().plot([0, 1, 2], [0, 1, 4])
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    data = buffer.getvalue()
    return {"ok": data.startswith(b"\x89PNG\r\n\x1a\n"), "backend": matplotlib.get_backend(), "bytes": len(data)}
