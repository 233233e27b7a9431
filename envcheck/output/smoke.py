"""Rendering of `envcheck smoke-train`'s report: a table of runs and the checks for people, the JSON payload."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from envcheck.output import symbol
from envcheck.output.display import Style, View
from envcheck.redaction import redactor
from envcheck.results import Status
from envcheck.smoke import levels, rules
from envcheck.smoke.train import SmokeReport

HEADLINES = {
    Status.PASS: "[bold green]✓ training works at every level[/]",
    Status.WARN: "[bold yellow]! trained, with warnings[/]",
    Status.FAIL: "[bold red]✗ some checks failed[/]",
}
VERSION_KEYS = ("python", "numpy", "tensorflow", "keras")


def render_smoke(report: SmokeReport, console: Console, *, verbose: bool = False, quiet: bool = False) -> None:
    """Header (versions, device), one table row per run, then the checks that are not per-run rows."""
    if not quiet:
        where = report.prefix or report.python
        versions = report.facts.get("versions") or {}
        options = report.options
        console.print(f"[bold]envcheck smoke-train[/] {escape(where)} [dim](profile {escape(report.profile)})[/]")
        console.print(
            "  [dim]versions[/] "
            + escape(" · ".join(f"{k} {versions[k]}" for k in VERSION_KEYS if versions.get(k)) or "unknown")
        )
        console.print(f"  [dim]device[/]   {escape(device_line(report))}")
        console.print(
            f"  [dim]training[/] {options.epochs} epochs, lr {options.lr:g}, seed {options.seed},"
            f" float64 [dim]({_processes(report)})[/]"
        )
        console.print(runs_table(report))
    for check in report.checks:
        problem = check.status in (Status.WARN, Status.FAIL)
        # converged and loss-fell are the table's columns; show them again only when something is wrong
        if check.id.startswith("level.") and not (problem or verbose):
            continue
        if quiet and not problem:
            continue
        style = {"pass": "", "skip": "dim", "warn": "yellow", "fail": "red"}[check.status.value]
        detail = f"[{style}]{escape(check.detail)}[/]" if style else escape(check.detail)
        console.print(f"  {symbol(check.status.value)} {escape(check.id)}  {detail}", soft_wrap=True)
        if problem and check.hint:
            console.print(f"      [bold]hint:[/] {escape(check.hint)}", soft_wrap=True)
    plot = report.facts.get("plot") or {}
    if plot.get("written") and not quiet:
        console.print(f"  [dim]plot[/] {escape(str(plot.get('path')))}")
    counts = {s: sum(1 for c in report.checks if c.status is s) for s in Status}
    parts = [f"{counts[Status.PASS]} passed"]
    for status, word in ((Status.WARN, "warnings"), (Status.FAIL, "failed"), (Status.SKIP, "skipped")):
        if counts[status]:
            parts.append(f"{counts[status]} {word}")
    console.print(f"{HEADLINES[report.status]} [dim]{', '.join(parts)} in {report.duration:.1f}s total[/]")


def runs_table(report: SmokeReport) -> Table:
    table = Table(box=None, pad_edge=False, header_style="bold", padding=(0, 1, 0, 0))
    # Fits 80 columns: the verdict sits before the run's name.
    for title, justify in (
        ("run", "left"),
        ("loss", "left"),
        ("final", "right"),
        ("outputs", "left"),
        ("device", "left"),
        ("first", "right"),
        ("rest", "right"),
        ("step/s", "right"),
    ):
        table.add_column(title, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    verdicts = {c.id: c for c in report.checks}
    for run in report.runs:
        name = run["name"]
        converged = verdicts.get(f"level.{name}.converged")
        label = f"{symbol(converged.status.value) if converged else ' '} {escape(name)}"
        if run.get("status") != "ok":
            # the reason is the converged check's detail, printed below the table
            table.add_row(label, _loss(run), f"[dim]{escape(str(run.get('status')))}[/]", *[""] * 5)
            continue
        table.add_row(
            label,
            _loss(run),
            f"{run['final_loss']:.2e}",
            " ".join(f"{v:.2f}" for v in run.get("final_outputs") or []),
            escape(rules.placement_summary(run)),
            _seconds(run.get("first_step_s")),
            _seconds(run.get("rest_s")),
            f"{run['steps_per_s']:,.0f}" if run.get("steps_per_s") else "-",
        )
    return table


def device_line(report: SmokeReport) -> str:
    facts = report.facts
    tf_info = facts.get("tensorflow") or {}
    asked = f"--device {report.options.device}"
    if not tf_info.get("version"):
        return f"{asked}: NumPy only (TensorFlow did not run)"
    gpus = tf_info.get("physical_gpus") or []
    names = [d.get("name") for d in tf_info.get("gpu_details") or [] if d.get("name")]
    seen = f"TensorFlow sees {len(gpus)} GPU(s)" + (f" ({', '.join(names)})" if names else "") if gpus else "no GPU"
    used = facts.get("device_used") or "nothing (see below)"
    return f"{asked} → {used}; {seen}"


def payload(report: SmokeReport, style: Style) -> dict[str, Any]:
    """The envelope's own part; home, user and host names replaced unless the style keeps them."""
    scrubbed: dict[str, Any] = redactor(identity=style.redact)(report.payload())  # credentials: hidden either way
    return scrubbed


REPORT: View[SmokeReport] = View(
    exit_code=lambda report: report.exit_code,
    status=lambda report: report.status.value,
    payload=payload,
    text=lambda report, console, style: render_smoke(report, console, verbose=style.verbose, quiet=style.quiet),
)


def _processes(report: SmokeReport) -> str:
    mode = report.options.mode
    if mode == "mirrored":
        return "MirroredStrategy, one process"
    if mode == "workers":
        return f"MultiWorkerMirroredStrategy, {report.options.workers} worker processes on 127.0.0.1"
    if mode == "cluster" and report.options.cluster is not None:
        spec = report.options.cluster
        return f"MultiWorkerMirroredStrategy, {spec.task_type} {spec.task_index} of {spec.num_workers} ({spec.source})"
    return "keras in a second process" if report.facts.get("processes") == 2 else "one process"


def _loss(run: dict[str, Any]) -> str:
    """The loss kind from the table (a run the probe never reached has one too), else as the probe named it."""
    known = run.get("loss") or levels.find_run(str(run.get("name"))) is not None
    return rules.loss_kind(run) if known else ""


def _seconds(value: Any) -> str:
    if value is None:
        return "-"
    if value < 0.01:
        return f"{value * 1000:.2f} ms"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"
