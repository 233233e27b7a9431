"""`envcheck verify --fix`: run the fix plan's steps that change only the environment, then verify again.

Before the first change, ``pip freeze`` (``uv pip freeze`` where the environment has no pip) records every
installed distribution, and the record is kept beside the log. A step that fails, a Ctrl-C or SIGTERM at any
point after the first change, or a second verify that finds a problem the first did not, puts back the
distributions that changed (those that appeared are uninstalled, those that changed or went away are installed
again at their recorded version, without dependencies) and says so. Steps outside the environment (the
user's shell, their home, a driver) are never run: the report prints them.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from envcheck import runner
from envcheck.errors import (
    EnvcheckError,
    EnvironmentUnusableError,
    ExitCode,
    Interrupted,
    RefusedError,
)
from envcheck.exclusive import lock_environment
from envcheck.installers import environment_pip_argv
from envcheck.locations import OWNER_NAME, find_uv, new_log_path, uv_command
from envcheck.progress import NullReporter, Reporter
from envcheck.redaction import redact_credentials, redacting
from envcheck.results import Status
from envcheck.suggest import Naming
from envcheck.targets import Target
from envcheck.verify.examine import DEFAULT_TIMEOUT, VerifyReport, verify
from envcheck.verify.plan import Scope, Step

STEP_TIMEOUT = 3600.0  # a step may download TensorFlow's wheels on a slow line
FREEZE_TIMEOUT = 120.0
QUIET_PIP = {"PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}


@dataclass(frozen=True)
class StepRun:
    """One step --fix ran, and how it ended."""

    step: Step
    returncode: int | None
    duration: float
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out


@dataclass(frozen=True)
class FixReport:
    """Before and after: the first verify, the steps run, the second verify, and what was put back."""

    before: VerifyReport
    after: VerifyReport | None = None
    ran: tuple[StepRun, ...] = ()
    outside: tuple[Step, ...] = ()  # printed for the user, never run
    restored: str | None = None  # what putting back the recorded packages did, when it was needed
    log: Path | None = None
    freeze: Path | None = None  # the record taken before the first change
    duration: float = 0.0
    failed_step: StepRun | None = None
    new_problems: tuple[str, ...] = ()  # problems the second verify found that the first did not

    @property
    def unresolved(self) -> tuple[str, ...]:
        """What the second verify still finds a problem (a warning too: a lock's drift is one) among the findings
        a step that ran was meant to resolve, and the warnings the steps brought (a reinstall that moved a
        locked package)."""
        if self.after is None:
            return ()
        meant = {cid for run in self.ran for cid in run.step.resolves}
        before = {c.id for c in self.before.checks if c.status in (Status.FAIL, Status.WARN)}
        return tuple(
            c.id
            for c in self.after.checks
            if c.status in (Status.FAIL, Status.WARN) and (c.id in meant or c.id not in before)
        )

    @property
    def exit_code(self) -> ExitCode:
        """0 only when the second verify passes and finds nothing left that a step was meant to resolve (or
        nothing needed changing and the first verify passed)."""
        if self.restored is not None or self.failed_step is not None or self.unresolved:
            return ExitCode.FAILED
        return (self.after or self.before).exit_code

    def payload(self) -> dict[str, object]:
        return {
            "before": self.before.payload(),
            "steps": [
                {**r.step.to_json(), "returncode": r.returncode, "seconds": round(r.duration, 3)} for r in self.ran
            ],
            "outside": [s.to_json() for s in self.outside],
            "after": self.after.payload() if self.after is not None else None,
            "restored": self.restored,
            "new_problems": list(self.new_problems),
            "unresolved": list(self.unresolved),
            "log": str(self.log) if self.log else None,
            "freeze": str(self.freeze) if self.freeze else None,
            "duration": round(self.duration, 3),
        }


@dataclass
class _Record:
    """``pip freeze`` before the first change, by canonical name, and how to run this environment's pip."""

    python: str
    uv: bool  # the environment has no pip: uv's pip stands in
    lines: dict[str, str] = field(default_factory=dict)
    # the top-level entries of each site-packages folder: a step killed half-way leaves files pip never
    # recorded (a package folder without its .dist-info), which no freeze shows
    sites: dict[str, frozenset[str]] = field(default_factory=dict)

    def argv(self, verb: str, *args: str) -> list[str]:
        return environment_pip_argv(self.python, verb, *args, uv=str(find_uv()) if self.uv else None)


def refusal(target: Target, report: VerifyReport, *, explicit: bool) -> RefusedError | None:
    """Why --fix will not change this environment, or None: it changes only environments, and those envcheck
    created unless the user named the environment (--prefix, --python) themselves."""
    kind = report.facts.get("kind")
    if kind not in ("venv", "conda"):
        return RefusedError(
            f"{report.python} is not a virtual or conda environment; --fix changes nothing outside one",
            "run the plan's commands yourself, or make an environment with: envcheck setup",
        )
    owned = target.prefix is not None and (target.prefix / OWNER_NAME).is_file()
    if not owned and not explicit:
        where = report.prefix or report.python
        again = Naming.of(target.profile, report.prefix, python=None if report.prefix else report.python)
        return RefusedError(
            f"envcheck did not create {where}; --fix changes it only when you name it", again.verify("--fix")
        )
    return None


def fix_environment(
    target: Target,
    before: VerifyReport,
    *,
    explicit: bool,
    timeout: float = DEFAULT_TIMEOUT,
    strict: bool = False,
    lock: Path | None = None,
    reporter: Reporter | None = None,
) -> FixReport:
    """Run ``before``'s environment steps inside the environment, then verify again (against ``lock`` too, the
    lock the first verify was given).

    Raises RefusedError for an environment --fix may not change, Interrupted after putting things back.
    """
    reporter = reporter or NullReporter()
    started = time.monotonic()
    steps = [s for s in before.plan if s.scope is Scope.ENVIRONMENT]
    outside = tuple(s for s in before.plan if s.scope is Scope.OUTSIDE)
    if not steps:
        return FixReport(before=before, outside=outside, duration=time.monotonic() - started)
    refused = refusal(target, before, explicit=explicit)
    if refused is not None:
        raise refused
    log_path = new_log_path("fix")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    freeze_path = log_path.with_suffix(".freeze.txt")
    # the lock spans everything from the record to the second verify: another envcheck changing the same
    # environment meanwhile would spoil the record
    where = Path(before.prefix or target.python)
    with (
        lock_environment(where, command="verify --fix"),
        redacting(log_path.open("w", encoding="utf-8")) as log,  # whatever goes in, no secret stays
        runner.stop_on_signals(),
    ):
        log.write(f"envcheck verify --fix of {before.prefix or before.python}\n")
        record = _freeze(before, log)
        freeze = "".join(f"{line}\n" for line in record.lines.values())
        freeze_path.write_text(redact_credentials(freeze), encoding="utf-8")  # a `pkg @ URL` line may hold a token
        ran: list[StepRun] = []
        failed: StepRun | None = None
        try:
            for number, step in enumerate(steps, 1):
                phase = f"fix step {number}/{len(steps)}"
                reporter.phase(phase)
                log.write(f"\n$ {runner.display(step.argv)}\n")
                completed = runner.run(
                    _resolved(step.argv), timeout=STEP_TIMEOUT, env=QUIET_PIP, log=log, on_line=reporter.line
                )
                done = StepRun(step, completed.returncode, completed.duration, completed.timed_out)
                ran.append(done)
                if not done.ok:
                    reporter.done(phase, f"failed ({completed.describe_exit()})")
                    failed = done
                    break
                reporter.done(phase)
            after = None if failed else verify(target, timeout=timeout, strict=strict, lock=lock, reporter=reporter)
        except KeyboardInterrupt:
            with runner.cleaning_up():  # a second Ctrl-C must not stop the putting back half-way
                undone = _restore(record, log, reporter)
            log.write("\ninterrupted\n")
            raise Interrupted(f"--fix interrupted; {undone}", f"the log is at {log_path}") from None
        new = _new_problems(before, after) if after is not None else ()
        restored = None
        if failed is not None or new:
            with runner.cleaning_up():
                restored = _restore(record, log, reporter)
    return FixReport(
        before=before,
        after=after,
        ran=tuple(ran),
        outside=outside,
        restored=restored,
        log=log_path,
        freeze=freeze_path,
        duration=time.monotonic() - started,
        failed_step=failed,
        new_problems=new,
    )


def _new_problems(before: VerifyReport, after: VerifyReport) -> tuple[str, ...]:
    failing = {c.id for c in before.checks if c.status is Status.FAIL}
    return tuple(c.id for c in after.checks if c.status is Status.FAIL and c.id not in failing)


# ---------------------------------------------------------------------------------------------- the record


def _freeze(report: VerifyReport, log: IO[str]) -> _Record:
    record = _Record(report.python, uv=not report.facts.get("pip"))
    record.lines = _freeze_lines(record)
    record.sites = {folder: _entries(folder) for folder in _site_folders(record.python)}
    log.write(f"recorded {len(record.lines)} installed distributions before any change\n")
    return record


SITE_CODE = "import json, sysconfig; p = sysconfig.get_paths(); print(json.dumps(sorted({p['purelib'], p['platlib']})))"


def _site_folders(python: str) -> list[str]:
    completed = runner.run([python, "-I", "-c", SITE_CODE], timeout=FREEZE_TIMEOUT)
    try:
        folders = json.loads(completed.stdout) if completed.ok else []
    except ValueError:
        folders = []
    return [str(f) for f in folders if isinstance(f, str) and os.path.isdir(f)]


def _entries(folder: str) -> frozenset[str]:
    try:
        return frozenset(os.listdir(folder))
    except OSError:
        return frozenset()


def _remove_leftovers(record: _Record, log: IO[str]) -> list[str]:
    """Entries of site-packages that appeared since the record and are still there once the distributions are
    put back: what a killed step wrote before pip could record it. Only they are removed; its steps made them."""
    removed = []
    for folder, before in record.sites.items():
        for name in sorted(_entries(folder) - before):
            path = Path(folder) / name
            log.write(f"removing what a step left half-installed: {path}\n")
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed.append(name)
    return removed


def _freeze_lines(record: _Record) -> dict[str, str]:
    argv = record.argv("freeze") if record.uv else record.argv("freeze", "--all")
    completed = runner.run(argv, timeout=FREEZE_TIMEOUT, env=QUIET_PIP)
    if not completed.ok:
        said = next((s for s in reversed(completed.stderr.splitlines()) if s.strip()), completed.describe_exit())
        raise EnvironmentUnusableError(
            f"cannot record the environment's packages before changing them: {said.strip()}",
            f"check that this works: {runner.display(argv)}",
        )
    return parse_freeze(completed.stdout)


def parse_freeze(text: str) -> dict[str, str]:
    """``pip freeze`` output by canonical distribution name (editable and unparsable lines are kept whole)."""
    lines: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            lines[canonicalize_name(Requirement(line).name)] = line
        except InvalidRequirement:
            lines[line] = line
    return lines


def changes(before: Mapping[str, str], after: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """What puts ``after`` back to ``before``: names to uninstall, and recorded lines to install again."""
    added = [name for name in after if name not in before]
    changed = [line for name, line in before.items() if after.get(name) != line]
    return added, changed


def _restore(record: _Record, log: IO[str], reporter: Reporter) -> str:
    """Put back the distributions that changed since the record; say what happened."""
    phase = "put back the packages that changed"
    reporter.phase(phase)
    try:
        added, changed = changes(record.lines, _freeze_lines(record))
        if added:
            argv = record.argv("uninstall", *added)
            log.write(f"\n$ {runner.display(argv)}\n")
            runner.run(argv, timeout=STEP_TIMEOUT, env=QUIET_PIP, log=log)
        installable = [line for line in changed if not line.startswith("-e")]
        if installable:
            argv = record.argv("install", "--no-deps", *installable)
            log.write(f"\n$ {runner.display(argv)}\n")
            runner.run(argv, timeout=STEP_TIMEOUT, env=QUIET_PIP, log=log)
        leftovers = _remove_leftovers(record, log)
        left_added, left_changed = changes(record.lines, _freeze_lines(record)) if added or changed else ([], [])
    except EnvcheckError as exc:
        reporter.done(phase, "failed")
        return f"putting back the recorded packages failed: {exc.message}"
    count = len(added) + len(changed)
    half = f"removed what a step left half-installed ({', '.join(leftovers)})" if leftovers else ""
    if left_added or left_changed:
        names = ", ".join([*left_added, *(_name(line) for line in left_changed)])
        reporter.done(phase, "incomplete")
        return f"put back {count} changed distribution(s), but {names} still differ from the record"
    if not count:
        reporter.done(phase, half or "nothing had changed")
        return f"{half}; the environment is as it was" if half else "nothing had changed in the environment"
    reporter.done(phase, f"{count} distribution(s)")
    also = f" and {half}" if half else ""
    return f"put back the {count} distribution(s) it had changed{also}; the environment is as it was"


def _name(line: str) -> str:
    try:
        return Requirement(line).name
    except InvalidRequirement:
        return line


def _resolved(argv: Sequence[str]) -> list[str]:
    """A plan step as typed ("uv pip ...") becomes the uv envcheck runs."""
    if argv and argv[0] in ("uv", uv_command()):
        return [str(find_uv()), *argv[1:]]
    return list(argv)
