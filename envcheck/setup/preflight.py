"""Pre-flight: everything that can be checked before a download, each failure with what to type instead.

An existing environment keeps its backend, its interpreter and its kernel; the interpreter to build from must be
64-bit and within the profile's Python range (unless the backend brings its own python); the backend's programs
must exist; a lock must fit the profile and this machine, and with --offline its wheelhouse must hold every
file; every package index must answer (unless --offline). (The target folder's own checks are ``prefix``'s.)
"""

from __future__ import annotations

import platform
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from envcheck.completion import Marker
from envcheck.errors import EnvironmentUnusableError, UsageError
from envcheck.indexes import check_indexes
from envcheck.kernels import default_name, environment_of, taken_by
from envcheck.lock.pylock import Lock, LockedFile, LockError, check_wheelhouse, fits_profile, read_lock
from envcheck.probes import run_probe
from envcheck.setup.request import Resolved
from envcheck.suggest import download_command, lock_command
from envcheck.targets import VERSION_REQUEST, find_interpreter

PROBE_TIMEOUT = 60.0
NEWEST_PYTHON_MINOR = 14  # the newest CPython release: a hint never asks for a Python that does not exist


@dataclass(frozen=True)
class Preflight:
    """What the checks found out: the interpreter to build from, the Python version the environment gets (None:
    the profile's range, left to the backend's solver), the environment markers a lock's files are chosen by,
    and the lock with its files for this machine."""

    interpreter: Path
    python_version: str | None
    markers: dict[str, str]
    lock: Lock | None = None
    locked_files: tuple[LockedFile, ...] = ()


def refuse_a_different_build(resolved: Resolved, marker: Marker) -> None:
    """An existing environment keeps its backend and its interpreter; changing either needs --recreate."""
    request = resolved.request
    rebuild_args = ("--backend", request.backend, "--recreate")
    rebuild = f"rebuild it with: {resolved.naming.setup(*rebuild_args)}"
    if marker.backend != request.backend:
        raise UsageError(
            f"{resolved.prefix} was made with the {marker.backend} backend, not {request.backend}", rebuild
        )
    if request.python is not None and VERSION_REQUEST.match(request.python):
        if marker.python != request.python and not marker.python.startswith(request.python + "."):
            raise UsageError(
                f"{resolved.prefix} uses Python {marker.python}, not {request.python}",
                f"rebuild it with: {resolved.naming.setup(*rebuild_args, '--python', request.python)}",
            )
    elif request.python is not None:
        interpreter = find_interpreter(request.python)
        outcome = run_probe(interpreter, "interpreter", timeout=PROBE_TIMEOUT)
        version = str((outcome.data or {}).get("version", "unknown"))
        if version != marker.python:
            raise UsageError(
                f"{resolved.prefix} uses Python {marker.python}; {interpreter} is Python {version}",
                f"rebuild it with: {resolved.naming.setup(*rebuild_args, '--python', request.python)}",
            )


def refuse_a_shared_kernel(resolved: Resolved) -> None:
    """A kernelspec of this name that runs another, existing environment is not replaced (ipykernel would). Only a
    name asked for with --kernel-name can be taken: the default one is chosen free for this environment."""
    python = taken_by(resolved.kernel, resolved.prefix) if resolved.kernel else None
    if python is None:
        return  # no such kernel, a dead one, or this environment's own: registering it again is safe
    own = default_name(resolved.profile, resolved.prefix)
    raise UsageError(
        f"the Jupyter kernel {resolved.kernel!r} already runs the environment at {environment_of(python)};"
        " envcheck will not repoint it",
        f"leave out --kernel-name and this environment gets its own kernel ({own!r}):"
        f" {resolved.naming.setup_with_own_kernel()}; or choose another --kernel-name",
    )


def check(resolved: Resolved, *, create: bool) -> Preflight:
    """Check the interpreter, the backend's programs and the lock; raise with a hint."""
    request = resolved.request
    if create and resolved.backend.provides_python(request.python):
        # the interpreter is not used: the backend installs python itself
        version = _provided_python(resolved)
        found = Preflight(Path(sys.executable), version, _markers_with(version))
    else:
        found = _interpreter_in_range(resolved, create=create)
    resolved.backend.preflight()
    lock, files = _locked_files(resolved, found.markers) if request.lock is not None else (None, ())
    # last, and only once everything local is right: one short request per index, none with --offline
    check_indexes(request.index, uv=resolved.backend.installer == "uv")
    if lock is None:
        return found
    return Preflight(found.interpreter, found.python_version, found.markers, lock, files)


