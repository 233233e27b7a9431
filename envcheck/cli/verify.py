"""`envcheck verify`."""

from __future__ import annotations

import typer

from envcheck.cli.boundary import boundary
from envcheck.cli.options import (
    DryRunOpt,
    FileOpt,
    FixOpt,
    JsonOpt,
    MarkdownOpt,
    NoRedactOpt,
    PrefixOpt,
    ProfileOpt,
    PythonOpt,
    QuietOpt,
    StrictOpt,
    VerboseOpt,
    VerifyLockOpt,
    VerifyTimeoutOpt,
    output_format,
    refuse,
)
from envcheck.verify import DEFAULT_TIMEOUT

NAME = "verify"


@boundary(NAME)
def command(
    ctx: typer.Context,
    profile: ProfileOpt = None,
    file: FileOpt = None,
    prefix: PrefixOpt = None,
    python: PythonOpt = None,
    json_output: JsonOpt = False,
    markdown: MarkdownOpt = False,
    no_redact: NoRedactOpt = False,
    strict: StrictOpt = False,
    timeout: VerifyTimeoutOpt = DEFAULT_TIMEOUT,
    fix: FixOpt = False,
    dry_run: DryRunOpt = False,
    lock: VerifyLockOpt = None,
    verbose: VerboseOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Check an environment: imports, versions, known breakages, device, real work, Jupyter kernel.

    Ends with a fix plan; --fix runs its steps that change only the environment (never your shell or home),
    puts back what it changed if a step fails or you interrupt it, and verifies again.

    Exit codes: 0 all passed (warnings allowed; with --fix: the second verify passed), 1 a check failed,
    2 usage error, 3 environment unusable, 130 interrupted.
    """
    from envcheck.output.display import Format, Style, reporter, show
    from envcheck.output.verify import FIX, REPORT
    from envcheck.targets import resolve_target
    from envcheck.verify.examine import verify

    fmt = output_format(json_output, markdown)
    if not fix:
        refuse(ctx, ["dry_run"], applies="with --fix", hint="envcheck verify --fix --dry-run")
    style = Style(verbose=verbose, quiet=quiet, redact=not no_redact)
    target = resolve_target(profile, file, prefix, python)
    report = verify(target, timeout=timeout, strict=strict, reporter=reporter(fmt, style), lock=lock)
    if not fix or dry_run:
        raise typer.Exit(show(NAME, REPORT, report, fmt, style))

    from envcheck.verify.fix import fix_environment

    # the first report and its plan are shown before anything changes (or is refused)
    if fmt is Format.TEXT:
        show(NAME, REPORT, report, fmt, style)
    explicit = prefix is not None or python is not None
    result = fix_environment(
        target, report, explicit=explicit, timeout=timeout, strict=strict, lock=lock, reporter=reporter(fmt, style)
    )
    raise typer.Exit(show(NAME, FIX, result, fmt, style))
