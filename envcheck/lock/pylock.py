"""Lock files: read a PEP 751 ``pylock.toml``, pick what it holds for one machine, and compare things with it.

uv writes the lock (``envcheck lock``); this module only reads it, through ``packaging.pylock``, which validates
the format and selects the package entries for a marker environment and a list of wheel tags. Everything here
is a pure function of files and facts: running uv or pip is ``envcheck.lock.make``'s job.

envcheck adds one table to the lock, ``[tool.envcheck]``: the profile it was made from and that profile's
digest, the platforms and pythons it was checked for.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.markers import default_environment
from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.utils import canonicalize_name

from envcheck.bounded import LOCK_LIMIT, TooLarge, describe, read_limited
from envcheck.errors import EnvcheckError, ExitCode, UsageError
from envcheck.lock.platforms import LockPlatform

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

TOOL_KEY = "envcheck"
# Packages an environment may hold beyond the lock: the installers' own tools.
TOOL_PACKAGES = frozenset({"pip", "setuptools", "wheel"})
# Locked beside the profile: the environment's pip (notebooks' %pip), so that an offline build needs no cache.
EXTRA_REQUIREMENTS = ("pip",)


class LockError(UsageError):
    """A lock file that cannot be used as given (missing, malformed, not for this machine)."""


class HashMismatchError(EnvcheckError):
    """A file's sha256 is not the one the lock holds."""

    exit_code = ExitCode.FAILED


def marker_environment(platform: LockPlatform, python: str) -> dict[str, str]:
    """The PEP 508 environment of CPython ``python`` ("3.12") on ``platform``."""
    return {
        **platform.markers,
        "implementation_name": "cpython",
        "implementation_version": f"{python}.0",
        "platform_python_implementation": "CPython",
        "platform_release": "",
        "platform_version": "",
        "python_version": python,
        "python_full_version": f"{python}.0",
    }


def wheel_tags(python: str, platforms: Sequence[str] | None = None) -> list[Tag]:
    """The tags a CPython ``python`` accepts, best first, on ``platforms`` (None: this machine's)."""
    version = tuple(int(part) for part in python.split(".")[:2])
    interpreter = f"cp{version[0]}{version[1]}"
    return [*cpython_tags(version, platforms=platforms), *compatible_tags(version, interpreter, platforms)]


def pythons_in(spec: Any) -> list[str]:
    """The minor versions of Python a profile's range allows, e.g. ['3.10', '3.11', '3.12', '3.13']."""
    return [f"3.{minor}" for minor in range(8, 16) if spec.contains(f"3.{minor}.0", prereleases=True)]


@dataclass(frozen=True)
class LockedFile:
    """One distribution file the lock picked for a machine."""

    name: str  # canonical distribution name
    version: str
    filename: str
    url: str | None
    sha256: str
    wheel: bool

    def requirement_line(self) -> str:
        """A line of a hashed requirements file: exactly this version, exactly this file."""
        return f"{self.name}=={self.version} --hash=sha256:{self.sha256}"


@dataclass(frozen=True)
class Lock:
    path: Path
    digest: str  # sha256 of the file's bytes: what two machines compare
    document: Any  # packaging.pylock.Pylock, validated
    profile: str | None
    profile_digest: str | None
    platforms: tuple[str, ...]
    pythons: tuple[str, ...]

    def select(self, markers: Mapping[str, str], tags: Sequence[Tag], *, where: str) -> tuple[LockedFile, ...]:
        """The files to install on a machine with these markers and tags; LockError where the lock has none."""
        from packaging.pylock import PylockSelectError

        try:
            chosen = list(self.document.select(environment=dict(markers), tags=tags))
        except PylockSelectError as exc:
            covered = ", ".join(self.platforms) or "unknown platforms"
            raise LockError(
                f"{self.path} does not fit {where}: {exc}",
                f"it was made for {covered} with Python {', '.join(self.pythons) or '?'}; "
                "make a lock that covers this machine with: envcheck lock",
            ) from None
        files = []
        for package, source in chosen:
            filename = getattr(source, "filename", None) or Path(str(source.url or source.path)).name
            digest = (source.hashes or {}).get("sha256")
            if not digest:
                raise LockError(
                    f"{self.path}: {package.name} has no sha256 hash",
                    "make the lock with: envcheck lock (it always writes hashes)",
                )
            files.append(
                LockedFile(
                    name=str(canonicalize_name(package.name)),
                    version=str(package.version),
                    filename=filename,
                    url=source.url,
                    sha256=digest,
                    wheel=filename.endswith(".whl"),
                )
            )
        return tuple(files)

    def select_for(self, platform: LockPlatform, python: str) -> tuple[LockedFile, ...]:
        return self.select(
            marker_environment(platform, python),
            wheel_tags(python, platform.tag_platforms),
            where=f"{platform.name} with Python {python}",
        )

    def select_here(self, markers: Mapping[str, str] | None = None) -> tuple[LockedFile, ...]:
        """The files for this machine, for the interpreter whose marker environment is given (default: ours)."""
        env: dict[str, str] = dict(markers) if markers else {k: str(v) for k, v in default_environment().items()}
        python = env["python_version"]
        where = f"this machine ({env.get('sys_platform')} {env.get('platform_machine')}, Python {python})"
        return self.select(env, wheel_tags(python), where=where)

    def to_json(self) -> dict[str, Any]:
        return {"path": str(self.path), "digest": self.digest, "profile": self.profile}


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_lock(path: Path) -> Lock:
    """A validated lock; LockError with a hint when the file is missing, not TOML or not PEP 751."""
    from packaging.pylock import Pylock, PylockValidationError

    path = Path(path).expanduser().absolute()
    try:
        data = read_limited(path, LOCK_LIMIT)
    except TooLarge:
        raise LockError(
            f"{path}: larger than {describe(LOCK_LIMIT)}, far past any real lock (the deep-learning profile's for"
            " every platform: 1 MB); envcheck does not read it",
            "check the path given to --lock",
        ) from None
    except OSError as exc:
        raise LockError(f"{path}: cannot read the lock: {exc.strerror}", "make one with: envcheck lock") from None
    try:
        raw = tomllib.loads(data.decode("utf-8"))
        document = Pylock.from_dict(raw)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, PylockValidationError) as exc:
        raise LockError(
            f"{path}: not a valid PEP 751 lock: {exc}".splitlines()[0],
            "make it again with: envcheck lock",
        ) from None
    ours = (raw.get("tool") or {}).get(TOOL_KEY) or {}
    return Lock(
        path=path,
        digest=hashlib.sha256(data).hexdigest(),
        document=document,
        profile=ours.get("profile"),
        profile_digest=ours.get("profile-digest"),
        platforms=tuple(ours.get("platforms", ())),
        pythons=tuple(ours.get("pythons", ())),
    )


