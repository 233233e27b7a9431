"""Rules for `envcheck smoke-train`: pure functions that turn the training probe's facts into checks.

The probe (envcheck/probes/smoke_train.py) trains the tutorial's 4-3-1 sigmoid network at each level and
reports losses, outputs, weights, gradients and where tensors lived; everything here judges those facts.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from envcheck.results import CheckResult, Status

LEVELS = ("scratch", "keras", "tape", "tf1-optimizer", "tf1-gradients")
TF_LEVELS = ("keras", "tape", "tf1-optimizer", "tf1-gradients")
DEVICES = ("cpu", "gpu", "auto")
DEFAULT_DEVICE = "auto"  # TensorFlow decides

# The article's training, every level alike, and the command's defaults.
DEFAULT_EPOCHS = 2000
DEFAULT_LR = 0.1
DEFAULT_SEED = 0
MAX_SEED = 2**32 - 1  # numpy.random.RandomState takes 0 .. 2**32 - 1
# The whole training, all levels: ~10 s on a 2-core laptop; importing TensorFlow from a cold disk can take
# a minute, and a first GPU run compiles kernels.
DEFAULT_TIMEOUT = 600.0
# 2000 epochs take about 4 s at the slowest level (keras, batch 1, on a 2-core laptop): 100,000 take minutes,
# and more would only run into the time limit.
MAX_EPOCHS = 100_000
# A day: far past any real training here, and short of what the system's timers take (inf overflows them).
MAX_TIMEOUT = 86_400.0

# The runs each level makes (a level in one batch mode), in the order they are shown.
RUNS: dict[str, tuple[str, ...]] = {
    "scratch": ("scratch-batchN", "scratch-batch1"),
    "keras": ("keras-batch1",),
    "tape": ("tape-batch1", "tape-batchN"),
    "tf1-optimizer": ("tf1-optimizer-batchN",),
    "tf1-gradients": ("tf1-gradients-batchN",),
}

# Converged: every output rounds to its target and the final loss is under these thresholds. The article's
# own runs end near 0.002 (batch N) and 0.005 (batch 1) in sum of squared errors; 0.05 allows an average
# error of about 0.13 per sample. The MSE threshold is the same error budget divided by the three samples.
SSE_THRESHOLD = 0.05
MSE_THRESHOLD = SSE_THRESHOLD / 3
# TensorFlow's gradient at the initial weights against the chain rule, float64: round-off is ~1e-15.
GRADIENT_TOLERANCE = 1e-9
# Final weights of scratch and a TF level with the same loss and batch mode after all epochs, largest absolute
# difference. Measured on CPU: ~1e-15; a wrong gradient or learning rate shows up as 1e-3 or more, and even a
# learning rate rounded to float32 (0.1 + 1.5e-9) moves the outputs by ~2e-10.
TRAJECTORY_TOLERANCE = 1e-10
# A run on a GPU against the CPU (NumPy, or the same run pinned to the CPU): float64 kernels may sum in
# another order and use fused multiply-adds, so allow more than round-off but far less than any real error.
GPU_CPU_TOLERANCE = 1e-6

# Pairs that must end at the same weights: the same loss (keras's MSE over one sample is that sample's
# squared error, so at batch 1 it equals the sum of squared errors) and the same batch mode.
TRAJECTORY_PAIRS = (
    ("scratch-batchN", "tape-batchN"),
    ("scratch-batchN", "tf1-optimizer-batchN"),
    ("scratch-batch1", "tape-batch1"),
    ("scratch-batch1", "keras-batch1"),
)
SEQUENTIAL_REFERENCE = "scratch-sequential"  # chain-rule twin of the article's low level, computed by the probe

NO_GPU_HINT = (
    "check the driver with nvidia-smi and that TensorFlow has its CUDA libraries"
    " (Linux: pip install 'tensorflow[and-cuda]'); or run with --device cpu"
)


def runs_for(levels: Iterable[str]) -> list[str]:
    return [run for level in LEVELS if level in set(levels) for run in RUNS[level]]


def loss_kind(run: Mapping[str, Any]) -> str:
    """``sse`` or ``mse``: the probe describes each run's loss as '<kind>: <text>'."""
    return str(run.get("loss") or "sse").split(":")[0].strip()


