"""`envcheck run`."""

from __future__ import annotations

import typer

from envcheck.cli.boundary import boundary
from envcheck.cli.options import FileOpt, PrefixOpt, ProfileOpt, RunArgs

NAME = "run"
# everything after the first word is the command's own: `envcheck run python -c ...` needs no `--`
SETTINGS = {"allow_interspersed_args": False, "ignore_unknown_options": True}


@boundary(NAME)
def command(
    args: RunArgs = None,
    profile: ProfileOpt = None,
    file: FileOpt = None,
    prefix: PrefixOpt = None,
) -> None:
    """Run a command with the environment's programs first on PATH, nothing activated (e.g. -- jupyter lab).

    Exit code: the command's; 2 usage error (no such environment or command). The command's own output is
    its own: envcheck prints nothing of its own but an error.
    """
    from envcheck.run import run_in_environment
    from envcheck.targets import resolve_target

    target = resolve_target(profile, file, prefix, None)
    raise typer.Exit(run_in_environment(target, args or []))
