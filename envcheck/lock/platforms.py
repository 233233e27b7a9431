"""The platforms a lock is made for: each as PEP 508 markers see it and as wheel tags name it.

Kept apart from the lock reader so that the command line can offer the names (``--platform``) without
loading it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from packaging.tags import mac_platforms

from envcheck.errors import UsageError

_GLIBC = 35  # newest manylinux assumed for a named Linux platform (glibc 2.35: Ubuntu 22.04, Debian 12 has 2.36)
_MACOS = (14, 0)  # newest macOS assumed for a named macOS platform


@dataclass(frozen=True)
class LockPlatform:
    """A platform TensorFlow publishes wheels for, as markers see it and as wheel tags name it."""

    name: str
    markers: Mapping[str, str]
    tag_platforms: tuple[str, ...]
    pip_platform: str  # what `pip download --platform` takes (pip widens it to the older compatible tags)


def _manylinux(arch: str) -> tuple[str, ...]:
    legacy = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
    tags: list[str] = []
    for minor in range(_GLIBC, 4, -1):
        tags.append(f"manylinux_2_{minor}_{arch}")
        if minor in legacy:
            tags.append(f"{legacy[minor]}_{arch}")
    return (*tags, f"linux_{arch}")


def _posix(system: str, sys_platform: str, machine: str) -> dict[str, str]:
    return {"os_name": "posix", "sys_platform": sys_platform, "platform_system": system, "platform_machine": machine}


PLATFORMS: dict[str, LockPlatform] = {
    p.name: p
    for p in (
        LockPlatform(
            "linux-x86_64",
            _posix("Linux", "linux", "x86_64"),
            _manylinux("x86_64"),
            f"manylinux_2_{_GLIBC}_x86_64",
        ),
        LockPlatform(
            "linux-aarch64",
            _posix("Linux", "linux", "aarch64"),
            _manylinux("aarch64"),
            f"manylinux_2_{_GLIBC}_aarch64",
        ),
        LockPlatform(
            "macos-arm64",
            _posix("Darwin", "darwin", "arm64"),
            tuple(mac_platforms(_MACOS, "arm64")),
            f"macosx_{_MACOS[0]}_{_MACOS[1]}_arm64",
        ),
        LockPlatform(
            "windows-x86_64",
            {"os_name": "nt", "sys_platform": "win32", "platform_system": "Windows", "platform_machine": "AMD64"},
            ("win_amd64",),
            "win_amd64",
        ),
    )
}


def platform_named(name: str) -> LockPlatform:
    if name not in PLATFORMS:
        raise UsageError(f"unknown platform {name!r}", f"choose from: {', '.join(PLATFORMS)}")
    return PLATFORMS[name]
