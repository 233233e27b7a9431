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
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path
from typing import IO, Any

from packaging.version import Version

from envcheck import __version__, runner
from envcheck.completion import Marker, read_marker, remove_marker, write_marker
from envcheck.errors import (
    EnvcheckError,
    EnvironmentUnusableError,
    Interrupted,
    RefusedError,
    SetupError,
    UsageError,
)
from envcheck.exclusive import lock_environment
from envcheck.locations import (
    LOG_NAME,
    OWNER_NAME,
    default_prefix,
    is_python_environment,
    jupyter_kernels_dir,
    kernel_install_argv,
    new_log_path,
    python_in,
)
from envcheck.lock.pylock import Lock, LockedFile
from envcheck.probes import run_probe
from envcheck.profiles.profile import Profile, profile_args
from envcheck.progress import NullReporter, Reporter
from envcheck.redaction import redact_credentials
from envcheck.setup.backends import Backend, BuildRequest, IndexOptions, Step, get_backend, unreachable_index
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
    lock: Path | None = None  # install exactly what this PEP 751 lock holds for the machine

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
    lock: dict[str, str] | None = None  # {"path", "digest"} when set up from a lock

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
            "run_command": self.run_command,
            "phases": {name: round(seconds, 3) for name, seconds in self.phases.items()},
            "lock": self.lock,
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
    if request.lock is not None and marker.lock_digest != _lock_digest(request.lock):
        return None  # a new or changed lock: the environment is brought in line with it
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
        lock=_marker_lock(marker),
    )


def _lock_digest(path: Path) -> str | None:
    from envcheck.lock.pylock import file_digest

    try:
        return file_digest(path.expanduser())
    except OSError:
        return None  # setup then reads the lock and says why it cannot


def _marker_lock(marker: Marker) -> dict[str, str] | None:
    return {"path": marker.lock, "digest": marker.lock_digest} if marker.lock and marker.lock_digest else None


def plan_steps(
    request: SetupRequest,
    backend: Backend,
    interpreter: Path,
    python_version: str | None,
    *,
    create: bool,
    locked_requirements: Path | None = None,
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
        locked_requirements=locked_requirements,
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
    from envcheck.run import run_line, suggested_command

    prefix = request.target if request.prefix is not None else None
    return run_line(request.profile, prefix, *suggested_command(request.profile))


def setup_environment(request: SetupRequest, reporter: Reporter | None = None) -> SetupResult:
    """Create, update or recreate the environment; return what was done, or raise with everything undone.

    Raises exclusive.BusyError, before looking at anything, while another envcheck works on the same prefix.
    """
    with lock_environment(request.target, command="setup --recreate" if request.recreate else "setup"):
        return _setup(request, reporter)


def _setup(request: SetupRequest, reporter: Reporter | None) -> SetupResult:
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
    _refuse_a_shared_kernel(request)
    interpreter, python_version, markers = _preflight(request, backend, create=create)
    lock = _locked_files(request, markers) if request.lock is not None else None
    reporter.done("pre-flight", f"Python {python_version or request.profile.python}")

    log_path = new_log_path(f"setup-{request.profile.name}")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    locked_requirements = None
    if lock is not None:
        from envcheck.lock.pylock import hashed_requirements

        locked_requirements = log_path.with_suffix(".requirements.txt")
        locked_requirements.write_text(hashed_requirements(lock[1]), "utf-8")
    steps = plan_steps(
        request, backend, interpreter, python_version, create=create, locked_requirements=locked_requirements
    )
    with (
        _removed_after(locked_requirements),
        log_path.open("w", encoding="utf-8") as log,
        runner.stop_on_signals(),  # SIGTERM (a CI runner's cancel, `kill`) gets the same clean-up as Ctrl-C
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
                    lock=None if lock is None else str(lock[0].path),
                    lock_digest=None if lock is None else lock[0].digest,
                    find_links=[_absolute_link(link) for link in request.index.find_links] if lock else [],
                    offline=request.index.offline if lock is not None else False,
                ),
            )
        except BaseException as exc:
            with runner.cleaning_up():  # a second Ctrl-C must not stop the clean-up half-way
                undone = rollback.undo()
            if isinstance(exc, KeyboardInterrupt):
                log.write("\ninterrupted\n")
                raise Interrupted(f"setup interrupted; {undone}", f"the log is at {log_path}") from None
            if isinstance(exc, EnvcheckError):
                raise type(exc)(f"{exc.message}; {undone}", exc.hint or f"the full log is at {log_path}") from None
            raise
        with runner.cleaning_up():  # the new environment is complete: removing the old one must not stop half-way
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
        lock=None if lock is None else {"path": str(lock[0].path), "digest": lock[0].digest},
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


def _refuse_a_shared_kernel(request: SetupRequest) -> None:
    """A kernelspec of this name that runs another, existing environment is not replaced (ipykernel would)."""
    name = kernel_name(request)
    if not name:
        return
    python = _kernel_python(jupyter_kernels_dir() / name)
    if python is None or not python.exists() or _inside(python, request.target):
        return  # no such kernel, a dead one, or this environment's own: registering it again is safe
    owner = next((p for p in (python.parent.parent, python.parent) if is_python_environment(p)), python)
    raise UsageError(
        f"the Jupyter kernel {name!r} already runs the environment at {owner}; envcheck will not repoint it",
        f"give this environment its own kernel: {command('envcheck', 'setup', *where_args(request), '--kernel-name', 'NAME')}"
        " (or --no-kernel)",
    )


