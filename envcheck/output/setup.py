"""Rendering of `envcheck setup`'s result: the summary a person reads at the end, and the JSON payload."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from envcheck.errors import ExitCode
from envcheck.output.display import View
from envcheck.profiles.profile import CORE_PACKAGES
from envcheck.setup.result import Action, SetupResult

HEADLINES = {
    Action.CREATED: "Environment created",
    Action.UPDATED: "Environment brought in line with the profile",
    Action.RECREATED: "Environment recreated",
    Action.UP_TO_DATE: "Environment is up to date",
}


def render_setup(result: SetupResult, console: Console) -> None:
    for warning in result.warnings:
        console.print(f"[yellow]![/] {escape(warning)}", soft_wrap=True)
    console.print(f"[bold green]✓[/] {HEADLINES[result.action]} [dim]({result.duration:.1f}s)[/]")
    rows = [
        ("path", escape(str(result.prefix))),
        ("profile", f"{escape(result.profile)} ({result.backend}, {result.installer})"),
        ("python", escape(result.python_version)),
        *((name, escape(result.versions[name])) for name in CORE_PACKAGES if name in result.versions),
        ("kernel", escape(result.kernel) if result.kernel else "[dim]not registered[/]"),
    ]
    if result.lock:
        rows.append(("lock", f"{escape(str(result.lock['path']))} [dim](sha256 {str(result.lock['digest'])[:12]})[/]"))
    if result.log is not None:
        rows.append(("log", escape(str(result.log))))
    for label, value in rows:
        # soft_wrap: a long path is left whole for the terminal to wrap, so that it can be copied
        console.print(f"  {label:<14}{value}", soft_wrap=True)
    console.print(f"next: [bold]{escape(result.next_command)}[/]", soft_wrap=True)
    if result.run_command:
        console.print(f"use:  [bold]{escape(result.run_command)}[/]", soft_wrap=True)
    if result.path_note:
        console.print(f"[dim]{escape(result.path_note)}[/]", soft_wrap=True)


RESULT: View[SetupResult] = View(
    exit_code=lambda _: ExitCode.OK,  # a setup that did not finish raised instead
    payload=lambda result, _: result.to_json(),
    text=lambda result, console, _: render_setup(result, console),
)
