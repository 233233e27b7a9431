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
    pip_install,
    requirement_text,
    result,
)
from envcheck.verify.checks.device import CUDNN_KEYS, XLA_KEYS, cuda_fix, tensorflow_messages
from envcheck.verify.checks.registry import WORK, check
from envcheck.verify.evidence import Evidence

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
    wanted = requirement_text(applicable_requirements(ev, package)[0])
    fault = ev.fault_at(f"work.{key}")
    if fault is not None and fault.scope == "environment" and ev.work(key) is not None:
        return result(
            check_id,
            Status.WARN,
            f"works on its own, but the probe importing everything {fault.what} here",
            interaction_hint(ev),
        )
    if fault is not None:
        return result(
            check_id,
            Status.FAIL,
            f"the probe {fault.what} during this work",
            crash_hint(ev, package.import_name or package.name, fault),
        )
    found = ev.work(key)
    if found is None:
        return result(check_id, Status.SKIP, f"{package.name} did not import")
    seconds = found.get("seconds")
    reinstall = pip_install(ev, wanted, flags=("--force-reinstall",))
    if key == "matmul":
        devices = found.get("devices") or []
        bad = [d for d in devices if not d.get("ok")]
        if not devices:
            return result(check_id, Status.FAIL, "TensorFlow lists no device to compute on", reinstall, seconds)
        if bad:
            first = bad[0]
            why = first.get("error") or f"differs from NumPy by {first.get('max_abs_diff')}"
            return result(
                check_id,
                Status.FAIL,
                f"64x64 matmul on {first.get('device')}: {first_line(str(why))}",
                reinstall,
                seconds,
                devices=devices,
            )
        names = ", ".join(str(d.get("device", "")).replace("/device:", "") for d in devices)
        worst = max(float(d.get("max_abs_diff") or 0.0) for d in devices)
        return result(
            check_id,
            Status.PASS,
            f"64x64 matmul on {names} matches NumPy (max diff {worst:.1e})",
            None,
            seconds,
            devices=devices,
        )
    if not found.get("ok"):
        why = found.get("error") or f"wrong result {found.get('result')!r}"
        return result(check_id, Status.FAIL, f"{first_line(str(why))}", reinstall, seconds)
    detail = {
        "pandas": "groupby-sum on a DataFrame gives the right totals",
        "sklearn": "LinearRegression recovers y = 2x + 1",
        "matplotlib": f"plot rendered to a PNG in memory with {found.get('backend') or 'Agg'}",
    }[key]
    return result(check_id, Status.PASS, detail, None, seconds)


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
            crash_hint(ev, "tensorflow", fault),
        )
    found = ev.work(key)
    if found is None:
        return None  # tensorflow did not import (its own check says so), or an older probe
    seconds = found.get("seconds")
    if found.get("skipped"):
        if ev.profile.device != "gpu":
            return None
        return result(check_id, Status.SKIP, f"{found['skipped']}: the {library} work runs on a GPU only")
    device = str(found.get("device") or "GPU").replace("/device:", "")
    if found.get("ok"):
        return result(
            check_id,
            Status.PASS,
            f"{what} on {device} ({library}) matches the CPU (max diff {float(found.get('max_abs_diff') or 0.0):.1e})",
            None,
            seconds,
        )
    error = str(found.get("error") or f"differs from the CPU by {found.get('max_abs_diff')}")
    messages = [m for m in tensorflow_messages(error + "\n" + ev.stderr) if m.key in keys]
    said = messages[0].line if messages else first_line(error)
    if messages:
        hint = cuda_fix(ev, {m.key for m in messages})
    else:
        hint = f"reproduce it with TensorFlow's own log: TF_CPP_MIN_LOG_LEVEL=0 {command(ev, ev.python, '-c', snippet)}"
    return result(check_id, Status.FAIL, f"{what} on {device} ({library}): {said}", hint, seconds)
