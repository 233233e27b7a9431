"""The venv backend: a virtual environment created and filled with uv (default) or with venv and pip."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from envcheck.errors import UsageError
from envcheck.installers import (
    INSTALLERS,
    explain_hash_mismatch,
    pip_install_argv,
    pip_locked_argv,
    uv_install_argv,
    uv_sync_argv,
    uv_venv_argv,
)
from envcheck.locations import find_uv, python_in
from envcheck.setup.backends import INSTALL_TIMEOUT, BuildRequest, Exports, Step, Unbuildable

CREATE_TIMEOUT = 300.0
SHOWN_NAMES = 12  # conda-only names listed in full; the rest are counted
# What PyPI has instead of a conda-only package that deep-learning environment files name
PYPI_INSTEAD = {
    "cudatoolkit": "tensorflow[and-cuda] installs CUDA and cuDNN from PyPI",
    "cudnn": "tensorflow[and-cuda] installs CUDA and cuDNN from PyPI",
    "ffmpeg": "ffmpeg comes from the system's packages (apt install ffmpeg, brew install ffmpeg)",
}


class VenvBackend:
    name = "venv"
    needs_absent_prefix = False
    options = ("installer",)  # uv or pip
    files: tuple[str, ...] = ()  # requirements.txt and envcheck's profiles: the default backend builds them

    def __init__(self, installer: str | None = "uv", **_: str | None) -> None:
        installer = installer or "uv"
        if installer not in INSTALLERS:
            raise UsageError(f"unknown installer {installer!r}", f"choose one of: {', '.join(INSTALLERS)}")
        self.installer = installer

    def preflight(self) -> None:
        if self.installer == "uv":
            find_uv()

    def provides_python(self, asked: str | None) -> bool:
        return False  # a venv is made from an interpreter that exists

    def python(self, prefix: Path) -> Path:
        return python_in(prefix)

    def recognizes(self, prefix: Path) -> bool:
        return (prefix / "pyvenv.cfg").is_file()

    def exports(self, prefix: Path) -> Exports:
        # a conda environment active in the shell is not the one the command runs in
        scripts = prefix / ("Scripts" if sys.platform == "win32" else "bin")
        return Exports((scripts,), {"VIRTUAL_ENV": os.fspath(prefix)}, ("CONDA_PREFIX", "CONDA_DEFAULT_ENV"))

    def create_steps(self, request: BuildRequest) -> list[Step]:
        prefix = os.fspath(request.prefix)
        if self.installer == "uv":
            # --seed puts pip in the environment so that %pip works in notebooks; a lock holds pip itself
            seed = request.locked_requirements is None
            argv = uv_venv_argv(os.fspath(find_uv()), os.fspath(request.interpreter), prefix, request.index, seed=seed)
            return [Step("create", tuple(argv), CREATE_TIMEOUT, request.index.environment(uv=True))]
        argv = [os.fspath(request.interpreter), "-m", "venv", prefix]
        return [Step("create", tuple(argv), CREATE_TIMEOUT)]

    def install_steps(self, request: BuildRequest) -> list[Step]:
        python = os.fspath(self.python(request.prefix))
        uv = self.installer == "uv"
        env = request.index.environment(uv=uv)
        if request.locked_requirements is not None:
            if uv:  # a sync: exactly the lock's files, anything else removed; uv checks every hash
                argv = uv_sync_argv(os.fspath(find_uv()), python, request.index, request.locked_requirements)
            else:
                argv = pip_locked_argv(python, request.index, request.locked_requirements)
            return [Step("install", tuple(argv), INSTALL_TIMEOUT, env, explain=explain_hash_mismatch)]
        _refuse_what_pypi_lacks(request)
        if uv and request.profile.editable_urls:
            raise Unbuildable(
                f"uv does not install editable installs from version control: {request.profile.editable_urls[0]}",
                ("--installer", "pip"),
                "drop the -e from that line for uv to install it, not editable",
            )
        # a requirements.txt is read by the installer itself (-r FILE): hashes, options, includes and all
        requirements = request.profile.installer_arguments()
        if uv:
            argv = uv_install_argv(os.fspath(find_uv()), python, request.index)
        else:
            argv = pip_install_argv(python, request.index)
        return [Step("install", tuple(argv + requirements), INSTALL_TIMEOUT, env, cwd=request.profile.install_cwd)]


def _refuse_what_pypi_lacks(request: BuildRequest) -> None:
    """An environment.yml's conda packages that PyPI has no equivalent of, all named before anything is made."""
    names = request.profile.conda_only
    if not names:
        return
    shown = ", ".join(names[:SHOWN_NAMES]) + (
        f" (and {len(names) - SHOWN_NAMES} more)" if len(names) > SHOWN_NAMES else ""
    )
    advice: dict[str, list[str]] = {}
    for name in names:
        if name in PYPI_INSTEAD:
            advice.setdefault(PYPI_INSTEAD[name], []).append(name)
    instead = [f"{', '.join(which)}: {said}" for said, which in advice.items()]
    them = "them" if len(names) > 1 else "it"
    raise Unbuildable(
        f"{len(names)} conda package{'s' if len(names) > 1 else ''} of {request.profile.source.name} "
        f"{'have' if len(names) > 1 else 'has'} no PyPI equivalent, so a venv cannot hold {them}: {shown}",
        ("--backend", "conda"),
        "; ".join([*instead, f"remove {them} from the file to build the rest as a venv"]),
        tuple(", ".join(names[i : i + SHOWN_NAMES]) for i in range(0, len(names), SHOWN_NAMES))
        if len(names) > SHOWN_NAMES
        else (),
    )
