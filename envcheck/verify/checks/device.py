"""Device checks: what TensorFlow computes on and why a GPU goes unused, the NVIDIA driver, where the CUDA
libraries come from (pip wheels, system CUDA, WSL2's Windows driver), GPU memory, and the platform errors whose
fix is not a reinstall (the Metal plugin on macOS, the Visual C++ runtime on Windows)."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from typing import Any

from packaging.version import Version

from envcheck.results import CheckResult, Status
from envcheck.verify.answers import GpuDetails
from envcheck.verify.checks.common import (
    applicable_requirements,
    crash_hint,
    error_texts,
    first_line,
    import_result,
    pip_install,
    pip_uninstall,
    requirement_text,
    result,
    setup_command,
    tensorflow_facts,
    tf_requirement,
    tf_version,
    unset,
)
from envcheck.verify.checks.cuda import (
    WSL_LIB,
    and_cuda,
    cuda_fix,
    cuda_wheels_fix,
    family,
    install_driver,
    ld_library_path,
    mapped_libraries,
    shadowed_libraries,
    upgrade_driver,
    wsl2_release,
)
from envcheck.verify.checks.nvidia import (
    CUDNN_KEYS,
    MIN_DRIVER,
    XLA_KEYS,
    TensorflowMessage,
    mebibytes,
    parse_nvidia_smi,
    tensorflow_messages,
)
from envcheck.verify.checks.registry import DEVICE, check
from envcheck.verify.evidence import Evidence, as_version
from envcheck.verify.remedy import Remedy, advice, install

BUSY_GPU = 0.75  # warn when other processes already hold this share of a GPU's memory
# The pair that loads together on Apple silicon: tensorflow-metal 1.2.0 is the plugin's last release (wheels for
# CPython 3.9 to 3.12 only) and is linked against TensorFlow's internal C++ library, which changed in 2.20.
METAL_PAIR = ("tensorflow>=2.18,<2.20", "tensorflow-metal==1.2.0")
METAL_LAST_PYTHON = (3, 12)
VC_REDIST = "https://aka.ms/vs/17/release/vc_redist.x64.exe"
CHECK_DRIVER = "check the driver with: nvidia-smi"


# ---------------------------------------------------------------------------------------------- platforms


def metal_fix(ev: Evidence) -> Remedy:
    """The tensorflow-metal plugin does not load: the pair that loads together, or the CPU without the plugin."""
    version = ev.interpreter.version_info
    cpu_only = f"or compute on the CPU without the plugin: {pip_uninstall(ev, 'tensorflow-metal')}"
    recreate = ("--recreate",) if ev.env.owned else ()
    if len(version) >= 2 and tuple(version[:2]) > METAL_LAST_PYTHON:
        return advice(
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
    # the two ways out are the user's to choose between: advice, not a step of the plan
    return advice(f"install the pair that loads together: {pip_install(ev, *pair)}; {cpu_only}")


def windows_dll_fix(ev: Evidence) -> Remedy:
    return advice(
        f"install the Microsoft Visual C++ Redistributable (x64, {VC_REDIST}) and open a new terminal;"
        " TensorFlow >= 2.11 has no GPU on native Windows: for the GPU use WSL2 (wsl --install)"
    )


_METAL_ERROR = re.compile(
    r"libmetal_plugin\.dylib|tensorflow-plugins/.*(?:Symbol not found|symbol not found|Library not loaded)"
    r"|OpKernel .*already registered|Multiple OpKernel registrations match NodeDef"
)


def platform_import_fix(ev: Evidence, text: str) -> tuple[str, Remedy, str] | None:
    """(what, fix, the error's telling line) for an import error whose fix is not a reinstall of TensorFlow."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    metal = next((line for line in lines if _METAL_ERROR.search(line)), None)
    if metal is not None and (ev.platform == "darwin" or "libmetal_plugin" in text):
        return ("the tensorflow-metal plugin does not load with this TensorFlow", metal_fix(ev), metal)
    dll = next((line for line in lines if "DLL load failed" in line), None)
    if dll is not None and ("_pywrap_tensorflow_internal" in text or ev.platform == "win32"):
        return ("a DLL TensorFlow needs is missing (the Microsoft Visual C++ runtime)", windows_dll_fix(ev), dll)
    return None


def _gpu_reason(ev: Evidence, messages: Sequence[TensorflowMessage]) -> tuple[str, Remedy]:
    """Why TensorFlow sees no GPU, and what to type: from its own messages first, then from the facts."""
    keys = {m.key: m for m in messages}
    tf = tf_version(ev)
    build = tensorflow_facts(ev).build_info
    smi_rows = parse_nvidia_smi(ev.nvidia_smi.stdout) if ev.nvidia_smi and ev.nvidia_smi.ok else []
    if "windows-native" in keys or (ev.platform == "win32" and tf is not None and tf >= Version("2.11")):
        return (
            "TensorFlow >= 2.11 has no GPU support on native Windows",
            advice("use WSL2 (wsl --install), then inside it: envcheck setup --profile deep-learning-gpu"),
        )
    if ev.platform == "darwin":
        return ("no Metal device: the tensorflow-metal plugin is missing or does not match TensorFlow", metal_fix(ev))
    if "no-driver" in keys:
        where = " (WSL2: the Windows driver's libraries)" if wsl2_release(ev) else ""
        return (f"no NVIDIA driver{where} (TensorFlow: Could not find cuda drivers)", install_driver(ev))
    if "min-capability" in keys:
        return (
            f"the GPU is older than this TensorFlow supports (needs compute capability {keys['min-capability'].data['min']})",
            advice(f"use a newer GPU, or an older TensorFlow built for it: {pip_install(ev, 'tensorflow<2.16')}"),
        )
    if "driver-insufficient" in keys:
        return ("the NVIDIA driver is too old for TensorFlow's CUDA", upgrade_driver(ev))
    if "dlopen" in keys or "missing-library" in keys:
        libraries = sorted({m.data["library"] for m in messages if m.key == "missing-library"})
        missing = f" ({', '.join(libraries)})" if libraries else ""
        return (f"TensorFlow cannot load the CUDA libraries{missing}", cuda_wheels_fix(ev))
    if "cuinit" in keys:
        error = keys["cuinit"].data.get("error", "")
        visible = ev.probe.environ.get("CUDA_VISIBLE_DEVICES")
        if "NO_DEVICE" in error and visible is not None:
            fix = unset(ev, "CUDA_VISIBLE_DEVICES", explained_by=("environ.cuda-visible-devices",))
            return (f"CUDA sees no device: CUDA_VISIBLE_DEVICES={visible!r}", fix)
        return (f"the CUDA driver failed to start: {error}", advice(CHECK_DRIVER))
    if build and build.get("is_cuda_build") is False and ev.platform.startswith("linux"):
        return ("this TensorFlow build has no CUDA support", install(and_cuda(ev)))
    if ev.nvidia_smi is None and ev.platform.startswith("linux"):
        return ("no NVIDIA driver (nvidia-smi is not on PATH)", install_driver(ev))
    if ev.nvidia_smi is not None and not smi_rows:
        return ("nvidia-smi lists no usable GPU", advice(CHECK_DRIVER))
    return ("TensorFlow lists no GPU", cuda_wheels_fix(ev))


def uses_tensorflow(ev: Evidence) -> bool:
    """The profile names TensorFlow, or the environment has it all the same (through tf_keras, keras-hub, a
    nightly build): the probe then imports it too, and its devices are checked."""
    return ev.profile.package("tensorflow") is not None or import_result(ev, "tensorflow") is not None


@check("device.tensorflow", group=DEVICE, order=10)
def check_device_tensorflow(ev: Evidence) -> CheckResult | None:
    """The devices TensorFlow lists and how it was built (CUDA and cuDNN versions), with
    TensorFlow's own reasons for not using a GPU turned into words. A GPU profile without a usable GPU fails; the
    CPU profile passes with "CPU only".

    Fix: what TensorFlow's reason asks for: the NVIDIA driver, the CUDA wheels (`pip install
    'tensorflow[and-cuda]'`), or the library path the hint gives."""
    if not uses_tensorflow(ev):
        return None
    tf = ev.probe.tensorflow
    messages = tensorflow_messages(ev.stderr)
    gpu_profile = ev.profile.device == "gpu"
    found = import_result(ev, "tensorflow")
    if not found or not found.ok or tf is None or tf.physical_devices is None:
        fault = ev.fault_at("facts.tensorflow")
        if fault is not None:
            return result(
                "device.tensorflow",
                Status.FAIL,
                f"listing TensorFlow's devices {fault.what}",
                advice(crash_hint(ev, "tensorflow", fault)),
            )
        status = Status.FAIL if gpu_profile else Status.SKIP
        # a failed import is its own finding's to fix
        because = ("package.tensorflow.import",) if not (found and found.ok) else ()
        known = platform_import_fix(ev, found.error if found else "")
        if known is not None:
            fix = Remedy(known[1].pip, known[1].commands, known[1].text, because)
            return result("device.tensorflow", status, f"tensorflow did not import: {known[0]}", fix)
        return result(
            "device.tensorflow",
            status,
            "tensorflow did not import",
            install(tf_requirement(ev), flags=("--force-reinstall",), explained_by=because),
        )
    build = tf.build_info
    if build.get("is_cuda_build"):
        built = f"CUDA {build.get('cuda_version')}, cuDNN {build.get('cudnn_version')} build"
    elif build.get("is_rocm_build"):
        built = "ROCm build"
    else:
        built = "CPU-only build"
    gpus = tf.gpu_details or tuple(GpuDetails(d.name) for d in tf.physical_devices if d.device_type == "GPU")
    data: dict[str, Any] = {
        "build": dict(build),
        "gpus": [g.to_json() for g in gpus],
        "messages": [m.line for m in messages],
    }
    if gpus:
        names = "; ".join(_gpu_text(g) for g in gpus)
        jit = next((m for m in messages if m.key == "ptx-jit"), None)
        if jit is not None:
            upgrade = pip_install(ev, "tensorflow[and-cuda]", flags=("--upgrade",))
            return result(
                "device.tensorflow",
                Status.WARN,
                f"GPU: {names}; TensorFlow {tf.version} has no kernels for compute capability"
                f" {jit.data.get('cc')} and compiles them at start (slow)",
                advice(f"use a TensorFlow release built for this GPU: {upgrade}"),
                **data,
            )
        return result("device.tensorflow", Status.PASS, f"GPU: {names} (TensorFlow {tf.version}, {built})", **data)
    reason, fix = _gpu_reason(ev, messages)
    if gpu_profile:
        return result("device.tensorflow", Status.FAIL, f"no GPU visible to TensorFlow: {reason}", fix, **data)
    return result("device.tensorflow", Status.PASS, f"CPU only (TensorFlow {tf.version}, {built}; {reason})", **data)


def _gpu_text(gpu: GpuDetails) -> str:
    name = gpu.device_name or gpu.name or "GPU"
    if gpu.compute_capability:
        return f"{name} (compute capability {'.'.join(str(c) for c in gpu.compute_capability)})"
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
                install_driver(ev),
            )
        return result("device.gpu-driver", Status.SKIP, "nvidia-smi not found (no NVIDIA driver)")
    bad = Status.FAIL if gpu_profile else Status.WARN
    if smi.timed_out:
        return result("device.gpu-driver", bad, "nvidia-smi did not answer in time", advice(CHECK_DRIVER))
    if not smi.ok:
        said = first_line(smi.stdout + "\n" + smi.stderr)
        return result(
            "device.gpu-driver",
            bad,
            f"nvidia-smi failed: {said}",
            advice("the NVIDIA driver is not working: reinstall it or reboot, then check: nvidia-smi"),
        )
    rows = parse_nvidia_smi(smi.stdout)
    if not rows:
        return result("device.gpu-driver", bad, "nvidia-smi lists no GPU", advice(CHECK_DRIVER))
    first = rows[0]
    detail = "; ".join(
        f"{r['name']}, driver {r['driver_version']}, {r['memory.total']}, compute capability {r['compute_cap']}"
        for r in rows
    )
    cuda = str(tensorflow_facts(ev).build_info.get("cuda_version") or "")
    table = MIN_DRIVER["win32" if ev.platform == "win32" else "linux"]
    minimum = table.get(int(cuda.split(".")[0])) if cuda[:1].isdigit() else None
    driver = as_version(first["driver_version"])
    if minimum and driver is not None and driver < Version(minimum):
        return result(
            "device.gpu-driver",
            bad,
            f"driver {driver} is older than {minimum}, the minimum for CUDA {cuda}: {detail}",
            upgrade_driver(ev),
            gpus=rows,
        )
    return result("device.gpu-driver", Status.PASS, detail, gpus=rows)


