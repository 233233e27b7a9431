"""Backends: how an environment is created and filled, behind one small interface picked by name.

A backend does not run anything itself: it returns the ``Step``s (argument lists with a phase and a timeout)
that setup executes through the runner, so that a plan can be shown and tested without running it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from envcheck.errors import UsageError
from envcheck.redaction import redact_credentials

if TYPE_CHECKING:  # the command line reads this module's names: it stays light
    from envcheck.profiles.profile import Profile


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

    @property
    def _links_by_environment(self) -> bool:
        return any(redact_credentials(link) != link for link in self.find_links)


INSTALL_TIMEOUT = 3600.0  # TensorFlow and its CUDA wheels are gigabytes on a slow line


def pip_install_argv(python: str, index: IndexOptions) -> list[str]:
    """The environment's own pip, quiet about itself, with the index options that are not URLs (those travel
    in ``index.environment(uv=False)``); requirements go after."""
    argv = [python, "-m", "pip", "install", "--disable-pip-version-check", "--progress-bar", "off"]
    return argv + index.pip_args(uv=False)


# What uv and pip print when the index cannot be reached at all, as opposed to a package it does not have.
_UNREACHABLE = re.compile(
    r"error sending request for url|tcp connect error|dns error|failed to lookup address|"
    r"Failed to establish a new connection|NewConnectionError|NameResolutionError|ConnectTimeoutError|"
    r"ProxyError|Max retries exceeded|after connection broken by|Could not fetch URL|Network is unreachable",
    re.IGNORECASE,
)
_REASONS = (
    ("connection refused", "the connection was refused"),
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


def unreachable_index(output: str, redact: Callable[[str], str]) -> tuple[str, str] | None:
    """When uv's or pip's output says the package index could not be reached: one line saying so, with the
    URL (credentials removed by ``redact``), and a hint on what to try; None for any other failure."""
    if not _UNREACHABLE.search(output):
        return None
    lowered = output.lower()
    reason = next((said for needle, said in _REASONS if needle in lowered), "no connection could be made")
    url = next((m.group("url") for pattern in _URL_LINES if (m := pattern.search(output))), None)
    where = f" {redact(url)}" if url else ""
    return (
        f"could not reach the package index{where}: {reason}",
        "check the network connection and any proxy (HTTPS_PROXY), and the address given with --index-url; "
        "without a network, install from local wheels with --offline --find-links DIR",
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


def pip_locked_argv(python: str, index: IndexOptions, requirements: Path) -> list[str]:
    """pip installing a lock's hashed requirements: every file's hash checked, no dependency of its own."""
    argv = pip_install_argv(python, index) + ["--require-hashes", "--no-deps", "-r", str(requirements)]
    return argv


@dataclass(frozen=True)
class Step:
    phase: str  # "create" or "install": what the user sees as progress
    argv: tuple[str, ...]
    timeout: float
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None  # where the step's relative paths point (None: where envcheck runs)
    # turns the step's output into one line on why it failed (a conda --json error); None: setup's own guess
    explain: Callable[[str], str | None] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class BuildRequest:
    """Everything a backend needs to plan: where, with which interpreter, what, from where, with what."""

    prefix: Path
    interpreter: Path
    # "3.11.7" or "3.11": conda asks for that python; None: the profile's range, left to conda's solver
    python_version: str | None
    profile: Profile
    installer: str  # "uv" or "pip"
    index: IndexOptions = IndexOptions()
    fresh: bool = False  # install_steps follow this run's create_steps (not an update of an existing one)
    # a lock's choice for this machine as a hashed requirements file: installed exactly, nothing else
    locked_requirements: Path | None = None


class Backend(Protocol):
    name: str
    # the backend's tool refuses an existing folder, even an empty one, as the place for a new environment
    needs_absent_prefix: bool

    @property
    def installer(self) -> str:
        """What installs the packages, as the marker and the summary name it ("uv", "pip", "micromamba", ...)."""

    def create_steps(self, request: BuildRequest) -> list[Step]:
        """Steps that create a new environment at request.prefix, ready for install_steps."""

    def install_steps(self, request: BuildRequest) -> list[Step]:
        """Steps that install (or bring in line) the profile's packages into an existing environment."""

    def preflight(self) -> None:
        """Raise a helpful error if the backend's programs are missing; runs before anything is created."""


INSTALLERS = ("uv", "pip")
DEFAULT_INSTALLER = "uv"
# The registry's names, in the order help lists them (the registry itself imports the backends).
BACKENDS = ("venv", "conda")


def get_backend(name: str, **options: str | None) -> Backend:
    registry = _registry()
    if name not in registry:
        raise UsageError(f"unknown backend {name!r}", f"choose one of: {', '.join(sorted(registry))}")
    return registry[name](**options)


def _registry() -> dict[str, Callable[..., Backend]]:
    from envcheck.setup.backends.conda import CondaBackend
    from envcheck.setup.backends.venv import VenvBackend

    return {"venv": VenvBackend, "conda": CondaBackend}  # keys: BACKENDS
