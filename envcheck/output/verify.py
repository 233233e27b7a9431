"""Rendering of `envcheck verify`'s report: the checklist for people, the markdown block and the JSON payload."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape

from envcheck import __version__
from envcheck.output import SYMBOLS, symbol
from envcheck.output.display import Style, View
from envcheck.output.envelope import status_of
from envcheck.redaction import Redactor, redactor
from envcheck.results import CheckResult, Status
from envcheck.verify.checks import group_of
from envcheck.verify.examine import VerifyReport
from envcheck.verify.plan import Scope

if TYPE_CHECKING:
    from envcheck.verify.fix import FixReport

HEADLINES = {
    Status.PASS: "[bold green]✓ all checks passed[/]",
    Status.WARN: "[bold yellow]! passed with warnings[/]",
    Status.FAIL: "[bold red]✗ some checks failed[/]",
}


def render_verify(report: VerifyReport, console: Console, *, verbose: bool = False, quiet: bool = False) -> None:
    """The checklist: a header with versions and devices, one line per check, hints under problems.

    Meant for the user's own eyes: paths stay as they are, credentials in URLs are hidden all the same.
    """
    report = _scrubbed(report, redactor(identity=False))
    if not quiet:
        where = report.prefix or report.python
        console.print(f"[bold]envcheck verify[/] {escape(where)} [dim](profile {escape(report.profile)})[/]")
        console.print(f"  [dim]versions[/] {escape(versions_line(report.versions))}")
        console.print(f"  [dim]device[/]   {escape(devices_line(report.devices))}")
    group = None
    width = max((len(c.id) for c in report.checks), default=0)
    for check in report.checks:
        problem = check.status in (Status.WARN, Status.FAIL)
        if quiet and not problem:
            continue
        title = group_of(check.id)
        if title != group and not quiet:
            console.print(f"[bold]{title}[/]")
            group = title
        timing = f" [dim]{check.duration:.2f}s[/]" if verbose and check.duration is not None else ""
        line = f"  {symbol(check.status.value)} {escape(check.id.ljust(width))}  {_detail_markup(check)}{timing}"
        # On a terminal a passing line is cut to one row; problems (and everything with -v or in a pipe) are
        # printed whole, unwrapped, so that details and hints can be copied and searched.
        if console.is_terminal and not (problem or verbose):
            console.print(line, overflow="ellipsis", no_wrap=True)
        else:
            console.print(line, soft_wrap=True)
        if problem and check.hint:
            console.print(f"      [bold]hint:[/] {escape(check.hint)}", soft_wrap=True)
        if verbose:
            for key, value in check.data.items():
                console.print(f"      [dim]{escape(key)}: {escape(_short(value))}[/]")
    console.print(_summary(report))
    render_plan(report, console)


def render_plan(report: VerifyReport, console: Console) -> None:
    """The fix plan, last: each command with the findings it resolves; steps outside the environment marked."""
    if not report.plan and not report.unplanned:
        return
    if report.plan:
        count = len(report.plan)
        console.print(f"[bold]Fix plan[/] [dim]({count} step{'s' if count != 1 else ''}, in order)[/]")
    for number, step in enumerate(report.plan, 1):
        where = "" if step.scope is Scope.ENVIRONMENT else " [yellow](outside the environment: yours to run)[/]"
        console.print(f"  {number}. {escape(step.text(report.platform))}{where}", soft_wrap=True)
        console.print(f"     [dim]resolves {escape(', '.join(step.resolves))}[/]", soft_wrap=True)
    if report.unplanned:
        console.print(
            f"[bold]No command fixes[/] {escape(', '.join(report.unplanned))} [dim](their hints above say what to do)[/]",
            soft_wrap=True,
        )


def _scrubbed(report: VerifyReport, scrub: Redactor) -> VerifyReport:
    """The report with every text a person reads passed through ``scrub`` (ids and package names are keys)."""
    checks = tuple(
        dataclasses.replace(
            c,
            detail=scrub.text(c.detail),
            hint=None if c.hint is None else scrub.text(c.hint),
            data=scrub(dict(c.data)),
        )
        for c in report.checks
    )
    return dataclasses.replace(
        report,
        python=scrub.text(report.python),
        prefix=None if report.prefix is None else scrub.text(report.prefix),
        facts=scrub(report.facts),
        versions=scrub(report.versions),
        devices=scrub(report.devices),
        checks=checks,
        plan=tuple(dataclasses.replace(s, argv=tuple(scrub.text(a) for a in s.argv)) for s in report.plan),
    )


def _detail_markup(check: CheckResult) -> str:
    style = {"pass": "", "skip": "dim", "warn": "yellow", "fail": "red"}[check.status.value]
    text = f"[{style}]{escape(check.detail)}[/]" if style else escape(check.detail)
    return text + (f" [bold]← caused by {escape(', '.join(check.caused_by))}[/]" if check.caused_by else "")


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 300 else text[:299] + "…"


def _summary(report: VerifyReport) -> str:
    counts = {s: 0 for s in Status}
    for check in report.checks:
        counts[check.status] += 1
    parts = [f"{counts[Status.PASS]} passed"]
    if counts[Status.WARN]:
        parts.append(f"{counts[Status.WARN]} warning" + ("s" if counts[Status.WARN] != 1 else ""))
    if counts[Status.FAIL]:
        parts.append(f"{counts[Status.FAIL]} failed")
    if counts[Status.SKIP]:
        parts.append(f"{counts[Status.SKIP]} skipped")
    strict = " (--strict: warnings fail)" if report.strict and counts[Status.WARN] else ""
    return f"{HEADLINES[report.status]} [dim]{', '.join(parts)} in {report.duration:.1f}s{strict}[/]"


def versions_line(versions: dict[str, str]) -> str:
    return " · ".join(f"{name} {version}" for name, version in versions.items()) or "unknown"


def devices_line(devices: Iterable[dict[str, Any]]) -> str:
    items = list(devices)
    gpus = [d for d in items if d.get("type") == "GPU"]
    if not gpus:
        return "CPU only" if items else "not known (TensorFlow reported no devices)"
    texts = []
    for gpu in gpus:
        text = str(gpu.get("model") or gpu.get("name"))
        if gpu.get("compute_capability"):
            text += f" (compute capability {gpu['compute_capability']})"
        if gpu.get("driver"):
            text += f", driver {gpu['driver']}, {gpu.get('memory')}"
        texts.append(f"{text} [{gpu.get('source')}]")
    return "; ".join(texts)


# ---------------------------------------------------------------------------------------------- machine output


def payload(report: VerifyReport, style: Style) -> dict[str, Any]:
    """The envelope's own part; home, user and host names are replaced unless the style keeps them.

    Credentials in URLs are hidden either way.
    """
    scrubbed: dict[str, Any] = redactor(identity=style.redact)(report.payload())
    return scrubbed


def markdown(report: VerifyReport, *, redact: bool = True) -> str:
    """A block to paste into a bug report; identity replaced unless ``redact`` is False, credentials always."""
    scrub = redactor(identity=redact)
    lines = [
        f"### envcheck verify: {report.status.value} (exit {int(report.exit_code)})",
        "",
        f"- envcheck {__version__}, profile `{report.profile}`",
        f"- python: `{report.python}`" + (f", environment `{report.prefix}`" if report.prefix else ""),
        f"- platform: {report.facts.get('platform')} {report.facts.get('machine')},"
        f" {report.facts.get('implementation')} {report.facts.get('python_version')}",
        f"- versions: {versions_line(report.versions)}",
        f"- device: {devices_line(report.devices)}",
        "",
        "| | check | detail |",
        "|---|---|---|",
    ]
    for check in report.checks:
        caused = f" (caused by {', '.join(f'`{c}`' for c in check.caused_by)})" if check.caused_by else ""
        lines.append(f"| {SYMBOLS[check.status.value]} | `{check.id}` | {_cell(check.detail)}{caused} |")
    hints = [c for c in report.checks if c.hint and c.status in (Status.WARN, Status.FAIL)]
    if hints:
        lines += ["", "**How to fix**", ""]
        lines += [f"- `{c.id}`: `{c.hint}`" for c in hints]
    if report.plan:
        lines += ["", "**Fix plan**", ""]
        for number, step in enumerate(report.plan, 1):
            outside = " (outside the environment)" if step.scope is Scope.OUTSIDE else ""
            resolved = ", ".join(f"`{c}`" for c in step.resolves)
            lines.append(f"{number}. `{step.text(report.platform)}`{outside}: resolves {resolved}")
    text = "\n".join(lines) + "\n"
    return scrub.text(text)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


# ---------------------------------------------------------------------------------------------- verify --fix


def render_fix(result: FixReport, console: Console, *, verbose: bool = False, quiet: bool = False) -> None:
    """After the first report: the steps run, those left to the user, what was put back, the second report."""
    if not result.ran:
        console.print("[bold]--fix[/] nothing to run inside the environment", soft_wrap=True)
    elif result.log is not None:
        console.print(f"[bold]--fix ran[/] [dim](log: {escape(str(result.log))})[/]", soft_wrap=True)
    for number, run in enumerate(result.ran, 1):
        mark = symbol("pass") if run.ok else symbol("fail")
        text = escape(run.step.text(result.before.platform))
        console.print(f"  {mark} {number}. {text} [dim]{run.duration:.1f}s[/]", soft_wrap=True)
    for step in result.outside:
        console.print(
            f"  [yellow]not run[/] {escape(step.text(result.before.platform))} [dim](outside the environment)[/]",
            soft_wrap=True,
        )
    if result.new_problems:
        new = escape(", ".join(result.new_problems))
        console.print(f"[bold red]the second verify found new problems:[/] {new}", soft_wrap=True)
    if result.unresolved:
        left = escape(", ".join(result.unresolved))
        console.print(f"[bold red]the steps did not resolve:[/] {left} [dim](see the second report)[/]", soft_wrap=True)
    if result.restored is not None:
        record = escape(str(result.freeze))
        console.print(f"[bold]put back:[/] {escape(result.restored)} [dim](record: {record})[/]", soft_wrap=True)
    if result.after is not None:
        render_verify(result.after, console, verbose=verbose, quiet=quiet)
        console.print(
            f"[bold]before[/] {_counts(result.before)} [bold]→ after[/] {_counts(result.after)}", soft_wrap=True
        )


def _counts(report: VerifyReport) -> str:
    failed = sum(1 for c in report.checks if c.status is Status.FAIL)
    warned = sum(1 for c in report.checks if c.status is Status.WARN)
    if not failed and not warned:
        return "all passed"
    return ", ".join(p for p in (f"{failed} failed" if failed else "", f"{warned} warnings" if warned else "") if p)


def fix_payload(result: FixReport, style: Style) -> dict[str, Any]:
    """The final state's report, with what --fix did under ``fix``."""
    final = result.after or result.before
    scrubbed: dict[str, Any] = redactor(identity=style.redact)({**final.payload(), "fix": result.payload()})
    return scrubbed


def fix_status(result: FixReport) -> str:
    final = result.after or result.before
    return status_of(int(result.exit_code), warned=final.status is Status.WARN)


REPORT: View[VerifyReport] = View(
    exit_code=lambda report: report.exit_code,
    status=lambda report: report.status.value,
    payload=payload,
    text=lambda report, console, style: render_verify(report, console, verbose=style.verbose, quiet=style.quiet),
    markdown=lambda report, style: markdown(report, redact=style.redact),
)
FIX: View[FixReport] = View(
    exit_code=lambda result: result.exit_code,
    status=fix_status,
    payload=fix_payload,
    text=lambda result, console, style: render_fix(result, console, verbose=style.verbose, quiet=style.quiet),
    markdown=lambda result, style: markdown(result.after or result.before, redact=style.redact),
)
