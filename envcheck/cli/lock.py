"""`envcheck lock`."""

from __future__ import annotations

import typer

from envcheck.cli.boundary import boundary
from envcheck.cli.options import (
    CheckOpt,
    ExtraIndexOpt,
    FileOpt,
    FindLinksOpt,
    IndexUrlOpt,
    JsonOpt,
    LockOutputOpt,
    LockPlatformOpt,
    ProfileOpt,
    PythonVersionOpt,
    QuietOpt,
    SkipUnavailableOpt,
    VerboseOpt,
    output_format,
    refuse,
    values,
)

NAME = "lock"
# What only writing a lock takes; `--check` reads the lock that is there.
WRITING_OPTIONS = ("python_version", "platform", "skip_unavailable", "index_url", "extra_index_url", "find_links")


@boundary(NAME)
def command(
    ctx: typer.Context,
    profile: ProfileOpt = None,
    file: FileOpt = None,
    output: LockOutputOpt = None,
    python_version: PythonVersionOpt = None,
    platform: LockPlatformOpt = None,
    skip_unavailable: SkipUnavailableOpt = False,
    check: CheckOpt = False,
    index_url: IndexUrlOpt = None,
    extra_index_url: ExtraIndexOpt = None,
    find_links: FindLinksOpt = None,
    json_output: JsonOpt = False,
    verbose: VerboseOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Write a PEP 751 lock (pylock.toml) of a profile, with hashes, for every platform and Python it supports.

    Exit codes: 0 written (or, with --check, still fits), 1 a platform does not resolve (or the profile changed).
    """
    from envcheck.installers import IndexOptions
    from envcheck.lock.make import LockRequest, check_lock, default_lock_path, make_lock
    from envcheck.lock.platforms import PLATFORMS
    from envcheck.output.display import Style, reporter, show
    from envcheck.output.lock import CHECK, LOCK
    from envcheck.profiles.files import load_profile

    fmt = output_format(json_output)
    if check:
        refuse(
            ctx,
            WRITING_OPTIONS,
            applies="when writing a lock, not with --check",
            hint="leave out {options} to check the lock that is there, or leave out --check to write a new one",
        )
    chosen = load_profile(profile, file)
    path = output or default_lock_path(chosen)
    if check:
        raise typer.Exit(show(NAME, CHECK, check_lock(path, chosen), fmt))
    request = LockRequest(
        profile=chosen,
        output=path,
        pythons=tuple(python_version or ()),
        platforms=values(platform) or tuple(PLATFORMS),
        index=IndexOptions(
            index_url=index_url, extra_index_urls=tuple(extra_index_url or ()), find_links=tuple(find_links or ())
        ),
        partial=skip_unavailable,
    )
    style = Style(verbose=verbose, quiet=quiet)
    result = make_lock(request, reporter(fmt, style))
    raise typer.Exit(show(NAME, LOCK, result, fmt, style))
