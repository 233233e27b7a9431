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
from envcheck.setup.backends import INSTALL_TIMEOUT, BuildRequest, Exports, Step

CREATE_TIMEOUT = 300.0


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
        # a requirements.txt is read by the installer itself (-r FILE): hashes, options, includes and all
        requirements = list(request.profile.install_args) or request.profile.requirement_strings()
        if uv:
            argv = uv_install_argv(os.fspath(find_uv()), python, request.index)
        else:
            argv = pip_install_argv(python, request.index)
        return [Step("install", tuple(argv + requirements), INSTALL_TIMEOUT, env, cwd=request.profile.install_cwd)]
