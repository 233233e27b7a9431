"""Rendering for people: the rich consoles (results on stdout, progress on stderr) and the progress reporter."""

from __future__ import annotations

import re
import sys
import time
from typing import IO, Any

from rich.console import Console
from rich.markup import escape

from envcheck.redaction import redact_credentials, redacting

SYMBOLS = {"pass": "✓", "warn": "!", "fail": "✗", "skip": "-"}
STYLES = {"pass": "green", "warn": "yellow", "fail": "red", "skip": "dim"}
# The width of a pipe or a file: none to speak of. rich would otherwise assume 80 columns there, cutting a
# table's last column ("10,7…") and wrapping long lines in the middle of what a script or a log reads.
UNLIMITED_WIDTH = 100_000


def stdout_console() -> Console:
    # rich honours NO_COLOR itself; highlight=False keeps numbers in plain text
    return _console(sys.stdout, soft_wrap=False)


def stderr_console() -> Console:
    return _console(sys.stderr)


def _console(stream: IO[str], **options: Any) -> Console:
    """A console that hides every secret it is given to print, and cuts nothing outside a terminal."""
    console = Console(file=redacting(stream), highlight=False, **options)
    if not console.is_terminal:
        console.width = UNLIMITED_WIDTH
    return console


def print_error(message: str, hint: str | None, details: tuple[str, ...] = ()) -> None:
    """An error as the user sees it: one ``error:`` line and maybe one ``hint:`` line, on stderr; between them,
    indented by ``|``, another program's own words that explain it (``details``)."""
    console = stderr_console()
    # soft_wrap: an error stays one line whatever the terminal's width, so scripts can grep it
    console.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    for line in details:
        console.print(f"  [dim]|[/] {escape(line)}", soft_wrap=True)
    if hint:
        console.print(f"[bold]hint:[/] {escape(hint)}", soft_wrap=True)


def symbol(status: str) -> str:
    return f"[{STYLES[status]}]{SYMBOLS[status]}[/]"


class RichReporter:
    """Phases as one line each on stderr; child output streamed only with -v; nothing at all with -q.

    With ``live`` and a terminal on stderr, a running phase also shows a spinner, its elapsed time and the
    installer's latest word on what it fetches; the spinner line is erased when the phase ends, so that what
    stays on the screen is the same as on a pipe. Never on a pipe, in a file or with --json (``live=False``).
    """

    def __init__(self, console: Console, *, verbose: bool = False, quiet: bool = False, live: bool = False) -> None:
        self.console = console
        self.verbose = verbose
        self.quiet = quiet
        self.live = live and console.is_terminal and not quiet and not verbose
        self._started: dict[str, float] = {}
        self._progress: Any = None  # rich.progress.Progress while a phase runs on a terminal
        self._task: Any = None

    def phase(self, name: str) -> None:
        self._stop()
        self._started[name] = time.monotonic()
        if not self.quiet:
            self.console.print(f"[bold]→[/] {escape(name)} …")
        if self.live:
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self._progress = Progress(
                SpinnerColumn(),
                TimeElapsedColumn(),
                TextColumn("{task.description}", markup=False),
                console=self.console,
                transient=True,
            )
            self._task = self._progress.add_task(name, total=None)
            self._progress.start()

    def done(self, name: str, detail: str = "", *, ok: bool = True) -> None:
        self._stop()
        elapsed = time.monotonic() - self._started.pop(name, time.monotonic())
        if not self.quiet:
            extra = f" {escape(detail)}" if detail else ""
            mark = "[green]✓[/]" if ok else "[red]✗[/]"
            self.console.print(f"{mark} {escape(name)}{extra} [dim]({elapsed:.1f}s)[/]")

    def line(self, text: str) -> None:
        if self._progress is not None:
            news = _fetching(text)
            if news:
                self._progress.update(self._task, description=news)
        if self.verbose and not self.quiet:
            # soft_wrap: the installer's line stays one line, as it would be in the log
            self.console.print(f"  [dim]{escape(redact_credentials(text))}[/]", soft_wrap=True)

    def close(self) -> None:
        """Stop the spinner of a phase that ended in an error or an interrupt (done() was never called)."""
        self._stop()

    def __enter__(self) -> RichReporter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = self._task = None


# What uv and pip say about their work, worth a glance while a big download runs.
_NEWS = re.compile(r"download|collect|resolv|prepar|install|build|fetch|extract|link|solv", re.IGNORECASE)


def _fetching(text: str) -> str | None:
    """The installer's line, trimmed, when it tells what is being fetched or done; None for the rest."""
    cleaned = " ".join(text.split())
    if not cleaned or not _NEWS.search(cleaned):
        return None
    return cleaned[:120]
