"""Environment-variable checks: the variables of the user's shell that change how python and TensorFlow load.

They are read from the shell envcheck runs in (``Evidence.shell``), not from the probes' cleaned environment:
a notebook or a python started from that shell sees them. PYTHONPATH and PYTHONHOME, which the probes drop, are
judged on a second, small probe that imports the stack with them (``Evidence.shell_probe``). Each variable that
is set is a finding of its own, so that the findings it breaks can name it as their cause.
"""

from __future__ import annotations

import ntpath
import posixpath
from typing import Any

from envcheck.results import CheckResult, Status
from envcheck.verify.checks.common import first_line, inside, pip_install, result, tf_version, unset
from envcheck.verify.checks.registry import ENVIRONMENT_VARIABLES, check
from envcheck.verify.evidence import LOADING_VARIABLES, TF_CPP_PREFIX, Evidence

LEGACY_VALUES = ("true", "True", "1")  # tf_keras's own test of TF_USE_LEGACY_KERAS


def variable_check_id(variable: str) -> str:
    """The finding of one variable: ``environ.pythonpath``, ``environ.keras-backend``, ``environ.tf-cpp``."""
    if variable.startswith(TF_CPP_PREFIX):
        return "environ.tf-cpp"
    return "environ." + variable.lower().replace("_", "-")


@check("environ.shell", group=ENVIRONMENT_VARIABLES, order=10)
def check_shell(ev: Evidence) -> CheckResult | None:
    """None of the variables that change how python or TensorFlow load is set in the shell verify
    runs from (`PYTHONPATH`, `PYTHONHOME`, `PYTHONNOUSERSITE`, `KERAS_BACKEND`, `TF_USE_LEGACY_KERAS`,
    `CUDA_VISIBLE_DEVICES`, `LD_LIBRARY_PATH`, `TF_CPP_*`). Each one that is set reports under its own id
    instead.

    Fix: nothing to fix: it only says that none is set."""
    if ev.shell:
        return None  # each variable that is set reports for itself below
    return result(
        "environ.shell",
        Status.PASS,
        "none of the variables that change how python or TensorFlow load is set in this shell",
        checked=[*LOADING_VARIABLES, TF_CPP_PREFIX + "*"],
    )


def _shell_view(ev: Evidence) -> tuple[dict[str, str], dict[str, str]]:
    """What a python started from this shell does differently: modules it loads from elsewhere, and that fail."""
    moved: dict[str, str] = {}
    broken: dict[str, str] = {}
    modules = ev.shell_probe.modules if ev.shell_probe is not None else {}
    for name, seen in modules.items():
        here = ev.imports.get(name)
        if not seen.ok:
            if here is not None and here.ok:
                broken[name] = f"{seen.error_type}: {first_line(seen.error, 120)}"
            continue
        where, ours = seen.file or "", (here.file if here is not None else None) or ""
        if where and ours and where != ours:
            moved[name] = where
    return moved, broken


def _folders(value: str, platform: str) -> list[str]:
    separator = ";" if platform == "win32" else ":"
    return [part for part in value.split(separator) if part]


@check("environ.pythonpath", group=ENVIRONMENT_VARIABLES, order=20)
def check_pythonpath(ev: Evidence) -> CheckResult | None:
    """`PYTHONPATH` is set in the shell. verify's probes drop it, so a second probe imports the
    stack with it, as a python or notebook started from that shell would: a module it loads from a
    `PYTHONPATH` folder instead of the environment, or that fails to import, fails.

    Fix: `unset PYTHONPATH` (or remove the folder that shadows the environment from it)."""
    value = ev.shell.get("PYTHONPATH")
    if value is None:
        return None
    return _path_variable(ev, "environ.pythonpath", "PYTHONPATH", value)


@check("environ.pythonhome", group=ENVIRONMENT_VARIABLES, order=30)
def check_pythonhome(ev: Evidence) -> CheckResult | None:
    """`PYTHONHOME` is set in the shell: a python started from it looks for its standard
    library there, which breaks every virtual environment. Judged with a second probe, like `PYTHONPATH`.

    Fix: `unset PYTHONHOME`."""
    value = ev.shell.get("PYTHONHOME")
    if value is None:
        return None
    return _path_variable(ev, "environ.pythonhome", "PYTHONHOME", value)