def device_kind(name: str) -> str | None:
    """``CPU`` or ``GPU`` from a TensorFlow device string such as /job:localhost/replica:0/task:0/device:GPU:0."""
    upper = name.upper()
    for kind in ("GPU", "CPU"):
        if f"DEVICE:{kind}" in upper or upper.startswith(kind) or f"/{kind}:" in upper:
            return kind
    return None


def short_device(name: str) -> str:
    """GPU:0 from /job:localhost/replica:0/task:0/device:GPU:0."""
    return name.rsplit("device:", 1)[-1] if "device:" in name else name


# ---------------------------------------------------------------------------------------------- per run


def check_converged(run: Mapping[str, Any]) -> CheckResult:
    name = run["name"]
    check_id = f"level.{name}.converged"
    status = run.get("status")
    if status == "skipped":
        return CheckResult(check_id, Status.SKIP, f"not run: {run.get('error')}")
    if status == "unavailable":
        return CheckResult(
            check_id,
            Status.FAIL,
            f"not run: {run.get('error')}",
            hint="install what is missing in this environment (envcheck setup), or pick levels with --level",
        )
    if status != "ok":
        return CheckResult(
            check_id,
            Status.FAIL,
            f"raised {run.get('error')}" if run.get("traceback") else str(run.get("error") or "did not finish"),
            hint="see the traceback in --json (runs[].traceback); envcheck verify checks the packages",
            data={"traceback": run.get("traceback")} if run.get("traceback") else {},
        )
    outputs = [float(v) if v is not None else float("nan") for v in run.get("final_outputs") or []]
    targets = [1.0, 1.0, 0.0]
    kind = loss_kind(run)
    threshold = MSE_THRESHOLD if kind == "mse" else SSE_THRESHOLD
    final = run.get("final_loss")
    rounds = len(outputs) == 3 and all(abs(o - t) < 0.5 for o, t in zip(outputs, targets, strict=True))
    low = final is not None and final < threshold
    shown = "[" + ", ".join(f"{o:.2f}" for o in outputs) + "]"
    data = {"final_loss": final, "threshold": threshold, "loss": kind, "final_outputs": outputs}
    if rounds and low:
        return CheckResult(check_id, Status.PASS, f"outputs {shown} round to [1, 1, 0]; {kind} {final:.2e}", data=data)
    why = []
    if not rounds:
        why.append(f"outputs {shown} do not round to [1, 1, 0]")
    if not low:
        why.append(f"final {kind} {_num(final)} is not under {threshold:.3g}")
    return CheckResult(
        check_id,
        Status.FAIL,
        "; ".join(why),
        hint="try another --seed or more --epochs; if scratch converges and a TF level does not, TensorFlow "
        "computes wrongly here",
        data=data,
    )


def check_loss_fell(run: Mapping[str, Any]) -> CheckResult | None:
    if run.get("status") != "ok":
        return None
    check_id = f"level.{run['name']}.loss-fell"
    first, last = run.get("initial_loss"), run.get("final_loss")
    data = {"initial_loss": first, "final_loss": last}
    if first is not None and last is not None and last < first:
        return CheckResult(check_id, Status.PASS, f"{loss_kind(run)} {first:.3g} → {last:.3g}", data=data)
    return CheckResult(
        check_id,
        Status.FAIL,
        f"{loss_kind(run)} went from {_num(first)} to {_num(last)}",
        hint="training made things worse: check --lr (default 0.1)",
        data=data,
    )


