"""Where things live: envcheck's home, the default environment of a profile, an environment's python, uv."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from envcheck.errors import ProgramNotFoundError
from envcheck.shell import command

MARKER_NAME = "envcheck-marker.json"
LOG_NAME = "envcheck-setup.log"
# Written by setup before it installs anything: the options it was given, for the hints after a killed setup.
NOTE_NAME = "envcheck-setup-note.json"
# Where --recreate keeps the previous environment until the new one is complete (PREFIX.envcheck-previous).
PREVIOUS_SUFFIX = ".envcheck-previous"
# Written as soon as setup creates an environment: proof that envcheck may delete or replace it.
OWNER_NAME = "envcheck-created"


def envcheck_home() -> Path:
    """The root for envcheck's environments and logs; ``ENVCHECK_HOME`` moves it (tests always do).

    Otherwise the per-user data folder as each platform defines it, found by platformdirs: ``$XDG_DATA_HOME``
    when it is an absolute path (the XDG rules say to ignore a relative one), else ``~/.local/share`` on Linux;
    ``~/Library/Application Support`` on macOS; the folder Windows reports for local application data.
    """
    override = os.environ.get("ENVCHECK_HOME")
    if override:
        return Path(override).expanduser().absolute()
    import platformdirs  # ~3 ms, paid by the commands that need a place on disk

    return platformdirs.user_data_path("envcheck", appauthor=False, roaming=False)


def default_prefix(profile_name: str) -> Path:
    return envcheck_home() / "envs" / profile_name


def previous_of(prefix: Path) -> Path:
    """Where --recreate moves the environment at ``prefix`` aside while it builds the new one."""
    return prefix.with_name(prefix.name + PREVIOUS_SUFFIX)


def logs_dir() -> Path:
    return envcheck_home() / "logs"


def new_log_path(kind: str) -> Path:
    """A log name under logs_dir() that no other run has taken: two runs in one process and one second keep
    both logs (``kind`` is e.g. ``setup-<profile>`` or ``fix``)."""
    from datetime import datetime

    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    folder = logs_dir()
    path = folder / f"{kind}-{stamp}-{os.getpid()}.log"
    count = 1
    while path.exists():
        count += 1
        path = folder / f"{kind}-{stamp}-{os.getpid()}-{count}.log"
    return path


def python_in(prefix: Path, platform: str | None = None) -> Path:
    """The interpreter inside an environment: bin/python (venv, conda on POSIX) or, on Windows, python.exe at
    the prefix (conda) or Scripts\\python.exe (venv). The first that exists, else the first candidate.

    ``platform`` (a ``sys.platform`` value) defaults to this machine's."""
    if (platform or sys.platform) == "win32":
        candidates = [prefix / "python.exe", prefix / "Scripts" / "python.exe"]
    else:
        candidates = [prefix / "bin" / "python", prefix / "bin" / "python3"]
    for candidate in candidates:
        if candidate.exists():
            return candidate
    return candidates[0]


def is_python_environment(path: Path) -> bool:
    """A venv (pyvenv.cfg) or a conda prefix (conda-meta/): the only kinds envcheck will ever delete."""
    return (path / "pyvenv.cfg").is_file() or (path / "conda-meta").is_dir()


def environment_around(program: Path) -> Path | None:
    """The environment an interpreter (or another program of its bin/ or Scripts/ folder, or of a conda prefix
    on Windows, which keeps python at its top) belongs to: its prefix; None where it belongs to none."""
    return next((p for p in (program.parent.parent, program.parent) if is_python_environment(p)), None)


def uv_command() -> str:
    """uv as a printed command names it: ``uv`` where that name on PATH is the uv envcheck uses, else that uv's
    path (the one installed with envcheck lives in envcheck's own environment, off the user's PATH)."""
    try:
        found = find_uv()
    except ProgramNotFoundError:
        return "uv"  # none to name: the hint that needs it says how to install it
    on_path = shutil.which("uv")
    try:
        if on_path and Path(on_path).resolve() == found.resolve():
            return "uv"
    except OSError:
        pass
    return str(found)


def find_uv() -> Path:
    """The uv that was installed with envcheck, else one on PATH."""
    try:
        from uv import find_uv_bin

        return Path(find_uv_bin())
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
        if found:
            return Path(found)
    raise ProgramNotFoundError(
        "uv is not installed",
        f"install it with: {command(sys.executable, '-m', 'pip', 'install', 'uv')}  (or use --installer pip)",
    )
