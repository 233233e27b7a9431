"""The venv backend: a virtual environment created and filled with uv (default) or with venv and pip."""

from __future__ import annotations

import os

from envcheck.errors import UsageError
from envcheck.locations import find_uv, python_in
from envcheck.setup.backends import (
    INSTALL_TIMEOUT,
    INSTALLERS,
    BuildRequest,
    Step,
    explain_hash_mismatch,
    pip_install_argv,
    pip_locked_argv,
)

CREATE_TIMEOUT = 300.0


class VenvBackend:
    name = "venv"
    needs_absent_prefix = False

    def __init__(self, installer: str | None = "uv", **_: str | None) -> None:
        installer = installer or "uv"
        if installer not in INSTALLERS:
            raise UsageError(f"unknown installer {installer!r}", f"choose one of: {', '.join(INSTALLERS)}")
        self.installer = installer

    def preflight(self) -> None:
        if self.installer == "uv":
            find_uv()

    def create_steps(self, request: BuildRequest) -> list[Step]:
        prefix = os.fspath(request.prefix)
        if self.installer == "uv":
            # --seed puts pip in the environment so that %pip works in notebooks; a lock holds pip itself
            seed = [] if request.locked_requirements else ["--seed"]
            argv = [os.fspath(find_uv()), "venv", *seed, "--no-project", "--python", os.fspath(request.interpreter)]
            argv += request.index.pip_args(uv=True)  # --seed downloads pip
            argv.append(prefix)
            return [Step("create", tuple(argv), CREATE_TIMEOUT, request.index.environment(uv=True))]
        argv = [os.fspath(request.interpreter), "-m", "venv", prefix]
        return [Step("create", tuple(argv), CREATE_TIMEOUT)]

    def install_steps(self, request: BuildRequest) -> list[Step]:
        python = os.fspath(python_in(request.prefix))
        if request.locked_requirements is not None:
            argv = self._locked_argv(python, request)
            env = request.index.environment(uv=self.installer == "uv")
            return [Step("install", tuple(argv), INSTALL_TIMEOUT, env, explain=explain_hash_mismatch)]
        # a requirements.txt is read by the installer itself (-r FILE): hashes, options, includes and all
        requirements = list(request.profile.install_args) or request.profile.requirement_strings()
        if self.installer == "uv":
            argv = [os.fspath(find_uv()), "pip", "install", "--python", python]
            argv += request.index.pip_args(uv=True)
        else:
            argv = pip_install_argv(python, request.index)
        env = request.index.environment(uv=self.installer == "uv")
        return [Step("install", tuple(argv + requirements), INSTALL_TIMEOUT, env, cwd=request.profile.install_cwd)]

    def _locked_argv(self, python: str, request: BuildRequest) -> list[str]:
        assert request.locked_requirements is not None
        if self.installer == "pip":
            return pip_locked_argv(python, request.index, request.locked_requirements)
        # a sync: exactly the lock's files, anything else removed; uv checks every hash
        argv = [os.fspath(find_uv()), "pip", "sync", "--python", python, "--require-hashes"]
        return argv + request.index.pip_args(uv=True) + [os.fspath(request.locked_requirements)]
