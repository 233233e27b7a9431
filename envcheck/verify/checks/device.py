"""Device checks: what TensorFlow computes on and why a GPU goes unused, the NVIDIA driver, where the CUDA
libraries come from (pip wheels, system CUDA, WSL2's Windows driver), GPU memory, and the platform errors whose
fix is not a reinstall (the Metal plugin on macOS, the Visual C++ runtime on Windows)."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from packaging.version import Version

from envcheck import shell
from envcheck.results import CheckResult, Status
from envcheck.verify.checks.common import (
    applicable_requirements,
    as_version,
    crash_hint,
    error_texts,
    first_line,
    import_result,
    pip_install,
    pip_uninstall,
    requirement_text,
    result,
    setup_command,
    tf_requirement,
    tf_version,
    unset_command,
)
from envcheck.verify.checks.registry import DEVICE, check
from envcheck.verify.evidence import Evidence

MIN_DRIVER = {"linux": {12: "525.60.13", 11: "450.80.02"}, "win32": {12: "527.41", 11: "452.39"}}
# compute_cap stays last: drivers before 510 do not know it, and verify then asks without it
NVIDIA_SMI_QUERY = "name,driver_version,memory.total,memory.used,memory.free,compute_cap"
_LEGACY_QUERY = "name,driver_version,memory.total,compute_cap"  # recordings made before memory.used/free
BUSY_GPU = 0.75  # warn when other processes already hold this share of a GPU's memory
WSL_LIB = "/usr/lib/wsl/lib"  # WSL2 mounts the Windows NVIDIA driver's Linux libraries here
# The pair that loads together on Apple silicon: tensorflow-metal 1.2.0 is the plugin's last release (wheels for
# CPython 3.9 to 3.12 only) and is linked against TensorFlow's internal C++ library, which changed in 2.20.
METAL_PAIR = ("tensorflow>=2.18,<2.20", "tensorflow-metal==1.2.0")
METAL_LAST_PYTHON = (3, 12)
VC_REDIST = "https://aka.ms/vs/17/release/vc_redist.x64.exe"


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
    # cuDNN (convolutions) and XLA (jit_compile): the CUDA libraries and tools found are not the ones TF needs
    ("dnn-missing", re.compile(r"DNN library (?:is not found|initialization failed)")),
    (
        "cudnn-mismatch",
        re.compile(
            r"Loaded runtime CuDNN library: (?P<runtime>[\w.]+) but source was compiled with: (?P<compiled>[\w.]+)"
        ),
    ),
    ("libdevice", re.compile(r"libdevice not found|Can't find libdevice directory")),
    (
        "ptxas",
        re.compile(r"Couldn't (?:get|invoke) ptxas|Can't find ptxas binary|ptxas (?:exited|returned an error)"),
    ),
)
CUDNN_KEYS = ("dnn-missing", "cudnn-mismatch")
XLA_KEYS = ("libdevice", "ptxas")


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
    """Rows of `nvidia-smi --query-gpu=NVIDIA_SMI_QUERY --format=csv,noheader` (or of the older, shorter query)."""
    rows = []
    for line in output.splitlines():
        if not line.strip():
            continue
        cells = [c.strip() for c in line.split(",")]
        # memory.total, memory.used and memory.free side by side tell the two queries apart
        full = len(cells) >= 6 and all(c.endswith("MiB") or c == "[N/A]" for c in cells[-4:-1])
        keys = (NVIDIA_SMI_QUERY if full else _LEGACY_QUERY).split(",")
        if len(cells) < len(keys):
            continue
        # a GPU name may itself hold a comma: the cells after the name are counted from the end
        head = ", ".join(cells[: len(cells) - len(keys) + 1])
        row = dict(zip(keys, [head, *cells[len(cells) - len(keys) + 1 :]], strict=True))
        rows.append(row)
    return rows


def mebibytes(cell: str | None) -> int | None:
    """ "81559 MiB" -> 81559; None for "[N/A]" or a missing field."""
    match = re.match(r"^\s*(\d+)\s*MiB\s*$", cell or "")
    return int(match.group(1)) if match else None


# ---------------------------------------------------------------------------------------------- platforms


def wsl2_release(ev: Evidence) -> str | None:
    """The kernel release when the target runs under WSL2 (its kernel says microsoft-standard-WSL2), else None."""
    release = str(ev.markers.get("platform_release") or "")
    if ev.platform.startswith("linux") and "microsoft-standard-wsl2" in release.lower():
        return release
    return None


def install_driver_hint(ev: Evidence) -> str:
    """Where the NVIDIA driver comes from: Linux installs one; under WSL2 it is the Windows driver."""
    if wsl2_release(ev):
        return (
            "install or update the NVIDIA driver on Windows (WSL2 uses it; install no Linux driver inside WSL),"
            f" run `wsl --shutdown` in Windows, then check inside WSL: ls -l {WSL_LIB}/libcuda.so.1 && {WSL_LIB}/nvidia-smi"
        )
    return "install the NVIDIA driver, then check it with: nvidia-smi"


def metal_fix(ev: Evidence) -> str:
    """The tensorflow-metal plugin does not load: the pair that loads together, or the CPU without the plugin."""
    version = ev.interpreter.get("version_info") or []
    cpu_only = f"or compute on the CPU without the plugin: {pip_uninstall(ev, 'tensorflow-metal')}"
    recreate = ("--recreate",) if ev.env.owned else ()
    if len(version) >= 2 and tuple(version[:2]) > METAL_LAST_PYTHON:
        return (
            f"tensorflow-metal publishes no wheel for Python {version[0]}.{version[1]} (its last release stops at"
            f" 3.12): {setup_command(ev, '--python', '3.12', *recreate)}; {cpu_only}"
        )
    pair = METAL_PAIR
    plugin = ev.profile.package("tensorflow-metal")
    tensorflow = ev.profile.package("tensorflow")
    if plugin is not None and tensorflow is not None:
        # the profile's own pin for this platform, when it has one
        wanted = [applicable_requirements(ev, p) for p in (tensorflow, plugin)]
        if all(wanted):
            pair = (requirement_text(wanted[0][0]), requirement_text(wanted[1][0]))
    return f"install the pair that loads together: {pip_install(ev, *pair)}; {cpu_only}"


def windows_dll_fix(ev: Evidence) -> str:
    return (
        f"install the Microsoft Visual C++ Redistributable (x64, {VC_REDIST}) and open a new terminal;"
        " TensorFlow >= 2.11 has no GPU on native Windows: for the GPU use WSL2 (wsl --install)"
    )


_METAL_ERROR = re.compile(
    r"libmetal_plugin\.dylib|tensorflow-plugins/.*(?:Symbol not found|symbol not found|Library not loaded)"
    r"|OpKernel .*already registered|Multiple OpKernel registrations match NodeDef"
)


def platform_import_fix(ev: Evidence, text: str) -> tuple[str, str, str] | None:
    """(what, fix, the error's telling line) for an import error whose fix is not a reinstall of TensorFlow."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    metal = next((line for line in lines if _METAL_ERROR.search(line)), None)
    if metal is not None and (ev.platform == "darwin" or "libmetal_plugin" in text):
        return ("the tensorflow-metal plugin does not load with this TensorFlow", metal_fix(ev), metal)
    dll = next((line for line in lines if "DLL load failed" in line), None)
    if dll is not None and ("_pywrap_tensorflow_internal" in text or ev.platform == "win32"):
        return ("a DLL TensorFlow needs is missing (the Microsoft Visual C++ runtime)", windows_dll_fix(ev), dll)
    return None


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
        return ("no Metal device: the tensorflow-metal plugin is missing or does not match TensorFlow", metal_fix(ev))
    if "no-driver" in keys:
        where = " (WSL2: the Windows driver's libraries)" if wsl2_release(ev) else ""
        return (f"no NVIDIA driver{where} (TensorFlow: Could not find cuda drivers)", install_driver_hint(ev))
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
        return ("no NVIDIA driver (nvidia-smi is not on PATH)", install_driver_hint(ev))
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
    """The devices TensorFlow lists and how it was built (CUDA and cuDNN versions), with
    TensorFlow's own reasons for not using a GPU turned into words. A GPU profile without a usable GPU fails; the
    CPU profile passes with "CPU only".

    Fix: what TensorFlow's reason asks for: the NVIDIA driver, the CUDA wheels (`pip install
    'tensorflow[and-cuda]'`), or the library path the hint gives."""
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
        known = platform_import_fix(ev, str((found or {}).get("error", "")))
        if known is not None:
            return result("device.tensorflow", status, f"tensorflow did not import: {known[0]}", known[1])
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
    """The NVIDIA driver and GPUs, from `nvidia-smi` (on WSL2 also from
    `/usr/lib/wsl/lib`): driver version, GPU name, memory and compute capability, and whether the driver is
    new enough for TensorFlow's CUDA. Skipped on a machine without an NVIDIA GPU.

    Fix: install or update the NVIDIA driver (on WSL2: the Windows driver)."""
    gpu_profile = ev.profile.device == "gpu"
    smi = ev.nvidia_smi
    if smi is None:
        if gpu_profile and ev.platform != "darwin":
            return result(
                "device.gpu-driver",
                Status.FAIL,
                "nvidia-smi is not on PATH: no NVIDIA driver is installed",
                install_driver_hint(ev),
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


# ---------------------------------------------------------------------------------------------- CUDA libraries


@dataclass(frozen=True)
class Shadow:
    """A CUDA library the loader takes from a folder other than the pip wheel that ships it."""

    library: str  # the file name, e.g. libcudnn.so.9
    folder: str  # where it is (or would be) taken from
    wheel: str  # the wheel's folder that has the same library
    loaded: bool  # True: read from the process's own mappings; False: predicted from LD_LIBRARY_PATH


def _family(name: str) -> str:
    return name.split(".so", 1)[0]


def shadowed_libraries(ev: Evidence) -> list[Shadow]:
    """CUDA libraries found ahead of the pip wheels' site-packages/nvidia/*/lib folders.

    What the process mapped is the truth when TensorFlow loaded CUDA; otherwise the search order predicts it:
    the loader reads LD_LIBRARY_PATH before the RUNPATH that points TensorFlow at the wheels' folders.
    """
    libraries = ev.probe.get("libraries") or {}
    wheels: dict[str, str] = {}
    for entry in libraries.get("wheel_dirs") or ():
        for name in entry.get("cuda") or ():
            wheels.setdefault(_family(name), str(entry.get("path")))
    if not wheels:
        return []
    wheel_folders = set(wheels.values())
    entries = list(libraries.get("ld_library_path") or ())
    # the maps name files with every link followed; LD_LIBRARY_PATH as the user typed it
    as_typed = {str(e.get("resolved") or e.get("path")): str(e.get("path")) for e in entries}
    found: list[Shadow] = []
    mapped = mapped_libraries(ev)
    for path in mapped:
        folder, name = posixpath.split(path)
        wheel = wheels.get(_family(name))
        if wheel is not None and folder not in wheel_folders:
            found.append(Shadow(name, as_typed.get(folder, folder), wheel, loaded=True))
    # a library not loaded yet (cuDNN waits for the first convolution) is predicted from the search order
    loaded = {_family(posixpath.basename(p)) for p in mapped}
    for entry in entries:
        folder = str(entry.get("path"))
        if str(entry.get("resolved") or folder) in wheel_folders:
            continue
        for name in entry.get("cuda") or ():
            wheel = wheels.get(_family(name))
            if wheel is not None and _family(name) not in loaded:
                loaded.add(_family(name))  # the first folder on the path is the one the loader takes
                found.append(Shadow(name, folder, wheel, loaded=False))
    return found


def mapped_libraries(ev: Evidence) -> list[str]:
    """The CUDA libraries the probe's process had mapped: after listing the devices, after the GPU work."""
    paths = list(ev.facts("tensorflow").get("mapped_libraries") or ())
    for key in ("conv", "xla"):
        paths += list((ev.work(key) or {}).get("mapped_libraries") or ())
    return list(dict.fromkeys(str(p) for p in paths))


def ld_library_path_fix(ev: Evidence, folders: set[str]) -> str:
    """Take ``folders`` out of LD_LIBRARY_PATH (for this shell; the same line in ~/.bashrc makes it last)."""
    current = str((ev.probe.get("environ") or {}).get("LD_LIBRARY_PATH") or "")
    keep = [f for f in current.split(":") if f and f not in folders]
    if not keep:
        return unset_command(ev, "LD_LIBRARY_PATH")
    return f"export LD_LIBRARY_PATH={shell.quote(':'.join(keep), ev.platform)}"


def cuda_fix(ev: Evidence, keys: set[str]) -> str:
    """The fix for cuDNN and XLA failures: the search order first, then the wheels that ship the right files."""
    shadows = shadowed_libraries(ev)
    tf = tf_version(ev)
    wheels = pip_install(ev, f"tensorflow[and-cuda]=={tf}" if tf is not None else "tensorflow[and-cuda]")
    if shadows:
        folders = {s.folder for s in shadows}
        return f"let TensorFlow load the pip wheels' CUDA libraries: {ld_library_path_fix(ev, folders)}"
    if keys & set(XLA_KEYS):
        return (
            f"install the wheels that ship ptxas and libdevice (nvidia-cuda-nvcc-cu12): {wheels}; with a system CUDA"
            " instead, point XLA at it: export XLA_FLAGS=--xla_gpu_cuda_data_dir=/usr/local/cuda"
        )
    installed = cuda_wheels(ev)
    if installed:
        # the wheels are there already: installing them again changes nothing
        return _cuda_wheels_hint(
            ev, installed, f"tensorflow[and-cuda]=={tf}" if tf is not None else "tensorflow[and-cuda]"
        )
    return f"install the cuDNN this TensorFlow was built with: {wheels}"


@check("device.cuda-libraries", group=DEVICE, order=30)
def check_cuda_libraries(ev: Evidence) -> CheckResult | None:
    """Where the CUDA libraries come from (Linux): the files the probe's process actually
    mapped, else the loader's search order. A system CUDA or cuDNN found through `LD_LIBRARY_PATH` ahead of the
    pip wheels' `site-packages/nvidia/*/lib` is the usual cause of "DNN library is not found".

    Fix: the `LD_LIBRARY_PATH` without the folders that shadow the wheels (the hint gives it)."""
    if not ev.platform.startswith("linux") or ev.profile.package("tensorflow") is None:
        return None
    libraries = ev.probe.get("libraries") or {}
    mapped = mapped_libraries(ev)
    messages = [m for m in tensorflow_messages(error_texts(ev)) if m.key in CUDNN_KEYS + XLA_KEYS]
    if not libraries.get("wheel_dirs") and not mapped and not messages:
        return None  # no CUDA here to judge (a CPU build, or no probe facts)
    bad = Status.FAIL if ev.profile.device == "gpu" else Status.WARN
    said = f"; TensorFlow: {messages[0].line}" if messages else ""
    keys = {m.key for m in messages}
    shadows = shadowed_libraries(ev)
    data: dict[str, Any] = {"mapped": mapped, "shadowed": [s.__dict__ for s in shadows]}
    if shadows:
        first = shadows[0]
        verb = "is loaded" if first.loaded else "would be loaded"
        via = " (through LD_LIBRARY_PATH)" if first.folder in _ld_library_path(ev) else ""
        more = f" and {len(shadows) - 1} more" if len(shadows) > 1 else ""
        status = bad if messages else Status.WARN
        return result(
            "device.cuda-libraries",
            status,
            f"{first.library}{more} {verb} from {first.folder}{via}, ahead of the pip wheel's {first.wheel}{said}",
            cuda_fix(ev, keys),
            **data,
        )
    if messages:
        return result("device.cuda-libraries", bad, f"TensorFlow: {messages[0].line}", cuda_fix(ev, keys), **data)
    if mapped:
        folders = sorted({posixpath.dirname(p) for p in mapped if _family(posixpath.basename(p)) != "libcuda"})
        where = ", ".join(folders) if folders else "the driver only"
        return result("device.cuda-libraries", Status.PASS, f"CUDA libraries loaded from {where}", **data)
    return result(
        "device.cuda-libraries",
        Status.PASS,
        "no folder on LD_LIBRARY_PATH shadows the pip wheels' CUDA libraries (site-packages/nvidia/*/lib)",
        **data,
    )


def _ld_library_path(ev: Evidence) -> list[str]:
    return [f for f in str((ev.probe.get("environ") or {}).get("LD_LIBRARY_PATH") or "").split(":") if f]


@check("device.wsl", group=DEVICE, order=25)
def check_wsl(ev: Evidence) -> CheckResult | None:
    """Under WSL2 the driver is Windows's: `libcuda.so.1` comes from `/usr/lib/wsl/lib`, which must be
    on the loader's path; a Linux driver's libcuda loaded inside WSL is reported. Runs only on a WSL2 kernel.

    Fix: install or update the NVIDIA driver on Windows (never a Linux driver inside WSL), and keep
    `/usr/lib/wsl/lib` on `LD_LIBRARY_PATH` as WSL sets it."""
    release = wsl2_release(ev)
    if release is None:
        return None
    bad = Status.FAIL if ev.profile.device == "gpu" else Status.WARN
    libraries = ev.probe.get("libraries") or {}
    files = (libraries.get("wsl") or {}).get("files") or []
    library = f"{WSL_LIB}/libcuda.so.1"
    if "libcuda.so.1" not in files:
        return result(
            "device.wsl",
            bad,
            f"WSL2 ({release}) without the Windows NVIDIA driver's libraries: {library} is missing",
            install_driver_hint(ev),
        )
    mapped = mapped_libraries(ev)
    libcuda = next((p for p in mapped if _family(posixpath.basename(p)) == "libcuda"), None)
    if libcuda is not None and not libcuda.startswith("/usr/lib/wsl/"):
        return result(
            "device.wsl",
            bad,
            f"TensorFlow loaded {libcuda}, a Linux driver's libcuda, not the Windows driver's {library}",
            "remove the NVIDIA driver installed inside WSL (WSL2 takes the driver from Windows; keep only the CUDA"
            " toolkit), then check: ldconfig -p | grep libcuda.so.1",
        )
    on_path = WSL_LIB in (libraries.get("loader_config") or ()) or WSL_LIB in _ld_library_path(ev)
    if libcuda is None and not on_path:
        return result(
            "device.wsl",
            bad,
            f"{library} is there but not on the loader's path (neither /etc/ld.so.conf.d nor LD_LIBRARY_PATH)",
            f"echo {WSL_LIB} | sudo tee /etc/ld.so.conf.d/ld.wsl.conf && sudo ldconfig",
        )
    return result("device.wsl", Status.PASS, f"WSL2: libcuda.so.1 from the Windows driver ({libcuda or library})")


@check("device.gpu-memory", group=DEVICE, order=40)
def check_gpu_memory(ev: Evidence) -> CheckResult | None:
    """Memory other processes already hold on each GPU, read from `nvidia-smi` before the probe
    touches the GPU: a warning when they hold three quarters of a GPU.

    Fix: stop or wait for the processes that hold it; the hint's `nvidia-smi --query-compute-apps=...` names
    them."""
    if ev.nvidia_smi is None or not ev.nvidia_smi.ok:
        return None
    rows = [r for r in parse_nvidia_smi(ev.nvidia_smi.stdout) if mebibytes(r.get("memory.free")) is not None]
    if not rows:
        return None
    busy = []
    for index, row in enumerate(rows):
        total, free = mebibytes(row.get("memory.total")), mebibytes(row.get("memory.free"))
        if total and free is not None and total - free >= BUSY_GPU * total:
            busy.append(f"GPU {index} ({row['name']}): {total - free} of {total} MiB in use, {free} MiB free")
    summary = "; ".join(f"GPU {i}: {r['memory.free']} free of {r['memory.total']}" for i, r in enumerate(rows))
    if busy:
        others = [i for i, r in enumerate(rows) if not any(b.startswith(f"GPU {i} ") for b in busy)]
        pick = f", or use a free one: export CUDA_VISIBLE_DEVICES={others[0]}" if others else ""
        return result(
            "device.gpu-memory",
            Status.WARN,
            f"other processes hold most of the memory: {'; '.join(busy)}",
            f"see which: nvidia-smi --query-compute-apps=pid,process_name,used_memory --format=csv; stop them{pick}",
            gpus=rows,
        )
    return result("device.gpu-memory", Status.PASS, summary, gpus=rows)