def check_placement(run: Mapping[str, Any], requested: str, gpus: Sequence[str]) -> CheckResult | None:
    """Where a TF run's variables and outputs lived, against --device."""
    if run.get("status") != "ok" or run.get("level") == "scratch":
        return None
    check_id = f"level.{run['name']}.device"
    devices = run.get("devices") or {}
    names = [*devices.get("variables", []), *devices.get("outputs", [])]
    kinds = {device_kind(n) for n in names}
    where = _placement_text(devices)
    data = {"variables": devices.get("variables", []), "outputs": devices.get("outputs", [])}
    if not names:
        return CheckResult(check_id, Status.WARN, "TensorFlow did not say where this run lived", data=data)
    if requested == "cpu":
        if kinds == {"CPU"}:
            return CheckResult(check_id, Status.PASS, where, data=data)
        return CheckResult(check_id, Status.FAIL, f"{where}, but --device cpu was asked for", data=data)
    if requested == "gpu":
        if kinds == {"GPU"}:
            return CheckResult(check_id, Status.PASS, where, data=data)
        return CheckResult(
            check_id,
            Status.FAIL,
            f"{where}, but --device gpu was asked for",
            hint="an op without a GPU kernel falls back to the CPU; run with -v and see --json for the devices",
            data=data,
        )
    if gpus and "GPU" not in kinds:
        return CheckResult(
            check_id,
            Status.WARN,
            f"{where}, although TensorFlow sees {len(gpus)} GPU(s)",
            hint="run with --device gpu to require the GPU",
            data=data,
        )
    return CheckResult(check_id, Status.PASS, where, data=data)


def _placement_text(devices: Mapping[str, Any]) -> str:
    variables = sorted({short_device(d) for d in devices.get("variables", [])})
    outputs = sorted({short_device(d) for d in devices.get("outputs", [])})
    parts = []
    if variables:
        parts.append(f"variables on {', '.join(variables)}")
    else:
        parts.append("parameters in NumPy (fed)")
    if outputs:
        parts.append(f"outputs on {', '.join(outputs)}")
    return ", ".join(parts)


def placement_summary(run: Mapping[str, Any]) -> str:
    """One short word for the table: CPU:0, GPU:0, NumPy, or a mix."""
    if run.get("level") == "scratch":
        return "NumPy"
    devices = run.get("devices") or {}
    names = {short_device(n) for n in [*devices.get("variables", []), *devices.get("outputs", [])]}
    return ", ".join(sorted(names)) or "-"


# ---------------------------------------------------------------------------------------------- device request


def check_requested_device(facts: Mapping[str, Any], requested: str, levels: Iterable[str]) -> CheckResult | None:
    """--device against what TensorFlow sees; asking for a GPU where there is none fails, never runs on CPU."""
    if not any(level in TF_LEVELS for level in levels):
        return None
    info = facts.get("tensorflow") or {}
    if not info.get("version"):
        return None  # TensorFlow did not import; the levels themselves say so
    gpus = list(info.get("physical_gpus") or [])
    data = {
        "requested": requested,
        "physical_gpus": gpus,
        "built_with_cuda": info.get("built_with_cuda"),
        "used": facts.get("device_used"),
    }
    if requested == "gpu" and (facts.get("device_error") or not gpus):
        cuda = "" if info.get("built_with_cuda") else " (and this TensorFlow build has no CUDA support)"
        return CheckResult(
            "device.requested",
            Status.FAIL,
            f"--device gpu, but TensorFlow {info.get('version')} sees no GPU{cuda}; the TF levels did not run",
            hint=NO_GPU_HINT,
            data=data,
        )
    if requested == "cpu":
        detail = "CPU:0 (GPUs hidden from TensorFlow)" if gpus else "CPU:0"
    elif gpus:
        detail = f"GPU:0 ({len(gpus)} GPU(s) visible)"
    else:
        detail = "CPU:0 (TensorFlow sees no GPU)"
    return CheckResult("device.requested", Status.PASS, f"--device {requested}: {detail}", data=data)


# ---------------------------------------------------------------------------------------------- across levels


def gap(x: float, y: float) -> float:
    """|x - y|, where NaN or an infinity on either side counts as infinitely different: a tolerance compared
    with NaN is never met (``max`` and ``<=`` would otherwise let a NaN through as if it were 0)."""
    if math.isfinite(x) and math.isfinite(y):
        return abs(x - y)
    return math.inf


def max_relative_difference(a: Mapping[str, Any], b: Mapping[str, Any]) -> float:
    """Largest, over parameters, of max|a - b| / max(max|a|, max|b|): relative to each parameter's scale,
    so that a gradient entry near zero does not turn round-off into a huge ratio. NaN or infinity: inf."""
    worst = 0.0
    for name in a:
        xs, ys = _flat(a[name]), _flat(b.get(name))
        if len(xs) != len(ys):
            return math.inf
        diff = max((gap(x, y) for x, y in zip(xs, ys, strict=True)), default=0.0)
        if diff == math.inf:
            return math.inf
        scale = max((abs(v) for v in [*xs, *ys]), default=0.0)
        if diff == 0.0:
            continue
        worst = max(worst, diff / scale if scale > 0 else math.inf)
    return worst


