"""The evidence verify's rules judge: the probes' typed answers and the host's own facts, in one frozen ``Evidence``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from envcheck.completion import Marker, SetupNote
from envcheck.lock.pylock import Lock
from envcheck.profiles.profile import Profile
from envcheck.verify.answers import (
    EnvironmentAnswer,
    ImportResult,
    ImportsAnswer,
    Installed,
    Interpreter,
    KernelAnswer,
    Work,
)

# The shell variables that change how python and TensorFlow load, and the prefix of TensorFlow's C++ logging ones.
LOADING_VARIABLES = (
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONNOUSERSITE",
    "KERAS_BACKEND",
    "TF_USE_LEGACY_KERAS",
    "CUDA_VISIBLE_DEVICES",
    "LD_LIBRARY_PATH",
)
TF_CPP_PREFIX = "TF_CPP_"
# Of those, the ones verify's own probes drop or override: a second probe imports the stack with them.
PATH_VARIABLES = ("PYTHONPATH", "PYTHONHOME")


def loading_variables(environ: Mapping[str, str]) -> dict[str, str]:
    """The user's own values of the variables that change how python and TensorFlow load, as their shell has them."""
    picked = {name: environ[name] for name in LOADING_VARIABLES if name in environ}
    picked.update({k: v for k, v in sorted(environ.items()) if k.startswith(TF_CPP_PREFIX)})
    return picked


# ---------------------------------------------------------------------------------------------- evidence


@dataclass(frozen=True)
class ProgramOutput:
    """What a program verify ran (pip check, nvidia-smi) left behind: the rules read this, not the runner's type."""

    returncode: int | None  # None when it was killed for running past its timeout
    stdout: str
    stderr: str
    duration: float
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out


@dataclass(frozen=True)
class CondaRecord:
    """One ``conda-meta/*.json``: a package conda linked into the prefix."""

    name: str
    version: str
    build: str
    channel: str
    dists: frozenset[str]  # canonical names of the Python distributions among its files
    dist_dirs: frozenset[str]  # their .dist-info / .egg-info folders, relative to the prefix


@dataclass(frozen=True)
class Distribution:
    """One ``*.dist-info`` in the prefix's site-packages."""

    name: str  # canonical
    version: str
    installer: str | None  # the INSTALLER file: "conda", "pip", "uv", ... None when there is none
    relative: str  # its folder relative to the prefix, with forward slashes


@dataclass(frozen=True)
class CondaFacts:
    """What verify read from a conda prefix's files (no program run, no script executed)."""

    prefix: str
    owned: bool  # envcheck created it
    python: str  # the interpreter file envcheck runs
    python_exists: bool
    python_resolved: str  # with every link followed
    prefix_resolved: str
    reported_prefix: str | None  # the probe's sys.prefix, when it reported one
    reported_prefix_resolved: str | None
    records: tuple[CondaRecord, ...]
    distributions: tuple[Distribution, ...]
    activation: tuple[tuple[str, tuple[str, ...]], ...]  # etc/conda/activate.d scripts and the variables each sets
    stored_variables: tuple[str, ...]  # saved with `conda env config vars set`


@dataclass(frozen=True)
class ProbeFault:
    """A probe process that did not finish: killed by a signal, past its timeout, or exited mid-way."""

    scope: str  # "environment" for the one process that imports everything, else the import name probed alone
    stage: str | None  # the last stage the probe announced, e.g. "import tensorflow" or "work.matmul"
    exit: str  # "was killed by SIGSEGV", "did not finish within its time limit", "exited with code 1"
    signal: str | None = None
    timed_out: bool = False
    timeout: float | None = None

    @property
    def what(self) -> str:
        if self.timed_out and self.timeout is not None:
            return f"did not finish within {self.timeout:g} s"
        return self.exit


@dataclass(frozen=True)
class LockFacts:
    """The lock verify compares the environment with: named with --lock, or recorded in the marker by setup."""

    path: str
    digest: str | None
    lock: Lock | None  # None: it could not be read, and ``problem`` says why
    problem: str | None = None
    find_links: tuple[str, ...] = ()  # where setup took the wheels from, for the repair command
    offline: bool = False


