"""Whether every package index answers, asked once before anything is installed or downloaded.

pip retries a connection to an unreachable index five times with back-off for every package, so a typo in
``--extra-index-url`` used to cost many minutes before the error. Here each index and link the installer will
use gets one short connect and one request for its root (the simple index's root page, a links page);
a folder or a ``file://`` link is checked by its existence. What counts as not answering: no connection (refused,
an unknown host, a timeout, a proxy that fails) and a server error (5xx, which pip retries too); an index that
refuses the credentials it was given (401, 403). A 404 on the root is an answer: some indexes serve only
their projects' pages. Requests go through urllib with the environment's proxies (HTTPS_PROXY, NO_PROXY), the
credentials of the URL or of netrc as pip sends them, and the system's certificates; a certificate urllib does
not trust is the installer's to judge (PIP_CERT, uv's native certificates), not a failure. ``--offline``
checks nothing.
"""

from __future__ import annotations

import base64
import http.client
import netrc
import os
import ssl
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from envcheck import __version__
from envcheck.errors import EnvcheckError
from envcheck.installers import IndexOptions
from envcheck.redaction import redact_credentials

# Seconds for the connection and for the first line of the answer, per index: a healthy index answers in
# well under a second, one behind a slow VPN in two or three.
TIMEOUT = 10.0


class UnreachableIndexError(EnvcheckError):
    """A package index or link that does not answer: nothing was installed or created (exit 1, like a setup that
    could not finish: the same command works once the address or the network is right)."""


def check_indexes(
    index: IndexOptions,
    *,
    uv: bool,
    environ: Mapping[str, str] | None = None,
    untouched: str = "nothing was installed",
) -> None:
    """Raise UnreachableIndexError for the first index or link of ``index`` (and of the installer's own variables
    in ``environ``) that does not answer; nothing with ``--offline``. ``untouched`` ends the message: what the
    command did not do."""
    if index.offline:
        return
    environ = os.environ if environ is None else environ
    for kind, url in index.locations(uv=uv, environ=environ):
        problem = _problem(url)
        if problem is not None:
            local = "://" not in url or url.lower().startswith("file:")
            what = "package index" if kind == "index" else "--find-links folder" if local else "--find-links page"
            raise UnreachableIndexError(
                f"the {what} {redact_credentials(url)} {problem}; {untouched}", _hint(kind, local)
            )


def _hint(kind: str, local: bool) -> str:
    if local:
        place = "folder" if kind == "links" else "file:// index"
        return f"give a {place} that exists, or fill one first: envcheck download --lock LOCK --dest DIR"
    return (
        "check the address given (a typo in --index-url, --extra-index-url or --find-links?), the network and "
        "any proxy (HTTPS_PROXY, NO_PROXY); without a network: --offline --find-links DIR"
    )


def _problem(url: str) -> str | None:
    """None when the index answers, else what went wrong, as the end of a sentence."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        return _ask(url)
    if scheme == "file" or len(scheme) <= 1:  # a path (a drive letter on Windows is a one-letter "scheme")
        path = Path(unquote(parts.path) if scheme == "file" else url).expanduser()
        return None if path.exists() else "does not exist"
    return None  # another scheme (git+https, ...) is the installer's alone


def _ask(url: str) -> str | None:
    request = _request(url)
    opener = urllib.request.build_opener()  # its ProxyHandler reads HTTPS_PROXY, HTTP_PROXY and NO_PROXY
    try:
        with opener.open(request, timeout=TIMEOUT):
            return None  # the status line and headers came back: it answers (the body is not read)
    except urllib.error.HTTPError as exc:
        if exc.code >= 500:
            return f"answers {exc.code} ({exc.reason}): the server fails"
        if exc.code in (401, 403) and "Authorization" in request.headers:
            return f"refuses the credentials given ({exc.code} {exc.reason})"
        return None  # 404 on a root some indexes do not serve; 401 without credentials: keyring's to answer
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, ssl.SSLCertVerificationError):
            return None  # it answered; whether to trust it is the installer's (PIP_CERT, uv's native certificates)
        return f"cannot be reached: {_reason(reason)}"
    except (TimeoutError, OSError, http.client.HTTPException) as exc:
        return f"cannot be reached: {_reason(exc)}"


def _reason(reason: object) -> str:
    text = str(getattr(reason, "strerror", None) or reason).lower()
    for needle, said in (
        ("refused", "the connection was refused"),
        ("name or service not known", "the host name is unknown"),
        ("nodename nor servname", "the host name is unknown"),
        ("temporary failure in name resolution", "host names cannot be resolved (no DNS)"),
        ("no address associated", "the host name is unknown"),
        ("timed out", f"no answer within {TIMEOUT:g} s"),
        ("network is unreachable", "the network is unreachable"),
        ("tunnel connection failed", "the proxy refused the connection"),
        ("reset", "the connection was reset"),
    ):
        if needle in text:
            return said
    return redact_credentials(str(reason)) or type(reason).__name__


def _request(url: str) -> urllib.request.Request:
    """A GET of the root, with the URL's user info as a basic-auth header (urllib sends none of its own), or the
    netrc file's for the host, as pip and uv do."""
    parts = urlsplit(url)
    headers = {"User-Agent": f"envcheck/{__version__}", "Accept": "text/html, application/vnd.pypi.simple.v1+json"}
    user = password = None
    netloc = parts.netloc
    if "@" in netloc:
        info, _, netloc = netloc.rpartition("@")
        user, _, password = (unquote(p) for p in info.partition(":"))
    elif parts.hostname:
        user, password = _netrc_login(parts.hostname)
    if user is not None:
        pair = f"{user}:{password or ''}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
    bare = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
    return urllib.request.Request(bare, headers=headers, method="GET")


def _netrc_login(host: str) -> tuple[str | None, str | None]:
    try:
        found = netrc.netrc(os.environ.get("NETRC") or None).authenticators(host)
    except (OSError, netrc.NetrcParseError):
        return None, None
    return (found[0], found[2]) if found else (None, None)
