"""Machine output: the versioned JSON envelope every command prints with --json, and redaction."""

from __future__ import annotations

import getpass
import os
import re
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from envcheck import __version__

SCHEMA_VERSION = 1


# The one vocabulary of the envelope's "status", whatever the command: a verdict, or an error that stopped it.
STATUSES = ("pass", "warn", "fail", "error")


def status_of(exit_code: int, *, warned: bool = False) -> str:
    """The status that goes with an exit code: 0 pass (or warn), 1 fail, 2, 3 and 130 error."""
    if exit_code == 0:
        return "warn" if warned else "pass"
    return "fail" if exit_code == 1 else "error"


def envelope(command: str, status: str, exit_code: int, **payload: Any) -> dict[str, Any]:
    """The one JSON document a command prints: stable top-level keys first, the command's payload after."""
    if status not in STATUSES:
        raise ValueError(f"status {status!r} is not one of {STATUSES}")
    return {
        "schema_version": SCHEMA_VERSION,
        "envcheck_version": __version__,
        "command": command,
        "status": status,
        "exit_code": int(exit_code),
        **payload,
    }


def redactor() -> Redactor:
    return Redactor(home=str(Path.home()), user=_user(), host=socket.gethostname())


class Redactor:
    """Replaces the home folder, the user name and the host name in everything a report contains."""

    def __init__(self, home: str, user: str | None, host: str | None) -> None:
        self._pairs: list[tuple[re.Pattern[str], str]] = []
        if home and home not in ("/", ""):
            self._pairs.append((re.compile(re.escape(home.rstrip(os.sep))), "~"))
        for value, replacement in ((user, "<user>"), (host, "<host>")):
            if value and len(value) >= 2:
                self._pairs.append((re.compile(rf"(?<![A-Za-z0-9]){re.escape(value)}(?![A-Za-z0-9])"), replacement))

    def text(self, value: str) -> str:
        for pattern, replacement in self._pairs:
            value = pattern.sub(replacement, value)
        return value

    def __call__(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {k: self(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self(v) for v in value]
        return value


def _user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None
