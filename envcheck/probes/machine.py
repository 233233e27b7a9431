"""Probe helper: the machine under the environment, read with the standard library only: the CPU's
instruction-set flags, and where the loader finds CUDA's libraries (Linux).

Loaded by path by environment.py (it is not imported by name: ``-I`` keeps this folder off sys.path).
"""

import glob
import os
import re
import sys

CPU_FLAGS = ("avx", "avx2", "avx512f", "fma", "sse4_2")
MAX_ERROR = 2000
# The CUDA libraries TensorFlow loads (libcuda is the driver's); the pip wheels ship all but libcuda.
CUDA_LIBRARIES = re.compile(
    r"^lib(cuda|cudart|cudnn[a-z_]*|cublas|cublasLt|cufft|curand|cusolver|cusparse|nccl|nvrtc|nvJitLink)\.so(\.[\d.]+)?$"
)
WSL_LIB = "/usr/lib/wsl/lib"  # where WSL2 mounts the Windows NVIDIA driver's Linux libraries
MAX_LISTED = 200


def error_facts(exc):
    return {"error_type": type(exc).__name__, "error": str(exc)[:MAX_ERROR]}


# ---------------------------------------------------------------- CPU


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
