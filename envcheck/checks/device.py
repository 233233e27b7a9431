"""Device checks: what TensorFlow computes on and why a GPU goes unused, and the NVIDIA driver."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from packaging.version import Version

from envcheck import shell
from envcheck.checks.common import (
    as_version,
    crash_hint,
    first_line,
    import_result,
    pip_install,
    result,
    tf_requirement,
    tf_version,
    unset_command,
)
from envcheck.checks.evidence import Evidence
from envcheck.checks.registry import DEVICE, check
from envcheck.results import CheckResult, Status

MIN_DRIVER = {"linux": {12: "525.60.13", 11: "450.80.02"}, "win32": {12: "527.41", 11: "452.39"}}
NVIDIA_SMI_QUERY = "name,driver_version,memory.total,compute_cap"


@dataclass(frozen=True)
class TensorflowMessage:
    """One of TensorFlow's stderr lines that explains why a GPU is not used."""

    key: str
    line: str
    data: Mapping[str, str] = field(default_factory=dict)


_TF_MESSAGES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("no-driver", re.compile(r"Could not find cuda drivers on your machine")),
    ("dlopen", re.compile(r"Cannot dlopen some GPU libraries")),
    ("missing-library", re.compile(r"Could not load dynamic library '(?P<library>[^']+)'")),
    ("windows-native", re.compile(r"GPU support is not available on native Windows")),
    ("no-avx", re.compile(r"The TensorFlow library was compiled to use (?P<what>\S+) instructions")),
    ("cuinit", re.compile(r"failed call to cuInit: (?P<error>.+)$")),
    (
        "min-capability",
        re.compile(r"Ignoring visible gpu device .*?The minimum required Cuda capability is (?P<min>[\d.]+)"),
    ),
    ("ptx-jit", re.compile(r"not built with CUDA kernel binaries compatible with compute capability (?P<cc>[\d.]+)")),
    ("driver-insufficient", re.compile(r"CUDA driver version is insufficient|does not match DSO version")),
    ("legacy-keras-missing", re.compile(r"TF_USE_LEGACY_KERAS set to True, but you do not have the tf_keras")),
)


# The prefix of TensorFlow's log lines: "I0000 00:00:1795880008.358114    8561 cudart_stub.cc:31] "
_LOG_PREFIX = re.compile(r"^[IWEF]\d{4} [\d:.]+\s+\d+ \S+:\d+\] ")


def tensorflow_messages(stderr: str) -> list[TensorflowMessage]:
    """TensorFlow's own explanations in the probe's stderr, each once, without the log-line prefix."""
    found: list[TensorflowMessage] = []
    seen: set[tuple[str, str]] = set()
    for raw in stderr.splitlines():
        line = _LOG_PREFIX.sub("", raw.strip())
        for key, pattern in _TF_MESSAGES:
            match = pattern.search(line)
            if match:
                data = {k: v for k, v in match.groupdict().items() if v is not None}
                marker = (key, str(sorted(data.items())))
                if marker not in seen:
                    seen.add(marker)
                    found.append(TensorflowMessage(key, line, data))
    return found


def parse_nvidia_smi(output: str) -> list[dict[str, str]]:
    """Rows of `nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv,noheader`."""
    keys = NVIDIA_SMI_QUERY.split(",")
    rows = []
    for line in output.splitlines():
        if not line.strip():
            continue
        cells = [c.strip() for c in line.split(",")]
        if len(cells) < len(keys):
            continue
        # a GPU name may itself hold a comma: the last three cells are the numeric ones
        head = ", ".join(cells[: len(cells) - len(keys) + 1])
        row = dict(zip(keys, [head, *cells[len(cells) - len(keys) + 1 :]], strict=True))
        rows.append(row)
    return rows


