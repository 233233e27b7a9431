"""Rendering of `envcheck setup`'s result: the summary a person reads at the end."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from envcheck.profiles import CORE_PACKAGES
from envcheck.provision import Action, SetupResult

HEADLINES = {
    Action.CREATED: "Environment created",
    Action.UPDATED: "Environment brought in line with the profile",
    Action.RECREATED: "Environment recreated",
    Action.UP_TO_DATE: "Environment is up to date",
}


def render_setup(result: SetupResult, console: Console) -> None:
    console.print(f"[bold green]✓[/] {HEADLINES[result.action]} [dim]({result.duration:.1f}s)[/]")
    table = Table(show_header=False, box=None, padding=(0, 2))
    table.add_row("path", escape(str(result.prefix)))
    table.add_row("profile", f"{escape(result.profile)} ({result.backend}, {result.installer})")
    table.add_row("python", escape(result.python_version))
    for name in CORE_PACKAGES:
        if name in result.versions:
            table.add_row(name, escape(result.versions[name]))
    table.add_row("kernel", escape(result.kernel) if result.kernel else "[dim]not registered[/]")
    if result.log is not None:
        table.add_row("log", escape(str(result.log)))
    console.print(table)
    console.print(f"next: [bold]{escape(result.next_command)}[/]")
