"""Probe: everything verify needs to know about an environment, gathered in one process of its own python.

Stand-alone and standard library only at module level; the target's packages are imported inside functions.
Facts come in stages (interpreter, settings, CPU, installed distributions, one import per package, TensorFlow
and Keras facts, then a little real work per package); the answer is rewritten after every stage, so a crash
or a hang leaves behind everything learnt so far and, in ``stage``, what was running when it stopped.

Input (CONTROL_DIR/input.json):
  {"packages": [{"name": "tensorflow", "import": "tensorflow"}, ...],
   "only": null | ["tensorflow"],   # per-package mode: import only these, skip the environment-wide facts
   "work": true}
Usage: python -I environment.py CONTROL_DIR  (writes CONTROL_DIR/output.json)
"""

import glob
import importlib
import importlib.util
import json
import os
import re
import sys
import sysconfig
import time

SCHEMA = 1
# Environment variables that change what TensorFlow and Keras do; reported as they are.
SETTINGS = (
    "KERAS_BACKEND",
    "KERAS_HOME",
    "TF_USE_LEGACY_KERAS",
    "CUDA_VISIBLE_DEVICES",
    "TF_CPP_MIN_LOG_LEVEL",
    "TF_ENABLE_ONEDNN_OPTS",
    "LD_LIBRARY_PATH",
    "CONDA_PREFIX",
    "VIRTUAL_ENV",
    "PYTHONNOUSERSITE",
)
CPU_FLAGS = ("avx", "avx2", "avx512f", "fma", "sse4_2")
MAX_ERROR = 2000
# The CUDA libraries TensorFlow loads (libcuda is the driver's); the pip wheels ship all but libcuda.
CUDA_LIBRARIES = re.compile(
    r"^lib(cuda|cudart|cudnn[a-z_]*|cublas|cublasLt|cufft|curand|cusolver|cusparse|nccl|nvrtc|nvJitLink)\.so(\.[\d.]+)?$"
)
WSL_LIB = "/usr/lib/wsl/lib"  # where WSL2 mounts the Windows NVIDIA driver's Linux libraries
MAX_LISTED = 200


class Answer:
    """The probe's answer, rewritten atomically after each stage."""

    def __init__(self, control_dir):
        self.control_dir = control_dir
        self.data = {"schema": SCHEMA, "complete": False, "stage": "start", "stages": {}}
        self._started = None

    def begin(self, stage):
        self.data["stage"] = stage
        self._started = time.perf_counter()
        self.write()

    def end(self):
        if self._started is not None:
            self.data["stages"][self.data["stage"]] = round(time.perf_counter() - self._started, 4)
        self._started = None

    def write(self):
        tmp = os.path.join(self.control_dir, "output.json.tmp")
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(self.data, handle, default=str)
        os.replace(tmp, os.path.join(self.control_dir, "output.json"))


def error_facts(exc):
    return {"error_type": type(exc).__name__, "error": str(exc)[:MAX_ERROR]}


# ---------------------------------------------------------------- interpreter and settings