def _gpu_reason(ev: Evidence, messages: Sequence[TensorflowMessage]) -> tuple[str, str]:
    """Why TensorFlow sees no GPU, and what to type: from its own messages first, then from the facts."""
    keys = {m.key: m for m in messages}
    tf = tf_version(ev)
    build = ev.facts("tensorflow").get("build_info") or {}
    smi_rows = parse_nvidia_smi(ev.nvidia_smi.stdout) if ev.nvidia_smi and ev.nvidia_smi.ok else []
    tf_pin = f"tensorflow[and-cuda]=={tf}" if tf is not None else "tensorflow[and-cuda]"
    if "windows-native" in keys or (ev.platform == "win32" and tf is not None and tf >= Version("2.11")):
        return (
            "TensorFlow >= 2.11 has no GPU support on native Windows",
            "use WSL2 (wsl --install), then inside it: envcheck setup --profile deep-learning-gpu",
        )
    if ev.platform == "darwin":
        return (
            "no Metal device: the tensorflow-metal plugin is missing or does not match TensorFlow",
            pip_install(ev, "tensorflow-metal"),
        )
    if "no-driver" in keys:
        return (
            "no NVIDIA driver (TensorFlow: Could not find cuda drivers)",
            "install the NVIDIA driver, then check it with: nvidia-smi",
        )
    if "min-capability" in keys:
        return (
            f"the GPU is older than this TensorFlow supports (needs compute capability {keys['min-capability'].data['min']})",
            f"use a newer GPU, or an older TensorFlow built for it: {pip_install(ev, 'tensorflow<2.16')}",
        )
    if "driver-insufficient" in keys:
        return ("the NVIDIA driver is too old for TensorFlow's CUDA", _driver_hint(ev))
    wheels = cuda_wheels(ev)
    if "dlopen" in keys or "missing-library" in keys:
        libraries = sorted({m.data["library"] for m in messages if m.key == "missing-library"})
        missing = f" ({', '.join(libraries)})" if libraries else ""
        return (f"TensorFlow cannot load the CUDA libraries{missing}", _cuda_wheels_hint(ev, wheels, tf_pin))
    if "cuinit" in keys:
        error = keys["cuinit"].data.get("error", "")
        visible = (ev.probe.get("environ") or {}).get("CUDA_VISIBLE_DEVICES")
        if "NO_DEVICE" in error and visible is not None:
            return (f"CUDA sees no device: CUDA_VISIBLE_DEVICES={visible!r}", unset_command(ev, "CUDA_VISIBLE_DEVICES"))
        return (f"the CUDA driver failed to start: {error}", "check the driver with: nvidia-smi")
    if build and build.get("is_cuda_build") is False and ev.platform.startswith("linux"):
        return ("this TensorFlow build has no CUDA support", pip_install(ev, tf_pin))
    if ev.nvidia_smi is None and ev.platform.startswith("linux"):
        return (
            "no NVIDIA driver (nvidia-smi is not on PATH)",
            "install the NVIDIA driver, then check it with: nvidia-smi",
        )
    if ev.nvidia_smi is not None and not smi_rows:
        return ("nvidia-smi lists no usable GPU", "check the driver with: nvidia-smi")
    return ("TensorFlow lists no GPU", _cuda_wheels_hint(ev, wheels, tf_pin))


def cuda_wheels(ev: Evidence) -> list[tuple[str, str, str]]:
    """The NVIDIA library wheels tensorflow[and-cuda] installs (nvidia-*-cu11/cu12): name, version, folder."""
    found = []
    for name, dist in sorted(ev.distributions.items()):
        if name.startswith("nvidia-") and re.search(r"-cu1[0-9]$", name):
            found.append((name, str(dist.get("version") or "?"), str(dist.get("location") or "")))
    return found


