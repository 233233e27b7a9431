"""Redaction: what envcheck hides before anything is printed or logged.

Two layers. Credentials are hidden everywhere, always: on the screen, in logs, in error messages, in every
report and file envcheck writes. They are hidden twice over: the user info, query values and fragment values
of every URL; and the secret values themselves wherever they appear, whole URL or not (pip's retry warnings
name an index's path and query without its scheme and host). The values are the ones envcheck was given or
found (``hiding``; ``envcheck.secrets`` collects them), in their raw, percent-encoded and percent-decoded
forms. Identity (the home folder, the user name and the host name) is hidden in the reports made to be shared
(``--json``, ``--markdown``) unless the user keeps it with ``--no-redact``.

URLs are read with ``urllib.parse``; a regular expression only finds where one starts and ends in free text.
Names are replaced only as whole components of a path, never inside check ids, package names, commands or
prose: a user named ``pip`` keeps ``python -m pip install`` intact.
"""

from __future__ import annotations

import base64
import contextlib
import getpass
import os
import re
import socket
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote, quote_plus, unquote, unquote_plus, urlsplit

HIDDEN = "***"
# A value shorter than this is hidden inside URLs only: on its own it would hide ordinary words ("pip", "cpu").
MIN_SECRET_LENGTH = 4
# A user name is no secret ("ci-bot", "__token__", "git"), unless it is as long as a token.
TOKEN_LENGTH = 16

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
    """``text`` with every known secret value and every URL's credentials hidden; the rest unchanged."""
    pattern = _secrets.pattern
    if pattern is not None:
        text = pattern.sub(HIDDEN, text)
    if "://" not in text:
        return text
    return _URL.sub(lambda match: "".join(redact_url(u) for u in _NEXT_URL.split(match.group(0))), text)


# ---------------------------------------------------------------------------------------------- secret values


def secrets_in_url(url: str) -> list[str]:
    """The secret values of one URL: its password, its query and fragment values, and its user name when that
    is as long as a token (``TOKEN_LENGTH``: ``https://TOKEN@host/``); a short one ("git", "deploy") is hidden
    inside URLs only, where it always appears."""
    try:
        parts = urlsplit(url.strip().rstrip(_TRAILING))
        parts.port  # noqa: B018 - reading it validates the authority
    except ValueError:
        return []
    found: list[str] = []
    if "@" in parts.netloc:
        user, has_password, password = parts.netloc.rpartition("@")[0].partition(":")
        if has_password:
            found.append(password)
            # the same pair as an Authorization header carries it (a debug log may print the header)
            pair = f"{unquote(user)}:{unquote(password)}".encode()
            found.append(base64.b64encode(pair).decode("ascii"))
        if len(unquote(user)) >= TOKEN_LENGTH:
            found.append(user)
    for text, public in ((parts.query, frozenset[str]()), (parts.fragment, _PUBLIC_FRAGMENT_KEYS)):
        for piece in re.split(r"[&;]", text):
            key, has_value, value = piece.partition("=")
            if not has_value:
                found.append(key)
            elif key.lower() not in public:
                found.append(value)
    return [value for value in found if value]


def secrets_in_text(text: str) -> list[str]:
    """The secret values of every URL in free text (a configuration file, a requirements file)."""
    if "://" not in text:
        return []
    return [
        value for match in _URL.finditer(text) for u in _NEXT_URL.split(match.group(0)) for value in secrets_in_url(u)
    ]


def secret_forms(value: str) -> set[str]:
    """The forms a secret takes in what programs print: as given, percent-decoded, percent-encoded (both ways
    of writing a space); forms too short to hide on their own are left out."""
    decoded = {value, unquote(value), unquote_plus(value)}
    forms = set(decoded)
    for plain in decoded:
        forms |= {quote(plain, safe=""), quote(plain, safe="/:@"), quote_plus(plain, safe="")}
    return {form for form in forms if len(form) >= MIN_SECRET_LENGTH and form.strip("*")}


class _Secrets:
    """The secret values known now, as one pattern (longest first, so a value inside another one is not cut)."""

    def __init__(self) -> None:
        self.values: frozenset[str] = frozenset()
        self.pattern: re.Pattern[str] | None = None

    def set(self, values: frozenset[str]) -> None:
        forms = sorted({form for value in values for form in secret_forms(value)}, key=lambda f: (-len(f), f))
        # the pattern is replaced whole: threads streaming a child's output read it without a lock
        self.pattern = re.compile("|".join(re.escape(form) for form in forms)) if forms else None
        self.values = values


_secrets = _Secrets()


def hide(values: Iterable[str]) -> None:
    """Hide these secret values (and their other forms) from now on, until the ``hiding`` around ends."""
    new = frozenset(v for v in values if v) - _secrets.values
    if new:
        _secrets.set(_secrets.values | new)


@contextlib.contextmanager
def hiding(values: Iterable[str] = ()) -> Iterator[None]:
    """While inside, ``values`` (and any value ``hide`` adds) are hidden; afterwards only those known before."""
    before = _secrets.values
    hide(values)
    try:
        yield
    finally:
        _secrets.set(before)


def redacting(stream: IO[str]) -> IO[str]:
    """``stream`` with every write redacted first: a log file, the console's stdout or stderr."""
    wrapped: Any = _Redacting(stream)  # it has the members a text stream's users call; the rest pass through
    return typing.cast("IO[str]", wrapped)


class _Redacting:
    """A text stream whose every write is redacted first.

    Everything else (``isatty``, ``fileno``, ``encoding``, ...) is the wrapped stream's, so that rich still
    knows whether it writes to a terminal.
    """

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(redact_credentials(text))
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    def __enter__(self) -> _Redacting:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stream.close()


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