def max_abs_difference(a: Mapping[str, Any], b: Mapping[str, Any]) -> float:
    """Largest |a - b| over every parameter entry; NaN or infinity on either side: inf."""
    worst = 0.0
    for name in a:
        xs, ys = _flat(a[name]), _flat(b.get(name))
        if len(xs) != len(ys):
            return math.inf
        worst = max(worst, max((gap(x, y) for x, y in zip(xs, ys, strict=True)), default=0.0))
    return worst


def check_gradients(facts: Mapping[str, Any]) -> CheckResult | None:
    """TensorFlow's autodiff gradients at the initial weights against the chain rule, all in float64."""
    reference = facts.get("reference") or {}
    chain = reference.get("chain_rule_gradient")
    autodiff = reference.get("autodiff_gradients") or {}
    if not chain or not autodiff:
        return None
    diffs = {source: max_relative_difference(chain, grads) for source, grads in autodiff.items()}
    worst_source = max(diffs, key=lambda s: diffs[s])
    worst = diffs[worst_source]
    data = {"max_relative_difference": diffs, "tolerance": GRADIENT_TOLERANCE}
    sources = ", ".join(f"{s} {d:.1e}" for s, d in diffs.items())
    if worst <= GRADIENT_TOLERANCE:
        return CheckResult(
            "gradient.autodiff-vs-chain-rule",
            Status.PASS,
            f"largest relative difference {worst:.1e} ≤ {GRADIENT_TOLERANCE:.0e} ({sources})",
            data=data,
        )
    return CheckResult(
        "gradient.autodiff-vs-chain-rule",
        Status.FAIL,
        f"{worst_source}: autodiff differs from the chain rule by {worst:.1e} (> {GRADIENT_TOLERANCE:.0e})",
        hint="TensorFlow computes a wrong gradient on this device: report it with envcheck verify --markdown",
        data=data,
    )


def check_trajectories(facts: Mapping[str, Any]) -> list[CheckResult]:
    """Scratch and the TF levels with the same loss and batch mode end at the same weights."""
    runs = facts.get("runs") or {}
    checks = []
    for left, right in TRAJECTORY_PAIRS:
        a, b = runs.get(left) or {}, runs.get(right) or {}
        if a.get("status") != "ok" or b.get("status") != "ok":
            continue
        checks.append(_trajectory(f"trajectory.{left}-vs-{right}", a["final_weights"], b))
    sequential = (facts.get("reference") or {}).get("sequential_weights")
    low = runs.get("tf1-gradients-batchN") or {}
    if sequential and low.get("status") == "ok":
        checks.append(_trajectory(f"trajectory.{SEQUENTIAL_REFERENCE}-vs-tf1-gradients-batchN", sequential, low))
    return checks


def _trajectory(check_id: str, reference: Mapping[str, Any], run: Mapping[str, Any]) -> CheckResult:
    diff = max_abs_difference(reference, run["final_weights"])
    on_gpu = "GPU" in placement_summary(run)
    tolerance = GPU_CPU_TOLERANCE if on_gpu else TRAJECTORY_TOLERANCE
    data = {"max_abs_difference": diff, "tolerance": tolerance, "on_gpu": on_gpu}
    if diff <= tolerance:
        return CheckResult(check_id, Status.PASS, f"final weights agree to {diff:.1e}", data=data)
    return CheckResult(
        check_id,
        Status.FAIL,
        f"final weights differ by {diff:.1e} (> {tolerance:.0e})",
        hint="the same network, loss and updates ended elsewhere: TensorFlow's arithmetic differs on this device",
        data=data,
    )


