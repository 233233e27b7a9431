"""Where TensorFlow's CUDA libraries come from, for the device and work checks: the pip wheels of
tensorflow[and-cuda], a system CUDA ahead of them on LD_LIBRARY_PATH, WSL2's Windows driver; and the remedies
that point TensorFlow back at the right files."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from envcheck import shell
from envcheck.verify.checks.common import pip_install, tensorflow_facts, tf_version, unset_command
from envcheck.verify.checks.nvidia import MIN_DRIVER, XLA_KEYS
from envcheck.verify.evidence import Evidence
from envcheck.verify.remedy import Remedy, advice, install

WSL_LIB = "/usr/lib/wsl/lib"  # WSL2 mounts the Windows NVIDIA driver's Linux libraries here


def wsl2_release(ev: Evidence) -> str | None:
    """The kernel release when the target runs under WSL2 (its kernel says microsoft-standard-WSL2), else None."""
    release = ev.markers.get("platform_release") or ""
    if ev.platform.startswith("linux") and "microsoft-standard-wsl2" in release.lower():
        return release
    return None


def install_driver(ev: Evidence) -> Remedy:
    """Where the NVIDIA driver comes from: Linux installs one; under WSL2 it is the Windows driver."""
    if wsl2_release(ev):
        return advice(
            "install or update the NVIDIA driver on Windows (WSL2 uses it; install no Linux driver inside WSL),"
            f" run `wsl --shutdown` in Windows, then check inside WSL: ls -l {WSL_LIB}/libcuda.so.1 && {WSL_LIB}/nvidia-smi"
        )
    return advice("install the NVIDIA driver, then check it with: nvidia-smi")


def upgrade_driver(ev: Evidence) -> Remedy:
    cuda = str(tensorflow_facts(ev).build_info.get("cuda_version") or "")
    major = int(cuda.split(".")[0]) if cuda[:1].isdigit() else 12
    table = MIN_DRIVER["win32" if ev.platform == "win32" else "linux"]
    minimum = table.get(major)
    need = f" >= {minimum}" if minimum else ""
    return advice(
        f"upgrade the NVIDIA driver to{need} (TensorFlow is built with CUDA {cuda or major}); then check: nvidia-smi"
    )


def and_cuda(ev: Evidence) -> str:
    """The requirement that brings TensorFlow's CUDA wheels, for the TensorFlow installed."""
    tf = tf_version(ev)
    return f"tensorflow[and-cuda]=={tf}" if tf is not None else "tensorflow[and-cuda]"


def cuda_wheels(ev: Evidence) -> list[tuple[str, str, str]]:
    """The NVIDIA library wheels tensorflow[and-cuda] installs (nvidia-*-cu11/cu12): name, version, folder."""
    found = []
    for name, dist in sorted(ev.distributions.items()):
        if name.startswith("nvidia-") and re.search(r"-cu1[0-9]$", name):
            found.append((name, dist.version or "?", dist.location or ""))
    return found


def cuda_wheels_fix(ev: Evidence) -> Remedy:
    """Install the CUDA wheels where they are missing; where they are there, installing them again does nothing."""
    wheels = cuda_wheels(ev)
    if not wheels or not ev.platform.startswith("linux"):
        return install(and_cuda(ev))
    listing = ", ".join(f"{name} {version}" for name, version, _ in wheels[:3]) + (" ..." if len(wheels) > 3 else "")
    folder = next((where for _, _, where in wheels if where), "")
    look = f"ls {shell.quote(folder, ev.platform)}/nvidia/*/lib" if folder else "pip show -f nvidia-cudnn-cu12"
    search = ev.probe.environ.get("LD_LIBRARY_PATH")
    path = (
        f"; LD_LIBRARY_PATH={search} is searched first and can hold other CUDA libraries: {unset_command(ev, 'LD_LIBRARY_PATH')}"
        if search
        else ""
    )
    return advice(
        f"the CUDA wheels of tensorflow[and-cuda] are installed ({listing}), so installing them again changes"
        f" nothing: check that their libraries are there: {look}{path}"
    )