def _cuda_wheels_hint(ev: Evidence, wheels: list[tuple[str, str, str]], tf_pin: str) -> str:
    """Install the CUDA wheels where they are missing; where they are there, installing them again does nothing."""
    if not wheels or not ev.platform.startswith("linux"):
        return pip_install(ev, tf_pin)
    listing = ", ".join(f"{name} {version}" for name, version, _ in wheels[:3]) + (" ..." if len(wheels) > 3 else "")
    folder = next((where for _, _, where in wheels if where), "")
    look = f"ls {shell.quote(folder, ev.platform)}/nvidia/*/lib" if folder else "pip show -f nvidia-cudnn-cu12"
    search = (ev.probe.get("environ") or {}).get("LD_LIBRARY_PATH")
    path = (
        f"; LD_LIBRARY_PATH={search} is searched first and can hold other CUDA libraries: {unset_command(ev, 'LD_LIBRARY_PATH')}"
        if search
        else ""
    )
    return (
        f"the CUDA wheels of tensorflow[and-cuda] are installed ({listing}), so installing them again changes"
        f" nothing: check that their libraries are there: {look}{path}"
    )


def _driver_hint(ev: Evidence) -> str:
    cuda = str((ev.facts("tensorflow").get("build_info") or {}).get("cuda_version") or "")
    major = int(cuda.split(".")[0]) if cuda[:1].isdigit() else 12
    table = MIN_DRIVER["win32" if ev.platform == "win32" else "linux"]
    minimum = table.get(major)
    need = f" >= {minimum}" if minimum else ""
    return f"upgrade the NVIDIA driver to{need} (TensorFlow is built with CUDA {cuda or major}); then check: nvidia-smi"


@check("device.tensorflow", group=DEVICE, order=10)
def check_device_tensorflow(ev: Evidence) -> CheckResult | None:
    if ev.profile.package("tensorflow") is None:
        return None
    tf = ev.facts("tensorflow")
    messages = tensorflow_messages(ev.stderr)
    gpu_profile = ev.profile.device == "gpu"
    found = import_result(ev, "tensorflow")
    if not found or not found.get("ok") or "physical_devices" not in tf:
        fault = ev.fault_at("facts.tensorflow")
        if fault is not None:
            return result(
                "device.tensorflow",
                Status.FAIL,
                f"listing TensorFlow's devices {fault.what}",
                crash_hint(ev, "tensorflow", fault),
            )
        status = Status.FAIL if gpu_profile else Status.SKIP
        return result(
            "device.tensorflow",
            status,
            "tensorflow did not import",
            pip_install(ev, tf_requirement(ev), flags=("--force-reinstall",)),
        )
    build = tf.get("build_info") or {}
    if build.get("is_cuda_build"):
        built = f"CUDA {build.get('cuda_version')}, cuDNN {build.get('cudnn_version')} build"
    elif build.get("is_rocm_build"):
        built = "ROCm build"
    else:
        built = "CPU-only build"
    gpus = tf.get("gpu_details") or [
        {"name": d.get("name")} for d in tf.get("physical_devices") or () if d.get("device_type") == "GPU"
    ]
    data: dict[str, Any] = {"build": dict(build), "gpus": list(gpus), "messages": [m.line for m in messages]}
    if gpus:
        names = "; ".join(_gpu_text(g) for g in gpus)
        jit = next((m for m in messages if m.key == "ptx-jit"), None)
        if jit is not None:
            return result(
                "device.tensorflow",
                Status.WARN,
                f"GPU: {names}; TensorFlow {tf.get('version')} has no kernels for compute capability"
                f" {jit.data.get('cc')} and compiles them at start (slow)",
                f"use a TensorFlow release built for this GPU: {pip_install(ev, 'tensorflow[and-cuda]', flags=('--upgrade',))}",
                **data,
            )
        return result(
            "device.tensorflow", Status.PASS, f"GPU: {names} (TensorFlow {tf.get('version')}, {built})", **data
        )
    reason, hint = _gpu_reason(ev, messages)
    if gpu_profile:
        return result("device.tensorflow", Status.FAIL, f"no GPU visible to TensorFlow: {reason}", hint, **data)
    return result(
        "device.tensorflow", Status.PASS, f"CPU only (TensorFlow {tf.get('version')}, {built}; {reason})", **data
    )


