"""`envcheck compare`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from envcheck.cli.boundary import boundary
from envcheck.cli.options import (
    JsonOpt,
)
from envcheck.output.envelope import emit_json

NAME = "compare"


@boundary(NAME)
def command(
    reports: Annotated[
        list[Path] | None, typer.Argument(help="verify or smoke-train JSON reports, from any machines.")
    ] = None,
    baseline: Annotated[
        Path | None, typer.Option("--baseline", help="The reference report (default: the first one).")
    ] = None,
    json_output: JsonOpt = False,
    markdown: Annotated[bool, typer.Option("--markdown", help="Print a block to paste into a ticket.")] = False,
) -> None:
    """Compare verify and smoke-train reports from many machines: versions, devices, checks, lock digests.

    Exit codes: 0 all agree, 1 something differs, 2 a file is unreadable or not an envcheck report.
    """
    from envcheck.compare import compare_files
    from envcheck.errors import UsageError
    from envcheck.output import stdout_console
    from envcheck.output.compare import json_document, render_compare
    from envcheck.output.compare import markdown as markdown_block

    if json_output and markdown:
        raise UsageError("--json and --markdown cannot be used together", "pick one of them")
    comparison = compare_files(list(reports or []), baseline)
    if json_output:
        emit_json(json_document(comparison))
    elif markdown:
        sys.stdout.write(markdown_block(comparison))
        sys.stdout.flush()
    else:
        render_compare(comparison, stdout_console())
    raise typer.Exit(int(comparison.exit_code))
