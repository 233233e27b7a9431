"""`envcheck lock` and `envcheck download`: uv resolves and writes the lock, pip fetches the wheels it names.

envcheck adds what the bare tools do not: the check that the lock installs on every platform and Python the
profile is meant for, the profile's name and digest inside the lock, and a sha256 check of every downloaded
file against the lock.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.specifiers import SpecifierSet

from envcheck import runner, shell
from envcheck.errors import EnvcheckError, ExitCode, ProgramNotFoundError, UsageError
from envcheck.indexes import check_indexes
from envcheck.installers import IndexOptions, explain_hash_mismatch, pip_download_argv, uv_compile_argv
from envcheck.lock.platforms import PLATFORMS, platform_named
from envcheck.lock.pylock import (
    EXTRA_REQUIREMENTS,
    LockedFile,
    LockError,
    check_wheelhouse,
    fits_profile,
    hashed_requirements,
    pythons_in,
    read_lock,
    tool_table,
)
from envcheck.profiles.profile import Profile
from envcheck.progress import NullReporter, Reporter
from envcheck.redaction import redact_credentials
from envcheck.suggest import lock_command

COMPILE_TIMEOUT = 900.0
DOWNLOAD_TIMEOUT = 3600.0
# TensorFlow's wheels, where a profile does not say which Python it needs
DEFAULT_PYTHONS = SpecifierSet(">=3.10,<3.14")


class LockCoverageError(EnvcheckError):
    """The resolution has no installable files for some platform or Python the lock should cover."""


def default_lock_path(profile: Profile) -> Path:
    # PEP 751: pylock.<name>.toml with no dot in <name>
    return Path(f"pylock.{profile.name.replace('.', '-')}.toml")


@dataclass(frozen=True)
class LockRequest:
    profile: Profile
    output: Path
    pythons: tuple[str, ...] = ()  # empty: every minor version in the profile's range
    platforms: tuple[str, ...] = tuple(PLATFORMS)
    index: IndexOptions = IndexOptions()
    partial: bool = False  # lock what resolves, leaving out the platforms that do not


@dataclass(frozen=True)
class LockResult:
    path: Path
    digest: str
    profile: str
    packages: int
    platforms: tuple[str, ...]
    pythons: tuple[str, ...]
    left_out: tuple[str, ...] = ()  # "platform with Python X.Y: why"
    duration: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "lock": {"path": str(self.path), "digest": self.digest},
            "profile": self.profile,
            "packages": self.packages,
            "platforms": list(self.platforms),
            "pythons": list(self.pythons),
            "left_out": list(self.left_out),
        }


def lock_pythons(profile: Profile, wanted: tuple[str, ...]) -> tuple[str, ...]:
    if wanted:
        outside = [p for p in wanted if profile.python and not profile.python.contains(f"{p}.0", prereleases=True)]
        if outside:
            raise UsageError(
                f"Python {outside[0]} is outside profile {profile.name!r}'s range {profile.python}",
                "leave out --python-version to lock every Python the profile allows",
            )
        return wanted
    pythons = tuple(pythons_in(profile.python if str(profile.python) else DEFAULT_PYTHONS))
    if not pythons:
        raise UsageError(f"profile {profile.name!r} allows no Python 3 version ({profile.python})", None)
    return pythons


def make_lock(request: LockRequest, reporter: Reporter | None = None) -> LockResult:
    """Resolve the profile once with uv for every platform and Python; write the lock only if it covers them."""
    import time

    from envcheck.locations import find_uv

    reporter = reporter or NullReporter()
    started = time.monotonic()
    pythons = lock_pythons(request.profile, request.pythons)
    platforms = [platform_named(name) for name in request.platforms]
    with tempfile.TemporaryDirectory(prefix="envcheck-lock-") as scratch:
        requirements = Path(scratch) / "requirements.in"
        requirements.write_text("\n".join([*request.profile.requirement_strings(), *EXTRA_REQUIREMENTS]) + "\n")
        written = Path(scratch) / "pylock.envcheck.toml"
        argv = uv_compile_argv(
            os.fspath(find_uv()),
            requirements,
            written,
            python_version=pythons[0],
            header=f"envcheck lock --profile {request.profile.name}",
            index=request.index,
        )
        reporter.phase("resolve")
        check_indexes(request.index, uv=True, untouched="nothing was locked")
        # index URLs (maybe with credentials) travel in the environment, not on the command line
        env = request.index.environment(uv=True)
        completed = runner.run(argv, timeout=COMPILE_TIMEOUT, env=env, on_line=reporter.line)
        if not completed.ok:
            raise LockError(
                f"uv could not resolve profile {request.profile.name!r}: {_uv_reason(completed.stdout)}",
                "check the profile's requirements and the index options",
            )
        reporter.done("resolve")
        reporter.phase("check platforms")
        lock = read_lock(written)
        covered: list[tuple[str, str]] = []
        left_out: list[str] = []
        for platform in platforms:
            for python in pythons:
                reason = _coverage_gap(lock.select_for, platform, python)
                if reason is None:
                    covered.append((platform.name, python))
                else:
                    left_out.append(f"{platform.name} with Python {python}: {reason}")
        reporter.done("check platforms")
        if left_out and (not request.partial or not covered):
            raise LockCoverageError(
                f"the lock would not install on {left_out[0]}"
                + (f" (and {len(left_out) - 1} more)" if len(left_out) > 1 else ""),
                "lock the rest with --skip-unavailable, or narrow it with --platform / --python-version",
            )
        kept_platforms = tuple(dict.fromkeys(p for p, _ in covered))
        kept_pythons = tuple(dict.fromkeys(py for _, py in covered))
        # the lock is a file to share: a credential uv kept in an index URL stays out of it
        text = redact_credentials(written.read_text("utf-8")) + tool_table(
            request.profile.name, request.profile.digest, kept_platforms, kept_pythons
        )
        output = request.output.expanduser().absolute()
        output.parent.mkdir(parents=True, exist_ok=True)
        partial_file = output.with_name(output.name + ".tmp")
        partial_file.write_bytes(text.encode("utf-8"))
        os.replace(partial_file, output)
    return LockResult(
        path=output,
        digest=hashlib.sha256(text.encode("utf-8")).hexdigest(),  # what read_lock will say: the file's bytes
        profile=request.profile.name,
        packages=len(lock.document.packages),
        platforms=kept_platforms,
        pythons=kept_pythons,
        left_out=tuple(left_out),
        duration=time.monotonic() - started,
    )


def _coverage_gap(select: Any, platform: Any, python: str) -> str | None:
    try:
        files: tuple[LockedFile, ...] = select(platform, python)
    except LockError as exc:
        return exc.message.split(": ", 1)[-1]
    sources = [f.name for f in files if not f.wheel]
    if sources:
        return f"no wheel for {', '.join(sources)} (only its source, which would need building)"
    return None


def _uv_reason(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for index, line in enumerate(lines):
        if line.lower().startswith("error:") or line.startswith("×"):
            return " ".join(lines[index : index + 3])[:400]
    return lines[-1][:400] if lines else "no output"


@dataclass(frozen=True)
class LockCheck:
    """`lock --check`: whether a lock still fits its profile, why not, and how to write it again."""

    path: Path
    digest: str
    profile: str
    problem: str | None  # None: it fits
    rewrite: str  # the command that writes it again, quoted for the shell

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.OK if self.problem is None else ExitCode.FAILED

    def to_json(self) -> dict[str, Any]:
        return {
            "lock": {"path": str(self.path), "digest": self.digest},
            "profile": self.profile,
            "fits": self.problem is None,
            "problem": self.problem,
        }


def check_lock(path: Path, profile: Profile) -> LockCheck:
    """For `lock --check`: does the lock at ``path`` still fit the profile as it is now?"""
    lock = read_lock(path)
    return LockCheck(
        path=lock.path,
        digest=lock.digest,
        profile=profile.name,
        problem=fits_profile(lock, profile.name, profile.digest),
        rewrite=lock_command(profile, path),
    )


@dataclass(frozen=True)
class DownloadResult:
    dest: Path
    lock_digest: str
    files: tuple[str, ...]
    targets: tuple[str, ...]
    bytes: int = 0
    downloaded: tuple[str, ...] = field(default_factory=tuple)
    lock_path: Path | None = None  # the lock as the user named it, for the next step's command

    def to_json(self) -> dict[str, Any]:
        return {
            "dest": str(self.dest),
            "lock": {"digest": self.lock_digest},
            "targets": list(self.targets),
            "files": list(self.files),
            "bytes": self.bytes,
        }


def download(
    lock_path: Path,
    dest: Path,
    platforms: tuple[str, ...] = (),
    index: IndexOptions | None = None,
    reporter: Reporter | None = None,
) -> DownloadResult:
    """Put every wheel the lock needs (this machine, or the named platforms) into ``dest``, hashes checked."""
    reporter = reporter or NullReporter()
    index = index or IndexOptions()
    lock = read_lock(lock_path)
    dest = dest.expanduser().absolute()
    jobs: list[tuple[str, tuple[LockedFile, ...], list[str]]] = []
    if not platforms:
        files = lock.select_here()
        jobs.append(("this machine", files, []))
    for name in platforms:
        platform = platform_named(name)
        for python in lock.pythons or lock_pythons_here():
            files = lock.select_for(platform, python)
            abi = f"cp{python.replace('.', '')}"
            args = ["--platform", platform.pip_platform, "--python-version", python, "--implementation", "cp"]
            jobs.append((f"{platform.name} with Python {python}", files, [*args, "--abi", abi]))
    for where, files, _ in jobs:
        sources = [f.filename for f in files if not f.wheel]
        if sources:
            raise LockError(
                f"the lock has no wheel for {where} of: {', '.join(sources)}",
                "a wheelhouse holds only wheels; leave that platform out",
            )
    _refuse_a_file_as_folder(dest)
    check_indexes(index, uv=False, untouched="nothing was downloaded")
    created = not dest.exists()
    dest.mkdir(parents=True, exist_ok=True)
    before = {p.name for p in dest.iterdir()}
    try:
        for where, files, args in jobs:
            reporter.phase(f"download for {where}")
            # a file already there with the lock's hash is not fetched again: a second run only checks
            wanted = [f for f in files if not _already_there(dest / f.filename, f.sha256)]
            if not wanted:
                reporter.done(f"download for {where}", f"{len(files)} files, all there already")
                continue
            with tempfile.TemporaryDirectory(prefix="envcheck-download-") as scratch:
                requirements = Path(scratch) / "requirements.txt"
                requirements.write_text(hashed_requirements(wanted), "utf-8")
                argv = pip_download_argv(sys.executable, dest, requirements, index, args)
                env = index.environment(uv=False)
                completed = runner.run(argv, timeout=DOWNLOAD_TIMEOUT, env=env, on_line=reporter.line)
            if not completed.ok:
                if "No module named pip" in completed.stdout:
                    raise ProgramNotFoundError(
                        f"{sys.executable} has no pip to download with",
                        f"install it: {shell.command(sys.executable, '-m', 'ensurepip')}",
                    )
                reason = explain_hash_mismatch(completed.stdout) or _uv_reason(completed.stdout)
                raise EnvcheckError(
                    f"pip download for {where} failed: {reason}",
                    "check the index options, or the network",
                )
            missing = check_wheelhouse(dest, files)
            if missing:
                raise EnvcheckError(
                    f"pip did not download {missing[0].filename} for {where}",
                    "pip chose another file than the lock; report this with the lock attached",
                )
            reporter.done(f"download for {where}", f"{len(files)} files")
    except BaseException:
        for path in dest.iterdir():  # envcheck deletes only what it downloaded, and the folder if it made it
            if path.name not in before and path.is_file():
                path.unlink()
        if created and not any(dest.iterdir()):
            dest.rmdir()
        raise
    names = sorted({f.filename for _, files, _ in jobs for f in files})
    return DownloadResult(
        dest=dest,
        lock_digest=lock.digest,
        files=tuple(names),
        targets=tuple(where for where, _, _ in jobs),
        bytes=sum((dest / n).stat().st_size for n in names),
        downloaded=tuple(sorted({p.name for p in dest.iterdir()} - before)),
        lock_path=lock_path,
    )


def _refuse_a_file_as_folder(dest: Path) -> None:
    """--dest must be a folder or a place for one: a file there (or above it) is the user's mistake, not the disk's."""
    for place in (dest, *dest.parents):
        if place.exists():
            if place.is_dir():
                return
            where = "is a file" if place == dest else f"is inside {place}, which is a file"
            raise UsageError(
                f"--dest {dest} {where}, not a folder",
                "give a folder for the wheels (made if missing), e.g. --dest wheelhouse",
            )


def _already_there(path: Path, sha256: str) -> bool:
    from envcheck.lock.pylock import file_digest

    return path.is_file() and file_digest(path) == sha256


def lock_pythons_here() -> tuple[str, ...]:
    return (f"{sys.version_info[0]}.{sys.version_info[1]}",)
