"""Rendering of `envcheck lock` (a lock written, or checked) and `envcheck download` (a wheelhouse filled)."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from envcheck.errors import ExitCode
from envcheck.lock.make import DownloadResult, LockCheck, LockResult
from envcheck.output import print_error
from envcheck.output.display import View
from envcheck.suggest import offline_setup_command


def render_lock(result: LockResult, console: Console) -> None:
    console.print(
        f"wrote {escape(str(result.path))}: {result.packages} packages for {escape(', '.join(result.platforms))}"
        f" with Python {', '.join(result.pythons)}",
        soft_wrap=True,
    )
    for gap in result.left_out:
        console.print(f"left out {escape(gap)}", soft_wrap=True)


def render_check(check: LockCheck, console: Console) -> None:
    """A lock that fits is one line; one that does not is an error line and the command that writes it again."""
    if check.problem is None:
        console.print(f"{escape(str(check.path))} fits profile {escape(repr(check.profile))}", soft_wrap=True)
    else:
        print_error(check.problem, f"write it again with: {check.rewrite}")


def render_download(result: DownloadResult, console: Console) -> None:
    console.print(
        f"{escape(str(result.dest))}: {len(result.files)} wheels ({result.bytes / 1e6:.0f} MB)"
        f" for {escape(', '.join(result.targets))}, each matching the lock's sha256",
        soft_wrap=True,
    )
    if result.lock_path is not None:
        build = offline_setup_command(result.lock_path, [result.dest])
        console.print(f"build from it with: {escape(build)}", soft_wrap=True)


def _ok(_: object) -> int:
    return ExitCode.OK  # a lock or download that did not finish raised instead


LOCK: View[LockResult] = View(
    exit_code=_ok,
    payload=lambda result, _: result.to_json(),
    text=lambda result, console, _: render_lock(result, console),
)
CHECK: View[LockCheck] = View(
    exit_code=lambda check: check.exit_code,
    payload=lambda check, _: check.to_json(),
    text=lambda check, console, _: render_check(check, console),
)


DOWNLOAD: View[DownloadResult] = View(
    exit_code=_ok,
    payload=lambda result, _: result.to_json(),
    text=lambda result, console, _: render_download(result, console),
)
