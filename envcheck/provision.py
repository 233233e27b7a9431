"""`envcheck setup`: create or bring in line an environment from a profile, and never leave a half-built one.

The order of work is fixed: pre-flight (nothing downloaded yet), create, install, register the Jupyter kernel,
import check, completion marker last. Whatever this run created is removed if any of it fails, is interrupted
(Ctrl-C) or terminated (SIGTERM); with --recreate the old environment is moved aside first and put back.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import shutil
import signal
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path
from typing import IO, Any

from packaging.version import Version

from envcheck import __version__, runner
from envcheck.backends import Backend, BuildRequest, IndexOptions, Step, get_backend
from envcheck.errors import (
    EnvcheckError,
    EnvironmentUnusableError,
    Interrupted,
    RefusedError,
    SetupError,
    UsageError,
)
from envcheck.locations import (
    LOG_NAME,
    OWNER_NAME,
    default_prefix,
    is_python_environment,
    kernel_install_argv,
    logs_dir,
    python_in,
)
from envcheck.marker import Marker, read_marker, remove_marker, write_marker
from envcheck.probes import run_probe
from envcheck.profiles import Profile, profile_args
from envcheck.progress import NullReporter, Reporter
from envcheck.redaction import redact_credentials
from envcheck.shell import command
from envcheck.targets import VERSION_REQUEST, find_interpreter

PROBE_TIMEOUT = 60.0
IMPORT_CHECK_TIMEOUT = 600.0
KERNEL_TIMEOUT = 120.0
NEWEST_PYTHON_MINOR = 14  # the newest CPython release: a hint never asks for a Python that does not exist


class Action(str, Enum):
    CREATED = "created"
    UPDATED = "updated"
    RECREATED = "recreated"
    UP_TO_DATE = "up-to-date"


class PrefixState(str, Enum):
    MISSING = "missing"
    EMPTY = "empty"
    COMPLETE = "complete"  # made by envcheck, marker present
    INCOMPLETE = "incomplete"  # made by envcheck, marker missing: interrupted or killed
    FOREIGN_ENV = "foreign-env"  # a Python environment envcheck did not make
    FOREIGN = "foreign"  # anything else: a file, a folder with content


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

    @property
    def target(self) -> Path:
        return (self.prefix or default_prefix(self.profile.name)).expanduser().absolute()


@dataclass(frozen=True)
class SetupResult:
    action: Action
    prefix: Path
    profile: str
    python_version: str
    versions: dict[str, str]
    kernel: str | None
    log: Path | None
    duration: float
    next_command: str
    backend: str = "venv"
    installer: str = "uv"
    steps: list[str] = field(default_factory=list)
    phases: dict[str, float] = field(default_factory=dict)  # seconds per phase, for people and benchmarks
    run_command: str = ""  # how to use the environment: `envcheck run ... -- jupyter notebook`

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action.value,
            "prefix": str(self.prefix),
            "profile": self.profile,
            "backend": self.backend,
            "installer": self.installer,
            "python": self.python_version,
            "versions": self.versions,
            "kernel": self.kernel,
            "log": None if self.log is None else str(self.log),
            "duration": round(self.duration, 3),
            "next_command": self.next_command,
            "phases": {name: round(seconds, 3) for name, seconds in self.phases.items()},
        }


def default_backend(profile: Profile) -> str:
    """An environment.yml is a conda file: its specs mean nothing to pip."""
    return "conda" if profile.source.suffix in (".yml", ".yaml") else "venv"


def prefix_state(prefix: Path) -> PrefixState:
    if not prefix.exists() and not prefix.is_symlink():
        return PrefixState.MISSING
    if not prefix.is_dir():
        return PrefixState.FOREIGN
    if not any(prefix.iterdir()):
        return PrefixState.EMPTY
    if (prefix / OWNER_NAME).is_file() and is_python_environment(prefix):
        return PrefixState.COMPLETE if read_marker(prefix) is not None else PrefixState.INCOMPLETE
    if is_python_environment(prefix):
        return PrefixState.FOREIGN_ENV
    return PrefixState.FOREIGN


def up_to_date(request: SetupRequest) -> SetupResult | None:
    """The answer for an unchanged profile, from the marker alone: no interpreter is started."""
    prefix = request.target
    if request.recreate or prefix_state(prefix) is not PrefixState.COMPLETE:
        return None
    marker = read_marker(prefix)
    if marker is None or marker.profile_digest != request.profile.digest or marker.backend != request.backend:
        return None
    if not python_in(prefix).exists():
        return None
    return SetupResult(
        action=Action.UP_TO_DATE,
        prefix=prefix,
        profile=marker.profile,
        python_version=marker.python,
        versions=dict(marker.versions),
        kernel=marker.kernel,
        log=prefix / LOG_NAME,
        duration=0.0,
        next_command=next_command(request),
        backend=marker.backend,
        installer=marker.installer,
        run_command=run_command(request),
    )


def plan_steps(
    request: SetupRequest, backend: Backend, interpreter: Path, python_version: str | None, *, create: bool
) -> list[Step]:
    """The programs setup would run for this request, in order (the import check is a probe, not a step)."""
    build = BuildRequest(
        prefix=request.target,
        interpreter=interpreter,
        python_version=python_version,
        profile=request.profile,
        installer=request.installer,
        index=request.index,
        fresh=create,
    )
    steps = backend.create_steps(build) if create else []
    steps += backend.install_steps(build)
    kernel = kernel_name(request)
    if kernel:
        argv = kernel_install_argv(os.fspath(python_in(request.target)), kernel)
        steps.append(Step("kernel", argv, KERNEL_TIMEOUT))
    return steps


def kernel_name(request: SetupRequest) -> str | None:
    wants_kernel = request.kernel and request.profile.kernel and request.profile.package("ipykernel") is not None
    return (request.kernel_name or request.profile.kernel_name) if wants_kernel else None


def next_command(request: SetupRequest) -> str:
    """The verify command for the environment just built, as the user types it (paths quoted)."""
    return command("envcheck", "verify", *where_args(request))


def run_command(request: SetupRequest) -> str:
    """The `envcheck run` line that uses the new environment, beside verify as the next step."""
    from envcheck.launcher import run_line, suggested_command

    prefix = request.target if request.prefix is not None else None
    return run_line(request.profile, prefix, *suggested_command(request.profile))


def setup_environment(request: SetupRequest, reporter: Reporter | None = None) -> SetupResult:
    """Create, update or recreate the environment; return what was done, or raise with everything undone."""
    reporter = _PhaseClock(reporter or NullReporter())
    started = time.monotonic()
    quick = up_to_date(request)
    if quick is not None and request.python is None:
        return quick

    prefix = request.target
    state = prefix_state(prefix)
    _refuse_foreign(prefix, state, request)
    marker = read_marker(prefix) if state is PrefixState.COMPLETE and not request.recreate else None
    if marker is not None:
        _refuse_a_different_build(request, marker)
        if quick is not None:
            return quick
    backend = get_backend(request.backend, installer=request.installer, conda_exe=request.conda_exe)
    create = request.recreate or state in (PrefixState.MISSING, PrefixState.EMPTY)

    reporter.phase("pre-flight")
    interpreter, python_version = _preflight(request, backend, create=create)
    reporter.done("pre-flight", f"Python {python_version or request.profile.python}")

    steps = plan_steps(request, backend, interpreter, python_version, create=create)
    log_path = _new_log_path(request.profile.name)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with (
        log_path.open("w", encoding="utf-8") as log,
        _sigterm_as_interrupt(),
        _Rollback(prefix, state, recreate=request.recreate, absent=backend.needs_absent_prefix) as rollback,
    ):
        log.write(f"envcheck {__version__} setup of profile {request.profile.name} into {prefix}\n")
        try:
            registered = _run_steps(steps, rollback, log, reporter)
            python_version = _environment_python(prefix)
            reporter.phase("import check")
            versions = _import_check(prefix, request.profile, log)
            reporter.done("import check", f"{len([v for v in versions.values() if v])} packages")
            write_marker(
                prefix,
                Marker(
                    profile=request.profile.name,
                    profile_digest=request.profile.digest,
                    backend=backend.name,
                    installer=backend.installer,
                    python=python_version,
                    versions=versions,
                    kernel=registered,
                    created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                    envcheck_version=__version__,
                ),
            )
        except BaseException as exc:
            with _signals_held():  # a second Ctrl-C must not stop the clean-up half-way
                undone = rollback.undo()
            if isinstance(exc, KeyboardInterrupt):
                log.write("\ninterrupted\n")
                raise Interrupted(f"setup interrupted; {undone}", f"the log is at {log_path}") from None
            if isinstance(exc, EnvcheckError):
                raise type(exc)(f"{exc.message}; {undone}", exc.hint or f"the full log is at {log_path}") from None
            raise
        rollback.commit()
    final_log = prefix / LOG_NAME
    shutil.move(os.fspath(log_path), os.fspath(final_log))
    action = {
        PrefixState.COMPLETE: Action.RECREATED if request.recreate else Action.UPDATED,
        PrefixState.INCOMPLETE: Action.RECREATED,
    }.get(state, Action.CREATED)
    return SetupResult(
        action=action,
        prefix=prefix,
        profile=request.profile.name,
        python_version=python_version,
        versions=versions,
        kernel=registered,
        log=final_log,
        duration=time.monotonic() - started,
        next_command=next_command(request),
        backend=backend.name,
        installer=backend.installer,
        steps=[shown(s) for s in steps],
        phases=dict(reporter.seconds),
        run_command=run_command(request),
    )


def _refuse_foreign(prefix: Path, state: PrefixState, request: SetupRequest) -> None:
    if state is PrefixState.FOREIGN:
        raise RefusedError(
            f"{prefix} exists and is not a Python environment; envcheck will not write into it or delete it",
            "choose another --prefix, or move that folder away yourself",
        )
    if state is PrefixState.FOREIGN_ENV:
        raise RefusedError(
            f"{prefix} is a Python environment that envcheck did not create; it will not change or delete it",
            f"check it instead with: {command('envcheck', 'verify', '--prefix', prefix)}; or choose another --prefix",
        )
    if state is PrefixState.INCOMPLETE and not request.recreate:
        raise SetupError(
            f"{prefix} is incomplete (an earlier setup did not finish)",
            f"rebuild it with: {command('envcheck', 'setup', *where_args(request), '--recreate')}",
        )


def _refuse_a_different_build(request: SetupRequest, marker: Marker) -> None:
    """An existing environment keeps its backend and its interpreter; changing either needs --recreate."""
    rebuild_args = ["envcheck", "setup", *where_args(request), "--backend", request.backend, "--recreate"]
    rebuild = f"rebuild it with: {command(*rebuild_args)}"
    if marker.backend != request.backend:
        raise UsageError(f"{request.target} was made with the {marker.backend} backend, not {request.backend}", rebuild)
    if request.python is not None and VERSION_REQUEST.match(request.python):
        if marker.python != request.python and not marker.python.startswith(request.python + "."):
            raise UsageError(
                f"{request.target} uses Python {marker.python}, not {request.python}",
                f"rebuild it with: {command(*rebuild_args, '--python', request.python)}",
            )
    elif request.python is not None:
        interpreter = find_interpreter(request.python)
        outcome = run_probe(interpreter, "interpreter", timeout=PROBE_TIMEOUT)
        version = str((outcome.data or {}).get("version", "unknown"))
        if version != marker.python:
            raise UsageError(
                f"{request.target} uses Python {marker.python}; {interpreter} is Python {version}",
                f"rebuild it with: {command(*rebuild_args, '--python', request.python)}",
            )


def where_args(request: SetupRequest) -> list[str]:
    """The options that name this environment and its profile again: --profile/--file and --prefix."""
    where = list(profile_args(request.profile))
    if request.prefix is not None:
        where += ["--prefix", os.fspath(request.target)]
    return where


def chosen_interpreter(request: SetupRequest, *, create: bool) -> Path:
    """--python, else the interpreter running envcheck; an existing environment keeps its own."""
    if not create:
        return python_in(request.target)
    return find_interpreter(request.python, provide=True) if request.python else Path(sys.executable)


def _preflight(request: SetupRequest, backend: Backend, *, create: bool) -> tuple[Path, str | None]:
    """Check everything that can be checked before a download; return the interpreter and its version.

    A new conda environment gets its python from conda: no local interpreter needs to be in the profile's
    range, and the version is what --python asks for, the running one where the profile allows it, or None
    (the profile's range, left to the solver).
    """
    from_conda = (
        create and backend.name == "conda" and (request.python is None or VERSION_REQUEST.match(request.python))
    )
    version: str | None
    if from_conda:
        # the interpreter is not used: conda installs python itself
        interpreter, version = Path(sys.executable), _conda_python(request)
    else:
        interpreter, version = _interpreter_in_range(request, create=create)
    backend.preflight()
    if create:
        target = request.target
        existing = _nearest_existing(target)
        if not os.access(existing, os.W_OK):
            raise UsageError(f"cannot write to {existing}", "choose a writable place with --prefix PATH")
        free_gb = shutil.disk_usage(existing).free / 1e9
        if free_gb < request.profile.disk_gb:
            raise UsageError(
                f"{existing} has {free_gb:.1f} GB free; this environment takes about {request.profile.disk_gb} GB",
                "free some space or choose another disk with --prefix PATH",
            )
    return interpreter, version


def _conda_python(request: SetupRequest) -> str | None:
    """The python a new conda environment asks for: --python X.Y, else this one where the profile allows it."""
    spec = request.profile.python
    if request.python is not None:
        if not spec.contains(Version(request.python), prereleases=True):
            raise UsageError(
                f"profile {request.profile.name!r} needs Python {spec} (TensorFlow's wheels), not {request.python}",
                _python_hint(request, spec),
            )
        return request.python
    running = platform.python_version()
    return running if spec.contains(Version(running), prereleases=True) else None


def _interpreter_in_range(request: SetupRequest, *, create: bool) -> tuple[Path, str]:
    interpreter = chosen_interpreter(request, create=create)
    outcome = run_probe(interpreter, "interpreter", timeout=PROBE_TIMEOUT)
    if outcome.data is None:
        raise EnvironmentUnusableError(
            f"{interpreter} could not report its version: {outcome.failure}",
            "give a working interpreter with --python PATH",
        )
    version = str(outcome.data["version"])
    bits = int(outcome.data.get("bits", 64))
    if bits != 64:
        raise UsageError(
            f"{interpreter} is a {bits}-bit Python; TensorFlow needs a 64-bit one",
            "install a 64-bit Python and pass it with --python PATH",
        )
    spec = request.profile.python_for(outcome.data.get("markers"))
    if not spec.contains(Version(version), prereleases=True):
        raise UsageError(
            f"profile {request.profile.name!r} needs Python {spec} (TensorFlow's wheels); {interpreter} is {version}",
            _python_hint(request, spec),
        )
    return interpreter, version


def _environment_python(prefix: Path) -> str:
    """The version of the python inside the environment just built, for the marker and the summary."""
    outcome = run_probe(python_in(prefix), "interpreter", timeout=PROBE_TIMEOUT)
    if outcome.data is None:
        raise SetupError(f"the new environment's python does not start: {outcome.failure}")
    return str(outcome.data["version"])


def _python_hint(request: SetupRequest, spec: Any) -> str:
    """A --python that works: an interpreter in range found on PATH, else a version uv can provide."""
    minors = [minor for minor in range(NEWEST_PYTHON_MINOR, 7, -1) if spec.contains(f"3.{minor}.0")]
    found = [shutil.which(f"python3.{minor}") for minor in minors]
    usable = [f for f in found if f]
    choice = usable[0] if usable else (f"3.{minors[0]}" if minors else None)
    if choice is None:
        return f"give an interpreter within {spec} with --python PATH"
    return f"run: {command('envcheck', 'setup', *where_args(request), '--python', choice)}"


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _new_log_path(profile: str) -> Path:
    """A name no other run has taken: two failed setups in one process and one second keep both logs."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    folder = logs_dir()
    path = folder / f"setup-{profile}-{stamp}-{os.getpid()}.log"
    count = 1
    while path.exists():
        count += 1
        path = folder / f"setup-{profile}-{stamp}-{os.getpid()}-{count}.log"
    return path


def _run_steps(steps: list[Step], rollback: _Rollback, log: IO[str], reporter: Reporter) -> str | None:
    """Run the plan; return the kernel name when one was registered."""
    registered: str | None = None
    for step in steps:
        label = {"create": "create interpreter", "install": "install packages", "kernel": "register kernel"}.get(
            step.phase, step.phase
        )
        reporter.phase(label)
        if step.phase == "install":
            rollback.prepare_change()
        log.write(f"\n$ {shown(step)}\n")
        log.flush()
        completed = runner.run(
            step.argv, timeout=step.timeout, env=step.env or None, cwd=step.cwd, on_line=reporter.line, log=log
        )
        if not completed.ok:
            reason = (step.explain(completed.stdout) if step.explain else None) or _last_error(completed.stdout)
            raise SetupError(f"{label} failed: {Path(step.argv[0]).name} {completed.describe_exit()}: {reason}")
        if step.phase == "create":
            rollback.created()
        if step.phase == "kernel":
            registered = step.argv[step.argv.index("--name") + 1]
            rollback.kernel_installed(_kernelspec_dir(completed.stdout))
        reporter.done(label)
    return registered


def shown(step: Step) -> str:
    """A step as the log shows it: the variables it sets (index URLs travel there), then its arguments."""
    return runner.display([*(f"{name}={value}" for name, value in step.env.items()), *step.argv])


def _last_error(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for line in reversed(lines):
        if re.search(r"error|not found|no matching|cannot|could not|failed", line, re.IGNORECASE):
            return line[:300]
    return lines[-1][:300] if lines else "no output"


def _kernelspec_dir(output: str) -> Path | None:
    match = re.search(r"Installed kernelspec \S+ in (.+)$", output, re.MULTILINE)
    return Path(match.group(1).strip()) if match else None


def _import_check(prefix: Path, profile: Profile, log: IO[str]) -> dict[str, str]:
    modules = sorted({p.import_name for p in profile.packages if p.import_name})
    outcome = run_probe(
        python_in(prefix),
        "imports",
        {"modules": modules, "distributions": [p.name for p in profile.packages]},
        timeout=IMPORT_CHECK_TIMEOUT,
        write_bytecode=True,  # our own new environment: compile once here, not at every later import
    )
    said = f"\nimport check: {json.dumps(outcome.data)}\n{outcome.completed.stderr[-4000:]}\n"
    log.write(redact_credentials(said))
    data: dict[str, Any] = outcome.data or {}
    failed = [(name, r) for name, r in data.get("modules", {}).items() if not r.get("ok")]
    if failed or not outcome.ok:
        culprit = str(outcome.failure)
        if failed:
            name, record = failed[0]
            culprit = f"import {name}: {record.get('error_type')}: {record.get('error', '')}".splitlines()[0]
        raise SetupError(
            f"import check failed: {culprit}",
            "the packages installed but do not work together; envcheck verify explains why once fixed",
        )
    return {dist: version for dist, version in data.get("distributions", {}).items() if version}


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (a CI runner's cancel, `kill`) gets the same cleanup as Ctrl-C."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGTERM"):
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Ignore Ctrl-C and SIGTERM for the moment it takes to put things back."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held = [s for s in (signal.SIGINT, getattr(signal, "SIGTERM", None)) if s is not None]
    previous = {s: signal.signal(s, signal.SIG_IGN) for s in held}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


class _PhaseClock:
    """Passes progress on to the reporter and keeps how long each phase took."""

    def __init__(self, reporter: Reporter) -> None:
        self.reporter = reporter
        self.seconds: dict[str, float] = {}
        self._started: dict[str, float] = {}

    def phase(self, name: str) -> None:
        self._started[name] = time.monotonic()
        self.reporter.phase(name)

    def done(self, name: str, detail: str = "") -> None:
        self.seconds[name] = time.monotonic() - self._started.pop(name, time.monotonic())
        self.reporter.done(name, detail)

    def line(self, text: str) -> None:
        self.reporter.line(text)


class _Rollback:
    """Remembers what this run created or moved, and undoes exactly that."""

    def __init__(self, prefix: Path, state: PrefixState, *, recreate: bool, absent: bool = False) -> None:
        self.prefix = prefix
        self.state = state
        self.recreate = recreate
        self.absent = absent  # the backend's tool refuses an existing (even empty) folder as its prefix
        self.emptied = False  # the user's empty folder was removed for it, and is put back on failure
        self.aside: Path | None = None
        self.created_root: Path | None = None  # the top-most directory this run created
        self.kernel_dir: Path | None = None

    def __enter__(self) -> _Rollback:
        if self.recreate and self.state in (PrefixState.COMPLETE, PrefixState.INCOMPLETE):
            self.aside = self.prefix.with_name(f"{self.prefix.name}.envcheck-previous")
            if self.aside.exists():
                raise RefusedError(
                    f"{self.aside} is in the way of --recreate",
                    "it holds an earlier environment that could not be restored; move or delete it yourself",
                )
            os.replace(self.prefix, self.aside)
        if self.absent and self.state is PrefixState.EMPTY:
            with contextlib.suppress(OSError):  # a mount point stays; the tool then says why it refuses
                self.prefix.rmdir()
                self.emptied = True
        if not self.prefix.exists() and not self.emptied:
            top = _nearest_existing(self.prefix.parent)
            self.prefix.parent.mkdir(parents=True, exist_ok=True)
            self.created_root = self.prefix if top == self.prefix.parent else _child_towards(top, self.prefix)
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def created(self) -> None:
        """The backend created the environment: stamp it as envcheck's at once."""
        (self.prefix / OWNER_NAME).write_text("created by envcheck; safe for envcheck to replace\n", "utf-8")

    def prepare_change(self) -> None:
        """Before packages change: an interrupted change must leave the environment marked incomplete."""
        remove_marker(self.prefix)

    def kernel_installed(self, path: Path | None) -> None:
        self.kernel_dir = path

    def undo(self) -> str:
        """Remove what this run created and put back what it moved; say what was done."""
        # a kernel registered for a new environment goes with it; after a failed --recreate the restored
        # environment lives at the same path, so the kernel written by this run still fits it
        new_environment = self.aside is None and (self.created_root is not None or self.state is PrefixState.EMPTY)
        if self.kernel_dir is not None and new_environment:
            shutil.rmtree(self.kernel_dir, ignore_errors=True)
        if self.created_root is not None:
            shutil.rmtree(self.created_root, ignore_errors=True)
        elif self.state is PrefixState.EMPTY:
            self.prefix.mkdir(exist_ok=True)  # the user's empty folder, where it was removed for the tool
            for child in self.prefix.iterdir():
                _remove(child)
        if self.aside is not None:
            os.replace(self.aside, self.prefix)
            return f"the previous environment at {self.prefix} was restored"
        if self.created_root is not None or self.state is PrefixState.EMPTY:
            return f"removed the partial environment at {self.prefix}"
        return f"{self.prefix} is now marked incomplete; rebuild it with --recreate"

    def commit(self) -> None:
        if self.aside is not None:
            shutil.rmtree(self.aside)


def _child_towards(ancestor: Path, descendant: Path) -> Path:
    relative = descendant.relative_to(ancestor)
    return ancestor / relative.parts[0]


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
