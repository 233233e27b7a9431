"""The typer application: the command group, its error boundary for usage errors, and the registered commands."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from envcheck import __version__
from envcheck.cli import compare, download, export, lock, run, schema, setup, smoke, verify
from envcheck.cli.boundary import CLICK_ERROR, fail, one_line
from envcheck.errors import ExitCode

# The commands, in the order `envcheck --help` lists them; each module has NAME, command and maybe SETTINGS.
COMMANDS = (setup, verify, smoke, run, compare, lock, download, export, schema)
_ARGV = "envcheck.argv"


class _Commands(TyperGroup):
    """The command group: an option click refuses is reported like every other error (one line, envelope)."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        ctx.meta[_ARGV] = list(args)
        return super().parse_args(ctx, args)

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except CLICK_ERROR as exc:
            argv: list[str] = ctx.meta.get(_ARGV, [])
            name = next((a for a in argv if not a.startswith("-")), None)
            command = name if name in self.list_commands(ctx) else None
            hint = f"run: envcheck {command} --help" if command else "run: envcheck --help"
            message = exc.format_message()  # type: ignore[attr-defined]
            fail(command or "envcheck", ExitCode.USAGE, one_line(message), hint, as_json="--json" in argv)


app = typer.Typer(
    cls=_Commands,
    name="envcheck",
    help="Set up, verify and smoke-test a deep-learning Python environment.",
    add_completion=True,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


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


for _module in COMMANDS:
    app.command(_module.NAME, context_settings=getattr(_module, "SETTINGS", None))(_module.command)


def main() -> None:
    app()
