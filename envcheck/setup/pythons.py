"""The Pythons a file needs when the installer found no wheel for this one, and whether such a Python is here.

uv names the CPython versions a distribution has wheels for; setup's hint then offers the ``--python`` that builds
the file, but only one that was found and started here (a pyenv shim whose version is not selected exits 127), or
says plainly that no Python envcheck can use fits (TensorFlow 1.x has wheels for Python 3.7 and older only).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from envcheck import runner
from envcheck.errors import EnvcheckError
from envcheck.installers import WheelPythons
from envcheck.suggest import Naming
from envcheck.targets import uv_python

OLDEST_USABLE = (3, 8)  # the oldest Python envcheck builds an environment from
START_TIMEOUT = 15.0
_VERSION_CODE = "import sys; print('%d.%d' % sys.version_info[:2])"


@dataclass(frozen=True)
class FoundPython:
    path: Path
    by_version: bool  # `--python X.Y` finds this one (else the hint gives its path)


def python_hint(wheels: tuple[WheelPythons, ...], naming: Naming) -> str:
    """What to do when no distribution named in ``wheels`` has a wheel for this Python."""
    fits = set(wheels[0].pythons).intersection(*(w.pythons for w in wheels[1:]))
    said = "; ".join(f"{w.distribution} {w.version} has wheels for CPython {spans(w.pythons)} only" for w in wheels)
    usable = sorted((v for v in fits if _key(v) >= OLDEST_USABLE), key=_key, reverse=True)
    if not usable:
        oldest = ".".join(map(str, OLDEST_USABLE))
        return (
            f"{said}: no Python envcheck can use fits this file (envcheck builds from Python {oldest} or newer);"
            " it needs a version of the file written for a newer release"
        )
    for version in usable:
        found = find_python(version)
        if found is not None:
            return f"{said}: run: {naming.setup('--python', version if found.by_version else found.path)}"
    return (
        f"{said}, and no Python {spans(tuple(reversed(usable)))} was found here: install Python {usable[0]}, then"
        f" run: {naming.setup('--python', usable[0])}"
    )


def find_python(version: str) -> FoundPython | None:
    """A CPython ``version`` ("3.10") that starts here: ``python3.10`` on PATH, the one uv knows, or pyenv's."""
    shadowed = False
    named = shutil.which(f"python{version}")
    if named is not None:
        if _starts(Path(named), version):
            return FoundPython(Path(named), by_version=True)
        shadowed = True  # `--python 3.10` would take this one, which does not start
    found = _uv_find(version)
    if found is not None and _starts(found, version):
        return FoundPython(found, by_version=not shadowed)
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    for candidate in sorted((root / "versions").glob(f"{version}.*/bin/python{version}"), reverse=True):
        if _starts(candidate, version):
            return FoundPython(candidate, by_version=False)
    return None


def spans(versions: tuple[str, ...]) -> str:
    """("2.7", "3.3", "3.4", "3.5", "3.6") as "2.7, 3.3-3.6"."""
    groups: list[list[tuple[int, int]]] = []
    for major, minor in sorted(_key(v) for v in versions):
        if groups and groups[-1][-1] == (major, minor - 1):
            groups[-1].append((major, minor))
        else:
            groups.append([(major, minor)])
    return ", ".join(
        f"{g[0][0]}.{g[0][1]}" if len(g) == 1 else f"{g[0][0]}.{g[0][1]}-{g[-1][0]}.{g[-1][1]}" for g in groups
    )


def _key(version: str) -> tuple[int, int]:
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


def _starts(python: Path, version: str) -> bool:
    try:
        completed = runner.run([python, "-c", _VERSION_CODE], timeout=START_TIMEOUT)
    except EnvcheckError:  # not executable at all
        return False
    return completed.ok and completed.stdout.strip() == version


def _uv_find(version: str) -> Path | None:
    """The interpreter uv knows for ``version``, without downloading one."""
    try:
        return uv_python(version, provide=False)
    except EnvcheckError:
        return None
