"""`envcheck export`."""

from __future__ import annotations

import typer

from envcheck.cli.boundary import boundary
from envcheck.cli.options import (
    DEFAULT_EXPORT_FORMAT,
    ExportFormatOpt,
    ExportJsonOpt,
    FileOpt,
    ProfileOpt,
    output_format,
)

NAME = "export"


@boundary(NAME)
def command(
    fmt: ExportFormatOpt = DEFAULT_EXPORT_FORMAT,
    profile: ProfileOpt = None,
    file: FileOpt = None,
    json_output: ExportJsonOpt = False,
) -> None:
    """Print a profile as environment.yml or requirements.txt, to use with your own tools."""
    import platform

    from envcheck.output.display import show
    from envcheck.output.export import EXPORT
    from envcheck.profiles.condafile import export_profile
    from envcheck.profiles.files import load_profile

    # python is pinned to the interpreter running envcheck, as `setup` would build it, where the profile allows
    exported = export_profile(load_profile(profile, file), fmt.value, platform.python_version())
    raise typer.Exit(show(NAME, EXPORT, exported, output_format(json_output)))