def _gpu_text(gpu: Mapping[str, Any]) -> str:
    name = gpu.get("device_name") or gpu.get("name") or "GPU"
    capability = gpu.get("compute_capability")
    if capability:
        return f"{name} (compute capability {'.'.join(str(c) for c in capability)})"
    return str(name)


@check("device.gpu-driver", group=DEVICE, order=20)
def check_gpu_driver(ev: Evidence) -> CheckResult:
    gpu_profile = ev.profile.device == "gpu"
    smi = ev.nvidia_smi
    if smi is None:
        if gpu_profile and ev.platform != "darwin":
            return result(
                "device.gpu-driver",
                Status.FAIL,
                "nvidia-smi is not on PATH: no NVIDIA driver is installed",
                "install the NVIDIA driver, then check it with: nvidia-smi",
            )
        return result("device.gpu-driver", Status.SKIP, "nvidia-smi not found (no NVIDIA driver)")
    bad = Status.FAIL if gpu_profile else Status.WARN
    if smi.timed_out:
        return result(
            "device.gpu-driver", bad, "nvidia-smi did not answer in time", "check the driver with: nvidia-smi"
        )
    if not smi.ok:
        said = first_line(smi.stdout + "\n" + smi.stderr)
        return result(
            "device.gpu-driver",
            bad,
            f"nvidia-smi failed: {said}",
            "the NVIDIA driver is not working: reinstall it or reboot, then check: nvidia-smi",
        )
    rows = parse_nvidia_smi(smi.stdout)
    if not rows:
        return result("device.gpu-driver", bad, "nvidia-smi lists no GPU", "check the driver with: nvidia-smi")
    first = rows[0]
    detail = "; ".join(
        f"{r['name']}, driver {r['driver_version']}, {r['memory.total']}, compute capability {r['compute_cap']}"
        for r in rows
    )
    cuda = str((ev.facts("tensorflow").get("build_info") or {}).get("cuda_version") or "")
    table = MIN_DRIVER["win32" if ev.platform == "win32" else "linux"]
    minimum = table.get(int(cuda.split(".")[0])) if cuda[:1].isdigit() else None
    driver = as_version(first["driver_version"])
    if minimum and driver is not None and driver < Version(minimum):
        return result(
            "device.gpu-driver",
            bad,
            f"driver {driver} is older than {minimum}, the minimum for CUDA {cuda}: {detail}",
            _driver_hint(ev),
            gpus=rows,
        )
    return result("device.gpu-driver", Status.PASS, detail, gpus=rows)


def devices(ev: Evidence) -> list[dict[str, Any]]:
    """The devices for the report: what TensorFlow lists, with nvidia-smi's facts for NVIDIA GPUs."""
    tf = ev.facts("tensorflow")
    out: list[dict[str, Any]] = []
    details = {d.get("name"): d for d in tf.get("gpu_details") or ()}
    for device in tf.get("physical_devices") or ():
        entry: dict[str, Any] = {"name": device.get("name"), "type": device.get("device_type"), "source": "tensorflow"}
        extra = details.get(device.get("name"))
        if extra:
            entry["model"] = extra.get("device_name")
            if extra.get("compute_capability"):
                entry["compute_capability"] = ".".join(str(c) for c in extra["compute_capability"])
        out.append(entry)
    if ev.nvidia_smi is not None and ev.nvidia_smi.ok:
        for index, row in enumerate(parse_nvidia_smi(ev.nvidia_smi.stdout)):
            out.append(
                {
                    "name": f"nvidia:{index}",
                    "type": "GPU",
                    "source": "nvidia-smi",
                    "model": row["name"],
                    "driver": row["driver_version"],
                    "memory": row["memory.total"],
                    "compute_capability": row["compute_cap"],
                }
            )
    return out
