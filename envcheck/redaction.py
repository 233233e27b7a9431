"""Redaction: what envcheck hides before anything is printed or logged.

Two layers. Credentials (the user info, query values and fragment values of every URL) are hidden everywhere,
always: on the screen, in logs, in error messages and in every report. Identity (the home folder, the user
name and the host name) is hidden in the reports made to be shared (``--json``, ``--markdown``) unless the
user keeps it with ``--no-redact``.

URLs are read with ``urllib.parse``; a regular expression only finds where one starts and ends in free text.
Names are replaced only as whole components of a path, never inside check ids, package names, commands or
prose: a user named ``pip`` keeps ``python -m pip install`` intact.
"""

from __future__ import annotations

import getpass
import os
import re
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

HIDDEN = "***"

# Where a URL starts and ends in free text: a scheme, "://", then everything up to white space. Everything in
# between belongs to the URL because a password may hold any character ("p@ss", "a'b", "x)y").
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://\S+")
# Where a second URL starts inside the first one's run of text ("https://a@x/,https://b@y/").
_NEXT_URL = re.compile(r"(?<=[^A-Za-z0-9+.\-])(?=[A-Za-z][A-Za-z0-9+.\-]*://)")
# Punctuation that ends a sentence or closes a quote around a URL rather than belonging to it.
_TRAILING = ".,;:!)]}>'\"`"
# Fragment keys that pip and uv give a public meaning: a hash to check, a project name, a folder.
_PUBLIC_FRAGMENT_KEYS = frozenset({"egg", "subdirectory", "md5", "sha1", "sha224", "sha256", "sha384", "sha512"})


def redact_url(url: str) -> str:
    """One URL with its user info, query values and fragment values replaced by ``***``.

    The user info ends at the last ``@`` of the authority (``user:p@ss@host`` hides ``user:p@ss``), as
    ``urllib.parse`` reads it; a URL it cannot read at all is hidden past its scheme.
    """
    body = url.rstrip(_TRAILING)
    tail = url[len(body) :]
    try:
        parts = urlsplit(body)
        parts.port  # noqa: B018 - reading it validates the authority (a broken one raises ValueError)
    except ValueError:
        scheme = body.partition("://")[0]
        return f"{scheme}://{HIDDEN}{tail}"
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{HIDDEN}@{netloc.rpartition('@')[2]}"
    scheme = body.partition("://")[0]  # as written: urllib lower-cases it
    text = f"{scheme}://{netloc}{parts.path}"
    if parts.query:
        text += "?" + _hide_values(parts.query, keep=frozenset())
    if parts.fragment:
        text += "#" + _hide_values(parts.fragment, keep=_PUBLIC_FRAGMENT_KEYS)
    return text + tail


def _hide_values(text: str, *, keep: frozenset[str]) -> str:
    """``a=1&b=2`` becomes ``a=***&b=***``; a bare value (``?SECRET``, ``?dG9rZW4=``) is hidden whole."""
    pieces = []
    for piece in re.split(r"([&;])", text):
        if piece in ("&", ";", ""):
            pieces.append(piece)
            continue
        key, _, value = piece.partition("=")
        if not value or value.startswith("="):  # no value: the key is the secret (base64 ends in "=")
            pieces.append(HIDDEN)
        elif key.lower() in keep:
            pieces.append(piece)
        else:
            pieces.append(f"{key}={HIDDEN}")
    return "".join(pieces)


def redact_credentials(text: str) -> str:
    """Every URL in ``text`` with its credentials hidden; the rest of the text unchanged."""
    if "://" not in text:
        return text
    return _URL.sub(lambda match: "".join(redact_url(u) for u in _NEXT_URL.split(match.group(0))), text)


# ---------------------------------------------------------------------------------------------- identity


@dataclass(frozen=True)
class Identity:
    """Who and where: the values the shared reports replace."""

    homes: tuple[str, ...] = ()
    user: str | None = None
    hosts: tuple[str, ...] = ()


def machine_identity() -> Identity:
    """This machine's home folder (as given and with links resolved), user name and host name (full and short)."""
    home = str(Path.home())
    homes = [home]
    real = os.path.realpath(home)
    if real != home:
        homes.append(real)
    host = socket.gethostname()
    hosts = [host] + ([host.partition(".")[0]] if "." in host else [])
    return Identity(homes=tuple(homes), user=_user(), hosts=tuple(h for h in hosts if h))


