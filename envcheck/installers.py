"""The pip and uv command lines: every install, sync, compile and download argv envcheck runs or prints, the index
options they take, and what two of their failures mean (an unreachable index, a file that does not match a lock).

Index URLs never go on a command line (any local user reads those with ``ps``): ``IndexOptions.environment``
puts them in the installer's own variables, and each builder here leaves them out of the arguments.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from envcheck.redaction import redact_credentials

INSTALLERS = ("uv", "pip")  # what installs a venv's packages; the order is the CLI's
DEFAULT_INSTALLER = "uv"  # about 3x faster than pip cold, far more warm


@dataclass(frozen=True)
class IndexOptions:
    """Where packages come from; passed to uv, pip or conda's pip step alike."""

    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    offline: bool = False

    def pip_args(self, *, uv: bool) -> list[str]:
        """What stays on the command line: local links and offline mode. URLs go by ``environment``."""
        args: list[str] = []
        if not self._links_by_environment:
            for link in self.find_links:
                args += ["--find-links", link]
        if self.offline:
            # uv has a real offline mode (its cache only); pip's nearest is "no index, local links only"
            args += ["--offline"] if uv else ["--no-index"]
        return args

    def environment(self, *, uv: bool) -> dict[str, str]:
        """The index URLs as the installer's own variables.

        Any local user can read a program's arguments (``ps``), only its owner its environment: credentials
        in an index URL are passed this way. Links go this way too when one of them holds credentials (a
        command-line value would replace the variable's, so they travel together).
        """
        env: dict[str, str] = {}
        links = self.find_links if self._links_by_environment else ()
        if uv:
            if self.index_url:
                # both spellings, so that a user's own UV_DEFAULT_INDEX cannot win over the index asked for
                env["UV_INDEX_URL"] = env["UV_DEFAULT_INDEX"] = self.index_url
            if self.extra_index_urls:
                env["UV_EXTRA_INDEX_URL"] = " ".join(self.extra_index_urls)
            if links:
                env["UV_FIND_LINKS"] = ",".join(links)
        else:
            if self.index_url:
                env["PIP_INDEX_URL"] = self.index_url
            if self.extra_index_urls:
                env["PIP_EXTRA_INDEX_URL"] = " ".join(self.extra_index_urls)
            if links:
                env["PIP_FIND_LINKS"] = " ".join(links)
        return env

    def locations(self, *, uv: bool, environ: Mapping[str, str]) -> list[tuple[str, str]]:
        """Every index the installer will read, as ("index", URL), and every link given, as ("links", URL or
        folder): the index options, and the installer's own index variables in ``environ`` that the options do
        not replace. (A links folder from the user's own variables is not listed: pip skips one that is missing.)"""
        variables = {**environ, **self.environment(uv=uv)}
        names = _UV_VARIABLES if uv else _PIP_VARIABLES
        found: list[tuple[str, str]] = []
        if not any(_true(variables.get(name, "")) for name in names["off"]):
            for name in names["index"]:
                found += [("index", _index_url(value)) for value in variables.get(name, "").split()]
        found += [("links", link) for link in self.find_links]
        return list(dict.fromkeys(found))

    @property
    def _links_by_environment(self) -> bool:
        return any(redact_credentials(link) != link for link in self.find_links)


# The installers' own variables for indexes, and the ones that turn the indexes off.
_PIP_VARIABLES = {
    "index": ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL"),
    "off": ("PIP_NO_INDEX",),
}
_UV_VARIABLES = {
    "index": ("UV_DEFAULT_INDEX", "UV_INDEX_URL", "UV_INDEX", "UV_EXTRA_INDEX_URL"),
    "off": ("UV_OFFLINE", "UV_NO_INDEX"),
}


def _index_url(value: str) -> str:
    """uv's ``UV_INDEX`` entries may be named: ``name=https://...``."""
    name, equals, url = value.partition("=")
    return url if equals and "://" in url and "://" not in name else value


