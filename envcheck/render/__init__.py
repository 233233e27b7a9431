"""Rendering for people: the rich consoles (results on stdout, progress on stderr) and the progress reporter."""

from __future__ import annotations

import time

from rich.console import Console
from rich.markup import escape

from envcheck.redaction import redact_credentials

SYMBOLS = {"pass": "✓", "warn": "!", "fail": "✗", "skip": "-"}
STYLES = {"pass": "green", "warn": "yellow", "fail": "red", "skip": "dim"}


def stdout_console() -> Console:
    # rich honours NO_COLOR itself; highlight=False keeps numbers in plain text
    return Console(highlight=False, soft_wrap=False)


def stderr_console() -> Console:
    return Console(stderr=True, highlight=False)


def symbol(status: str) -> str:
    return f"[{STYLES[status]}]{SYMBOLS[status]}[/]"


class RichReporter:
    """Phases as one line each on stderr; child output streamed only with -v; nothing at all with -q."""

    def __init__(self, console: Console, *, verbose: bool = False, quiet: bool = False) -> None:
        self.console = console
        self.verbose = verbose
        self.quiet = quiet
        self._started: dict[str, float] = {}

    def phase(self, name: str) -> None:
        self._started[name] = time.monotonic()
        if not self.quiet:
            self.console.print(f"[bold]→[/] {escape(name)} …")

    def done(self, name: str, detail: str = "", *, ok: bool = True) -> None:
        elapsed = time.monotonic() - self._started.pop(name, time.monotonic())
        if not self.quiet:
            extra = f" {escape(detail)}" if detail else ""
            mark = "[green]✓[/]" if ok else "[red]✗[/]"
            self.console.print(f"{mark} {escape(name)}{extra} [dim]({elapsed:.1f}s)[/]")

    def line(self, text: str) -> None:
        if self.verbose and not self.quiet:
            self.console.print(f"  [dim]{escape(redact_credentials(text))}[/]")
