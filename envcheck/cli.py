"""The command line: parse options, call one core function, render what comes back, exit with its code.

No subprocess calls and no rules here; errors become text in one place, ``_boundary``.
"""

from __future__ import annotations

import errno
import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer
from typer.core import TyperGroup

from envcheck import __version__
from envcheck.errors import EnvcheckError, ExitCode

if TYPE_CHECKING:
    from envcheck.targets import Target
    from envcheck.verify import VerifyReport

# click's base of usage errors; typer exports only a subclass of it (and newer typer vendors click privately)
_CLICK_ERROR: type[Exception] = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")
_ARGV = "envcheck.argv"


class _Commands(TyperGroup):
    """The command group: an option click refuses is reported like every other error (one line, envelope)."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        ctx.meta[_ARGV] = list(args)
        return super().parse_args(ctx, args)

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except _CLICK_ERROR as exc:
            argv: list[str] = ctx.meta.get(_ARGV, [])
            name = next((a for a in argv if not a.startswith("-")), None)
            command = name if name in self.list_commands(ctx) else None
            hint = f"run: envcheck {command} --help" if command else "run: envcheck --help"
            message = exc.format_message()  # type: ignore[attr-defined]
            _fail(command or "envcheck", ExitCode.USAGE, _one_line(message), hint, as_json="--json" in argv)


app = typer.Typer(
    cls=_Commands,
    name="envcheck",
    help="Set up, verify and smoke-test a deep-learning Python environment.",
    add_completion=True,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

F = TypeVar("F", bound=Callable[..., Any])


def _complete_profiles(incomplete: str) -> list[str]:
    """Shell completion of --profile: the shipped profiles (read only when the shell asks)."""
    from envcheck.profiles import available_profiles

    return [name for name in available_profiles() if name.startswith(incomplete)]


# Options shared by the commands that examine an environment.
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
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Show details and child output.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Show only the result.")]


def _boundary(func: F) -> F:
    """Turn whatever ends a command early into one error line, one hint line and a documented exit code.

    envcheck's own errors carry their message, hint and code; an OSError (a full or read-only disk) or any
    other unexpected error becomes exit 3 in the same form, never a traceback. With --json a script also
    gets the error on stdout, in the usual envelope.
    """
    command = func.__name__.removesuffix("_command").replace("_", "-")

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from envcheck import runner

        as_json = bool(kwargs.get("json_output"))
        try:
            with runner.stop_on_signals():  # Ctrl-C and SIGTERM stop every child at once, then land here
                return func(*args, **kwargs)
        except EnvcheckError as exc:
            _fail(command, exc.exit_code, exc.message, exc.hint, as_json=as_json)
        except KeyboardInterrupt:
            _fail(command, ExitCode.INTERRUPTED, "interrupted", None, as_json=as_json)
        except (typer.Exit, typer.Abort, _CLICK_ERROR):
            raise  # an exit code chosen on purpose, or a usage error for the group's boundary
        except OSError as exc:
            _fail(command, ExitCode.UNUSABLE, _os_error_text(exc), _os_error_hint(exc), as_json=as_json)
        except Exception as exc:  # noqa: BLE001 - the one boundary where anything unforeseen becomes one line
            message = f"envcheck could not finish: {type(exc).__name__}: {_one_line(str(exc))}"
            _fail(command, ExitCode.UNUSABLE, message, "run again with -v; if it persists, report it", as_json=as_json)

    return wrapper  # type: ignore[return-value]


def _os_error_text(exc: OSError) -> str:
    reason = exc.strerror or _one_line(str(exc)) or type(exc).__name__
    where = " -> ".join(str(p) for p in (exc.filename, exc.filename2) if p is not None)
    return f"{reason}: {where}" if where else reason


def _os_error_hint(exc: OSError) -> str:
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return "free some space on that disk, or choose another place with --prefix PATH"
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return "choose a writable place with --prefix PATH (or ENVCHECK_HOME for envcheck's own files)"
    return "check that path's disk and permissions, then run the command again"


def _one_line(text: str) -> str:
    return " ".join(text.split())[:500]


def _fail(command: str, code: ExitCode, message: str, hint: str | None, *, as_json: bool) -> NoReturn:
    from envcheck.redaction import redact_credentials

    # an installer's error may quote an index URL: its credentials never reach the screen
    message = redact_credentials(message)
    hint = None if hint is None else redact_credentials(hint)
    _print_error(message, hint)
    if as_json:
        from envcheck.report import envelope, status_of

        emit_json(envelope(command, status_of(code), code, error={"message": message, "hint": hint}))
    raise typer.Exit(int(code))


def _print_error(message: str, hint: str | None) -> None:
    from envcheck.render import stderr_console

    console = stderr_console()
    # soft_wrap: an error stays one line whatever the terminal's width, so scripts can grep it
    console.print(f"[bold red]error:[/] {_escape(message)}", soft_wrap=True)
    if hint:
        console.print(f"[bold]hint:[/] {_escape(hint)}", soft_wrap=True)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def emit_json(document: dict[str, Any]) -> None:
    """The only writer of --json documents: exactly one, on stdout."""
    sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"envcheck {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version_callback, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """Set up, verify and smoke-test a deep-learning Python environment."""


def main() -> None:
    app()


@app.command()
@_boundary
def setup(
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
    from envcheck.backends import IndexOptions
    from envcheck.provision import SetupRequest, default_backend, setup_environment
    from envcheck.render import RichReporter, stderr_console, stdout_console
    from envcheck.report import envelope, status_of
    from envcheck.specfiles import load_profile

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
        from envcheck.render.setup import render_setup

        render_setup(result, stdout_console())


IndexUrlOpt = Annotated[str | None, typer.Option("--index-url", help="Base URL of the package index.")]
ExtraIndexOpt = Annotated[list[str] | None, typer.Option("--extra-index-url", help="Extra package index (repeatable).")]
FindLinksOpt = Annotated[
    list[str] | None, typer.Option("--find-links", help="Folder or page with wheels (repeatable).")
]


@app.command("lock")
@_boundary
def lock_command(
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
    from envcheck.backends import IndexOptions
    from envcheck.lockfile import PLATFORMS, read_lock
    from envcheck.locking import LockRequest, check_lock, default_lock_path, make_lock
    from envcheck.render import RichReporter, stderr_console, stdout_console
    from envcheck.report import envelope, status_of
    from envcheck.specfiles import load_profile

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
            _print_error(problem, f"write it again with: envcheck lock --profile {chosen.name} --output {path}")
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


@app.command("download")
@_boundary
def download_command(
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
    from envcheck.backends import IndexOptions
    from envcheck.locking import download
    from envcheck.render import RichReporter, stderr_console, stdout_console
    from envcheck.report import envelope, status_of

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


def _lock_profile(path: Path) -> str | None:
    """The profile a lock was made from, so that `--lock` alone is enough."""
    from envcheck.lockfile import read_lock

    return read_lock(path).profile


@app.command()
@_boundary
def export(
    fmt: Annotated[str, typer.Option("--format", help="conda (environment.yml) or pip (requirements.txt).")] = "conda",
    profile: ProfileOpt = None,
    file: FileOpt = None,
    json_output: Annotated[
        bool, typer.Option("--json", help='Print one JSON document on stdout, the file\'s text under "content".')
    ] = False,
) -> None:
    """Print a profile as environment.yml or requirements.txt, to use with your own tools."""
    import platform

    from envcheck.condafile import export_text
    from envcheck.specfiles import load_profile

    # python is pinned to the interpreter running envcheck, as `setup` would build it, where the profile allows
    chosen = load_profile(profile, file)
    text = export_text(chosen, fmt, platform.python_version())
    if json_output:
        from envcheck.report import envelope, status_of

        emit_json(
            envelope("export", status_of(ExitCode.OK), ExitCode.OK, profile=chosen.name, format=fmt, content=text)
        )
        return
    sys.stdout.write(text)
    sys.stdout.flush()


@app.command("verify")
@_boundary
def verify_command(
    profile: ProfileOpt = None,
    file: FileOpt = None,
    prefix: PrefixOpt = None,
    python: PythonOpt = None,
    json_output: JsonOpt = False,
    markdown: Annotated[bool, typer.Option("--markdown", help="Print a block to paste into a bug report.")] = False,
    no_redact: Annotated[
        bool, typer.Option("--no-redact", help="Keep home folder, user and host names in --json/--markdown.")
    ] = False,
    strict: Annotated[bool, typer.Option("--strict", help="Treat warnings as failures (exit 1).")] = False,
    timeout: Annotated[
        float,
        typer.Option("--timeout", min=1.0, help="Seconds the whole check may take, every process it starts included."),
    ] = 180.0,
    fix: Annotated[
        bool, typer.Option("--fix", help="Run the fix plan's steps inside the environment, then verify again.")
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="With --fix: print the plan, change nothing.")] = False,
    lock: Annotated[
        Path | None,
        typer.Option("--lock", help="Compare with this lock (default: the one setup recorded, if any)."),
    ] = None,
    verbose: VerboseOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Check an environment: imports, versions, known breakages, device, real work, Jupyter kernel.

    Ends with a fix plan; --fix runs its steps that change only the environment (never your shell or home),
    puts back what it changed if a step fails or you interrupt it, and verifies again.

    Exit codes: 0 all passed (warnings allowed; with --fix: the second verify passed), 1 a check failed,
    2 usage error, 3 environment unusable, 130 interrupted.
    """
    from envcheck.errors import UsageError
    from envcheck.render import RichReporter, stderr_console, stdout_console
    from envcheck.render.verify import json_document, render_verify
    from envcheck.render.verify import markdown as markdown_block
    from envcheck.targets import resolve_target
    from envcheck.verify import verify

    if json_output and markdown:
        raise UsageError("--json and --markdown cannot be used together", "pick one of them")
    if dry_run and not fix:
        raise UsageError("--dry-run goes with --fix", "envcheck verify --fix --dry-run")
    target = resolve_target(profile, file, prefix, python)
    machine = json_output or markdown
    reporter = RichReporter(stderr_console(), verbose=verbose, quiet=quiet or (machine and not verbose))
    report = verify(target, timeout=timeout, strict=strict, reporter=reporter, lock=lock)
    if fix and not dry_run:
        _fix(
            target,
            report,
            explicit=prefix is not None or python is not None,
            output="json" if json_output else "markdown" if markdown else "text",
            redact=not no_redact,
            timeout=timeout,
            strict=strict,
            verbose=verbose,
            quiet=quiet,
        )
    if json_output:
        emit_json(json_document(report, redact=not no_redact))
    elif markdown:
        sys.stdout.write(markdown_block(report, redact=not no_redact))
        sys.stdout.flush()
    else:
        render_verify(report, stdout_console(), verbose=verbose, quiet=quiet)
    raise typer.Exit(int(report.exit_code))