def _true(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


# ---------------------------------------------------------------------------------------------- pip


def pip_install_argv(python: str, index: IndexOptions) -> list[str]:
    """The environment's own pip, quiet about itself, with the index options that are not URLs (those travel
    in ``index.environment(uv=False)``); requirements go after."""
    argv = [python, "-m", "pip", "install", "--disable-pip-version-check", "--progress-bar", "off"]
    return argv + index.pip_args(uv=False)


def pip_locked_argv(python: str, index: IndexOptions, requirements: Path) -> list[str]:
    """pip installing a lock's hashed requirements: every file's hash checked, no dependency of its own."""
    return pip_install_argv(python, index) + ["--require-hashes", "--no-deps", "-r", os.fspath(requirements)]


def pip_download_argv(
    python: str, dest: Path, requirements: Path, index: IndexOptions, target: Sequence[str] = ()
) -> list[str]:
    """pip fetching a lock's wheels into ``dest``, hashes checked; ``target`` names another platform and Python."""
    argv = [python, "-m", "pip", "download", "--disable-pip-version-check", "--progress-bar", "off"]
    argv += ["--no-deps", "--only-binary=:all:", "--require-hashes", "--dest", os.fspath(dest)]
    return argv + [*target, *index.pip_args(uv=False), "-r", os.fspath(requirements)]


# ---------------------------------------------------------------------------------------------- uv


def uv_venv_argv(uv: str, interpreter: str, prefix: str, index: IndexOptions, *, seed: bool) -> list[str]:
    """uv creating a virtual environment; ``seed`` puts pip in it (and downloads pip: the index options count)."""
    argv = [uv, "venv", *(["--seed"] if seed else []), "--no-project", "--python", interpreter]
    return argv + index.pip_args(uv=True) + [prefix]


def uv_install_argv(uv: str, python: str, index: IndexOptions) -> list[str]:
    """uv's pip installing into the environment of ``python``; requirements go after."""
    return [uv, "pip", "install", "--python", python, *index.pip_args(uv=True)]


def uv_sync_argv(uv: str, python: str, index: IndexOptions, requirements: Path) -> list[str]:
    """A sync to a lock's hashed requirements: exactly those files, anything else removed, every hash checked."""
    argv = [uv, "pip", "sync", "--python", python, "--require-hashes"]
    return argv + index.pip_args(uv=True) + [os.fspath(requirements)]


def uv_compile_argv(
    uv: str, requirements: Path, output: Path, *, python_version: str, header: str, index: IndexOptions
) -> list[str]:
    """uv resolving ``requirements`` once for every platform into a PEP 751 lock with hashes."""
    argv = [uv, "pip", "compile", os.fspath(requirements), "--universal"]
    argv += ["--format", "pylock.toml", "--generate-hashes", "--python-version", python_version]
    argv += ["--custom-compile-command", header]
    argv += ["--output-file", os.fspath(output), "--quiet"]
    return argv + index.pip_args(uv=True)


# ---------------------------------------------------------------------------------------------- either


def environment_pip_argv(python: str, verb: str, *args: str, uv: str | None = None) -> list[str]:
    """``pip VERB`` for the environment of ``python``: its own pip, or (``uv`` given: the environment has no pip)
    uv's. An uninstall asks no question."""
    if uv is not None:
        return [uv, "pip", verb, "--python", python, *args]
    return [python, "-m", "pip", verb, *(["-y"] if verb == "uninstall" else []), *args]


def installer_name(argv: Sequence[str]) -> str:
    """The installer a command line runs, as a message names it: "pip" for ``python -m pip``, else the program."""
    return "pip" if tuple(argv[1:3]) == ("-m", "pip") else Path(argv[0]).name


# ---------------------------------------------------------------------------------------------- failures

# What uv and pip print when the index cannot be reached at all, as opposed to a package it does not have.
_UNREACHABLE = re.compile(
    r"error sending request for url|tcp connect error|dns error|failed to lookup address|"
    r"Failed to establish a new connection|NewConnectionError|NameResolutionError|ConnectTimeoutError|"
    r"ProxyError|Max retries exceeded|after connection broken by|Could not fetch URL|Network is unreachable",
    re.IGNORECASE,
)
_REASONS = (
    ("connection refused", "the connection was refused"),
    ("connection reset", "the connection was reset"),
    ("name or service not known", "the host name is unknown"),
    ("nodename nor servname", "the host name is unknown"),
    ("temporary failure in name resolution", "host names cannot be resolved (no DNS)"),
    ("dns error", "the host name could not be resolved"),
    ("network is unreachable", "the network is unreachable"),
    ("timed out", "the connection timed out"),
    ("proxy", "the proxy refused or failed"),
)
_URL_LINES = (
    re.compile(r"Failed to fetch: `?(?P<url>[^\s`]+)"),  # uv
    re.compile(r"error sending request for url \((?P<url>[^)\s]+)\)"),  # uv
    re.compile(r"Looking in indexes: (?P<url>[^\s,]+)"),  # pip, credentials already masked
)


_HOST = re.compile(r"https?://(?:[^@/\s]*@)?(?P<host>[^/\s:@]+)")  # the host, without any (masked) user info


class Unreachable(NamedTuple):
    """The package index could not be reached: a line saying so, a hint, and the index's host when known."""

    message: str
    hint: str
    host: str | None


def unreachable_index(output: str, redact: Callable[[str], str] = redact_credentials) -> Unreachable | None:
    """When uv's or pip's output says the package index could not be reached: one line saying so, with the
    URL (credentials removed by ``redact``), and a hint on what to try; None for any other failure."""
    if not _UNREACHABLE.search(output):
        return None
    lowered = output.lower()
    reason = next((said for needle, said in _REASONS if needle in lowered), "no connection could be made")
    url = next((m.group("url") for pattern in _URL_LINES if (m := pattern.search(output))), None)
    where = f" {redact(url)}" if url else ""
    host = found["host"] if url and (found := _HOST.match(url)) else None
    return Unreachable(
        f"could not reach the package index{where}: {reason}",
        "check the network connection and any proxy (HTTPS_PROXY), and the address given with --index-url; "
        "without a network, install from local wheels with --offline --find-links DIR",
        host,
    )


_UV_MISMATCH = re.compile(
    r"Hash mismatch for `(?P<what>[^`]+)`.*?Expected:\s*sha256:(?P<expected>[0-9a-f]{64}).*?"
    r"Computed:\s*sha256:(?P<got>[0-9a-f]{64})",
    re.S,
)
_PIP_MISMATCH = re.compile(
    r"^\s*(?P<req>\S+) from (?P<url>\S+).*?\n\s*Expected sha256 (?P<expected>[0-9a-f]{64})\s*\n\s*Got\s+(?P<got>[0-9a-f]{64})",
    re.M,
)


def explain_hash_mismatch(output: str) -> str | None:
    """One line naming the file and both hashes, from uv's or pip's hash-mismatch report; None for any other error."""
    found = _UV_MISMATCH.search(output)
    if found:
        what = found["what"]
    else:
        found = _PIP_MISMATCH.search(output)
        if not found:
            return None
        what = found["url"].rstrip(":").rsplit("/", 1)[-1]
    return f"{what} does not match the lock: sha256 {found['got']}, the lock says {found['expected']}"


# ---------------------------------------------------------------------------------------------- explanations

EXPLANATION_LINES = 40  # uv's whole resolution report is a few lines; a build's traceback is cut to its error
_LINE_LENGTH = 600
_UV_START = re.compile(r"^(?:error:|×)")
_UV_BLOCK = re.compile(r"^\s*(?:\[stderr\]|\[stdout\]|--- stderr|--- stdout)\s*$")
_PIP_SUBPROCESS = "This error originates from a subprocess"
_PIP_NOT_CAUSE = re.compile(r"^(?:×|│|╰─>|note:|error: subprocess-exited-with-error|\[end of output\]|See above)")
_CAUSE = re.compile(r"^(?:[\w.]*(?:Error|Exception|Warning)\b.*:|fatal:|error:|ERROR:)|command '.*' failed")
_WHEEL_TAGS = re.compile(
    r"we only found wheels for `(?P<dist>[^`]+)` \(v(?P<version>[^)]+)\) with the following Python ABI tags?: "
    r"(?P<tags>`[^`]+`(?:, `[^`]+`)*)"
)
_CPYTHON_TAG = re.compile(r"^cp(?P<major>[23])(?P<minor>[0-9]+)[a-z]*$")


@dataclass(frozen=True)
class WheelPythons:
    """What uv said of a distribution with no wheel for this Python: the CPython versions its wheels are for."""

    distribution: str
    version: str
    pythons: tuple[str, ...]  # "2.7", "3.5", ... in order


@dataclass(frozen=True)
class InstallerFailure:
    """Why uv or pip failed, in their own words: ``lines`` to show whole, ``summary`` for the error line."""

    summary: str
    lines: tuple[str, ...]
    wheels: tuple[WheelPythons, ...] = ()  # the distributions that have no wheel for this Python


def explain_install_failure(output: str) -> InstallerFailure:
    """The explanation in an installer's output: uv's whole report from its ``error:`` line (causes and hints,
    a build's captured output cut to its last line); pip's ``ERROR:`` lines, or, for a failed subprocess (a
    build, a git clone), the package it was collecting and the real cause above "This error originates from a
    subprocess"."""
    lines = [line.rstrip() for line in output.splitlines()]
    start = next((i for i, line in enumerate(lines) if _UV_START.match(line)), None)
    if _PIP_SUBPROCESS in output:
        said = _pip_subprocess(lines)
    elif any(line.startswith("ERROR:") for line in lines):
        said = [line for line in lines if line.startswith("ERROR:")] + _pip_conflict(lines)
    elif start is not None:
        said = _uv_report(lines[start:])
    else:
        said = [line for line in lines if line.strip()][-3:]
    said = [line[:_LINE_LENGTH] for line in said if line.strip()][:EXPLANATION_LINES]
    wheels = tuple(WheelPythons(m["dist"], m["version"], _pythons(m["tags"])) for m in _WHEEL_TAGS.finditer(output))
    return InstallerFailure(_summary(said), tuple(said), tuple(w for w in wheels if w.pythons))


def _summary(said: list[str]) -> str:
    """The one line of the explanation that says most: pip's "No matching distribution" or its first error, the
    cause of a failed subprocess, uv's first line."""
    errors = [line for line in said if line.startswith("ERROR:") and "Ignored the following" not in line]
    picked = (
        next((line for line in errors if "No matching distribution" in line), None)
        or (errors[0] if errors else None)
        or (said[-1] if said and said[0].startswith(("Collecting ", "Processing ")) else None)
        or next((line for line in said if line.strip()), "no output")
    )
    for prefix in ("error:", "ERROR:", "×"):
        picked = picked.strip().removeprefix(prefix).strip()
    return picked[:300]


def _pip_conflict(lines: list[str]) -> list[str]:
    """pip's "The conflict is caused by:" lines, which it writes apart from its ERROR lines."""
    try:
        start = lines.index("The conflict is caused by:")
    except ValueError:
        return []
    block = [lines[start]]
    for line in lines[start + 1 :]:
        if not line.startswith(" "):
            break
        block.append(line)
    return block


def _uv_report(lines: list[str]) -> list[str]:
    """uv's report as it wrote it, except a program's captured output (``[stderr]``), which keeps its last line."""
    kept: list[str] = []
    block: list[str] | None = None
    indent = 0
    for line in lines:
        if block is not None:
            if line.strip() and len(line) - len(line.lstrip()) <= indent:
                kept += block[-1:]
                block = None
            else:
                if line.strip():
                    block.append(line)
                continue
        if _UV_BLOCK.match(line):
            block, indent = [], len(line) - len(line.lstrip()) - 2
            continue
        if line.startswith("Using Python ") or not line.strip():
            continue
        kept.append(line)
    if block:
        kept += block[-1:]
    return kept


def _pip_subprocess(lines: list[str]) -> list[str]:
    """pip's failed subprocess: the package being collected, the step that failed and the cause it printed."""
    end = next(i for i, line in enumerate(lines) if _PIP_SUBPROCESS in line)
    before = [line.strip() for line in lines[:end] if line.strip()]
    causes = [line for line in before if _CAUSE.search(line) and not _PIP_NOT_CAUSE.match(line)]
    step = next((line for line in before if line.startswith("×")), None)
    collecting = [line for line in before if line.startswith(("Collecting ", "Processing "))]
    said = collecting[-1:] + ([step] if step else []) + causes[-1:]
    return said or before[-3:]


def _pythons(tags: str) -> tuple[str, ...]:
    found = {
        (int(m["major"]), int(m["minor"])) for tag in re.findall(r"`([^`]+)`", tags) if (m := _CPYTHON_TAG.match(tag))
    }
    return tuple(f"{major}.{minor}" for major, minor in sorted(found))