def devices(ev: Evidence) -> list[dict[str, Any]]:
    """The devices for the report: what TensorFlow lists, with nvidia-smi's facts for NVIDIA GPUs."""
    tf = tensorflow_facts(ev)
    out: list[dict[str, Any]] = []
    details = {d.name: d for d in tf.gpu_details}
    for device in tf.physical_devices or ():
        entry: dict[str, Any] = {"name": device.name, "type": device.device_type, "source": "tensorflow"}
        extra = details.get(device.name)
        if extra is not None:
            entry["model"] = extra.device_name
            if extra.compute_capability:
                entry["compute_capability"] = ".".join(str(c) for c in extra.compute_capability)
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


@check("device.cuda-libraries", group=DEVICE, order=30)
def check_cuda_libraries(ev: Evidence) -> CheckResult | None:
    """Where the CUDA libraries come from (Linux): the files the probe's process actually
    mapped, else the loader's search order. A system CUDA or cuDNN found through `LD_LIBRARY_PATH` ahead of the
    pip wheels' `site-packages/nvidia/*/lib` is the usual cause of "DNN library is not found".

    Fix: the `LD_LIBRARY_PATH` without the folders that shadow the wheels (the hint gives it)."""
    if not ev.platform.startswith("linux") or not uses_tensorflow(ev):
        return None
    mapped = mapped_libraries(ev)
    messages = [m for m in tensorflow_messages(error_texts(ev)) if m.key in CUDNN_KEYS + XLA_KEYS]
    if not ev.probe.libraries.wheel_dirs and not mapped and not messages:
        return None  # no CUDA here to judge (a CPU build, or no probe facts)
    bad = Status.FAIL if ev.profile.device == "gpu" else Status.WARN
    said = f"; TensorFlow: {messages[0].line}" if messages else ""
    keys = {m.key for m in messages}
    shadows = shadowed_libraries(ev)
    data: dict[str, Any] = {"mapped": mapped, "shadowed": [s.__dict__ for s in shadows]}
    if shadows:
        first = shadows[0]
        verb = "is loaded" if first.loaded else "would be loaded"
        via = " (through LD_LIBRARY_PATH)" if first.folder in ld_library_path(ev) else ""
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
        folders = sorted({posixpath.dirname(p) for p in mapped if family(posixpath.basename(p)) != "libcuda"})
        where = ", ".join(folders) if folders else "the driver only"
        return result("device.cuda-libraries", Status.PASS, f"CUDA libraries loaded from {where}", **data)
    return result(
        "device.cuda-libraries",
        Status.PASS,
        "no folder on LD_LIBRARY_PATH shadows the pip wheels' CUDA libraries (site-packages/nvidia/*/lib)",
        **data,
    )


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
    libraries = ev.probe.libraries
    files = libraries.wsl_files or ()
    library = f"{WSL_LIB}/libcuda.so.1"
    if "libcuda.so.1" not in files:
        return result(
            "device.wsl",
            bad,
            f"WSL2 ({release}) without the Windows NVIDIA driver's libraries: {library} is missing",
            install_driver(ev),
        )
    mapped = mapped_libraries(ev)
    libcuda = next((p for p in mapped if family(posixpath.basename(p)) == "libcuda"), None)
    if libcuda is not None and not libcuda.startswith("/usr/lib/wsl/"):
        return result(
            "device.wsl",
            bad,
            f"TensorFlow loaded {libcuda}, a Linux driver's libcuda, not the Windows driver's {library}",
            advice(
                "remove the NVIDIA driver installed inside WSL (WSL2 takes the driver from Windows; keep only the"
                " CUDA toolkit), then check: ldconfig -p | grep libcuda.so.1"
            ),
        )
    on_path = WSL_LIB in libraries.loader_config or WSL_LIB in ld_library_path(ev)
    if libcuda is None and not on_path:
        return result(
            "device.wsl",
            bad,
            f"{library} is there but not on the loader's path (neither /etc/ld.so.conf.d nor LD_LIBRARY_PATH)",
            advice(f"echo {WSL_LIB} | sudo tee /etc/ld.so.conf.d/ld.wsl.conf && sudo ldconfig"),
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
            advice(
                f"see which: nvidia-smi --query-compute-apps=pid,process_name,used_memory --format=csv; stop them{pick}"
            ),
            gpus=rows,
        )
    return result("device.gpu-memory", Status.PASS, summary, gpus=rows)