def tool_table(profile: str, profile_digest: str, platforms: Sequence[str], pythons: Sequence[str]) -> str:
    """The ``[tool.envcheck]`` table appended to the file uv wrote (JSON strings are valid TOML strings)."""
    lines = [
        "",
        f"[tool.{TOOL_KEY}]",
        f"profile = {json.dumps(profile)}",
        f"profile-digest = {json.dumps(profile_digest)}",
        f"platforms = {json.dumps(list(platforms))}",
        f"pythons = {json.dumps(list(pythons))}",
        "",
    ]
    return "\n".join(lines)


def fits_profile(lock: Lock, profile_name: str, profile_digest: str) -> str | None:
    """None when the lock was made from this profile as it is now; else why not."""
    if lock.profile_digest is None:
        return f"{lock.path} does not say which profile it was made from"
    if lock.profile != profile_name:
        return f"{lock.path} was made from profile {lock.profile!r}, not {profile_name!r}"
    if lock.profile_digest != profile_digest:
        return f"profile {profile_name!r} changed since {lock.path.name} was written"
    return None


def hashed_requirements(files: Iterable[LockedFile]) -> str:
    """The lock's choice for one machine as a pip/uv requirements file: every pin with its one hash."""
    return "".join(f"{f.requirement_line()}\n" for f in files)


def check_wheelhouse(folder: Path, files: Iterable[LockedFile]) -> list[LockedFile]:
    """Raise HashMismatchError for a file whose sha256 differs from the lock's; return the files not there."""
    missing = []
    for locked in files:
        candidate = folder / locked.filename
        if not candidate.is_file():
            missing.append(locked)
            continue
        actual = file_digest(candidate)
        if actual != locked.sha256:
            raise HashMismatchError(
                f"{candidate} does not match the lock: sha256 {actual}, the lock says {locked.sha256}",
                "the file is damaged or not the one locked; download it again with: envcheck download --lock ...",
            )
    return missing


MISSING = "missing"
OTHER_VERSION = "other-version"
EXTRA = "extra"


@dataclass(frozen=True)
class Drift:
    kind: str  # MISSING, OTHER_VERSION or EXTRA
    name: str
    locked: str | None
    installed: str | None

    def describe(self) -> str:
        if self.kind == MISSING:
            return f"{self.name} {self.locked} is missing"
        if self.kind == OTHER_VERSION:
            return f"{self.name} is {self.installed}, the lock says {self.locked}"
        return f"{self.name} {self.installed} is installed but not in the lock"


def drift(files: Iterable[LockedFile], installed: Mapping[str, str]) -> list[Drift]:
    """Every difference between the lock's choice for a machine and what is installed there."""
    found: dict[str, str] = {str(canonicalize_name(name)): version for name, version in installed.items()}
    locked = {f.name: f.version for f in files}
    differences = []
    for name, version in sorted(locked.items()):
        have = found.get(name)
        if have is None:
            differences.append(Drift(MISSING, name, version, None))
        elif not _same_version(have, version):
            differences.append(Drift(OTHER_VERSION, name, version, have))
    for name, version in sorted(found.items()):
        if name not in locked and name not in TOOL_PACKAGES:
            differences.append(Drift(EXTRA, name, None, version))
    return differences


def _same_version(a: str, b: str) -> bool:
    from packaging.version import InvalidVersion, Version

    try:
        return Version(a) == Version(b)  # 1.17 is 1.17.0
    except InvalidVersion:
        return a == b
