"""`envcheck download`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from envcheck.cli.boundary import boundary
from envcheck.cli.options import (
    ExtraIndexOpt,
    FindLinksOpt,
    IndexUrlOpt,
    JsonOpt,
    QuietOpt,
    VerboseOpt,
)
from envcheck.errors import ExitCode
from envcheck.output.envelope import emit_json

NAME = "download"


@boundary(NAME)
def command(
    lock: Annotated[Path, typer.Option("--lock", help="The lock (pylock.toml) whose wheels to fetch.")],
    dest: Annotated[Path, typer.Option("--dest", help="The folder to put them in (a wheelhouse).")],
    platform: Annotated[
        list[str] | None,
        typer.Option("--platform", help="Fetch for this platform and every Python of the lock (repeatable)."),
    ] = None,
    index_url: IndexUrlOpt = None,
    extra_index_url: ExtraIndexOpt = None,
    find_links: FindLinksOpt = None,
    json_output: JsonOpt = False,
    verbose: VerboseOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Put every wheel a lock needs into one folder, checked against the lock's hashes, for offline setups."""
    from envcheck.lock.make import download
    from envcheck.output import RichReporter, stderr_console, stdout_console
    from envcheck.output.envelope import envelope, status_of
    from envcheck.setup.backends import IndexOptions

    reporter = RichReporter(stderr_console(), verbose=verbose, quiet=quiet or json_output and not verbose)
    index = IndexOptions(
        index_url=index_url, extra_index_urls=tuple(extra_index_url or ()), find_links=tuple(find_links or ())
    )
    result = download(lock, dest, tuple(platform or ()), index, reporter)
    if json_output:
        emit_json(envelope("download", status_of(ExitCode.OK), ExitCode.OK, **result.to_json()))
        return
    stdout_console().print(
        f"{result.dest}: {len(result.files)} wheels ({result.bytes / 1e6:.0f} MB) for {', '.join(result.targets)},"
        " each matching the lock's sha256",
        soft_wrap=True,
    )
    stdout_console().print(
        f"build from it with: envcheck setup --lock {lock} --offline --find-links {result.dest}", soft_wrap=True
    )
