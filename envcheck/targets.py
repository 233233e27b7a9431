"""Which environment a command examines: the default one of a profile, a prefix, or any interpreter."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from envcheck.errors import EnvironmentUnusableError, NoEnvironmentError, UsageError
from envcheck.locations import default_prefix, python_in
from envcheck.marker import Marker, read_marker
from envcheck.profiles import Profile
from envcheck.specfiles import load_profile


@dataclass(frozen=True)
class Target:
    """An environment to examine. ``prefix`` is None when only an interpreter was named (--python)."""

    python: Path
    prefix: Path | None
    profile: Profile
    marker: Marker | None
    origin: str  # "default", "prefix" or "python": how the user named it


def resolve_target(
    profile_name: str | None = None,
    profile_file: Path | None = None,
    prefix: Path | None = None,
    python: str | None = None,
) -> Target:
    if prefix is not None and python is not None:
        raise UsageError("--prefix and --python cannot be used together", "name the environment one way")
    profile = load_profile(profile_name, profile_file)
    if python is not None:
        return Target(python=find_interpreter(python), prefix=None, profile=profile, marker=None, origin="python")
    origin = "prefix" if prefix is not None else "default"
    where = (prefix or default_prefix(profile.name)).expanduser().absolute()
    if not where.is_dir():
        if origin == "default":
            raise NoEnvironmentError(
                f"no environment for profile {profile.name!r} at {where}",
                f"create it with: envcheck setup --profile {profile.name}"
                " (or point at an existing one with --prefix PATH or --python PATH)",
            )
        raise NoEnvironmentError(f"no such environment: {where}", "check the path given to --prefix")
    interpreter = python_in(where)
    if not interpreter.exists():
        raise EnvironmentUnusableError(
            f"{where} has no python interpreter ({interpreter} is missing)",
            f"recreate it with: envcheck setup --prefix {where} --recreate",
        )
    return Target(python=interpreter, prefix=where, profile=profile, marker=read_marker(where), origin=origin)


def find_interpreter(python: str) -> Path:
    """An interpreter given by path or by a name on PATH, such as ``python3``."""
    candidate = Path(python).expanduser()
    if candidate.is_dir():
        candidate = python_in(candidate)
    if not candidate.exists():
        found = shutil.which(python)
        if found is None:
            raise NoEnvironmentError(
                f"no such interpreter: {python}", "give the path of a python executable, e.g. --python /usr/bin/python3"
            )
        candidate = Path(found)
    return candidate.absolute()