def _user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None


# A path in free text: it starts with a separator, a drive ("C:\", "c:/") or "~/" where no word goes on
# before it, and runs to white space or a character that does not belong in a path (quotes, a list's ":").
_PATH = re.compile(r"""(?:(?<![\w.~\-])(?:[A-Za-z]:)?[/\\]|(?<![\w.\-])~[/\\])[^\s'"`<>|;,:()\[\]{}=*?]*""")
_WINDOWS_PATH = re.compile(r"^[A-Za-z]:|\\")
# Folders inside which a component names a program or a package, never a person or a machine: the
# replacement stops at the first of them (``/scratch/al/env/bin/pip`` keeps ``pip``).
_CONTENT_FOLDERS = frozenset(
    {
        "bin",
        "sbin",
        "scripts",
        "lib",
        "lib64",
        "libexec",
        "include",
        "share",
        "etc",
        "site-packages",
        "dist-packages",
        "conda-meta",
        "pkgs",
    }
)


class Redactor:
    """Hides credentials always and, with ``identity`` given, the home folder, user name and host name."""

    def __init__(self, identity: Identity | None = None) -> None:
        self.identity = identity
        self._homes = [p for p in (_home_pattern(h) for h in (identity.homes if identity else ())) if p]
        names: dict[str, str] = {}
        if identity is not None:
            for host in identity.hosts:
                names.setdefault(host, "<host>")
            if identity.user:
                names.setdefault(identity.user, "<user>")  # a host named after its user stays <host>
        self._names = names
        self._folded: dict[str, str] = {}  # Windows paths: names compared without regard to case
        for name, replacement in names.items():
            self._folded.setdefault(name.casefold(), replacement)

    def text(self, value: str) -> str:
        value = redact_credentials(value)
        if self.identity is None:
            return value
        for pattern in self._homes:
            value = pattern.sub("~", value)
        if self._names:
            value = _with_urls_kept(value, lambda part: _PATH.sub(self._path, part))
        return value

    def _path(self, match: re.Match[str]) -> str:
        path = match.group(0)
        windows = bool(_WINDOWS_PATH.search(path))
        pieces = re.split(r"([/\\]+)", path)
        for index, piece in enumerate(pieces):
            if not piece or piece[0] in "/\\":
                continue
            if piece.casefold() in _CONTENT_FOLDERS:
                break
            replacement = self._folded.get(piece.casefold()) if windows else self._names.get(piece)
            if replacement is not None:
                pieces[index] = replacement
        return "".join(pieces)

    def __call__(self, value: Any) -> Any:
        """The same value with every string in it redacted; keys (check ids, package names) are kept."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {k: self(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self(v) for v in value]
        return value


def redactor(*, identity: bool = True) -> Redactor:
    """The redactor for this machine: credentials always, identity unless ``identity`` is False."""
    return Redactor(machine_identity() if identity else None)


def _home_pattern(home: str) -> re.Pattern[str] | None:
    """The home folder as a whole path: ``/home/al`` matches ``/home/al/x``, never ``/home/alice``.

    A Windows home is matched without regard to case and with either slash (``C:/Users/Ana``).
    """
    trimmed = home.rstrip("/\\")
    if not trimmed or trimmed == "~" or re.fullmatch(r"[A-Za-z]:", trimmed):
        return None
    end = r"(?=$|[/\\\s'\"`<>|;,:()\[\]{}=*?])"
    if _WINDOWS_PATH.search(trimmed):
        lead = r"[/\\]{2}" if trimmed[:2] in ("\\\\", "//") else ""
        body = r"[/\\]+".join(re.escape(p) for p in re.split(r"[/\\]+", trimmed) if p)
        return re.compile(rf"(?<![\w.\-~]){lead}{body}{end}", re.IGNORECASE)
    return re.compile(rf"(?<![\w.\-~]){re.escape(trimmed)}{end}")


def _with_urls_kept(text: str, change: Callable[[str], str]) -> str:
    """Apply ``change`` to the text between URLs: a URL's path holds an index's names, not the user's."""
    out: list[str] = []
    position = 0
    for match in _URL.finditer(text):
        if match.group(0)[:5].lower() == "file:":
            continue  # a file URL is a path
        out.append(change(text[position : match.start()]))
        out.append(match.group(0))
        position = match.end()
    out.append(change(text[position:]))
    return "".join(out)
