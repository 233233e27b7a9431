"""`envcheck setup`: the stages in order, the resolved request flowing down through them, and nothing half-built.

Resolve the request (``request``); look at the target folder (``prefix``) and answer "up to date" from the
marker (``record``); pre-flight (``preflight``, nothing downloaded yet); plan the steps (``plan``); run them
(``steps``); the import check (``imports``); the completion marker last (``record``). Every change this run
makes to what the user has is written into an undo ``journal``, undone in reverse if any of it fails, is
interrupted (Ctrl-C) or terminated (SIGTERM); with --recreate the old environment is moved aside first and put
back. This module only orchestrates: each stage returns what the next one needs.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

from envcheck import __version__, runner
from envcheck.completion import read_marker
from envcheck.errors import EnvcheckError, Interrupted
from envcheck.exclusive import lock_environment
from envcheck.locations import LOG_NAME, new_log_path
from envcheck.progress import NullReporter, Reporter
from envcheck.redaction import redacting
from envcheck.setup import preflight, record
from envcheck.setup.imports import import_check, import_check_failed
from envcheck.setup.journal import Journal
from envcheck.setup.plan import plan_steps, refuse_unbuildable, write_locked_requirements
from envcheck.setup.prefix import PrefixState, check_room, creates, make_room, prefix_state, refuse_foreign
from envcheck.setup.pythons import python_hint
from envcheck.setup.request import SetupRequest, resolve
from envcheck.setup.result import Action, SetupResult
from envcheck.setup.steps import InstallFailed, run_steps, shown
from envcheck.suggest import next_program, path_note


def setup_environment(request: SetupRequest, reporter: Reporter | None = None) -> SetupResult:
    """Create, update or recreate the environment; return what was done, or raise with everything undone.

    Raises exclusive.BusyError, before looking at anything, while another envcheck works on the same prefix.
    """
    with lock_environment(request.target, command="setup --recreate" if request.recreate else "setup"):
        return _setup(request, reporter)


def _setup(request: SetupRequest, reporter: Reporter | None) -> SetupResult:
    clock = _PhaseClock(reporter or NullReporter())
    started = time.monotonic()
    resolved = resolve(request)
    prefix, backend = resolved.prefix, resolved.backend
    state = prefix_state(prefix)
    quick = record.up_to_date(resolved) if state is PrefixState.COMPLETE else None
    if quick is not None and request.python is None:
        return quick
    refuse_foreign(resolved, state)
    marker = read_marker(prefix) if state is PrefixState.COMPLETE and not request.recreate else None
    if marker is not None:
        preflight.refuse_a_different_build(resolved, marker)
        if quick is not None:
            return quick
    create = creates(resolved, state)

    clock.phase("pre-flight")
    if request.lock is None:
        refuse_unbuildable(resolved)
    preflight.refuse_a_shared_kernel(resolved)
    found = preflight.check(resolved, create=create)
    if create:
        check_room(resolved)
    clock.done("pre-flight", f"Python {found.python_version or request.profile.python}")

    log_path = new_log_path(f"setup-{request.profile.name}")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    locked = None
    if found.lock is not None:
        locked = write_locked_requirements(found.locked_files, log_path.with_suffix(".requirements.txt"))
    steps = plan_steps(resolved, found.interpreter, found.python_version, create=create, locked_requirements=locked)
    journal = Journal()
    with (
        _removed_after(locked),
        redacting(log_path.open("w", encoding="utf-8")) as log,  # whatever goes in, no secret stays
        runner.stop_on_signals(),  # SIGTERM (a CI runner's cancel, `kill`) gets the same clean-up as Ctrl-C
    ):
        log.write(f"envcheck {__version__} setup of profile {request.profile.name} into {prefix}\n")
        make_room(resolved, state, journal)
        try:
            registered = run_steps(steps, prefix, journal, log, clock, record.note(resolved))
            clock.phase("import check")
            checked = import_check(backend.python(prefix), request.profile, log, found.markers)
            versions, python_version = checked.versions, checked.python_version
            if checked.ok:
                clock.done("import check", f"{checked.checked} modules of {len(versions)} packages")
            else:
                clock.done("import check", f"{len(checked.failures)} of {checked.checked} modules fail", ok=False)
            # every package is installed: an import that fails is a finding about the environment, which stays
            record.write(
                resolved,
                installer=backend.installer,
                python_version=python_version,
                versions=versions,
                kernel=registered,
                lock=found.lock,
                import_failures=checked.failures,
            )
        except BaseException as exc:
            with runner.cleaning_up():  # a second Ctrl-C must not stop the clean-up half-way
                undone = journal.undo(f"{prefix} is now marked incomplete; rebuild it with --recreate")
            if isinstance(exc, KeyboardInterrupt):
                log.write("\ninterrupted\n")
                raise Interrupted(f"setup interrupted; {undone}", f"the log is at {log_path}") from None
            if isinstance(exc, EnvcheckError):
                hint = exc.hint or f"the full log is at {log_path}"
                if isinstance(exc, InstallFailed) and exc.wheels:
                    hint = f"{python_hint(exc.wheels, resolved.naming)}; the full log is at {log_path}"
                raise exc.restated(f"{exc.message}; {undone}", hint) from None
            raise
        with runner.cleaning_up():  # the new environment is complete: removing the old one must not stop half-way
            journal.commit()
    final_log = prefix / LOG_NAME
    shutil.move(os.fspath(log_path), os.fspath(final_log))
    if not checked.ok:
        raise import_check_failed(checked, resolved, final_log)
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
        next_command=resolved.naming.verify(),
        backend=request.backend,
        installer=backend.installer,
        steps=[shown(s) for s in steps],
        phases=dict(clock.seconds),
        run_command=resolved.naming.run(*next_program(request.profile)),
        path_note=path_note(),
        lock=None if found.lock is None else record.lock_json(found.lock.path, found.lock.digest),
        warnings=list(request.profile.warnings),
    )


@contextlib.contextmanager
def _removed_after(path: Path | None) -> Iterator[None]:
    try:
        yield
    finally:
        if path is not None:
            path.unlink(missing_ok=True)


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
