"""Where things live: envcheck's home, the default environment of a profile, an environment's python."""

from __future__ import annotations

import os
import sys
from pathlib import Path

MARKER_NAME = "envcheck-marker.json"
LOG_NAME = "envcheck-setup.log"
# Written as soon as setup creates an environment: proof that envcheck may delete or replace it.
OWNER_NAME = "envcheck-created"


def envcheck_home() -> Path:
    """The root for envcheck's environments and logs; ``ENVCHECK_HOME`` moves it (tests always do)."""
    override = os.environ.get("ENVCHECK_HOME")
    if override:
        return Path(override).expanduser().absolute()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "envcheck"


def default_prefix(profile_name: str) -> Path:
    return envcheck_home() / "envs" / profile_name


def logs_dir() -> Path:
    return envcheck_home() / "logs"


def python_in(prefix: Path) -> Path:
    """The interpreter inside an environment: bin/python (venv, conda on POSIX) or python.exe (Windows)."""
    if sys.platform == "win32":
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