def _provided_python(resolved: Resolved) -> str | None:
    """The python a backend that brings its own asks for: --python X.Y, else this one where the profile allows
    it, else None (the profile's range, left to the solver)."""
    request = resolved.request
    spec = request.profile.python
    if request.python is not None:
        if not spec.contains(Version(request.python), prereleases=True):
            raise UsageError(
                f"profile {request.profile.name!r} needs Python {spec} (TensorFlow's wheels), not {request.python}",
                _python_hint(resolved, spec),
            )
        return request.python
    running = platform.python_version()
    return running if spec.contains(Version(running), prereleases=True) else None


def _markers_with(version: str | None) -> dict[str, str]:
    """This machine's environment markers, with the python the backend will install (for choosing a lock's files)."""
    from packaging.markers import default_environment

    markers = {str(k): str(v) for k, v in default_environment().items()}
    if version:
        parts = version.split(".")
        markers["python_version"] = ".".join(parts[:2])
        markers["python_full_version"] = ".".join((parts + ["0"])[:3])
    return markers


def _interpreter_in_range(resolved: Resolved, *, create: bool) -> Preflight:
    request = resolved.request
    interpreter = _chosen_interpreter(resolved, create=create)
    outcome = run_probe(interpreter, "interpreter", timeout=PROBE_TIMEOUT)
    if outcome.data is None:
        raise EnvironmentUnusableError(
            f"{interpreter} could not report its version: {outcome.failure}",
            "give a working interpreter with --python PATH",
        )
    version = str(outcome.data["version"])
    bits = int(outcome.data.get("bits", 64))
    if bits != 64:
        raise UsageError(
            f"{interpreter} is a {bits}-bit Python; TensorFlow needs a 64-bit one",
            "install a 64-bit Python and pass it with --python PATH",
        )
    spec = request.profile.python_for(outcome.data.get("markers"))
    if not spec.contains(Version(version), prereleases=True):
        raise UsageError(
            f"profile {request.profile.name!r} needs Python {spec} (TensorFlow's wheels); {interpreter} is {version}",
            _python_hint(resolved, spec),
        )
    markers = {str(k): str(v) for k, v in outcome.data.get("markers", {}).items()}
    return Preflight(interpreter, version, markers)


def _chosen_interpreter(resolved: Resolved, *, create: bool) -> Path:
    """--python, else the interpreter running envcheck; an existing environment keeps its own."""
    if not create:
        return resolved.backend.python(resolved.prefix)
    python = resolved.request.python
    return find_interpreter(python, provide=True) if python else Path(sys.executable)


def _python_hint(resolved: Resolved, spec: SpecifierSet) -> str:
    """A --python that works: an interpreter in range found on PATH, else a version uv can provide."""
    minors = [minor for minor in range(NEWEST_PYTHON_MINOR, 7, -1) if spec.contains(f"3.{minor}.0")]
    found = [shutil.which(f"python3.{minor}") for minor in minors]
    usable = [f for f in found if f]
    choice = usable[0] if usable else (f"3.{minors[0]}" if minors else None)
    if choice is None:
        return f"give an interpreter within {spec} with --python PATH"
    return f"run: {resolved.naming.setup('--python', choice)}"


def _locked_files(resolved: Resolved, markers: dict[str, str]) -> tuple[Lock, tuple[LockedFile, ...]]:
    """The lock's files for the interpreter being built from; a wheelhouse is checked here, before anything is made."""
    request = resolved.request
    assert request.lock is not None
    lock = read_lock(request.lock)
    problem = fits_profile(lock, request.profile.name, request.profile.digest)
    if problem is not None:
        raise LockError(problem, f"lock it again with: {lock_command(request.profile, request.lock)}")
    files = lock.select_here(markers)
    folders = [Path(link).expanduser() for link in request.index.find_links if Path(link).expanduser().is_dir()]
    if folders:
        absent = set(files)
        for folder in folders:
            absent &= set(check_wheelhouse(folder, absent))
        if absent and request.index.offline:
            first = sorted(absent, key=lambda f: f.filename)[0]
            raise LockError(
                f"{first.filename} (and {len(absent) - 1} more) is in no --find-links folder, and --offline allows no download"
                if len(absent) > 1
                else f"{first.filename} is in no --find-links folder, and --offline allows no download",
                f"fill the folder with: {download_command(request.lock, folders[0])}",
            )
    return lock, files
