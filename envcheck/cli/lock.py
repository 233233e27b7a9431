"""`envcheck lock`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from envcheck.cli.boundary import boundary, print_error
from envcheck.cli.options import (
    ExtraIndexOpt,
    FileOpt,
    FindLinksOpt,
    IndexUrlOpt,
    JsonOpt,
    ProfileOpt,
    QuietOpt,
    VerboseOpt,
)
from envcheck.errors import ExitCode
from envcheck.output.envelope import emit_json

NAME = "lock"


@boundary(NAME)
def command(
    profile: ProfileOpt = None,
    file: FileOpt = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Where to write it (default: pylock.<profile>.toml).")
    ] = None,
    python_version: Annotated[
        list[str] | None,
        typer.Option("--python-version", help="Lock for this Python, e.g. 3.12 (repeatable; default: the profile's)."),
    ] = None,
    platform: Annotated[
        list[str] | None,
        typer.Option("--platform", help="linux-x86_64, linux-aarch64, macos-arm64, windows-x86_64 (default: all)."),
    ] = None,
    skip_unavailable: Annotated[
        bool, typer.Option("--skip-unavailable", help="Lock the platforms that resolve; list the others.")
    ] = False,
    check: Annotated[
        bool, typer.Option("--check", help="Only check that the lock still fits the profile (exit 1 if not).")
    ] = False,
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
    from envcheck.lock.make import LockRequest, check_lock, default_lock_path, make_lock
    from envcheck.lock.pylock import PLATFORMS, read_lock
    from envcheck.output import RichReporter, stderr_console, stdout_console
    from envcheck.output.envelope import envelope, status_of
    from envcheck.profiles.files import load_profile
    from envcheck.setup.backends import IndexOptions

    chosen = load_profile(profile, file)
    path = output or default_lock_path(chosen)
    if check:
        problem = check_lock(path, chosen)
        lock = read_lock(path)
        code = ExitCode.FAILED if problem else ExitCode.OK
        if json_output:
            emit_json(
                envelope(
                    "lock",
                    status_of(code),
                    code,
                    lock={"path": str(lock.path), "digest": lock.digest},
                    profile=chosen.name,
                    fits=problem is None,
                    problem=problem,
                )
            )
        elif problem:
            print_error(problem, f"write it again with: envcheck lock --profile {chosen.name} --output {path}")
        else:
            stdout_console().print(f"{path} fits profile {chosen.name!r}", soft_wrap=True)
        raise typer.Exit(int(code))
    request = LockRequest(
        profile=chosen,
        output=path,
        pythons=tuple(python_version or ()),
        platforms=tuple(platform or PLATFORMS),
        index=IndexOptions(
            index_url=index_url, extra_index_urls=tuple(extra_index_url or ()), find_links=tuple(find_links or ())
        ),
        partial=skip_unavailable,
    )
    reporter = RichReporter(stderr_console(), verbose=verbose, quiet=quiet or json_output and not verbose)
    result = make_lock(request, reporter)
    if json_output:
        emit_json(envelope("lock", status_of(ExitCode.OK), ExitCode.OK, **result.to_json()))
        return
    console = stdout_console()
    console.print(
        f"wrote {result.path}: {result.packages} packages for {', '.join(result.platforms)}"
        f" with Python {', '.join(result.pythons)}",
        soft_wrap=True,
    )
    for gap in result.left_out:
        console.print(f"left out {gap}", soft_wrap=True)
