"""Rendering of `envcheck compare`: one table for people, a markdown block, and the JSON payload."""

from __future__ import annotations

from collections import Counter

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from envcheck.compare import Comparison, Report
from envcheck.output import symbol
from envcheck.output.display import View

FOLD_AFTER = 50  # reports; beyond this the table shows only the reference and the reports that differ


def summary_lines(comparison: Comparison) -> list[str]:
    """What drifts, one line per item: the values and how many reports have each."""
    lines = []
    for name, values in comparison.versions.items():
        counts = Counter(v for v in values.values())
        lines.append(f"{name}: " + ", ".join(f"{v} on {n}" for v, n in counts.most_common()))
    for check_id, statuses in comparison.checks.items():
        counts = Counter(s for s in statuses.values())
        lines.append(f"{check_id}: " + ", ".join(f"{s} on {n}" for s, n in counts.most_common()))
    if comparison.locks:
        counts = Counter(_digest(d) for d in comparison.locks.values())
        lines.append("lock digest: " + ", ".join(f"{d} on {n}" for d, n in counts.most_common()))
    return lines


def render_compare(comparison: Comparison, console: Console) -> None:
    reports = comparison.reports
    kinds = Counter(r.command for r in reports)
    console.print(
        f"[bold]envcheck compare[/] {len(reports)} report(s) "
        f"[dim]({', '.join(f'{n} {k}' for k, n in kinds.items())}; reference {escape(comparison.reference.path)})[/]"
    )
    table = Table(box=None, pad_edge=False, header_style="bold", padding=(0, 1, 0, 0))
    with_lock = any(r.lock_digest for r in reports)
    for title in ("", "report", "kind", "device", *(("lock",) if with_lock else ()), "differs from the reference"):
        table.add_column(title, overflow="fold")
    drifts = {r.path: comparison.drifted(r) for r in reports}
    # A fleet's table shows the reference and the reports that differ; the agreeing rest is one line by device
    # (--json and --markdown keep a row for every report).
    folded = len(reports) > FOLD_AFTER
    shown = [r for r in reports if not folded or r is comparison.reference or drifts[r.path]]
    for report in shown:
        drift = drifts[report.path]
        mark = symbol("fail" if drift else "pass")
        name = escape(report.path) + (" [dim](reference)[/]" if report is comparison.reference else "")
        cells = [mark, name, report.command, escape(report.device)]
        if with_lock:
            cells.append(_digest(report.lock_digest))
        cells.append(escape("; ".join(drift)) if drift else "[dim]-[/]")
        table.add_row(*cells)
    console.print(table)
    rest = [r for r in reports if r not in shown]
    if rest:
        devices = Counter(r.device for r in rest)
        console.print(
            f"  [green]✓[/] {len(rest)} more reports agree with the reference "
            f"[dim]({escape(', '.join(f'{d}: {n}' for d, n in devices.most_common()))})[/]"
        )
    for line in summary_lines(comparison):
        console.print(f"  [red]≠[/] {escape(line)}", soft_wrap=True)
    if comparison.agree:
        console.print(f"[bold green]✓ all {len(reports)} reports agree[/]")
    else:
        drifting = sum(1 for r in reports if drifts[r.path])
        console.print(f"[bold red]✗ {drifting} of {len(reports)} reports differ from the reference[/]")


def markdown(comparison: Comparison) -> str:
    """A block to paste into a ticket: the summary and the same table."""
    reports = comparison.reports
    verdict = "all agree" if comparison.agree else "drift"
    lines = [f"### envcheck compare: {verdict} ({len(reports)} reports, reference `{comparison.reference.path}`)", ""]
    lines += [f"- {_cell(line)}" for line in summary_lines(comparison)]
    with_lock = any(r.lock_digest for r in reports)
    head = ["report", "kind", "device", *(["lock"] if with_lock else []), "differs from the reference"]
    lines += ["", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for report in reports:
        lines.append("| " + " | ".join(_row(comparison, report, with_lock)) + " |")
    return "\n".join(lines) + "\n"


def _row(comparison: Comparison, report: Report, with_lock: bool) -> list[str]:
    drift = comparison.drifted(report)
    name = f"`{report.path}`" + (" (reference)" if report is comparison.reference else "")
    cells = [name, report.command, _cell(report.device)]
    if with_lock:
        cells.append(_digest(report.lock_digest))
    cells.append(_cell("; ".join(drift)) if drift else "-")
    return cells


def _digest(digest: str | None) -> str:
    return "none" if digest is None else digest.split(":")[-1][:12]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


COMPARISON: View[Comparison] = View(
    exit_code=lambda comparison: comparison.exit_code,
    status=lambda comparison: comparison.status,
    payload=lambda comparison, _: comparison.to_json(),
    text=lambda comparison, console, _: render_compare(comparison, console),
    markdown=lambda comparison, _: markdown(comparison),
)
