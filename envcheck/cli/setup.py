"""`envcheck setup`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from envcheck.cli.boundary import boundary
from envcheck.cli.options import (
    FileOpt,
    JsonOpt,
    PrefixOpt,
    ProfileOpt,
    QuietOpt,
    VerboseOpt,
)
from envcheck.errors import ExitCode
from envcheck.output.envelope import emit_json

NAME = "setup"


@boundary(NAME)
def command(
    profile: ProfileOpt = None,
    file: FileOpt = None,
    prefix: PrefixOpt = None,
    python: Annotated[
        str | None, typer.Option("--python", help="Interpreter to build from (default: the one running envcheck).")
    ] = None,
    backend: Annotated[
        str | None, typer.Option("--backend", help="venv or conda (default: conda for an environment.yml, else venv).")
    ] = None,
    installer: Annotated[str, typer.Option("--installer", help="uv (fast, default) or pip.")] = "uv",
    conda_exe: Annotated[
        str | None, typer.Option("--conda-exe", help="conda, mamba or micromamba to use (default: found on PATH).")
    ] = None,
    index_url: Annotated[str | None, typer.Option("--index-url", help="Base URL of the package index.")] = None,
    extra_index_url: Annotated[
        list[str] | None, typer.Option("--extra-index-url", help="Extra package index (repeatable).")
    ] = None,
    find_links: Annotated[
        list[str] | None, typer.Option("--find-links", help="Folder or page with wheels (repeatable).")
    ] = None,
    offline: Annotated[bool, typer.Option("--offline", help="Use only cached or local packages.")] = False,
    recreate: Annotated[
        bool, typer.Option("--recreate", help="Rebuild from scratch; the old one is kept until then.")
    ] = False,
    no_kernel: Annotated[bool, typer.Option("--no-kernel", help="Do not register a Jupyter kernel.")] = False,
    kernel_name: Annotated[
        str | None, typer.Option("--kernel-name", help="Kernel name (default: envcheck-<profile>).")
    ] = None,
    lock: Annotated[
        Path | None, typer.Option("--lock", help="Install exactly this lock (pylock.toml), hashes checked.")
    ] = None,
    json_output: JsonOpt = False,
    verbose: VerboseOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Create the environment of a profile (default: deep-learning), or bring it in line."""
    from envcheck.output import RichReporter, stderr_console, stdout_console
    from envcheck.output.envelope import envelope, status_of
    from envcheck.profiles.files import load_profile
    from envcheck.setup.backends import IndexOptions
    from envcheck.setup.pipeline import SetupRequest, default_backend, setup_environment

    chosen = load_profile(_lock_profile(lock) if lock and not (profile or file) else profile, file)
    request = SetupRequest(
        profile=chosen,
        prefix=prefix,
        python=python,
        backend=backend or default_backend(chosen),
        installer=installer,
        conda_exe=conda_exe,
        index=IndexOptions(
            index_url=index_url,
            extra_index_urls=tuple(extra_index_url or ()),
            find_links=tuple(find_links or ()),
            offline=offline,
        ),
        recreate=recreate,
        kernel=not no_kernel,
        kernel_name=kernel_name,
        lock=lock,
    )
    quiet = quiet or json_output and not verbose
    # a spinner with the installer's progress, on a terminal only (RichReporter checks) and never with --json
    with RichReporter(stderr_console(), verbose=verbose, quiet=quiet, live=not json_output) as reporter:
        result = setup_environment(request, reporter)
    if json_output:
        emit_json(envelope("setup", status_of(ExitCode.OK), ExitCode.OK, **result.to_json()))
    else:
        from envcheck.output.setup import render_setup

        render_setup(result, stdout_console())


def _lock_profile(path: Path) -> str | None:
    """The profile a lock was made from, so that `--lock` alone is enough."""
    from envcheck.lock.pylock import read_lock

    return read_lock(path).profile
