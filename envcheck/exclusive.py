"""One envcheck at a time per environment: a lock per prefix, held by anything that changes an environment.

`setup` (with or without --recreate) holds it from its first look at the prefix to its last write; any other
command that modifies an environment takes it the same way::

    with lock_environment(prefix, command="verify --fix"):
        ...

The lock is an operating-system lock (``fcntl.flock`` on POSIX, ``msvcrt.locking`` on Windows: a ``Locker``
each) on a small file under envcheck's home, named after the prefix's absolute path, so that it exists before
the prefix does and survives --recreate moving the prefix aside. Where the file system ignores case (Windows,
and macOS by default), ``C:\\Envs\\DL`` and ``c:/envs/dl`` are one folder and get one lock. The kernel drops
the lock when its holder dies, whatever the cause, so a lock file left by a dead process is simply free again;
the pid, command and start time written in the file only serve the message a second envcheck gives.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import ntpath
import os
import posixpath
import re
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from envcheck.errors import EnvcheckError
from envcheck.locations import envcheck_home

LOCK_BYTE = 1  # the byte that is locked; the holder's description is written after it
POLL = 0.1
# A lock found taken for less than this is another command's glance at it (verify asks whether a setup is at work
# by taking the lock for an instant), not a holder: whoever finds it taken tries again for this long before it
# says the environment is busy.
GLANCE = 0.5


class BusyError(EnvcheckError):
    """Another envcheck is working on this environment right now."""


class Locker(Protocol):
    """The operating system's lock on the first byte of an open file: taken without waiting, or not."""

    def try_lock(self, fd: int) -> bool: ...

    def unlock(self, fd: int) -> None: ...


class FlockLocker:
    """POSIX: ``flock`` on the whole file (the kernel drops it when the holder dies)."""

    def try_lock(self, fd: int) -> bool:
        import fcntl

        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def unlock(self, fd: int) -> None:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_UN)


class MsvcrtLocker:
    """Windows: ``msvcrt.locking`` of the first byte, which locks from the file's *current position*; every
    call seeks to the start first, since describing the holder leaves the position after its text."""

    def __init__(self, msvcrt: Any = None) -> None:
        if msvcrt is None:
            import msvcrt  # type: ignore[no-redef]  # Windows only
        self.msvcrt = msvcrt

    def try_lock(self, fd: int) -> bool:
        os.lseek(fd, 0, os.SEEK_SET)
        try:
            self.msvcrt.locking(fd, self.msvcrt.LK_NBLCK, LOCK_BYTE)
        except OSError:
            return False
        return True

    def unlock(self, fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        with contextlib.suppress(OSError):
            self.msvcrt.locking(fd, self.msvcrt.LK_UNLCK, LOCK_BYTE)


def system_locker() -> Locker:
    return MsvcrtLocker() if os.name == "nt" else FlockLocker()


def lock_name(where: str, platform: str) -> str:
    """The lock file's name for the absolute, resolved path ``where`` on ``platform`` (a sys.platform value).

    Windows and macOS (by default) ignore case, so there the name is made from the path with its case folded
    (and, on Windows, its slashes made one kind): two spellings of one folder must not get two locks.
    """
    paths = ntpath if platform == "win32" else posixpath
    key = paths.normpath(where)
    if platform in ("win32", "darwin"):
        key = paths.normcase(key).casefold()
    digest = hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    readable = re.sub(r"[^A-Za-z0-9._-]", "_", paths.basename(key))[:40] or "root"
    return f"{readable}-{digest}.lock"


def lock_path(prefix: Path) -> Path:
    """The lock file of ``prefix``: one per folder, whether or not the prefix exists yet."""
    where = os.path.realpath(os.path.abspath(os.path.expanduser(prefix)))
    return envcheck_home() / "locks" / lock_name(where, sys.platform)


@contextlib.contextmanager
def lock_environment(prefix: Path, *, command: str, wait: float = 0.0, locker: Locker | None = None) -> Iterator[None]:
    """Hold the lock of ``prefix`` while inside; raise BusyError naming the holder if another process has it.

    ``wait``: seconds to keep trying before giving up (0: no more than ``GLANCE``, which another command's look
    at the lock may take). ``locker``: the system's by default.
    """
    locker = locker or system_locker()
    path = lock_path(prefix)
    path.parent.mkdir(parents=True, exist_ok=True)
    # not inherited by children (PEP 446); binary, so that Windows writes the description as it is
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o644)
    try:
        if not _take(locker, fd, max(wait, GLANCE)):
            raise _busy(prefix, path)
        _describe(fd, command)
        try:
            yield
        finally:
            locker.unlock(fd)
    finally:
        os.close(fd)