@dataclass(frozen=True)
class Shadow:
    """A CUDA library the loader takes from a folder other than the pip wheel that ships it."""

    library: str  # the file name, e.g. libcudnn.so.9
    folder: str  # where it is (or would be) taken from
    wheel: str  # the wheel's folder that has the same library
    loaded: bool  # True: read from the process's own mappings; False: predicted from LD_LIBRARY_PATH


def family(name: str) -> str:
    return name.split(".so", 1)[0]


def shadowed_libraries(ev: Evidence) -> list[Shadow]:
    """CUDA libraries found ahead of the pip wheels' site-packages/nvidia/*/lib folders.

    What the process mapped is the truth when TensorFlow loaded CUDA; otherwise the search order predicts it:
    the loader reads LD_LIBRARY_PATH before the RUNPATH that points TensorFlow at the wheels' folders.
    """
    libraries = ev.probe.libraries
    wheels: dict[str, str] = {}
    for entry in libraries.wheel_dirs:
        for name in entry.cuda:
            wheels.setdefault(family(name), entry.path)
    if not wheels:
        return []
    wheel_folders = set(wheels.values())
    entries = libraries.ld_library_path
    # the maps name files with every link followed; LD_LIBRARY_PATH as the user typed it
    as_typed = {e.resolved or e.path: e.path for e in entries}
    found: list[Shadow] = []
    mapped = mapped_libraries(ev)
    for path in mapped:
        folder, name = posixpath.split(path)
        wheel = wheels.get(family(name))
        if wheel is not None and folder not in wheel_folders:
            found.append(Shadow(name, as_typed.get(folder, folder), wheel, loaded=True))
    # a library not loaded yet (cuDNN waits for the first convolution) is predicted from the search order
    loaded = {family(posixpath.basename(p)) for p in mapped}
    for entry in entries:
        if (entry.resolved or entry.path) in wheel_folders:
            continue
        for name in entry.cuda:
            wheel = wheels.get(family(name))
            if wheel is not None and family(name) not in loaded:
                loaded.add(family(name))  # the first folder on the path is the one the loader takes
                found.append(Shadow(name, entry.path, wheel, loaded=False))
    return found


def mapped_libraries(ev: Evidence) -> list[str]:
    """The CUDA libraries the probe's process had mapped: after listing the devices, after the GPU work."""
    paths = list(tensorflow_facts(ev).mapped_libraries)
    for key in ("conv", "xla"):
        work = ev.work(key)
        paths += list(work.mapped_libraries if work is not None else ())
    return list(dict.fromkeys(paths))


def ld_library_path(ev: Evidence) -> list[str]:
    return [f for f in ev.probe.environ.get("LD_LIBRARY_PATH", "").split(":") if f]


def ld_library_path_fix(ev: Evidence, folders: set[str]) -> str:
    """Take ``folders`` out of LD_LIBRARY_PATH (for this shell; the same line in ~/.bashrc makes it last)."""
    keep = [f for f in ld_library_path(ev) if f not in folders]
    if not keep:
        return unset_command(ev, "LD_LIBRARY_PATH")
    return f"export LD_LIBRARY_PATH={shell.quote(':'.join(keep), ev.platform)}"


def cuda_fix(ev: Evidence, keys: set[str]) -> Remedy:
    """The fix for cuDNN and XLA failures: the search order first, then the wheels that ship the right files."""
    shadows = shadowed_libraries(ev)
    wheels = pip_install(ev, and_cuda(ev))
    if shadows:
        folders = {s.folder for s in shadows}
        return advice(f"let TensorFlow load the pip wheels' CUDA libraries: {ld_library_path_fix(ev, folders)}")
    if keys & set(XLA_KEYS):
        return advice(
            f"install the wheels that ship ptxas and libdevice (nvidia-cuda-nvcc-cu12): {wheels}; with a system CUDA"
            " instead, point XLA at it: export XLA_FLAGS=--xla_gpu_cuda_data_dir=/usr/local/cuda"
        )
    if cuda_wheels(ev):
        return cuda_wheels_fix(ev)  # the wheels are there already: installing them again changes nothing
    return advice(f"install the cuDNN this TensorFlow was built with: {wheels}")