def _kernel_python(spec_dir: Path) -> Path | None:
    try:
        argv = json.loads((spec_dir / "kernel.json").read_text(encoding="utf-8")).get("argv") or []
    except (OSError, ValueError, AttributeError):
        return None
    return Path(argv[0]) if argv and isinstance(argv[0], str) else None


def _inside(path: Path, folder: Path) -> bool:
    try:
        Path(os.path.abspath(path)).relative_to(os.path.abspath(folder))
    except ValueError:
        return False
    return True


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


def _locked_files(request: SetupRequest, markers: dict[str, str]) -> tuple[Lock, tuple[LockedFile, ...]]:
    """The lock's files for the interpreter being built from; a wheelhouse is checked here, before anything is made."""
    from envcheck.lock.pylock import LockError, check_wheelhouse, fits_profile, read_lock

    assert request.lock is not None
    lock = read_lock(request.lock)
    problem = fits_profile(lock, request.profile.name, request.profile.digest)
    if problem is not None:
        raise LockError(
            problem, f"lock it again with: envcheck lock --profile {request.profile.name} -o {request.lock}"
        )
    files = lock.select_here(markers)
    folders = [Path(link).expanduser() for link in request.index.find_links if Path(link).expanduser().is_dir()]
    if folders:
        absent = set(files)
        for folder in folders:
            absent &= set(check_wheelhouse(folder, absent))
        if absent and request.index.offline:
            first = sorted(absent, key=lambda f: f.filename)[0]
            raise LockError(
                f"{first.filename} (and {len(absent) - 1} more) is in no --find-links folder, and --offline allows no download"
                if len(absent) > 1
                else f"{first.filename} is in no --find-links folder, and --offline allows no download",
                f"fill the folder with: envcheck download --lock {request.lock} --dest {folders[0]}",
            )
    return lock, files


def _absolute_link(link: str) -> str:
    """A folder as an absolute path (a repair command must work from anywhere); a URL as given."""
    return os.fspath(Path(link).expanduser().absolute()) if Path(link).expanduser().is_dir() else link


@contextlib.contextmanager
def _removed_after(path: Path | None) -> Iterator[None]:
    try:
        yield
    finally:
        if path is not None:
            path.unlink(missing_ok=True)


def _preflight(request: SetupRequest, backend: Backend, *, create: bool) -> tuple[Path, str | None, dict[str, str]]:
    """Check everything that can be checked before a download; return the interpreter, its version and the
    environment markers a lock's files are chosen by.

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
        markers = _conda_markers(version)
    else:
        interpreter, version, markers = _interpreter_in_range(request, create=create)
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
    return interpreter, version, markers


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


def _conda_markers(version: str | None) -> dict[str, str]:
    """This machine's environment markers, with the python conda will install (for choosing a lock's files)."""
    from packaging.markers import default_environment

    markers = {str(k): str(v) for k, v in default_environment().items()}
    if version:
        parts = version.split(".")
        markers["python_version"] = ".".join(parts[:2])
        markers["python_full_version"] = ".".join((parts + ["0"])[:3])
    return markers


def _interpreter_in_range(request: SetupRequest, *, create: bool) -> tuple[Path, str, dict[str, str]]:
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
    return interpreter, version, {str(k): str(v) for k, v in outcome.data.get("markers", {}).items()}


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
        kernel_before = _kernel_python(jupyter_kernels_dir() / _kernel_of(step)) if step.phase == "kernel" else None
        log.write(f"\n$ {shown(step)}\n")
        log.flush()
        completed = runner.run(
            step.argv, timeout=step.timeout, env=step.env or None, cwd=step.cwd, on_line=reporter.line, log=log
        )
        if not completed.ok:
            program = Path(step.argv[0]).name
            plain = step.explain is None and not completed.timed_out  # conda explains its own errors
            unreachable = unreachable_index(completed.stdout, runner.redact_credentials) if plain else None
            if unreachable is not None:
                installer = "pip" if step.argv[1:3] == ("-m", "pip") else program
                raise SetupError(f"{label} failed: {installer} {unreachable[0]}", unreachable[1])
            reason = (step.explain(completed.stdout) if step.explain else None) or _last_error(completed.stdout)
            raise SetupError(f"{label} failed: {program} {completed.describe_exit()}: {reason}")
        if step.phase == "create":
            rollback.created()
        if step.phase == "kernel":
            registered = _kernel_of(step)
            written = _kernelspec_dir(completed.stdout)
            # only a kernelspec this run created may be removed again; one it replaced stays
            new = kernel_before is None and written is not None and _inside(written, jupyter_kernels_dir())
            rollback.kernel_installed(written if new else None)
        reporter.done(label)
    return registered


def shown(step: Step) -> str:
    """A step as the log shows it: the variables it sets (index URLs travel there), then its arguments."""
    return runner.display([*(f"{name}={value}" for name, value in step.env.items()), *step.argv])


def _kernel_of(step: Step) -> str:
    return step.argv[step.argv.index("--name") + 1]


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


class _PhaseClock:
    """Passes progress on to the reporter and keeps how long each phase took."""

    def __init__(self, reporter: Reporter) -> None:
        self.reporter = reporter
        self.seconds: dict[str, float] = {}
        self._started: dict[str, float] = {}

    def phase(self, name: str) -> None:
        self._started[name] = time.monotonic()
        self.reporter.phase(name)

    def done(self, name: str, detail: str = "", *, ok: bool = True) -> None:
        self.seconds[name] = time.monotonic() - self._started.pop(name, time.monotonic())
        self.reporter.done(name, detail, ok=ok)

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
