"""An environment's Jupyter kernel: whether it has one, its name, where its kernelspec lives, the command that
registers it, and which environment a registered kernelspec runs.

setup registers the kernel, verify checks it and prints the command that registers it again; both name it
here, so that they cannot disagree.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path

from envcheck.locations import environment_around
from envcheck.profiles.profile import Profile


def wants_kernel(profile: Profile) -> bool:
    """Profiles that ask for a kernel and install ipykernel get one: setup registers it, verify checks it."""
    return profile.kernel and profile.package("ipykernel") is not None


def default_name(profile: Profile, prefix: str | os.PathLike[str] | None = None) -> str:
    """The kernel name of an environment of ``profile`` at ``prefix`` when nobody chose one.

    The first environment of a profile gets ``envcheck-<profile>``; a second one, whose kernel that name already
    runs, gets a name of its own derived from its folder (``envcheck-<profile>-<folder>``, with a short digest of
    its whole path when even that is taken), so that no environment takes another one's kernel. A name is free
    for an environment when no kernel has it, its kernel's program is gone, or it runs this environment already.
    Without a prefix, the profile's name.
    """
    base = f"envcheck-{profile.name}"
    if prefix is None:
        return base
    where = Path(os.path.abspath(os.path.expanduser(prefix)))
    folder = f"{base}-{_slug(where.name)}"
    digest = hashlib.sha256(os.fsencode(os.path.realpath(where))).hexdigest()[:8]
    candidates = (base, folder, f"{folder}-{digest}")
    return next((name for name in candidates if is_free(name, where)), candidates[-1])


def _slug(text: str) -> str:
    """A folder's name as Jupyter takes a kernel name: letters, digits, ``.``, ``_`` and ``-``, lower case."""
    return re.sub(r"[^a-z0-9._-]+", "-", text.lower()).strip("-.") or "env"


def is_free(name: str, prefix: str | os.PathLike[str]) -> bool:
    """Whether the environment at ``prefix`` may register (or keep) the kernel ``name``: nobody has it, its
    program no longer exists, or it already runs this environment."""
    return taken_by(name, prefix) is None


def taken_by(name: str, prefix: str | os.PathLike[str]) -> Path | None:
    """The program of the kernel ``name`` when it runs another, existing environment than the one at ``prefix``
    (which may then not take that name); else None."""
    program = spec_python(name)
    if program is None or not program.exists() or runs_environment(program, Path(prefix)):
        return None
    return program


def kernel_name(
    profile: Profile,
    *,
    asked: str | None = None,
    recorded: str | None = None,
    prefix: str | os.PathLike[str] | None = None,
) -> str:
    """An environment's kernel name: the one asked for (setup's --kernel-name), else the one its setup recorded
    in the marker while that is still free for it, else the profile's default for its folder."""
    if asked:
        return asked
    if recorded and (prefix is None or is_free(recorded, prefix)):
        return recorded
    return default_name(profile, prefix)


def kernels_dir(platform: str | None = None, environ: Mapping[str, str] | None = None) -> Path:
    """Where `ipykernel install --user` writes kernelspecs: jupyter_core's per-user data folder, by its rules
    (JUPYTER_DATA_DIR, else the platform's), known here before the environment, and its jupyter, exist.

    ``platform`` (a ``sys.platform`` value) and ``environ`` default to this machine's.
    """
    platform = platform or sys.platform
    environ = os.environ if environ is None else environ
    override = environ.get("JUPYTER_DATA_DIR")
    if override:
        base = Path(override).expanduser()
    elif platform == "win32":
        appdata = environ.get("APPDATA")
        base = Path(appdata) / "jupyter" if appdata else Path.home() / ".jupyter" / "data"
    elif platform == "darwin":
        base = Path.home() / "Library" / "Jupyter"
    else:
        xdg = environ.get("XDG_DATA_HOME")
        base = (Path(xdg) if xdg else Path.home() / ".local" / "share") / "jupyter"
    return base.absolute() / "kernels"


def spec_dir(name: str) -> Path:
    """The folder of the per-user kernelspec called ``name``."""
    return kernels_dir() / name


def install_argv(python: str, name: str) -> tuple[str, ...]:
    """Register ``python``'s Jupyter kernel as ``name``: what setup runs and what verify's hints tell to type."""
    return (python, "-m", "ipykernel", "install", "--user", "--name", name, "--display-name", f"Python ({name})")


def spec_python(name: str) -> Path | None:
    """The program the per-user kernelspec ``name`` starts (its argv[0]); None when there is no readable one."""
    try:
        argv = json.loads((spec_dir(name) / "kernel.json").read_text(encoding="utf-8")).get("argv") or []
    except (OSError, ValueError, AttributeError):
        return None
    return Path(argv[0]) if argv and isinstance(argv[0], str) else None


def runs_environment(program: Path, prefix: Path) -> bool:
    """Whether ``program`` (a kernelspec's argv[0]) lives inside the environment at ``prefix``.

    The folders are compared resolved, so that a prefix reached through a symbolic link is the same place; the
    program itself is not resolved, because a venv's python is a link to the interpreter it was made from.
    """
    folder = os.path.realpath(os.path.dirname(os.path.abspath(program)))
    try:
        Path(folder).relative_to(os.path.realpath(prefix))
    except ValueError:
        return False
    return True


def environment_of(program: Path) -> Path:
    """The environment a kernel's program belongs to (its prefix, to name in a message), else the program."""
    return environment_around(program) or program
