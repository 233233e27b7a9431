"""`envcheck setup`."""

from __future__ import annotations

from pathlib import Path

import typer

from envcheck.cli.boundary import boundary
from envcheck.cli.options import (
    DEFAULT_INSTALLER,
    BackendOpt,
    CondaExeOpt,
    ExtraIndexOpt,
    FileOpt,
    FindLinksOpt,
    IndexUrlOpt,
    InstallerOpt,
    JsonOpt,
    KernelNameOpt,
    NoKernelOpt,
    OfflineOpt,
    PrefixOpt,
    ProfileOpt,
    QuietOpt,
    RecreateOpt,
    SetupLockOpt,
    SetupPythonOpt,
    VerboseOpt,
    output_format,
    refuse,
)

NAME = "setup"


@boundary(NAME)
def command(
    ctx: typer.Context,
    profile: ProfileOpt = None,
    file: FileOpt = None,
    prefix: PrefixOpt = None,
    python: SetupPythonOpt = None,
    backend: BackendOpt = None,
    installer: InstallerOpt = DEFAULT_INSTALLER,
    conda_exe: CondaExeOpt = None,
    index_url: IndexUrlOpt = None,
    extra_index_url: ExtraIndexOpt = None,
    find_links: FindLinksOpt = None,
    offline: OfflineOpt = False,
    recreate: RecreateOpt = False,
    no_kernel: NoKernelOpt = False,
    kernel_name: KernelNameOpt = None,
    lock: SetupLockOpt = None,
    json_output: JsonOpt = False,
    verbose: VerboseOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Create the environment of a profile (default: deep-learning), or bring it in line."""
    from envcheck.installers import IndexOptions
    from envcheck.output.display import Format, Style, reporter, show
    from envcheck.output.setup import RESULT
    from envcheck.profiles.files import load_profile
    from envcheck.setup import backends
    from envcheck.setup.pipeline import setup_environment
    from envcheck.setup.request import SetupRequest, default_backend

    fmt = output_format(json_output)
    if no_kernel:
        refuse(
            ctx, ["kernel_name"], applies="when a kernel is registered", hint="leave out --kernel-name or --no-kernel"
        )
    chosen = load_profile(_lock_profile(lock) if lock and not (profile or file) else profile, file)
    building = backend.value if backend is not None else default_backend(chosen)
    # an option that only another backend takes is refused rather than ignored
    for other in backends.names():
        if other != building:
            refuse(
                ctx,
                [name for name in backends.options_of(other) if name not in backends.options_of(building)],
                applies=f"to the {other} backend, not to {building}",
                hint=f"leave out {{options}}, or choose --backend {other}",
            )
    request = SetupRequest(
        profile=chosen,
        prefix=prefix,
        python=python,
        backend=building,
        installer=installer.value,
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
    style = Style(verbose=verbose, quiet=quiet)
    # a spinner with the installer's progress, on a terminal only (RichReporter checks) and never with --json
    with reporter(fmt, style, live=fmt is Format.TEXT) as progress:
        result = setup_environment(request, progress)
    raise typer.Exit(show(NAME, RESULT, result, fmt, style))


def _lock_profile(path: Path) -> str | None:
    """The profile a lock was made from, so that `--lock` alone is enough."""
    from envcheck.lock.pylock import read_lock

    return read_lock(path).profile
