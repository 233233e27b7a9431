"""Work checks: one small real operation per package of the profile (a matmul, a groupby, a fit, a plot), and on
a GPU one convolution (cuDNN) and one XLA-compiled function (libdevice, ptxas)."""

from __future__ import annotations

from envcheck.profiles.profile import Package
from envcheck.results import CheckResult, Status
from envcheck.verify.checks.common import (
    applicable_requirements,
    command,
    crash_hint,
    first_line,
    interaction_hint,
    result,
)
from envcheck.verify.checks.compatibility import NUMPY_ABI_PATTERNS
from envcheck.verify.checks.cuda import cuda_fix
from envcheck.verify.checks.nvidia import CUDNN_KEYS, XLA_KEYS, tensorflow_messages
from envcheck.verify.checks.ranges import wanted
from envcheck.verify.checks.registry import WORK, check
from envcheck.verify.evidence import Evidence
from envcheck.verify.remedy import Remedy, advice, explained, install

# Modules of the profile whose one small real operation the probe performs.
WORK_FOR = {"tensorflow": "matmul", "pandas": "pandas", "scikit-learn": "sklearn", "matplotlib": "matplotlib"}


@check("work.*", group=WORK, order=10)
def check_work(ev: Evidence) -> list[CheckResult]:
    """Each package does one real operation inside the environment: a 64x64 matmul on each TensorFlow
    device checked against NumPy (`work.matmul`); a pandas groupby, a scikit-learn regression and a matplotlib
    plot with Agg (`work.pandas`, `work.scikit-learn`, `work.matplotlib`).

    Fix: reinstall the package that failed (`pip install --force-reinstall REQUIREMENT`); a result that differs
    from NumPy's points at the device or its libraries."""
    results = []
    for package in ev.profile.packages:
        key = WORK_FOR.get(package.name)
        if key is None or not applicable_requirements(ev, package):
            continue
        check_id = "work.matmul" if key == "matmul" else f"work.{package.name}"
        results.append(_work_check(ev, check_id, key, package))
    return results


def _work_check(ev: Evidence, check_id: str, key: str, package: Package) -> CheckResult:
    fault = ev.fault_at(f"work.{key}")
    if fault is not None and fault.scope == "environment" and ev.work(key) is not None:
        return result(
            check_id,
            Status.WARN,
            f"works on its own, but the probe importing everything {fault.what} here",
            advice(interaction_hint(ev)),
        )
    if fault is not None:
        return result(
            check_id,
            Status.FAIL,
            f"the probe {fault.what} during this work",
            advice(crash_hint(ev, package.import_name or package.name, fault)),
        )
    found = ev.work(key)
    if found is None:
        return result(
            check_id, Status.SKIP, f"{package.name} did not import", explained(f"package.{package.name}.import")
        )
    seconds = found.seconds
    reinstall = _reinstall(ev, package, found.error)
    if key == "matmul":
        devices = found.devices
        bad = [d for d in devices if not d.ok]
        if not devices:
            return result(check_id, Status.FAIL, "TensorFlow lists no device to compute on", reinstall, seconds)
        if bad:
            first = bad[0]
            why = first.error or f"differs from NumPy by {first.max_abs_diff}"
            return result(
                check_id,
                Status.FAIL,
                f"64x64 matmul on {first.device}: {first_line(why)}",
                _reinstall(ev, package, first.error),
                seconds,
                devices=[d.to_json() for d in devices],
            )
        names = ", ".join((d.device or "").replace("/device:", "") for d in devices)
        worst = max(d.max_abs_diff or 0.0 for d in devices)
        return result(
            check_id,
            Status.PASS,
            f"64x64 matmul on {names} matches NumPy (max diff {worst:.1e})",
            None,
            seconds,
            devices=[d.to_json() for d in devices],
        )
    if not found.ok:
        why = found.error or f"wrong result {found.result!r}"
        return result(check_id, Status.FAIL, f"{first_line(why)}", reinstall, seconds)
    detail = {
        "pandas": "groupby-sum on a DataFrame gives the right totals",
        "sklearn": "StandardScaler scales [1, 3] to [-1, 1]",
        "matplotlib": f"plot rendered to a PNG in memory with {found.backend or 'Agg'}",
    }[key]
    return result(check_id, Status.PASS, detail, None, seconds)


