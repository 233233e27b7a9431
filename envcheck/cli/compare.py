"""`envcheck compare`."""

from __future__ import annotations

import typer

from envcheck.cli.boundary import boundary
from envcheck.cli.options import BaselineOpt, JsonOpt, MarkdownOpt, ReportsArg, output_format

NAME = "compare"


@boundary(NAME)
def command(
    reports: ReportsArg = None,
    baseline: BaselineOpt = None,
    json_output: JsonOpt = False,
    markdown: MarkdownOpt = False,
) -> None:
    """Compare verify and smoke-train reports from many machines: versions, devices, checks, lock digests.

    Exit codes: 0 all agree, 1 something differs, 2 a file is unreadable or not an envcheck report.
    """
    from envcheck.compare import compare_files
    from envcheck.output.compare import COMPARISON
    from envcheck.output.display import show

    fmt = output_format(json_output, markdown)
    comparison = compare_files(list(reports or []), baseline)
    raise typer.Exit(show(NAME, COMPARISON, comparison, fmt))
