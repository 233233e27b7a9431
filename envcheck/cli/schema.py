"""`envcheck schema`."""

from __future__ import annotations

import typer

from envcheck.cli.boundary import boundary
from envcheck.cli.options import SchemaNameArg, SchemaPathOpt

NAME = "schema"


@boundary(NAME)
def command(name: SchemaNameArg = None, path: SchemaPathOpt = False) -> None:
    """Print the JSON Schema (draft 2020-12) of what a command prints with --json; without NAME, list them.

    Exit codes: 0 printed, 2 no such schema.
    """
    from envcheck.output.display import show
    from envcheck.output.schema import SCHEMA, shown

    raise typer.Exit(show(NAME, SCHEMA, shown(name, path=path)))
