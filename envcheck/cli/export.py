"""`envcheck export`."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from envcheck.cli.boundary import boundary
from envcheck.cli.options import (
    FileOpt,
    ProfileOpt,
)
from envcheck.errors import ExitCode
from envcheck.output.envelope import emit_json

NAME = "export"


@boundary(NAME)
def command(
    fmt: Annotated[str, typer.Option("--format", help="conda (environment.yml) or pip (requirements.txt).")] = "conda",
    profile: ProfileOpt = None,
    file: FileOpt = None,
    json_output: Annotated[
        bool, typer.Option("--json", help='Print one JSON document on stdout, the file\'s text under "content".')
    ] = False,
) -> None:
    """Print a profile as environment.yml or requirements.txt, to use with your own tools."""
    import platform

    from envcheck.profiles.condafile import export_text
    from envcheck.profiles.files import load_profile

    # python is pinned to the interpreter running envcheck, as `setup` would build it, where the profile allows
    chosen = load_profile(profile, file)
    text = export_text(chosen, fmt, platform.python_version())
    if json_output:
        from envcheck.output.envelope import envelope, status_of

        emit_json(
            envelope("export", status_of(ExitCode.OK), ExitCode.OK, profile=chosen.name, format=fmt, content=text)
        )
        return
    sys.stdout.write(text)
    sys.stdout.flush()
