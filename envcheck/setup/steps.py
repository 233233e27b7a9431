"""Running the plan: each step a program (through the runner) or a function in this process, reported as its
phase, logged, and written into the undo journal as it changes what the user has."""

from __future__ import annotations

import re
from pathlib import Path
from typing import IO

from envcheck import runner
from envcheck.completion import SetupNote, remove_marker, write_note
from envcheck.errors import SetupError
from envcheck.installers import WheelPythons, explain_install_failure, installer_name, unreachable_index
from envcheck.kernels import spec_dir
from envcheck.locations import OWNER_NAME
from envcheck.progress import Reporter
from envcheck.redaction import redact_credentials
from envcheck.setup.backends import Step, StepFailure
from envcheck.setup.journal import Journal

LABELS = {"create": "create interpreter", "install": "install packages", "kernel": "register kernel"}


class InstallFailed(SetupError):
    """The installer refused or failed: its own explanation goes whole into ``details``; ``wheels`` names the
    distributions that have no wheel for this Python, and the Pythons they have wheels for."""

    def __init__(
        self,
        message: str,
        hint: str | None = None,
        details: tuple[str, ...] = (),
        wheels: tuple[WheelPythons, ...] = (),
    ) -> None:
        super().__init__(message, hint, details)
        self.wheels = wheels


def run_steps(
    steps: list[Step],
    prefix: Path,
    journal: Journal,
    log: IO[str],
    reporter: Reporter,
    note: SetupNote | None = None,
) -> str | None:
    """Run the plan; return the kernel name when one was registered. Raises SetupError for a failed step.

    ``note`` (what this setup was asked) is written into the environment before anything is installed: at once
    into an environment envcheck made earlier, into a new one as soon as it exists.
    """
    registered: str | None = None
    if note is not None and (prefix / OWNER_NAME).is_file():
        write_note(prefix, note)
    for step in steps:
        label = LABELS.get(step.phase, step.phase)
        reporter.phase(label)
        if step.phase == "install":
            # before packages change: an interrupted change must leave the environment marked incomplete
            remove_marker(prefix)
        kernel_existed = step.registers_kernel is not None and spec_dir(step.registers_kernel).exists()
        log.write(f"\n$ {shown(step)}\n")
        log.flush()
        if step.call is not None:
            _call(step, label, log, reporter)
        else:
            _run(step, label, log, reporter)
        if step.phase == "create":
            # the environment exists: stamp it as envcheck's at once, so that a later run may replace it
            (prefix / OWNER_NAME).write_text("created by envcheck; safe for envcheck to replace\n", "utf-8")
            if note is not None:
                write_note(prefix, note)
        if step.registers_kernel is not None:
            registered = step.registers_kernel
            # only a kernelspec this run created may be removed again; one it replaced stays
            if not kernel_existed and spec_dir(registered).is_dir():
                journal.created(spec_dir(registered))
        reporter.done(label)
    return registered


def shown(step: Step) -> str:
    """A step as the log shows it: the variables it sets (index URLs travel there), then its arguments; a
    function step by its title."""
    if step.call is not None:
        return redact_credentials(step.title)
    return runner.display([*(f"{name}={value}" for name, value in step.env.items()), *step.argv])


def _run(step: Step, label: str, log: IO[str], reporter: Reporter) -> None:
    completed = runner.run(
        step.argv, timeout=step.timeout, env=step.env or None, cwd=step.cwd, on_line=reporter.line, log=log
    )
    if completed.ok:
        return
    program = Path(step.argv[0]).name
    plain = step.explain is None and not completed.timed_out  # conda explains its own errors
    unreachable = unreachable_index(completed.stdout, runner.redact_credentials) if plain else None
    if unreachable is not None:
        hint = unreachable.hint
        host = unreachable.host
        if host and not any(host in value for value in (*step.env.values(), *step.argv)):
            # not an index envcheck was given: the user's file names it (--extra-index-url, --find-links)
            hint = f"the file names {host} as a package index: reach it (network, proxy), or leave out its lines"
        raise SetupError(f"{label} failed: {installer_name(step.argv)} {unreachable.message}", hint)
    reason = step.explain(completed.stdout) if step.explain else None
    if reason is None and plain and step.phase == "install":
        said = explain_install_failure(completed.stdout)
        raise InstallFailed(
            f"{label} failed: {installer_name(step.argv)} {completed.describe_exit()}: {said.summary}",
            details=tuple(redact_credentials(line) for line in said.lines),
            wheels=said.wheels,
        )
    raise SetupError(
        f"{label} failed: {program} {completed.describe_exit()}: {reason or _last_error(completed.stdout)}"
    )


class _Output:
    """Where an in-process step's lines go: the log and the progress, credentials hidden as for a program's."""

    def __init__(self, log: IO[str], reporter: Reporter) -> None:
        self.log = log
        self.reporter = reporter

    def line(self, text: str) -> None:
        for part in text.splitlines() or [""]:
            said = redact_credentials(part)
            self.log.write(said + "\n")
            self.log.flush()
            self.reporter.line(said)


def _call(step: Step, label: str, log: IO[str], reporter: Reporter) -> None:
    assert step.call is not None
    try:
        step.call(_Output(log, reporter))
    except StepFailure as failure:
        log.write(f"failed: {redact_credentials(failure.reason)}\n")
        raise SetupError(f"{label} failed: {step.title}: {redact_credentials(failure.reason)}") from None


def _last_error(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for line in reversed(lines):
        if re.search(r"error|not found|no matching|cannot|could not|failed", line, re.IGNORECASE):
            return line[:300]
    return lines[-1][:300] if lines else "no output"