def sibling(name):
    """Another probe script of this folder, loaded by path under a private name so nothing can shadow it."""
    here = os.path.dirname(os.path.abspath(__file__))
    spec = importlib.util.spec_from_file_location("_envcheck_probe_" + name, os.path.join(here, name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def venv_facts():
    cfg = os.path.join(sys.prefix, "pyvenv.cfg")
    facts = {"is_venv": sys.prefix != getattr(sys, "base_prefix", sys.prefix), "system_site_packages": None}
    try:
        with open(cfg, encoding="utf-8") as handle:
            for line in handle:
                key, _, value = line.partition("=")
                if key.strip().lower() == "include-system-site-packages":
                    facts["system_site_packages"] = value.strip().lower() == "true"
    except OSError:
        pass
    facts["conda"] = os.path.isdir(os.path.join(sys.prefix, "conda-meta"))
    # PEP 668: a system python whose distribution manages its packages; pip refuses to install into it
    stdlib = sysconfig.get_path("stdlib") or ""
    facts["externally_managed"] = not facts["is_venv"] and os.path.isfile(os.path.join(stdlib, "EXTERNALLY-MANAGED"))
    return facts


def user_site_facts(venv):
    """Where user site-packages is, and whether this python would read it when started without -I."""
    import site

    try:
        path = site.getusersitepackages()
    except Exception as exc:  # noqa: BLE001 - a probe records every failure and goes on
        return {"path": None, "exists": False, "active": False, "entries": [], **error_facts(exc)}
    # -I disables the user site for this process; what matters is the user's own `python`.
    active = not venv["is_venv"] or bool(venv["system_site_packages"])
    entries = []
    if path and os.path.isdir(path):
        try:
            entries = sorted(os.listdir(path))[:500]
        except OSError:
            entries = []
    return {"path": path, "exists": bool(path and os.path.isdir(path)), "active": active, "entries": entries}


def keras_config_facts():
    """Keras 3's own rule for its config file (KERAS_HOME, else ~/.keras, else /tmp/.keras), read before import."""
    home = os.environ.get("KERAS_HOME")
    if not home:
        base = os.path.expanduser("~")
        if not os.access(base, os.W_OK):
            base = "/tmp"
        home = os.path.join(base, ".keras")
    path = os.path.expanduser(os.path.join(home, "keras.json"))
    facts = {"config_path": path, "config_exists": os.path.exists(path), "config_backend": None}
    if facts["config_exists"]:
        try:
            with open(path, encoding="utf-8") as handle:
                config = json.load(handle)
            if isinstance(config, dict):
                facts["config_backend"] = config.get("backend")
        except (OSError, ValueError) as exc:
            facts.update(error_facts(exc))
    facts["tf_keras_present"] = importlib.util.find_spec("tf_keras") is not None
    return facts


def cpu_facts():
    """CPU instruction-set flags; read before TensorFlow is imported, which dies without AVX."""
    facts = {"source": None, "model": None, "flags": {}}
    if sys.platform.startswith("linux"):
        try:
            with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
                text = handle.read()
        except OSError as exc:
            facts.update(error_facts(exc))
            return facts
        flags = set()
        for line in text.splitlines():
            key, _, value = line.partition(":")
            key = key.strip()
            if key in ("flags", "Features") and not flags:
                flags = set(value.split())
            elif key == "model name" and facts["model"] is None:
                facts["model"] = value.strip()
        facts["source"] = "/proc/cpuinfo"
        facts["flags"] = {flag: flag in flags for flag in CPU_FLAGS}
    elif sys.platform == "darwin":
        facts.update(darwin_cpu_facts())
    elif sys.platform == "win32":
        try:
            import ctypes

            present = ctypes.windll.kernel32.IsProcessorFeaturePresent
            # PF_AVX_INSTRUCTIONS_AVAILABLE = 39, PF_AVX2_... = 40, PF_AVX512F_... = 41
            facts["flags"] = {"avx": bool(present(39)), "avx2": bool(present(40)), "avx512f": bool(present(41))}
            facts["source"] = "IsProcessorFeaturePresent"
        except Exception as exc:  # noqa: BLE001
            facts.update(error_facts(exc))
    return facts


def darwin_cpu_facts():
    """The CPU's name and flags from sysctl, and whether this process runs translated by Rosetta 2."""
    facts = {}
    try:
        import ctypes
        import ctypes.util

        libc = ctypes.CDLL(ctypes.util.find_library("c"))

        def sysctl(name):
            size = ctypes.c_size_t(0)
            if libc.sysctlbyname(name.encode(), None, ctypes.byref(size), None, 0) != 0:
                return None
            buffer = ctypes.create_string_buffer(size.value)
            if libc.sysctlbyname(name.encode(), buffer, ctypes.byref(size), None, 0) != 0:
                return None
            return buffer.raw[: size.value]

        translated = sysctl("sysctl.proc_translated")  # absent on Intel Macs: never translated there
        facts["translated"] = bool(translated and int.from_bytes(translated, "little"))
        brand = sysctl("machdep.cpu.brand_string")
        if brand:
            facts["model"] = brand.rstrip(b"\0").decode("utf-8", "replace").strip()
        features = b" ".join(sysctl(n) or b"" for n in ("machdep.cpu.features", "machdep.cpu.leaf7_features"))
        if features.strip(b"\0 "):
            words = set(features.replace(b"\0", b" ").decode("ascii", "replace").upper().split())
            names = {"avx": "AVX1.0", "avx2": "AVX2", "fma": "FMA", "avx512f": "AVX512F"}
            facts["flags"] = {flag: names[flag] in words for flag in CPU_FLAGS if flag in names}
            facts["source"] = "sysctl machdep.cpu"
    except Exception as exc:  # noqa: BLE001 - a fact the probe cannot read is reported, never fatal
        facts.update(error_facts(exc))
    return facts


def distribution_facts():
    """Every installed distribution: version, Requires-Dist and where it lives (first one on sys.path wins)."""
    from importlib import metadata

    found = {}
    for dist in metadata.distributions():
        try:
            name = dist.metadata["Name"]
        except Exception:  # noqa: BLE001 - a broken METADATA file must not hide the others
            continue
        if not name:
            continue
        key = canonical(name)
        if key in found:
            continue
        try:
            location = str(dist.locate_file(""))
        except Exception:  # noqa: BLE001
            location = None
        found[key] = {
            "name": name,
            "version": dist.version,
            "requires": list(dist.requires or []),
            "location": location,
        }
    return found


def canonical(name):
    out = []
    previous_dash = False
    for char in name.lower():
        if char in "-_.":
            if not previous_dash:
                out.append("-")
            previous_dash = True
        else:
            out.append(char)
            previous_dash = False
    return "".join(out)


# ---------------------------------------------------------------- shared libraries (Linux)


def cuda_files(folder):
    """The CUDA libraries in a folder, by file name (no link is followed: the names are what the loader asks)."""
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return None
    return [n for n in names if CUDA_LIBRARIES.match(n)][:MAX_LISTED]


def loader_config_folders():
    """The folders /etc/ld.so.conf and its includes give the loader (ldconfig's cache is built from them)."""
    folders = []
    pending = ["/etc/ld.so.conf"]
    seen = set()
    while pending:
        path = pending.pop(0)
        if path in seen or len(seen) > 100:
            continue
        seen.add(path)
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                lines = handle.read().splitlines()
        except OSError:
            continue
        for line in lines:
            line = line.split("#", 1)[0].strip()
            if line.startswith("include "):
                pattern = line[len("include ") :].strip()
                if not os.path.isabs(pattern):
                    pattern = os.path.join(os.path.dirname(path), pattern)
                pending.extend(sorted(glob.glob(pattern)))
            elif line:
                folders.append(line)
    return folders


def library_facts():
    """Where the loader finds CUDA: LD_LIBRARY_PATH's folders, the pip wheels' folders, WSL2's driver folder."""
    facts = {"ld_library_path": [], "wheel_dirs": [], "loader_config": [], "wsl": None}
    if not sys.platform.startswith("linux"):
        return facts
    for folder in os.environ.get("LD_LIBRARY_PATH", "").split(os.pathsep):
        if folder:
            facts["ld_library_path"].append(
                {"path": folder, "resolved": os.path.realpath(folder), "cuda": cuda_files(folder)}
            )
    for entry in sys.path:
        for folder in sorted(glob.glob(os.path.join(entry, "nvidia", "*", "lib"))):
            listed = cuda_files(folder)
            # as /proc/self/maps names files: every link followed
            if listed and not any(w["path"] == os.path.realpath(folder) for w in facts["wheel_dirs"]):
                facts["wheel_dirs"].append({"path": os.path.realpath(folder), "cuda": listed})
    facts["loader_config"] = loader_config_folders()
    if os.path.isdir(WSL_LIB) or "microsoft" in os.uname().release.lower():
        try:
            names = sorted(os.listdir(WSL_LIB))[:MAX_LISTED]
        except OSError:
            names = None
        facts["wsl"] = {"path": WSL_LIB, "files": names}
    return facts


def mapped_cuda_libraries():
    """The CUDA libraries this process has actually loaded, read from /proc/self/maps (Linux only)."""
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return None
    found = []
    for line in lines:
        parts = line.split(None, 5)
        path = parts[5].strip() if len(parts) == 6 else ""
        if path.startswith("/") and CUDA_LIBRARIES.match(os.path.basename(path)) and path not in found:
            found.append(path)
    return found


# ---------------------------------------------------------------- TensorFlow and Keras facts


def tensorflow_facts():
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
    if sys.platform.startswith("linux"):
        # after listing the devices: TensorFlow has loaded the driver and the CUDA libraries it found by then
        facts["mapped_libraries"] = mapped_cuda_libraries()
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
    import numpy as np
    from sklearn.linear_model import LinearRegression

    x = np.array([[0.0], [1.0], [2.0], [3.0]])
    y = 2.0 * x[:, 0] + 1.0
    model = LinearRegression().fit(x, y)
    slope, intercept = float(model.coef_[0]), float(model.intercept_)
    return {"ok": abs(slope - 2.0) < 1e-6 and abs(intercept - 1.0) < 1e-6, "result": [slope, intercept]}


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


# What each package adds once it imports: facts first, then work.
FOLLOW_UPS = {
    "tensorflow": (
        ("tensorflow", "facts", tensorflow_facts),
        ("matmul", "work", work_matmul),
        ("conv", "work", work_conv),
        ("xla", "work", work_xla),
    ),
    "keras": (("keras", "facts", keras_facts),),
    "pandas": (("pandas", "work", work_pandas),),
    "sklearn": (("sklearn", "work", work_sklearn),),
    "matplotlib": (("matplotlib", "work", work_matplotlib),),
}


def run_follow_up(answer, kind, key, function):
    answer.begin(kind + "." + key)
    started = time.perf_counter()
    try:
        result = function()
    except BaseException as exc:  # noqa: BLE001
        result = dict(ok=False, **error_facts(exc))
    result["seconds"] = round(time.perf_counter() - started, 4)
    if key in ("conv", "xla") and sys.platform.startswith("linux") and not result.get("skipped"):
        # TensorFlow loads cuDNN and the compiler's libraries on first use: which ones it took, even on failure
        result["mapped_libraries"] = mapped_cuda_libraries()
    section = answer.data.setdefault(kind, {})
    if kind == "facts":
        section[key] = dict(section.get(key, {}), **result)
    else:
        section[key] = result
    answer.end()
    answer.write()


# ---------------------------------------------------------------- main


def main(control_dir):
    with open(os.path.join(control_dir, "input.json"), encoding="utf-8") as handle:
        request = json.load(handle)
    answer = Answer(control_dir)
    data = answer.data
    only = request.get("only")
    wanted = []
    for package in request.get("packages", []):
        name = package.get("import")
        if name and name not in wanted and (only is None or name in only):
            wanted.append(name)
    data["mode"] = "all" if only is None else "only"
    data["packages"] = wanted

    answer.begin("interpreter")
    data["interpreter"] = sibling("interpreter").facts()
    data["sys_path"] = list(sys.path)
    data["pip"] = importlib.util.find_spec("pip") is not None
    data["environ"] = {k: os.environ[k] for k in SETTINGS if k in os.environ}
    data["venv"] = venv_facts()
    answer.end()

    if only is None:
        answer.begin("settings")
        data["user_site"] = user_site_facts(data["venv"])
        data["facts"] = {"keras": keras_config_facts()}
        answer.end()
        answer.begin("cpu")
        data["cpu"] = cpu_facts()
        answer.end()
        answer.begin("libraries")
        try:
            data["libraries"] = library_facts()
        except Exception as exc:  # noqa: BLE001
            data["libraries"] = error_facts(exc)
        answer.end()
        answer.begin("distributions")
        try:
            data["distributions"] = distribution_facts()
        except Exception as exc:  # noqa: BLE001
            data["distributions"] = {}
            data["distributions_error"] = error_facts(exc)
        answer.end()
    else:
        data.setdefault("facts", {})
        if "keras" in wanted:
            data["facts"]["keras"] = keras_config_facts()

    import_one = sibling("imports").import_one  # the same rule as setup's import check
    data["imports"] = {}
    for name in wanted:
        answer.begin("import " + name)
        data["imports"][name] = import_one(name)
        answer.end()
    answer.write()

    # A package is finished once its import and follow-ups are done; after a crash the host probes the
    # unfinished ones again, one process each.
    data["finished"] = []
    for name in wanted:
        if data["imports"][name]["ok"]:
            for key, kind, function in FOLLOW_UPS.get(name, ()):
                if kind == "work" and not request.get("work", True):
                    continue
                run_follow_up(answer, kind, key, function)
        data["finished"].append(name)

    data["stage"] = "done"
    data["complete"] = True
    answer.write()


if __name__ == "__main__":
    main(sys.argv[1])