def check_gpu_vs_cpu(facts: Mapping[str, Any]) -> CheckResult | None:
    """The tape runs on the GPU against the same runs pinned to the CPU (present only when a GPU ran)."""
    cpu = facts.get("cpu_reference")
    if cpu is None:
        return None
    if cpu.get("error"):
        return CheckResult(
            "device.gpu-vs-cpu",
            Status.FAIL,
            f"the CPU comparison run raised {cpu['error']}",
            hint="run envcheck smoke-train --device cpu to see the CPU on its own",
        )
    runs = facts.get("runs") or {}
    diffs: dict[str, float] = {}
    for name in ("tape-batch1", "tape-batchN"):
        gpu_run, cpu_run = runs.get(name) or {}, cpu.get(name) or {}
        if gpu_run.get("status") == "ok" and cpu_run.get("final_weights"):
            diffs[name] = max_abs_difference(gpu_run["final_weights"], cpu_run["final_weights"])
    gpu_gradient = ((facts.get("reference") or {}).get("autodiff_gradients") or {}).get("tape")
    gradient_diff = (
        max_relative_difference(gpu_gradient, cpu["gradient"]) if gpu_gradient and cpu.get("gradient") else None
    )
    if not diffs:
        return None
    worst = max(diffs.values())
    data = {
        "max_abs_difference": diffs,
        "gradient_max_relative_difference": gradient_diff,
        "tolerance": GPU_CPU_TOLERANCE,
        "gradient_tolerance": GRADIENT_TOLERANCE,
    }
    gradient_ok = gradient_diff is None or gradient_diff <= GRADIENT_TOLERANCE
    if worst <= GPU_CPU_TOLERANCE and gradient_ok:
        extra = f", gradients to {gradient_diff:.1e}" if gradient_diff is not None else ""
        return CheckResult(
            "device.gpu-vs-cpu", Status.PASS, f"GPU and CPU final weights agree to {worst:.1e}{extra}", data=data
        )
    what = (
        f"final weights differ by {worst:.1e} (> {GPU_CPU_TOLERANCE:.0e})"
        if worst > GPU_CPU_TOLERANCE
        else f"gradients differ by {gradient_diff:.1e} (> {GRADIENT_TOLERANCE:.0e})"
    )
    return CheckResult(
        "device.gpu-vs-cpu",
        Status.FAIL,
        f"GPU against CPU: {what}",
        hint="the GPU computes differently from the CPU: check the driver and CUDA versions (envcheck verify)",
        data=data,
    )


def check_plot(facts: Mapping[str, Any], requested: str | None) -> CheckResult | None:
    if not requested:
        return None
    plot = facts.get("plot") or {}
    if plot.get("written"):
        return CheckResult("plot", Status.PASS, f"loss curves written to {requested}", data=dict(plot))
    error = plot.get("error") or "the probe did not get to the plot"
    hint = (
        "install matplotlib in the environment"
        if "matplotlib" in error.lower()
        else "check that the folder exists and is writable"
    )
    return CheckResult("plot", Status.FAIL, f"no plot: {error}", hint=hint, data=dict(plot))


def evaluate(
    facts: Mapping[str, Any],
    *,
    levels: Sequence[str],
    device: str,
    plot: str | None = None,
    missing_reason: str = "the probe stopped before this run",
) -> list[CheckResult]:
    """Every check of a smoke-train run, in display order: the device, each run, then across runs."""
    checks: list[CheckResult] = []
    gpus = list((facts.get("tensorflow") or {}).get("physical_gpus") or [])
    requested_device = check_requested_device(facts, device, levels)
    if requested_device is not None:
        checks.append(requested_device)
    runs = facts.get("runs") or {}
    for name in runs_for(levels):
        run = runs.get(name) or {"name": name, "status": "missing", "error": f"not run: {missing_reason}"}
        checks.append(check_converged(run))
        for extra in (check_loss_fell(run), check_placement(run, device, gpus)):
            if extra is not None:
                checks.append(extra)
    gradient = check_gradients(facts)
    if gradient is not None:
        checks.append(gradient)
    checks.extend(check_trajectories(facts))
    for last in (check_gpu_vs_cpu(facts), check_plot(facts, plot)):
        if last is not None:
            checks.append(last)
    return checks


def _flat(value: Any) -> list[float]:
    """Every number of a nested list, in order; a None entry (the probe's NaN or infinity) becomes NaN."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [x for item in value for x in (_flat(item) if isinstance(item, (list, tuple)) else [_number(item)])]
    return [_number(value)]


def _number(value: Any) -> float:
    return float("nan") if value is None else float(value)


def _num(value: Any) -> str:
    return "none" if value is None else f"{float(value):.3g}"
