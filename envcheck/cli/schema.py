"""`envcheck schema`."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from envcheck.cli.boundary import boundary

NAME = "schema"


def _complete_names(incomplete: str) -> list[str]:
    from envcheck.output.schemas import NAMES

    return [name for name in NAMES if name.startswith(incomplete)]


@boundary(NAME)
def command(
    name: Annotated[
        str | None,
        typer.Argument(
            help="verify, verify-fix, smoke-train, setup, lock, download, compare, export or error.",
            autocompletion=_complete_names,
            show_default=False,
        ),
    ] = None,
    path: Annotated[bool, typer.Option("--path", help="Print where the schema file is instead of its text.")] = False,
) -> None:
    """Print the JSON Schema (draft 2020-12) of what a command prints with --json; without NAME, list them.

    Exit codes: 0 printed, 2 no such schema.
    """
    from envcheck.output import stdout_console
    from envcheck.output.schemas import NAMES, folder, load_schema, schema_file, schema_text

    if name is None:
        console = stdout_console()
        for each in NAMES:
            console.print(f"{each:<12} {load_schema(each)['title']}", soft_wrap=True, markup=False)
        console.print(f"files: {folder()}", soft_wrap=True, markup=False)
        return
    sys.stdout.write(f"{schema_file(name)}\n" if path else schema_text(name))
    sys.stdout.flush()