def working_on(prefix: Path, *, locker: Locker | None = None) -> dict[str, Any] | None:
    """Who holds the lock of ``prefix`` right now (its pid, command and start, as it wrote them), or None when
    nobody does (or this very process does: a command that changes the environment looks at it too)."""
    path = lock_path(prefix)
    if not path.is_file():
        return None
    locker = locker or system_locker()
    try:
        fd = os.open(path, os.O_RDWR | getattr(os, "O_BINARY", 0))
    except OSError:
        return None
    try:
        if _take(locker, fd, GLANCE):
            locker.unlock(fd)
            return None
    finally:
        os.close(fd)
    who = holder(prefix) or {}
    return None if who.get("pid") == os.getpid() else who


def _take(locker: Locker, fd: int, seconds: float) -> bool:
    """Take the lock, trying for up to ``seconds``; whether it was taken."""
    deadline = time.monotonic() + seconds
    while not locker.try_lock(fd):
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL)
    return True


def busy_error(prefix: Path, who: dict[str, Any], *, then: str) -> BusyError:
    """The error for a command that must not look at ``prefix`` while ``who`` changes it; ``then`` is what to
    run once it has finished."""
    pid = who.get("pid", "unknown")
    doing = str(who.get("command") or "another envcheck")
    since = f" since {who['since']}" if who.get("since") else ""
    return BusyError(
        f"envcheck {doing} (pid {pid}) is working on {prefix}{since}; it is not finished yet",
        f"wait for it to finish, then run: {then}; if it is stuck, stop it with: {stop_command(pid)}",
    )


def holder(prefix: Path) -> dict[str, Any] | None:
    """What the lock file of ``prefix`` says about its last holder (alive or not), or None."""
    try:
        with lock_path(prefix).open("rb") as handle:
            # past the locked byte: on Windows another process cannot read a byte that is locked
            handle.seek(LOCK_BYTE)
            data = json.loads(handle.read().decode("utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _busy(prefix: Path, path: Path) -> BusyError:
    who = holder(prefix) or {}
    pid = who.get("pid", "unknown")
    since = who.get("since", "an unknown time")
    doing = f" ({who['command']})" if who.get("command") else ""
    return BusyError(
        f"another envcheck (pid {pid}) is working on {prefix} since {since}{doing}",
        f"wait for it to finish and run this again; if it is stuck, stop it with: {stop_command(pid)}",
    )


def stop_command(pid: object, platform: str | None = None) -> str:
    """How to stop process ``pid`` from the user's shell: taskkill reads the same in cmd.exe and PowerShell."""
    return f"taskkill /PID {pid}" if (platform or sys.platform) == "win32" else f"kill {pid}"


def _describe(fd: int, command: str) -> None:
    text = json.dumps(
        {"pid": os.getpid(), "command": command, "since": datetime.now().isoformat(sep=" ", timespec="seconds")}
    )
    os.lseek(fd, LOCK_BYTE, os.SEEK_SET)
    os.ftruncate(fd, LOCK_BYTE)
    os.write(fd, text.encode("utf-8"))
