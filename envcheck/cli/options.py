"""Options shared by several commands, each declared once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def _complete_profiles(incomplete: str) -> list[str]:
    """Shell completion of --profile: the shipped profiles (read only when the shell asks)."""
    from envcheck.profiles.profile import available_profiles

    return [name for name in available_profiles() if name.startswith(incomplete)]


ProfileOpt = Annotated[
    str | None,
    typer.Option(
        "--profile",
        "-p",
        help="Profile name from environments/ (default: deep-learning).",
        autocompletion=_complete_profiles,
    ),
]
FileOpt = Annotated[
    Path | None, typer.Option("--file", "-f", help="Your own profile (.toml), requirements.txt or environment.yml.")
]
PrefixOpt = Annotated[Path | None, typer.Option("--prefix", help="The environment's directory.")]
PythonOpt = Annotated[
    str | None, typer.Option("--python", help="Any interpreter to examine, by path or name (e.g. python3).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout; progress goes to stderr.")]
MarkdownOpt = Annotated[bool, typer.Option("--markdown", help="Print a block to paste into a bug report or ticket.")]
NoRedactOpt = Annotated[
    bool, typer.Option("--no-redact", help="Keep home folder, user and host names in --json/--markdown.")
]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Show details and child output.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Show only the result.")]
IndexUrlOpt = Annotated[str | None, typer.Option("--index-url", help="Base URL of the package index.")]
ExtraIndexOpt = Annotated[list[str] | None, typer.Option("--extra-index-url", help="Extra package index (repeatable).")]
FindLinksOpt = Annotated[
    list[str] | None, typer.Option("--find-links", help="Folder or page with wheels (repeatable).")
]
