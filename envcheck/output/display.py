"""The one way a command's result reaches the screen: text for people, the JSON envelope, or markdown.

Every command calls ``show`` with its registered name, its result, the ``View`` that knows how that kind of
result looks, and the format the user chose; nothing else prints a result. The envelope's ``command`` is the
name given here, the one the user typed. Errors take the other way out: ``envcheck.cli.boundary``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from envcheck.errors import UsageError
from envcheck.output.envelope import emit_json, envelope, status_of
from envcheck.redaction import redact_credentials

if TYPE_CHECKING:
    from rich.console import Console

    from envcheck.output import RichReporter

R = TypeVar("R")


class Format(str, Enum):
    TEXT = "text"
    JSON = "json"
    MARKDOWN = "markdown"


@dataclass(frozen=True)
class Style:
    """How much the text says, and whether --json and --markdown replace home folder, user and host names."""

    verbose: bool = False
    quiet: bool = False
    redact: bool = True


@dataclass(frozen=True)
class View(Generic[R]):
    """How one kind of result is shown, in each format.

    ``payload`` is the envelope's own part (its keys after the common ones); ``status`` the envelope's status
    where the exit code alone does not say it (a pass with warnings); ``markdown`` is None for a result that
    has no markdown form.
    """

    exit_code: Callable[[R], int]
    payload: Callable[[R, Style], dict[str, Any]]
    text: Callable[[R, Console, Style], None]
    status: Callable[[R], str] | None = None
    markdown: Callable[[R, Style], str] | None = None


def show(command: str, view: View[R], result: R, fmt: Format = Format.TEXT, style: Style | None = None) -> int:
    """Show ``result`` of command ``command`` in format ``fmt``; returns the exit code the command ends with."""
    style = style or Style()
    code = int(view.exit_code(result))
    if fmt is Format.JSON:
        status = view.status(result) if view.status is not None else status_of(code)
        emit_json(envelope(command, status, code, **view.payload(result, style)))
    elif fmt is Format.MARKDOWN:
        if view.markdown is None:
            raise UsageError(f"envcheck {command} has no --markdown form", f"run: envcheck {command} --help")
        sys.stdout.write(redact_credentials(view.markdown(result, style)))
        sys.stdout.flush()
    else:
        from envcheck.output import stdout_console

        view.text(result, stdout_console(), style)
    return code


def reporter(fmt: Format, style: Style, *, live: bool = False) -> RichReporter:
    """Progress on stderr: silent under --json and --markdown unless -v asks for it (stdout is the document)."""
    from envcheck.output import RichReporter, stderr_console

    machine = fmt is not Format.TEXT
    return RichReporter(
        stderr_console(), verbose=style.verbose, quiet=style.quiet or (machine and not style.verbose), live=live
    )
