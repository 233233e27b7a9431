"""The secrets envcheck can know of: the credentials in what it is given and in what its installers will read.

They come from the URLs given on the command line, the installers' own variables (``PIP_*``, ``UV_*``: URLs in
any of them, and whole values of those named like a password or a token), pip's and uv's configuration files,
and the netrc file pip and uv take passwords from. ``envcheck.redaction`` then hides their values wherever they
appear. Files are only searched for URLs (and netrc read by the standard library's reader): their formats are
their owners'. Nothing here fails: a file that cannot be read holds no secret envcheck could print.
"""

from __future__ import annotations

import netrc
import os
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

from envcheck.bounded import TooLarge, read_limited
from envcheck.redaction import TOKEN_LENGTH, secrets_in_text, secrets_in_url

# Variables whose whole value is a secret: uv's UV_INDEX_<NAME>_PASSWORD, UV_PUBLISH_TOKEN, ...
_SECRET_NAME = re.compile(r"PASSWORD|TOKEN|SECRET|CREDENTIAL", re.IGNORECASE)
_PREFIXES = ("PIP_", "UV_")
# A configuration file is a few hundred bytes; anything past this is not read.
CONFIG_LIMIT = 1 << 20


def collect(
    urls: Iterable[str] = (),
    *,
    environ: Mapping[str, str] | None = None,
    prefix: Path | None = None,
) -> list[str]:
    """Every secret value in ``urls``, the installers' variables and files, and netrc.

    ``prefix``: an environment whose own pip reads ``<prefix>/pip.conf`` too.
    """
    environ = os.environ if environ is None else environ
    found: list[str] = []
    for url in urls:
        found += secrets_in_url(url)
    for name, value in environ.items():
        if not name.upper().startswith(_PREFIXES):
            continue
        if _SECRET_NAME.search(name):
            found.append(value)
        else:
            found += secrets_in_text(value)
    for path in config_files(environ, prefix):
        found += secrets_in_text(_text(path))
    found += _netrc_secrets(environ)
    return found


def config_files(environ: Mapping[str, str], prefix: Path | None = None) -> list[Path]:
    """The configuration files pip and uv read on this machine (those that exist or not: the caller reads)."""
    import platformdirs

    files: list[Path] = []
    for name in ("PIP_CONFIG_FILE", "UV_CONFIG_FILE"):
        if environ.get(name):
            files.append(Path(environ[name]).expanduser())
    for tool, file in (("pip", "pip.ini" if sys.platform == "win32" else "pip.conf"), ("uv", "uv.toml")):
        files.append(platformdirs.user_config_path(tool, appauthor=False, roaming=True) / file)
        for folder in str(platformdirs.site_config_dir(tool, appauthor=False, multipath=True)).split(os.pathsep):
            files.append(Path(folder) / file)
    files += [Path("/etc/pip.conf"), Path("/etc/uv/uv.toml"), Path.home() / ".pip" / "pip.conf", Path("uv.toml")]
    if environ.get("VIRTUAL_ENV"):
        files.append(Path(environ["VIRTUAL_ENV"]) / "pip.conf")
    files.append(Path(sys.prefix) / "pip.conf")
    if prefix is not None:
        files.append(Path(prefix) / ("pip.ini" if sys.platform == "win32" else "pip.conf"))
    return list(dict.fromkeys(files))


def _text(path: Path) -> str:
    try:
        return read_limited(path, CONFIG_LIMIT).decode("utf-8", errors="replace")
    except (OSError, TooLarge):
        return ""


def _netrc_secrets(environ: Mapping[str, str]) -> list[str]:
    """Passwords (and logins as long as a token) of the netrc file pip's and uv's HTTP clients read."""
    path = Path(environ["NETRC"]).expanduser() if environ.get("NETRC") else None
    if path is None:
        home = Path(environ.get("HOME") or Path.home())
        path = next((home / name for name in (".netrc", "_netrc") if (home / name).is_file()), home / ".netrc")
    if not _text(path):
        return []
    try:
        parsed = netrc.netrc(os.fspath(path))
    except (OSError, netrc.NetrcParseError):
        return []  # the clients skip a file they cannot parse: its passwords are never sent, never printed
    found: list[str] = []
    for login, account, password in parsed.hosts.values():
        found += [value for value in (password, account) if value]
        if login and len(login) >= TOKEN_LENGTH:
            found.append(login)
    return found


def collect_for_command(options: Mapping[str, object]) -> list[str]:
    """The secrets for one command, from its parsed options (``index_url``, ``extra_index_url``,
    ``find_links``, ``prefix``) and this machine."""
    urls: list[str] = []
    for name in ("index_url", "extra_index_url", "find_links"):
        value = options.get(name)
        if isinstance(value, str):
            urls.append(value)
        elif isinstance(value, (list, tuple)):
            urls += [str(v) for v in value]
    prefix = options.get("prefix")
    return collect(urls, prefix=Path(os.fspath(prefix)) if isinstance(prefix, (str, os.PathLike)) else None)
