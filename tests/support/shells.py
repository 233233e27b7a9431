"""Models of how cmd.exe and PowerShell read one printed command line: the words the program receives.

Neither shell runs where envcheck is tested, so printed Windows commands are held to these models of the
documented rules, for what a printed command holds (one simple command, no redirection):

- cmd.exe (an interactive line): ``%NAME%`` is replaced wherever it stands, quoted or not, when NAME is set;
  outside double quotes ``& | < >`` end or redirect the command and ``^`` escapes the next character; the
  program is found by its first word with the quotes taken out; the program's C runtime splits the rest
  (blanks outside quotes separate, ``"`` groups, ``""`` inside quotes is a quote, backslashes escape only a
  quote).
- PowerShell: a line starting with a quote, ``$``, ``@``, ``(``, ``[``, ``{`` or a digit is an expression, not
  a command; words are split on blanks outside quotes and may join quoted parts (``C:\\"a b"\\x.exe``);
  ``"..."`` expands ``$name``, ``$(...)``, ``${...}`` and backtick escapes, ``""`` is a quote; ``'...'`` is
  verbatim, ``''`` a quote; the typographic quotes count as the plain ones; outside quotes
  ``& | < > ; , ( ) { }`` start something else, ``#`` at a word's start is a comment, ``@`` splats, ``--%``
  stops parsing and a bare ``-name.value`` is split in two. Windows PowerShell 5.1 (``legacy``) passes a
  native program no empty word and breaks a word that holds a double quote or ends with a backslash.
"""

from __future__ import annotations

import re
from collections.abc import Mapping


class NotTheWords(Exception):
    """The shell would not run the line as one command with plain words."""


def cmd_words(line: str, environ: Mapping[str, str] | None = None) -> list[str]:
    names = {k.upper(): v for k, v in (environ or {}).items()}
    line = re.sub(r"%([^%]+)%", lambda m: names.get(m.group(1).upper(), m.group(0)), line)
    if "\n" in line or "\r" in line:
        raise NotTheWords("cmd ends the command at a line break")
    kept, quoted, i = [], False, 0
    while i < len(line):
        c = line[i]
        if c == '"':
            quoted = not quoted
        elif not quoted and c == "^":
            i += 1
            c = line[i] if i < len(line) else ""
        elif not quoted and c in "&|<>":
            raise NotTheWords(f"cmd reads {c!r} outside quotes")
        kept.append(c)
        i += 1
    line = "".join(kept).lstrip(" \t")
    end, quoted = 0, False
    while end < len(line) and (quoted or line[end] not in " \t"):
        quoted ^= line[end] == '"'
        end += 1
    return [line[:end].replace('"', ""), *c_runtime_split(line[end:])]


def c_runtime_split(text: str) -> list[str]:
    """How a Windows C runtime (UCRT) splits its command line after the program's name."""
    words: list[str] = []
    current: list[str] = []
    quoted = started = False
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\":
            run = len(text[i:]) - len(text[i:].lstrip("\\"))
            i += run
            if i < len(text) and text[i] == '"':
                current.append("\\" * (run // 2))
                if run % 2:
                    current.append('"')
                    i += 1
            else:
                current.append("\\" * run)
            started = True
        elif c == '"':
            if quoted and text[i + 1 : i + 2] == '"':
                current.append('"')
                i += 2
            else:
                quoted = not quoted
                i += 1
            started = True
        elif c in " \t" and not quoted:
            if started:
                words.append("".join(current))
                current, started = [], False
            i += 1
        else:
            current.append(c)
            started = True
            i += 1
    if started:
        words.append("".join(current))
    return words


DOUBLE = '"\u201c\u201d\u201e'
SINGLE = "'\u2018\u2019\u201a\u201b"
VARIABLE = re.compile(r"\$[\w?:{(^$]")


def powershell_words(line: str, *, legacy: bool = False) -> list[str]:
    text = line.lstrip(" \t")
    if not text or text[0] in DOUBLE + SINGLE + "$@([{0123456789":
        raise NotTheWords("PowerShell reads a line starting like this as an expression")
    words: list[str] = []
    i = 0
    while i < len(text):
        if text[i] in " \t":
            i += 1
            continue
        if re.match(r"--%(\s|$)", text[i:]):
            raise NotTheWords("--% stops PowerShell's parsing")
        if text[i] in "#@":
            raise NotTheWords(f"{text[i]!r} at the start of a word")
        start, parts, bare = i, [], True
        while i < len(text) and text[i] not in " \t":
            c = text[i]
            if c in DOUBLE:
                i, part = _expandable(text, i + 1)
                parts.append(part)
                bare = False
            elif c in SINGLE:
                i, part = _verbatim(text, i + 1)
                parts.append(part)
                bare = False
            elif c == "`" or VARIABLE.match(text, i):
                raise NotTheWords("PowerShell expands ` and $ outside single quotes")
            elif c in "&|<>;,(){}" or c in "\r\n":
                raise NotTheWords(f"PowerShell reads {c!r} outside quotes")
            else:
                parts.append(c)
                i += 1
        word = "".join(parts)
        if bare and words and text[start] == "-" and re.search(r"[.:]", text[start:i]):
            raise NotTheWords("PowerShell splits a bare -name.value in two")
        words.append(word)
    if legacy:
        for word in words[1:]:
            if word == "" or '"' in word or (word.endswith("\\") and re.search(r"\s", word)):
                raise NotTheWords("Windows PowerShell 5.1 passes this word on wrongly")
    return words


def _expandable(text: str, i: int) -> tuple[int, str]:
    out = []
    while i < len(text):
        c = text[i]
        if c in DOUBLE:
            if i + 1 < len(text) and text[i + 1] in DOUBLE:
                out.append('"' if c == '"' else c)
                i += 2
                continue
            return i + 1, "".join(out)
        if c == "`" or VARIABLE.match(text, i):
            raise NotTheWords("PowerShell expands ` and $ inside double quotes")
        out.append(c)
        i += 1
    raise NotTheWords("an unterminated string")


def _verbatim(text: str, i: int) -> tuple[int, str]:
    out = []
    while i < len(text):
        c = text[i]
        if c in SINGLE:
            if i + 1 < len(text) and text[i + 1] in SINGLE:
                out.append(c)
                i += 2
                continue
            return i + 1, "".join(out)
        out.append(c)
        i += 1
    raise NotTheWords("an unterminated string")