def _reinstall(ev: Evidence, package: Package, error: str | None) -> Remedy:
    """A fresh copy of the package; a NumPy ABI error is compat.numpy-abi's to fix."""
    abi = error is not None and any(p in error for p in NUMPY_ABI_PATTERNS)
    explainers = ("compat.numpy-abi",) if abi else ()
    return install(wanted(ev, package), flags=("--force-reinstall",), explained_by=explainers)


# The GPU work beside the matmul: what each exercises, TensorFlow's messages that explain its failure, and
# the same operation in one line to reproduce a failure nothing explains.
GPU_WORK = {
    "conv": (
        "3x3 convolution",
        "cuDNN",
        CUDNN_KEYS,
        "import tensorflow as tf; print(tf.nn.conv2d(tf.ones((1, 8, 8, 1)), tf.ones((3, 3, 1, 1)), 1, 'SAME').device)",
    ),
    "xla": (
        "jit_compile=True function",
        "XLA",
        XLA_KEYS + CUDNN_KEYS,
        "import tensorflow as tf; print(tf.function(lambda x: tf.tanh(x) + 1, jit_compile=True)(tf.ones(4)))",
    ),
}


@check("work.conv", group=WORK, order=20)
def check_conv(ev: Evidence) -> CheckResult | None:
    """On a GPU: one small convolution (cuDNN) compared with the CPU's result, with TensorFlow's cuDNN
    messages turned into hints. Skipped without a GPU.

    Fix: the cuDNN the hint names (the pip CUDA wheels of `tensorflow[and-cuda]`, or a library path that does
    not shadow them)."""
    return _gpu_work(ev, "conv")


@check("work.xla", group=WORK, order=30)
def check_xla(ev: Evidence) -> CheckResult | None:
    """On a GPU: one `tf.function(jit_compile=True)` (XLA) compared with the CPU's result; "libdevice
    not found" and a missing `ptxas` become hints. Skipped without a GPU.

    Fix: what the hint names: the CUDA wheels that ship libdevice and ptxas, or `XLA_FLAGS=--xla_gpu_cuda_data_dir`
    pointing at a CUDA installation."""
    return _gpu_work(ev, "xla")


def _gpu_work(ev: Evidence, key: str) -> CheckResult | None:
    """A work check that runs on the first GPU only; None where there is no GPU and the profile wants none."""
    check_id = f"work.{key}"
    what, library, keys, snippet = GPU_WORK[key]
    package = ev.profile.package("tensorflow")
    if package is None or not applicable_requirements(ev, package):
        return None
    fault = ev.fault_at(check_id)
    if fault is not None:
        return result(
            check_id,
            Status.FAIL,
            f"the probe {fault.what} during the {library} work",
            advice(crash_hint(ev, "tensorflow", fault)),
        )
    found = ev.work(key)
    if found is None:
        return None  # tensorflow did not import (its own check says so), or an older probe
    seconds = found.seconds
    if found.skipped:
        if ev.profile.device != "gpu":
            return None
        return result(check_id, Status.SKIP, f"{found.skipped}: the {library} work runs on a GPU only")
    device = (found.device or "GPU").replace("/device:", "")
    if found.ok:
        return result(
            check_id,
            Status.PASS,
            f"{what} on {device} ({library}) matches the CPU (max diff {found.max_abs_diff or 0.0:.1e})",
            None,
            seconds,
        )
    error = found.error or f"differs from the CPU by {found.max_abs_diff}"
    messages = [m for m in tensorflow_messages(error + "\n" + ev.stderr) if m.key in keys]
    said = messages[0].line if messages else first_line(error)
    if messages:
        fix = cuda_fix(ev, {m.key for m in messages})
    else:
        fix = advice(
            f"reproduce it with TensorFlow's own log: TF_CPP_MIN_LOG_LEVEL=0 {command(ev, ev.python, '-c', snippet)}"
        )
    return result(check_id, Status.FAIL, f"{what} on {device} ({library}): {said}", fix, seconds)