def _fix(
    target: Target,
    before: VerifyReport,
    *,
    explicit: bool,
    output: str,
    redact: bool,
    timeout: float,
    strict: bool,
    verbose: bool,
    quiet: bool,
) -> NoReturn:
    """verify --fix: the first report and its plan are shown before anything changes (or is refused)."""
    from envcheck.fix import fix_environment
    from envcheck.render import RichReporter, stderr_console, stdout_console
    from envcheck.render.verify import fix_json_document, render_fix, render_verify
    from envcheck.render.verify import markdown as markdown_block

    if output == "text":
        render_verify(before, stdout_console(), verbose=verbose, quiet=quiet)
    reporter = RichReporter(stderr_console(), verbose=verbose, quiet=quiet or (output != "text" and not verbose))
    result = fix_environment(target, before, explicit=explicit, timeout=timeout, strict=strict, reporter=reporter)
    if output == "json":
        emit_json(fix_json_document(result, redact=redact))
    elif output == "markdown":
        sys.stdout.write(markdown_block(result.after or result.before, redact=redact))
        sys.stdout.flush()
    else:
        render_fix(result, stdout_console(), verbose=verbose, quiet=quiet)
    raise typer.Exit(int(result.exit_code))


@app.command(
    "run",
    # everything after the first word is the command's own: `envcheck run python -c ...` needs no `--`
    context_settings={"allow_interspersed_args": False, "ignore_unknown_options": True},
)
@_boundary
def run_command(
    command: Annotated[
        list[str] | None,
        typer.Argument(help="The command and its arguments, after --.", metavar="-- COMMAND [ARGS]..."),
    ] = None,
    profile: ProfileOpt = None,
    file: FileOpt = None,
    prefix: PrefixOpt = None,
) -> None:
    """Run a command with the environment's programs first on PATH, nothing activated (e.g. -- jupyter lab).

    Exit code: the command's; 2 usage error (no such environment or command).
    """
    from envcheck.launcher import run_in_environment
    from envcheck.targets import resolve_target

    target = resolve_target(profile, file, prefix, None)
    raise typer.Exit(run_in_environment(target, command or []))


