"""Commands as the user types them: every hint and next step that names a command is built here, quoted.

A path with a space (macOS's default home, ``~/Library/Application Support``) or a requirement with ``<`` or
``>`` must survive the user's shell, so each argument is quoted for the shell of the platform the command is
meant for: POSIX shells (``shlex.quote``) or, on Windows, cmd.exe and PowerShell (double quotes).
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Iterable

# Characters that end or change a word in cmd.exe or PowerShell; an argument holding one is double-quoted.
_WINDOWS_SPECIAL = frozenset(" \t&|<>^()'\"%!;,=`$@{}")


def quote(arg: str | os.PathLike[str], platform: str | None = None) -> str:
    """One argument, quoted for the shell of ``platform`` (``sys.platform`` values; default: this machine)."""
    text = os.fspath(arg)
    if (platform or sys.platform) == "win32":
        if text and not any(c in _WINDOWS_SPECIAL for c in text):
            return text
        # cmd.exe and PowerShell both read "" inside a double-quoted word as one quote character
        return '"' + text.replace('"', '""') + '"'
    return shlex.quote(text)


def command(*parts: str | os.PathLike[str], platform: str | None = None) -> str:
    """A command line to print for the user to type or paste."""
    return join(parts, platform=platform)


def join(parts: Iterable[str | os.PathLike[str]], platform: str | None = None) -> str:
    return " ".join(quote(p, platform) for p in parts)