@dataclass(frozen=True)
class EnvState:
    """What the host knows about the environment's folder (``prefix`` is None for a bare interpreter)."""

    prefix: str | None = None
    owned: bool = False  # envcheck created it (its ownership file is there)
    marker: Marker | None = None
    note: SetupNote | None = None  # what the setup that did not finish was asked (no marker)
    previous: str | None = None  # the complete environment an interrupted --recreate left aside

    @property
    def made_with(self) -> Marker | SetupNote | None:
        """The record of the options that made it: the marker, else the note of an unfinished setup."""
        return self.marker or self.note


@dataclass(frozen=True)
class Evidence:
    """Everything the rules judge. Built by verify (``envcheck.verify.gather``); recorded by the tests."""

    profile: Profile
    python: str  # the target's interpreter, as the user will type it in a hint
    probe: EnvironmentAnswer  # the environment probe's answer (merged with per-package answers after a crash)
    env: EnvState = EnvState()
    origin: str = "python"  # "default", "prefix" or "python"
    same_prefix: bool | None = None  # the probe's sys.prefix is the target folder; None: nothing to compare
    faults: tuple[ProbeFault, ...] = ()
    stderr: str = ""  # what the probes wrote to stderr: TensorFlow's reasons live there
    probe_seconds: float | None = None
    pip_check: ProgramOutput | None = None  # None: not run
    pip_check_tool: str = "pip"
    nvidia_smi: ProgramOutput | None = None  # None: nvidia-smi is not on PATH
    kernel: KernelAnswer | None = None  # the kernel probe's answer; None: not run
    kernel_fault: ProbeFault | None = None
    kernel_name: str | None = None
    no_kernel: bool = False  # set up with --no-kernel: the profile wants a kernel, this environment has none
    # kernels (this environment's, the default python3) whose program lives in another environment: its folder
    kernel_owners: Mapping[str, str] = field(default_factory=dict)
    profile_args: tuple[str, ...] = ()  # how to name the profile again: ("--profile", "x") or ("--file", path)
    timeout: float | None = None
    conda: CondaFacts | None = None  # None: not a conda prefix
    # the user's shell, not the probes' cleaned environment: LOADING_VARIABLES as set where envcheck runs
    shell: Mapping[str, str] = field(default_factory=dict)
    # what a python started from that shell imports (the imports probe run with PYTHONPATH/PYTHONHOME and the
    # user site as the shell has them); None: not run, because neither variable is set
    shell_probe: ImportsAnswer | None = None
    shell_probe_failure: str | None = None  # why that probe gave no answer (its python did not start ...)
    lock: LockFacts | None = None  # None: no lock named and none recorded in the marker

    # -- short ways to the probe's answer
    @property
    def interpreter(self) -> Interpreter:
        return self.probe.interpreter

    @property
    def platform(self) -> str:
        return self.probe.interpreter.platform or "linux"

    @property
    def markers(self) -> dict[str, str]:
        return dict(self.probe.interpreter.markers)

    @property
    def distributions(self) -> Mapping[str, Installed]:
        return self.probe.distributions or {}

    @property
    def distributions_known(self) -> bool:
        return self.probe.distributions is not None

    @property
    def imports(self) -> Mapping[str, ImportResult]:
        return self.probe.imports

    def work(self, key: str) -> Work | None:
        return self.probe.work.get(key)

    def version_of(self, name: str) -> Version | None:
        found = self.distributions.get(canonicalize_name(name))
        return as_version(found.version) if found is not None else None

    def fault_at(self, stage: str) -> ProbeFault | None:
        """The fault that stopped a probe at ``stage``, preferring the one confirmed by a probe of its own."""
        hits = [f for f in self.faults if f.stage == stage]
        hits.sort(key=lambda f: f.scope == "environment")
        return hits[0] if hits else None


def as_version(raw: object) -> Version | None:
    if not raw:
        return None
    try:
        return Version(str(raw))
    except InvalidVersion:
        return None
