"""`envcheck run`: a command run with an environment's programs first on PATH, without activating anything.

As ``uv run``, ``pixi run`` and ``conda run`` do: the environment's scripts folder goes first on PATH and
VIRTUAL_ENV (a venv) or CONDA_PREFIX (a conda prefix) names it; no activation script runs and the user's shell
is left as it was. The command's exit code is envcheck's.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

from envcheck import runner
from envcheck.errors import UsageError
from envcheck.setup.backends import backend_at
from envcheck.suggest import Naming
from envcheck.targets import Target

# Variables that point python at another installation: the environment's own python must not see them.
FOREIGN_PYTHON_VARIABLES = ("PYTHONHOME", "__PYVENV_LAUNCHER__", "PYTHONEXECUTABLE")


def program_folders(prefix: Path) -> list[Path]:
    """The folders holding an environment's programs, in the order its kind's activation puts them on PATH."""
    return list(backend_at(prefix).exports(prefix).path)


def command_environment(prefix: Path, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The user's environment with ``prefix``'s programs first on PATH and the environment named."""
    env = dict(os.environ if environ is None else environ)
    for name in FOREIGN_PYTHON_VARIABLES:
        env.pop(name, None)
    exports = backend_at(prefix).exports(prefix)
    path_key = next((key for key in env if key.upper() == "PATH"), "PATH")  # Windows spells it "Path"
    folders = [os.fspath(folder) for folder in exports.path]
    env[path_key] = os.pathsep.join([*folders, env[path_key]] if env.get(path_key) else folders)
    for name in exports.removed:
        env.pop(name, None)
    env.update(exports.variables)
    return env


def run_in_environment(target: Target, command: Sequence[str]) -> int:
    """Run ``command`` in the target environment in the foreground; return its exit code."""
    if not command:
        raise UsageError("no command given", f"for example: {run_hint(target)}")
    if target.prefix is None:
        raise UsageError("envcheck run needs an environment folder", "name one with --prefix PATH or --profile NAME")
    env = command_environment(target.prefix)
    path_key = next((key for key in env if key.upper() == "PATH"), "PATH")
    program = shutil.which(command[0], path=env[path_key])
    if program is None:
        folder = program_folders(target.prefix)[0] if program_folders(target.prefix) else target.prefix
        raise UsageError(
            f"{command[0]}: no such command in {folder} or on PATH",
            f"check its name; to add a package to the environment: {run_hint(target, 'python', '-m', 'pip', 'install', 'PACKAGE')}",
        )
    # None: the user's command (a notebook server, a training run) lasts as long as the user wants
    return runner.run_passthrough([program, *command[1:]], env=env, timeout=None)


def run_hint(target: Target, *command: str) -> str:
    """The ``envcheck run`` line that reaches ``target`` again, with ``command`` (default: python)."""
    return Naming.of(target.profile, target.prefix if target.origin == "prefix" else None).run(*command)
