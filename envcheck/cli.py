"""The command line: parse options, call one core function, render what comes back, exit with its code.

No subprocess calls and no rules here; errors become text in one place, ``_boundary``.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from envcheck import __version__
from envcheck.errors import EnvcheckError, ExitCode

app = typer.Typer(
    name="envcheck",
    help="Set up, verify and smoke-test a deep-learning Python environment.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

F = TypeVar("F", bound=Callable[..., Any])

# Options shared by the commands that examine an environment.
ProfileOpt = Annotated[
    str | None, typer.Option("--profile", "-p", help="Profile name from environments/ (default: deep-learning).")
]
FileOpt = Annotated[
    Path | None, typer.Option("--file", "-f", help="Your own profile (.toml), requirements.txt or environment.yml.")
]
PrefixOpt = Annotated[Path | None, typer.Option("--prefix", help="The environment's directory.")]
PythonOpt = Annotated[
    str | None, typer.Option("--python", help="Any interpreter to examine, by path or name (e.g. python3).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout; progress goes to stderr.")]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Show details and child output.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Show only the result.")]


def _boundary(func: F) -> F:
    """Turn envcheck's errors into one ERROR line and one hint line on stderr, and the documented exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except EnvcheckError as exc:
            _print_error(exc.message, exc.hint)
            raise typer.Exit(int(exc.exit_code)) from None
        except KeyboardInterrupt:
            _print_error("interrupted", None)
            raise typer.Exit(int(ExitCode.INTERRUPTED)) from None

    return wrapper  # type: ignore[return-value]


def _print_error(message: str, hint: str | None) -> None:
    from envcheck.render import stderr_console

    console = stderr_console()
    console.print(f"[bold red]error:[/] {_escape(message)}")
    if hint:
        console.print(f"[bold]hint:[/] {_escape(hint)}")


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def emit_json(document: dict[str, Any]) -> None:
    """The only writer of --json documents: exactly one, on stdout."""
    sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"envcheck {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version_callback, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """Set up, verify and smoke-test a deep-learning Python environment."""


def main() -> None:
    app()
