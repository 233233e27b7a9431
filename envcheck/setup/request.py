"""The setup request: what the user asked for, and what it resolves to before anything is checked or built (the
folder, the backend, the kernel to register, and how printed commands name this environment again).

The resolved request is what flows down through every stage of setup; none of them works any of it out again.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from envcheck.completion import recorded
from envcheck.installers import DEFAULT_INSTALLER, IndexOptions
from envcheck.kernels import kernel_name, wants_kernel
from envcheck.locations import default_prefix
from envcheck.profiles.profile import Profile
from envcheck.setup.backends import Backend, default_for, get_backend
from envcheck.suggest import Naming


@dataclass(frozen=True)
class SetupRequest:
    profile: Profile
    prefix: Path | None = None  # None: the profile's default location under envcheck's home
    python: str | None = None  # None: the interpreter running envcheck
    backend: str = "venv"
    installer: str = "uv"
    conda_exe: str | None = None
    index: IndexOptions = IndexOptions()
    recreate: bool = False
    kernel: bool = True
    kernel_name: str | None = None
    lock: Path | None = None  # install exactly what this PEP 751 lock holds for the machine

    @property
    def target(self) -> Path:
        """The environment's folder, absolute; a folder that is itself a symbolic link is followed, so that
        --recreate moves the environment aside, not the link."""
        target = (self.prefix or default_prefix(self.profile.name)).expanduser().absolute()
        return Path(os.path.realpath(target)) if target.is_symlink() else target


def default_backend(profile: Profile) -> str:
    """The backend whose own kind of file the profile is (an environment.yml is conda's), else venv."""
    return default_for(profile.source)


@dataclass(frozen=True)
class Resolved:
    """A request with everything that follows from it alone."""

    request: SetupRequest
    backend: Backend
    prefix: Path  # absolute
    kernel: str | None  # the Jupyter kernel to register; None: none
    naming: Naming  # how the hints and next steps name this environment again
    options: tuple[str, ...] = ()  # the request's options beyond its profile and folder, as typed (for the records)

    @property
    def profile(self) -> Profile:
        return self.request.profile


def resolve(request: SetupRequest) -> Resolved:
    """Raises UsageError for an unknown backend or installer; reads at most the record of an existing environment
    (whose kernel name, or the absence of one, a later setup of it keeps)."""
    prefix = request.target
    backend = get_backend(request.backend, installer=request.installer, conda_exe=request.conda_exe)
    kernel = None
    options = request_options(request)
    shown = options  # what printed setup lines say: the kernel this setup keeps from the record too
    if request.kernel and wants_kernel(request.profile):
        before = recorded(prefix)
        if before is not None and before.no_kernel and not request.kernel_name:
            options += ("--no-kernel",)  # set up without a kernel: it stays so until a name is asked for
            shown = options
        else:
            earlier = before.kernel if before is not None else None
            kernel = kernel_name(request.profile, asked=request.kernel_name, recorded=earlier, prefix=prefix)
            if not request.kernel_name and kernel == earlier:
                shown = ("--kernel-name", kernel, *options)
    naming = Naming.of(request.profile, prefix if request.prefix is not None else None, options=shown)
    return Resolved(request, backend, prefix, kernel, naming, options)


def request_options(request: SetupRequest) -> tuple[str, ...]:
    """The options of ``request`` beyond its profile and folder, as setup's command line takes them (paths made
    absolute, so that the command works from any folder); defaults are left out."""
    out: list[str] = []
    if request.backend != default_backend(request.profile):
        out += ["--backend", request.backend]
    if request.installer != DEFAULT_INSTALLER:
        out += ["--installer", request.installer]
    if request.conda_exe:
        out += ["--conda-exe", _absolute_if_path(request.conda_exe)]
    if request.python:
        out += ["--python", _absolute_if_path(request.python)]
    if not request.kernel:
        out.append("--no-kernel")
    elif request.kernel_name:
        out += ["--kernel-name", request.kernel_name]
    if request.lock is not None:
        out += ["--lock", os.fspath(request.lock.expanduser().absolute())]
    index = request.index
    if index.index_url:
        out += ["--index-url", index.index_url]
    for url in index.extra_index_urls:
        out += ["--extra-index-url", url]
    for link in index.find_links:
        out += ["--find-links", _absolute_if_path(link)]
    if index.offline:
        out.append("--offline")
    return tuple(out)


def _absolute_if_path(value: str) -> str:
    """A path (it names a folder: ``./wheels``, ``~/py/bin/python``), absolute; a version, a name on PATH or a
    URL as given."""
    if "://" in value or not any(sep and sep in value for sep in (os.sep, os.altsep, "/")):
        return value
    return os.fspath(Path(value).expanduser().absolute())