def _path_variable(ev: Evidence, check_id: str, variable: str, value: str) -> CheckResult:
    fix = unset(ev, variable)
    if not value:
        return result(check_id, Status.PASS, f"{variable} is set but empty, which python ignores")
    if ev.shell_probe_failure is not None:
        # PYTHONHOME is the usual culprit when python cannot start at all; PYTHONPATH only when it is alone
        if variable == "PYTHONHOME" or not ev.shell.get("PYTHONHOME"):
            return result(
                check_id,
                Status.FAIL,
                f"with {variable}={value}, a python or notebook started from this shell fails:"
                f" {ev.shell_probe_failure}",
                fix,
                value=value,
            )
        return result(check_id, Status.WARN, f"{variable} is set ({value}); see environ.pythonhome", fix)
    moved, broken = _shell_view(ev)
    folders = _folders(value, ev.platform)
    if variable == "PYTHONPATH":
        mod = ntpath if ev.platform == "win32" else posixpath
        moved = {n: w for n, w in moved.items() if any(inside(w, mod.abspath(f), ev.platform) for f in folders)}
    if moved or broken:
        parts = [f"loads {name} from {where}" for name, where in moved.items()]
        parts += [f"cannot import {name} ({why})" for name, why in broken.items()]
        return result(
            check_id,
            Status.FAIL,
            f"with {variable}={value}, a python or notebook started from this shell " + "; ".join(parts),
            fix,
            value=value,
            shadowed=moved,
            broken=broken,
        )
    if variable == "PYTHONHOME":
        return result(
            check_id,
            Status.WARN,
            f"PYTHONHOME={value}: every python started from this shell looks for its standard library there",
            fix,
            value=value,
        )
    count = len(ev.shell_probe.modules) if ev.shell_probe is not None else 0
    return result(
        check_id,
        Status.PASS,
        f"PYTHONPATH={value}: a python started from this shell still imports all {count} of the stack's modules"
        " from the environment",
        value=value,
    )


@check("environ.pythonnousersite", group=ENVIRONMENT_VARIABLES, order=40)
def check_pythonnousersite(ev: Evidence) -> CheckResult | None:
    """`PYTHONNOUSERSITE` is set: whether user site-packages is on or off in this shell
    (set but empty leaves it on). Information only.

    Fix: nothing to fix."""
    value = ev.shell.get("PYTHONNOUSERSITE")
    if value is None:
        return None
    if value:
        return result("environ.pythonnousersite", Status.PASS, "user site-packages is off in this shell", value=value)
    return result("environ.pythonnousersite", Status.PASS, "set but empty: user site-packages stays on", value=value)


def _wants_tensorflow_keras(ev: Evidence) -> bool:
    return ev.profile.package("tensorflow") is not None and ev.profile.package("keras") is not None


@check("environ.keras-backend", group=ENVIRONMENT_VARIABLES, order=50)
def check_keras_backend_variable(ev: Evidence) -> CheckResult | None:
    """`KERAS_BACKEND` is set: another backend than `tensorflow` makes `import keras` run
    on JAX or PyTorch (a failure where the profile wants Keras on TensorFlow).

    Fix: `unset KERAS_BACKEND`, or `export KERAS_BACKEND=tensorflow`."""
    value = ev.shell.get("KERAS_BACKEND")
    if value is None:
        return None
    if value == "tensorflow" or not value:
        return result("environ.keras-backend", Status.PASS, f"KERAS_BACKEND={value!r}: Keras runs on TensorFlow")
    keras = ev.imports.get("keras")
    missing = keras is not None and not keras.ok and f"No module named '{value}'" in keras.error
    also = f", and {value} is not installed, so keras does not import" if missing else ""
    return result(
        "environ.keras-backend",
        Status.FAIL if _wants_tensorflow_keras(ev) else Status.WARN,
        f"KERAS_BACKEND={value} makes Keras run on {value}, not TensorFlow{also}",
        unset(ev, "KERAS_BACKEND", "{command}  (or: export KERAS_BACKEND=tensorflow)"),
        value=value,
    )


