"""The plan: the steps setup runs for a resolved request, in order (the backend's create and install steps, then
the kernel's registration). Nothing here runs them; the import check that follows is a probe, not a step."""

from __future__ import annotations

import os
from pathlib import Path

from envcheck.kernels import install_argv
from envcheck.lock.pylock import LockedFile, hashed_requirements
from envcheck.setup.backends import BuildRequest, Step
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
    steps = backend.create_steps(build) if create else []
    steps += backend.install_steps(build)
    if resolved.kernel:
        argv = install_argv(os.fspath(backend.python(resolved.prefix)), resolved.kernel)
        steps.append(Step("kernel", argv, KERNEL_TIMEOUT, registers_kernel=resolved.kernel))
    return steps


def write_locked_requirements(files: tuple[LockedFile, ...], path: Path) -> Path:
    """The lock's files for this machine as a hashed requirements file, the form both installers read."""
    path.write_text(hashed_requirements(files), "utf-8")
    return path
