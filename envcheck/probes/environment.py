"""Probe: everything verify needs to know about an environment, gathered in one process of its own python.

Stand-alone and standard library only at module level; the target's packages are imported inside functions.
Facts come in stages (interpreter, settings, CPU, installed distributions, one import per package, TensorFlow
and Keras facts, then a little real work per package); the answer is rewritten after every stage, so a crash
or a hang leaves behind everything learnt so far and, in ``stage``, what was running when it stopped.

Input (CONTROL_DIR/input.json):
  {"packages": [{"name": "tensorflow", "import": "tensorflow"}, {"name": "absl-py", "import": "absl_py",
                "discover": true}, ...],  # discover: the module is read from the distribution's records
   "only": null | ["tensorflow"],   # per-package mode: import only these, skip the environment-wide facts
   "work": true}
Usage: python -I environment.py CONTROL_DIR  (writes CONTROL_DIR/output.json)

The answer carries ``schema`` (SCHEMA): the host refuses another version. Helpers of this folder are loaded by
path (``-I`` keeps it off sys.path): machine.py (CPU flags, CUDA libraries), workloads.py (TensorFlow and Keras
facts, the small real work), interpreter.py and imports.py (shared with setup).
"""

import contextlib
import importlib
import importlib.machinery
import importlib.util
import json
import os
import re
import sys
import sysconfig
import time

SCHEMA = 1  # the answer's format; the host reads exactly this version (envcheck/verify/answers/)
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
MAX_ERROR = 2000


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
    """PEP 503's normal form of a distribution name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def follow_ups(machine, workloads):
    """What each package adds once it imports: facts first, then work."""
    linux = sys.platform.startswith("linux")
    mapped = machine.mapped_cuda_libraries if linux else None
    return {
        "tensorflow": (
            ("tensorflow", "facts", lambda: workloads.tensorflow_facts(mapped)),
            ("matmul", "work", workloads.work_matmul),
            ("conv", "work", workloads.work_conv),
            ("xla", "work", workloads.work_xla),
        ),
        "keras": (("keras", "facts", workloads.keras_facts),),
        "pandas": (("pandas", "work", workloads.work_pandas),),
        "sklearn": (("sklearn", "work", workloads.work_sklearn),),
        "matplotlib": (("matplotlib", "work", workloads.work_matplotlib),),
    }


def run_follow_up(answer, kind, key, function, mapped_libraries):
    answer.begin(kind + "." + key)
    started = time.perf_counter()
    try:
        result = function()
    except BaseException as exc:  # noqa: BLE001
        result = dict(ok=False, **error_facts(exc))
    result["seconds"] = round(time.perf_counter() - started, 4)
    if key in ("conv", "xla") and sys.platform.startswith("linux") and not result.get("skipped"):
        # TensorFlow loads cuDNN and the compiler's libraries on first use: which ones it took, even on failure
        result["mapped_libraries"] = mapped_libraries()
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
    data["clock"] = {"start": time.time()}  # wall-clock times, for a benchmark that says where the time goes
    only = request.get("only")
    machine, workloads = sibling("machine"), sibling("workloads")
    imports = sibling("imports")
    wanted = []
    provides = {}
    for package in request.get("packages", []):
        name = package.get("import")
        if package.get("discover"):
            # the profile only guessed its module: the distribution's own records say which one it provides
            found = imports.provided_modules(package["name"], name)
            provides[package["name"]] = found
            if found is not None:
                name = found["modules"][0] if found["modules"] else None
        if name and name not in wanted and (only is None or name in only):
            wanted.append(name)
    if (
        only is None
        and "tensorflow" not in wanted
        and importlib.machinery.PathFinder.find_spec("tensorflow") is not None
    ):
        # installed through another package (tf_keras, keras-hub): its devices are checked all the same, and a
        # user's program imports it first
        wanted.insert(0, "tensorflow")
        data["added"] = ["tensorflow"]
    data["mode"] = "all" if only is None else "only"
    data["packages"] = wanted
    data["provides"] = provides

    answer.begin("interpreter")
    data["interpreter"] = sibling("interpreter").facts()
    data["sys_path"] = list(sys.path)
    # sys.path's own finder: asking the import system for "pip" would make setuptools' distutils shim step
    # aside for good (it takes that for pip running a build), and a later `import setuptools` then fails
    data["pip"] = importlib.machinery.PathFinder.find_spec("pip") is not None
    data["environ"] = {k: os.environ[k] for k in SETTINGS if k in os.environ}
    data["venv"] = venv_facts()
    answer.end()

    if only is None:
        answer.begin("settings")
        data["user_site"] = user_site_facts(data["venv"])
        data["facts"] = {"keras": keras_config_facts()}
        answer.end()
        answer.begin("cpu")
        data["cpu"] = machine.cpu_facts()
        answer.end()
        answer.begin("libraries")
        try:
            data["libraries"] = machine.library_facts()
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

    import_one = imports.import_one  # the same rule as setup's import check
    data["imports"] = {}
    for name in wanted:
        answer.begin("import " + name)
        data["imports"][name] = import_one(name)
        answer.end()
    answer.write()

    # A package is finished once its import and follow-ups are done; after a crash the host probes the
    # unfinished ones again, one process each.
    data["finished"] = []
    table = follow_ups(machine, workloads)
    for name in wanted:
        if data["imports"][name]["ok"]:
            for key, kind, function in table.get(name, ()):
                if kind == "work" and not request.get("work", True):
                    continue
                run_follow_up(answer, kind, key, function, machine.mapped_cuda_libraries)
        data["finished"].append(name)

    data["stage"] = "done"
    data["complete"] = True
    data["clock"]["done"] = time.time()
    answer.write()


def finish():
    """Leave at once: the answer is written, and an interpreter that loaded TensorFlow takes about a second
    (more on a busy machine) to tear its modules and threads down, which nobody needs from a probe."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1])
    finish()
