"""The setup request: what the user asked for, and what it resolves to before anything is checked or built (the
folder, the backend, the kernel to register, and how printed commands name this environment again).

The resolved request is what flows down through every stage of setup; none of them works any of it out again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from envcheck.completion import read_marker
from envcheck.installers import IndexOptions
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
        return (self.prefix or default_prefix(self.profile.name)).expanduser().absolute()


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

    @property
    def profile(self) -> Profile:
        return self.request.profile


def resolve(request: SetupRequest) -> Resolved:
    """Raises UsageError for an unknown backend or installer; reads at most the marker of an existing environment
    (whose kernel name a later setup of it keeps)."""
    prefix = request.target
    backend = get_backend(request.backend, installer=request.installer, conda_exe=request.conda_exe)
    kernel = None
    if request.kernel and wants_kernel(request.profile):
        marker = read_marker(prefix)
        recorded = marker.kernel if marker is not None else None
        kernel = kernel_name(request.profile, asked=request.kernel_name, recorded=recorded, prefix=prefix)
    naming = Naming.of(request.profile, prefix if request.prefix is not None else None, kernel_name=request.kernel_name)
    return Resolved(request, backend, prefix, kernel, naming)