@check("environ.tf-use-legacy-keras", group=ENVIRONMENT_VARIABLES, order=60)
def check_legacy_keras_variable(ev: Evidence) -> CheckResult | None:
    """`TF_USE_LEGACY_KERAS` is set: it makes `tf.keras` the separate `tf_keras`
    package (Keras 2), which must be installed.

    Fix: `unset TF_USE_LEGACY_KERAS`, or install `tf-keras` matching TensorFlow."""
    value = ev.shell.get("TF_USE_LEGACY_KERAS")
    if value is None:
        return None
    if value not in LEGACY_VALUES:
        return result("environ.tf-use-legacy-keras", Status.PASS, f"TF_USE_LEGACY_KERAS={value!r} asks for nothing")
    tf = tf_version(ev)
    tf_keras = ev.version_of("tf-keras")
    if tf is not None and tf.release >= (2, 16) and tf_keras is None:
        install = pip_install(ev, f"tf-keras~={tf.major}.{tf.minor}.0")
        return result(
            "environ.tf-use-legacy-keras",
            Status.FAIL,
            f"TF_USE_LEGACY_KERAS={value} makes tf.keras Keras 2 (tf_keras), which is not installed",
            unset(ev, "TF_USE_LEGACY_KERAS", f"{{command}}  (or install Keras 2 for tf.keras: {install})"),
            value=value,
        )
    which = f"tf_keras {tf_keras}" if tf_keras is not None else "Keras 2"
    return result("environ.tf-use-legacy-keras", Status.PASS, f"TF_USE_LEGACY_KERAS={value}: tf.keras is {which}")


@check("environ.cuda-visible-devices", group=ENVIRONMENT_VARIABLES, order=70)
def check_cuda_visible_devices(ev: Evidence) -> CheckResult | None:
    """`CUDA_VISIBLE_DEVICES` is set: which GPUs CUDA programs see; an empty value or
    `-1` hides every GPU, a warning.

    Fix: `unset CUDA_VISIBLE_DEVICES`, or list the GPUs to use."""
    value = ev.shell.get("CUDA_VISIBLE_DEVICES")
    if value is None:
        return None
    hides_all = value.strip() in ("", "-1")
    gpus = bool(ev.nvidia_smi is not None and ev.nvidia_smi.ok and ev.nvidia_smi.stdout.strip())
    if hides_all and gpus:
        return result(
            "environ.cuda-visible-devices",
            Status.WARN,
            f"CUDA_VISIBLE_DEVICES={value!r} hides every GPU from TensorFlow (nvidia-smi lists some)",
            unset(ev, "CUDA_VISIBLE_DEVICES"),
            value=value,
        )
    what = "no GPU" if hides_all else f"GPUs {value}"
    return result("environ.cuda-visible-devices", Status.PASS, f"CUDA programs see {what}", value=value)


@check("environ.ld-library-path", group=ENVIRONMENT_VARIABLES, order=80)
def check_ld_library_path(ev: Evidence) -> CheckResult | None:
    """`LD_LIBRARY_PATH` is set: its folders come before the system's for every library
    TensorFlow loads (`device.cuda-libraries` says whether one shadows the CUDA wheels). Information here.

    Fix: nothing to fix here; see `device.cuda-libraries`."""
    value = ev.shell.get("LD_LIBRARY_PATH")
    if value is None:
        return None
    folders = _folders(value, "linux")
    return result(
        "environ.ld-library-path",
        Status.PASS,
        f"{len(folders)} folder(s) searched for shared libraries before the system's: {value}",
        value=value,
    )


@check("environ.tf-cpp", group=ENVIRONMENT_VARIABLES, order=90)
def check_tf_cpp(ev: Evidence) -> CheckResult | None:
    """`TF_CPP_*` variables are set (`TF_CPP_MIN_LOG_LEVEL`, ...): they change what TensorFlow
    logs, so its messages about GPUs may be hidden. Information only.

    Fix: nothing to fix; unset them to see all of TensorFlow's messages."""
    values: dict[str, Any] = {k: v for k, v in ev.shell.items() if k.startswith(TF_CPP_PREFIX)}
    if not values:
        return None
    listing = ", ".join(f"{k}={v}" for k, v in values.items())
    quiet = str(values.get("TF_CPP_MIN_LOG_LEVEL", "0")).strip() in ("2", "3")
    why = " (TensorFlow's warnings, which explain a missing GPU, are hidden)" if quiet else ""
    return result("environ.tf-cpp", Status.PASS, f"{listing}{why}", values=values)
