"""Backends: everything about one kind of environment, behind one small interface, registered here by name.

A backend knows how its kind is created and filled, where its python lives, whether it brings its own python,
how to recognise one on disk and what a program run in it finds on PATH and in its variables. It does not run
anything itself: it returns ``Step``s that setup executes, reports, logs and undoes alike, so that a plan can be
shown and tested without running it. A step is a program (an argument list, run through the runner) or a
function called in envcheck's own process (an engine used as a library).

This module is the one place that lists the backends (``register``); nothing outside this package asks which
backend it has.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from envcheck.errors import UsageError
from envcheck.installers import IndexOptions

if TYPE_CHECKING:  # the command line reads this module's names: it stays light
    from envcheck.profiles.profile import Profile

INSTALL_TIMEOUT = 3600.0  # TensorFlow and its CUDA wheels are gigabytes on a slow line


class StepFailure(Exception):
    """Raised by an in-process step that failed: ``reason`` is one line on why, as a user reads it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Unbuildable(Exception):
    """Raised by ``install_steps`` for a profile this backend cannot build as asked, before anything runs.

    ``reason`` is one line on why; ``instead`` the setup options that build it (``("--installer", "pip")``), which
    setup turns into the whole command for this environment; ``otherwise`` what else the user can do, or "";
    ``details`` the whole list behind the reason, when it is long.
    """

    def __init__(
        self, reason: str, instead: tuple[str, ...], otherwise: str = "", details: tuple[str, ...] = ()
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.instead = instead
        self.otherwise = otherwise
        self.details = details


class StepOutput(Protocol):
    """What an in-process step writes to: the setup log, and the progress shown with -v."""

    def line(self, text: str) -> None:
        """One line of output (credentials in it are hidden before it is logged or shown)."""


@dataclass(frozen=True)
class Step:
    """One thing setup does: a program (``argv``) or, with ``call``, a function run in envcheck's process.

    Both are reported as their phase, logged, stopped by Ctrl-C and SIGTERM, and undone with the rest of the
    run. A function raises ``StepFailure`` to fail; it runs in the main thread, so Ctrl-C reaches it as
    KeyboardInterrupt; ``timeout`` applies to programs only (a function keeps its own time limits).
    """

    phase: str  # "create", "install" or "kernel": what the user sees as progress
    argv: tuple[str, ...]
    timeout: float
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None  # where the step's relative paths point (None: where envcheck runs)
    # turns the step's output into one line on why it failed (a conda --json error); None: setup's own guess
    explain: Callable[[str], str | None] | None = field(default=None, compare=False)
    call: Callable[[StepOutput], None] | None = field(default=None, compare=False)
    title: str = ""  # how the log names a function step
    registers_kernel: str | None = None  # the Jupyter kernel this step registers

    @classmethod
    def function(cls, phase: str, title: str, call: Callable[[StepOutput], None]) -> Step:
        return cls(phase, (), 0.0, call=call, title=title)


@dataclass(frozen=True)
class BuildRequest:
    """Everything a backend needs to plan: where, with which interpreter, what, from where, with what."""

    prefix: Path
    interpreter: Path
    # "3.11.7" or "3.11": a backend that brings its own python asks for that one; None: the profile's range
    python_version: str | None
    profile: Profile
    installer: str  # "uv" or "pip"
    index: IndexOptions = IndexOptions()
    fresh: bool = False  # install_steps follow this run's create_steps (not an update of an existing one)
    # a lock's choice for this machine as a hashed requirements file: installed exactly, nothing else
    locked_requirements: Path | None = None


@dataclass(frozen=True)
class Exports:
    """What a program run in an environment finds: its folders first on PATH, variables set and removed."""

    path: tuple[Path, ...]
    variables: Mapping[str, str]
    removed: tuple[str, ...] = ()


class Backend(Protocol):
    name: str
    # the backend's tool refuses an existing folder, even an empty one, as the place for a new environment
    needs_absent_prefix: bool
    # setup's options that only this kind takes (SetupRequest fields): given for another kind, they are refused
    options: tuple[str, ...]
    # profile files that are this kind's own by their suffix (an environment.yml is conda's): it builds them
    files: tuple[str, ...]

    @property
    def installer(self) -> str:
        """What installs the packages, as the marker and the summary name it ("uv", "pip", "micromamba", ...)."""

    def preflight(self) -> None:
        """Raise a helpful error if the backend's programs are missing; runs before anything is created."""

    def provides_python(self, asked: str | None) -> bool:
        """Whether a new environment gets its python from the backend itself (a solve) for this --python (None:
        none given), so that no local interpreter needs to exist or fit the profile."""

    def python(self, prefix: Path) -> Path:
        """The interpreter of the environment at ``prefix``."""

    def recognizes(self, prefix: Path) -> bool:
        """Whether ``prefix`` holds an environment of this kind."""

    def exports(self, prefix: Path) -> Exports:
        """What a program run in the environment at ``prefix`` finds (``envcheck run``)."""

    def create_steps(self, request: BuildRequest) -> list[Step]:
        """Steps that create a new environment at request.prefix, ready for install_steps."""

    def install_steps(self, request: BuildRequest) -> list[Step]:
        """Steps that install (or bring in line) the profile's packages into an existing environment; raises
        ``Unbuildable`` for a profile this kind cannot build as asked."""


Factory = Callable[..., Backend]
# The backends that come with envcheck, imported only when one is built: `envcheck --help` stays fast.
_BUILTIN = {"venv": "envcheck.setup.backends.venv:VenvBackend", "conda": "envcheck.setup.backends.conda:CondaBackend"}
BACKENDS = tuple(_BUILTIN)  # in the order help lists them
_REGISTERED: dict[str, Factory] = {}


def register(name: str, factory: Factory) -> None:
    """Make a backend available by ``name``. ``factory(installer=..., conda_exe=...)`` builds one for setup; a
    factory called with no options must work too (recognising an environment on disk needs none)."""
    _REGISTERED[name] = factory


def unregister(name: str) -> None:
    _REGISTERED.pop(name, None)


def names() -> tuple[str, ...]:
    """Every backend's name: envcheck's own in help's order, then the registered ones."""
    return (*BACKENDS, *sorted(set(_REGISTERED) - set(BACKENDS)))


def get_backend(name: str, **options: str | None) -> Backend:
    if name not in names():
        raise UsageError(f"unknown backend {name!r}", f"choose one of: {', '.join(sorted(names()))}")
    return _factory(name)(**options)


def options_of(name: str) -> tuple[str, ...]:
    """The setup options that only the backend ``name`` takes."""
    return tuple(getattr(_factory(name), "options", ()))


def default_for(profile_file: Path) -> str:
    """The backend that builds a profile file of this kind by default: the one whose own files it is, else venv."""
    return next((n for n in names() if profile_file.suffix in getattr(_factory(n), "files", ())), "venv")


def backend_at(prefix: Path) -> Backend:
    """The backend whose kind of environment is at ``prefix``; a venv's where none recognises it."""
    for name in names():
        backend = _factory(name)()
        if backend.recognizes(prefix):
            return backend
    return _factory("venv")()


def is_environment(prefix: Path) -> bool:
    """Whether any backend recognises an environment at ``prefix``."""
    return any(_factory(name)().recognizes(prefix) for name in names())


def _factory(name: str) -> Factory:
    if name in _BUILTIN:  # envcheck's own cannot be replaced
        module, attribute = _BUILTIN[name].split(":")
        return getattr(importlib.import_module(module), attribute)  # type: ignore[no-any-return]
    return _REGISTERED[name]