@app.command("smoke-train")
@_boundary
def smoke_train_command(
    profile: ProfileOpt = None,
    file: FileOpt = None,
    prefix: PrefixOpt = None,
    python: PythonOpt = None,
    level: Annotated[
        list[str] | None,
        typer.Option(
            "--level", "-l", help="scratch, keras, tape, tf1-optimizer or tf1-gradients (repeatable; default: all)."
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the initial weights, shared by every level.")] = 0,
    epochs: Annotated[int, typer.Option("--epochs", help="Training epochs per level.")] = 2000,
    lr: Annotated[float, typer.Option("--lr", help="Learning rate of plain gradient descent.")] = 0.1,
    device: Annotated[
        str, typer.Option("--device", help="cpu, gpu (fail if TensorFlow sees none) or auto (TensorFlow decides).")
    ] = "auto",
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Write a PNG of every level's loss curve (needs matplotlib).")
    ] = None,
    compare_cpu: Annotated[
        bool, typer.Option("--compare-cpu/--no-compare-cpu", help="On a GPU, also run on the CPU and compare.")
    ] = True,
    json_output: JsonOpt = False,
    no_redact: Annotated[
        bool, typer.Option("--no-redact", help="Keep home folder, user and host names in --json.")
    ] = False,
    timeout: Annotated[
        float, typer.Option("--timeout", min=1.0, help="Seconds the training process may take.")
    ] = 600.0,
    strategy: Annotated[
        str | None,
        typer.Option(
            "--strategy", help="mirrored: tf.distribute.MirroredStrategy over every local device of the kind."
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option("--workers", help="N workers on this machine, MultiWorkerMirroredStrategy over 127.0.0.1."),
    ] = None,
    cluster: Annotated[
        bool, typer.Option("--cluster", help="Be one worker of a cluster (TF_CONFIG, or Slurm under srun).")
    ] = False,
    verbose: VerboseOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Train the tutorial's network at every level and check that TensorFlow computes right.

    Exit codes: 0 all passed (warnings allowed), 1 a check failed, 2 usage error, 3 environment unusable.
    """
    from envcheck.render import RichReporter, stderr_console, stdout_console
    from envcheck.render.smoke import json_document, render_smoke
    from envcheck.smoke import make_options, smoke_train
    from envcheck.targets import resolve_target

    options = make_options(
        level,
        seed=seed,
        epochs=epochs,
        lr=lr,
        device=device,
        plot=plot,
        compare_cpu=compare_cpu,
        timeout=timeout,
        strategy=strategy,
        workers=workers,
        cluster=cluster,
    )
    target = resolve_target(profile, file, prefix, python)
    reporter = RichReporter(stderr_console(), verbose=verbose, quiet=quiet or (json_output and not verbose))
    report = smoke_train(target, options, reporter)
    if json_output:
        emit_json(json_document(report, redact=not no_redact))
    else:
        render_smoke(report, stdout_console(), verbose=verbose, quiet=quiet)
    raise typer.Exit(int(report.exit_code))


@app.command("compare")
@_boundary
def compare_command(
    reports: Annotated[
        list[Path] | None, typer.Argument(help="verify or smoke-train JSON reports, from any machines.")
    ] = None,
    baseline: Annotated[
        Path | None, typer.Option("--baseline", help="The reference report (default: the first one).")
    ] = None,
    json_output: JsonOpt = False,
    markdown: Annotated[bool, typer.Option("--markdown", help="Print a block to paste into a ticket.")] = False,
) -> None:
    """Compare verify and smoke-train reports from many machines: versions, devices, checks, lock digests.

    Exit codes: 0 all agree, 1 something differs, 2 a file is unreadable or not an envcheck report.
    """
    from envcheck.compare import compare_files
    from envcheck.errors import UsageError
    from envcheck.render import stdout_console
    from envcheck.render.compare import json_document, render_compare
    from envcheck.render.compare import markdown as markdown_block

    if json_output and markdown:
        raise UsageError("--json and --markdown cannot be used together", "pick one of them")
    comparison = compare_files(list(reports or []), baseline)
    if json_output:
        emit_json(json_document(comparison))
    elif markdown:
        sys.stdout.write(markdown_block(comparison))
        sys.stdout.flush()
    else:
        render_compare(comparison, stdout_console())
    raise typer.Exit(int(comparison.exit_code))
