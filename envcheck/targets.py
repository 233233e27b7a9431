"""Which environment a command examines: the default one of a profile, a prefix, or any interpreter."""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from envcheck import runner
from envcheck.completion import Marker, previous_environment, read_marker, recorded
from envcheck.errors import EnvironmentUnusableError, NoEnvironmentError, UsageError
from envcheck.locations import OWNER_NAME, default_prefix, find_uv, python_in
from envcheck.profiles.files import load_profile
from envcheck.profiles.profile import DEFAULT_PROFILE, Profile
from envcheck.shell import command
from envcheck.suggest import Naming, restore_command


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
    if profile_name is None and profile_file is None and prefix is not None and python is None:
        profile_file = recorded_file(prefix.expanduser().absolute())
    profile = load_profile(profile_name, profile_file)
    if python is not None:
        return Target(python=find_interpreter(python), prefix=None, profile=profile, marker=None, origin="python")
    origin = "prefix" if prefix is not None else "default"
    where = (prefix or default_prefix(profile.name)).expanduser().absolute()
    naming = _naming(profile, where if origin == "prefix" else None, where)
    previous = previous_environment(where)
    if not where.is_dir():
        if previous is not None:
            raise NoEnvironmentError(
                f"no environment at {where}: a `setup --recreate` did not finish, and the previous environment"
                f" is at {previous}",
                f"put it back with: {restore_command(where, previous)}; or build anew with: {naming.setup('--recreate')}",
            )
        if origin == "default":
            raise NoEnvironmentError(
                f"no environment for profile {profile.name!r} at {where}",
                f"create it with: {Naming.of(profile).setup()}"
                " (or point at an existing one with --prefix PATH or --python PATH)",
            )
        raise NoEnvironmentError(f"no such environment: {where}", "check the path given to --prefix")
    interpreter = python_in(where)
    if not interpreter.exists():
        raise EnvironmentUnusableError(
            f"{where} has no python interpreter ({interpreter} is missing)", _rebuild(where, naming, previous, profile)
        )
    return Target(python=interpreter, prefix=where, profile=profile, marker=read_marker(where), origin=origin)


def recorded_file(prefix: Path) -> Path | None:
    """The user's file an environment was set up from (``setup --file``), as its marker records it: verify judges
    the environment against that file unless told otherwise. A file that is not there any more is said so."""
    marker = read_marker(prefix)
    if marker is None or marker.file is None:
        return None
    file = Path(marker.file)
    if not file.is_file():
        raise NoEnvironmentError(
            f"{prefix} was set up from {file}, which is not there any more",
            f"name the file where it is now: {Naming(('--file', 'FILE'), prefix).verify()}; or check it against"
            f" a shipped profile: {Naming(('--profile', DEFAULT_PROFILE), prefix).verify()}",
        )
    return file


def _naming(profile: Profile, prefix: Path | None, where: Path) -> Naming:
    """How setup lines name the environment at ``where``: with the options its setup recorded, if any."""
    made = recorded(where) if (where / OWNER_NAME).is_file() else None
    return Naming.made_by(made, Naming.of(profile).profile_args, prefix)


def _rebuild(where: Path, naming: Naming, previous: Path | None, profile: Profile) -> str:
    """What to do with a folder that holds no python: only a folder setup made (or an empty one) is rebuilt
    there; setup refuses any other, so the hint does not send the user to it."""
    if previous is not None:
        return f"put the previous environment back with: {restore_command(where, previous)}"
    if (where / OWNER_NAME).is_file():
        return f"recreate it with: {naming.setup('--recreate')}"
    if not any(where.iterdir()):
        return f"create it with: {naming.setup()}"
    return (
        f"{where} is not a Python environment: point --prefix at an environment's folder, or create one at the"
        f" default place with: {Naming.of(profile).setup()}"
    )


# "3.13" or "3.13.1": a Python version asked for by number instead of by path or name
VERSION_REQUEST = re.compile(r"^(?P<major>[0-9]+)\.(?P<minor>[0-9]+)(?:\.[0-9]+)?$")
UV_FIND_TIMEOUT = 60.0
UV_INSTALL_TIMEOUT = 900.0  # a download of about 30 MB


def find_interpreter(python: str, *, provide: bool = False) -> Path:
    """An interpreter given by path, by a name on PATH (``python3``) or by version (``3.13``).

    A version is looked up as ``python3.13`` on PATH, then among the interpreters uv knows; with ``provide``
    uv downloads one when none is found (setup builds from it; verify only examines what exists).
    """
    candidate = Path(python).expanduser()
    if candidate.is_dir():
        candidate = python_in(candidate)
    if candidate.exists():
        return candidate.absolute()
    found = shutil.which(python)
    if found is not None:
        return Path(found).absolute()
    request = VERSION_REQUEST.match(python)
    if request is None:
        raise NoEnvironmentError(
            f"no such interpreter: {python}",
            "give a version (e.g. --python 3.12), a name on PATH or the path of a python executable",
        )
    named = shutil.which(f"python{request['major']}.{request['minor']}")
    if named is not None and python.count(".") == 1:
        return Path(named).absolute()
    return uv_python(python, provide=provide)


def uv_python(version: str, *, provide: bool) -> Path:
    """Python ``version`` from uv: one it already knows, else (``provide``) one it downloads."""
    uv = os.fspath(find_uv())
    # --system: not the virtual environment envcheck itself may be running in; a download is only ever asked for
    find = [uv, "python", "find", "--system", "--no-project", "--no-python-downloads", version]
    completed = runner.run(find, timeout=UV_FIND_TIMEOUT)
    if not completed.ok and provide:
        install = runner.run([uv, "python", "install", version], timeout=UV_INSTALL_TIMEOUT)
        if not install.ok:
            raise NoEnvironmentError(
                f"no Python {version} here, and uv could not download one: {_last_line(install.stderr or install.stdout)}",
                f"install Python {version} and give its path with --python PATH",
            )
        completed = runner.run(find, timeout=UV_FIND_TIMEOUT)
    path = completed.stdout.strip().splitlines()[-1:] if completed.ok else []
    if not path:
        hint = f"install it with: {command(uv, 'python', 'install', version)}; or give a path with --python PATH"
        raise NoEnvironmentError(f"no Python {version} found (looked for python{_short(version)} and asked uv)", hint)
    return Path(path[0].strip()).absolute()


def _short(version: str) -> str:
    return ".".join(version.split(".")[:2])


def _last_line(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no output"
