"""`envcheck download`."""

from __future__ import annotations

import typer

from envcheck.cli.boundary import boundary
from envcheck.cli.options import (
    DestOpt,
    DownloadLockOpt,
    DownloadPlatformOpt,
    ExtraIndexOpt,
    FindLinksOpt,
    IndexUrlOpt,
    JsonOpt,
    QuietOpt,
    VerboseOpt,
    output_format,
    values,
)

NAME = "download"


@boundary(NAME)
def command(
    lock: DownloadLockOpt,
    dest: DestOpt,
    platform: DownloadPlatformOpt = None,
    index_url: IndexUrlOpt = None,
    extra_index_url: ExtraIndexOpt = None,
    find_links: FindLinksOpt = None,
    json_output: JsonOpt = False,
    verbose: VerboseOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Put every wheel a lock needs into one folder, checked against the lock's hashes, for offline setups."""
    from envcheck.installers import IndexOptions
    from envcheck.lock.make import download
    from envcheck.output.display import Style, reporter, show
    from envcheck.output.lock import DOWNLOAD

    fmt = output_format(json_output)
    style = Style(verbose=verbose, quiet=quiet)
    index = IndexOptions(
        index_url=index_url, extra_index_urls=tuple(extra_index_url or ()), find_links=tuple(find_links or ())
    )
    result = download(lock, dest, values(platform), index, reporter(fmt, style))
    raise typer.Exit(show(NAME, DOWNLOAD, result, fmt, style))
