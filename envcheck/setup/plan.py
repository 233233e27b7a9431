"""The plan: the steps setup runs for a resolved request, in order (the backend's create and install steps, then
the kernel's registration). Nothing here runs them; the import check that follows is a probe, not a step."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from envcheck.errors import ProgramNotFoundError, UsageError
from envcheck.kernels import install_argv
from envcheck.lock.pylock import LockedFile, hashed_requirements
from envcheck.setup.backends import BuildRequest, Step, Unbuildable, get_backend
from envcheck.setup.request import Resolved

KERNEL_TIMEOUT = 120.0


def plan_steps(
    resolved: Resolved,
    interpreter: Path,
    python_version: str | None,
    *,
    create: bool,
    locked_requirements: Path | None = None,
) -> list[Step]:
    request = resolved.request
    build = BuildRequest(
        prefix=resolved.prefix,
        interpreter=interpreter,
        python_version=python_version,
        profile=request.profile,
        installer=request.installer,
        index=request.index,
        fresh=create,
        locked_requirements=locked_requirements,
    )
    backend = resolved.backend
    install = _install_steps(resolved, build)
    steps = backend.create_steps(build) if create else []
    steps += install
    if resolved.kernel:
        argv = install_argv(os.fspath(backend.python(resolved.prefix)), resolved.kernel)
        steps.append(Step("kernel", argv, KERNEL_TIMEOUT, registers_kernel=resolved.kernel))
    return steps


def refuse_unbuildable(resolved: Resolved) -> None:
    """Refuse, before anything is checked or made, a profile the backend cannot build as asked (conda packages
    for a venv, an editable git line for uv), with the command that builds it."""
    request = resolved.request
    build = BuildRequest(
        resolved.prefix, Path(sys.executable), None, request.profile, request.installer, request.index, fresh=True
    )
    _install_steps(resolved, build)


def _install_steps(resolved: Resolved, build: BuildRequest) -> list[Step]:
    try:
        return resolved.backend.install_steps(build)
    except Unbuildable as refused:
        raise UsageError(refused.reason, _instead(resolved, refused), refused.details) from None


def _instead(resolved: Resolved, refused: Unbuildable) -> str:
    """What builds it: the command with the options that do, when their programs are here; else the rest."""
    options = dict(zip(refused.instead[::2], refused.instead[1::2], strict=True))
    missing = None
    if "--backend" in options:
        try:
            get_backend(options["--backend"], conda_exe=resolved.request.conda_exe).preflight()
        except ProgramNotFoundError as absent:
            missing = absent.message
    if missing is None:
        return "; ".join(
            filter(None, [refused.otherwise, f"or build it with: {resolved.naming.setup(*refused.instead)}"])
        )
    return "; ".join(
        filter(None, [refused.otherwise, f"{' '.join(refused.instead)} would build it as it is, but {missing}"])
    )


def write_locked_requirements(files: tuple[LockedFile, ...], path: Path) -> Path:
    """The lock's files for this machine as a hashed requirements file, the form both installers read."""
    path.write_text(hashed_requirements(files), "utf-8")
    return path
