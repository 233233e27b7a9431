"""`envcheck verify`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from envcheck.cli.boundary import boundary
from envcheck.cli.options import (
    FileOpt,
    JsonOpt,
    PrefixOpt,
    ProfileOpt,
    PythonOpt,
    QuietOpt,
    VerboseOpt,
)
from envcheck.output.envelope import emit_json

if TYPE_CHECKING:
    from envcheck.targets import Target
    from envcheck.verify.examine import VerifyReport

NAME = "verify"


@boundary(NAME)
def command(
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
    from envcheck.output import RichReporter, stderr_console, stdout_console
    from envcheck.output.verify import json_document, render_verify
    from envcheck.output.verify import markdown as markdown_block
    from envcheck.targets import resolve_target
    from envcheck.verify.examine import verify

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
    from envcheck.output import RichReporter, stderr_console, stdout_console
    from envcheck.output.verify import fix_json_document, render_fix, render_verify
    from envcheck.output.verify import markdown as markdown_block
    from envcheck.verify.fix import fix_environment

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
