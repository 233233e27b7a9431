"""Commands as the user types them: every hint and next step that names a command is built here, quoted.

A path with a space (macOS's default home, ``~/Library/Application Support``; ``C:\\Users\\Ada Lovelace``) or a
requirement with ``<`` or ``>`` must survive the user's shell, so each argument is quoted for the shell of the
platform the command is meant for: POSIX shells (``shlex.quote``) or, on Windows, cmd.exe and PowerShell.

envcheck cannot know which of the two a Windows user has open, so a Windows command is one line that both read
as the same words (PowerShell 7 and Windows PowerShell 5.1 alike):

- a word without a character that either shell treats specially stays as it is;
- any other word is double-quoted: both read ``"..."`` as one word, and neither expands anything inside it as
  long as the word holds no ``%NAME%`` (cmd), ``$name``, ``$(``, ``${`` or backtick (PowerShell), no double
  quote (Windows PowerShell 5.1 passes an embedded one on broken), no line break, no trailing backslash, and
  is not empty (5.1 drops an empty argument). Such a word has no spelling common to both shells; it is
  written as cmd reads it;
- the program, the first word, never starts with a quote: PowerShell would read the line as a string
  expression. Only the parts of its path that need quotes get them (``C:\\Users\\"Ada Lovelace"\\envs\\dl\\python.exe``),
  which cmd and PowerShell both read as one word.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from collections.abc import Iterable

# Characters that end or change a word in cmd.exe or PowerShell; an argument holding one is double-quoted.
# ‘ ’ ‚ ‛ are quotes to PowerShell as much as ' is.
_WINDOWS_SPECIAL = frozenset(" \t&|<>^()[]{}'\"%!;,=`$@#\u2018\u2019\u201a\u201b")


def quote(arg: str | os.PathLike[str], platform: str | None = None) -> str:
    """One argument, quoted for the shell of ``platform`` (``sys.platform`` values; default: this machine)."""
    text = os.fspath(arg)
    if (platform or sys.platform) == "win32":
        return _windows_argument(text)
    return shlex.quote(text)


def command(*parts: str | os.PathLike[str], platform: str | None = None) -> str:
    """A command line to print for the user to type or paste."""
    return join(parts, platform=platform)


def join(parts: Iterable[str | os.PathLike[str]], platform: str | None = None) -> str:
    words = [os.fspath(p) for p in parts]
    if (platform or sys.platform) == "win32":
        return " ".join([_windows_program(words[0]), *map(_windows_argument, words[1:])] if words else [])
    return " ".join(shlex.quote(w) for w in words)


def _needs_quotes(text: str) -> bool:
    if not text or any(c in _WINDOWS_SPECIAL for c in text):
        return True
    # PowerShell stops parsing at --%, and splits a bare -name.value or -name:value into two words
    return text == "--%" or (text.startswith("-") and any(c in ".:" for c in text))


def _windows_argument(text: str) -> str:
    if not _needs_quotes(text):
        return text
    # the program's C runtime reads backslashes before a quote as escapes: doubled, they stay backslashes
    body = re.sub(r'(\\+)(?="|$)', lambda m: m.group(1) * 2, text)
    # cmd.exe and PowerShell both read "" inside a double-quoted word as one quote character
    return '"' + body.replace('"', '""') + '"'


def _windows_program(text: str) -> str:
    """The first word: quoted part by part, so that the line does not start with a quote."""
    if not _needs_quotes(text):
        return text
    parts = re.split(r"([\\/])", text)
    quoted = "".join(part if part in ("\\", "/") else _windows_argument(part) if part else "" for part in parts)
    # a relative path whose first folder needs quotes: .\ keeps the quote off the start of the line
    return ".\\" + quoted if quoted.startswith('"') else quoted
