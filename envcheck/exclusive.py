"""One envcheck at a time per environment: a lock per prefix, held by anything that changes an environment.

`setup` (with or without --recreate) holds it from its first look at the prefix to its last write; any other
command that modifies an environment takes it the same way::

    with lock_environment(prefix, command="verify --fix"):
        ...

The lock is an operating-system lock (``fcntl.flock`` on POSIX, ``msvcrt.locking`` on Windows) on a small file
under envcheck's home, named after the prefix's absolute path, so that it exists before the prefix does and
survives --recreate moving the prefix aside. The kernel drops the lock when its holder dies, whatever the
cause, so a lock file left by a dead process is simply free again; the pid, command and start time written in
the file only serve the message a second envcheck gives.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from envcheck.errors import EnvcheckError
from envcheck.locations import envcheck_home

LOCK_BYTE = 1  # the byte that is locked; the holder's description is written after it
POLL = 0.1


class BusyError(EnvcheckError):
    """Another envcheck is working on this environment right now."""


def lock_path(prefix: Path) -> Path:
    """The lock file of ``prefix``: one per absolute path, whether or not the prefix exists yet."""
    where = os.path.realpath(os.path.abspath(os.path.expanduser(prefix)))
    digest = hashlib.sha256(where.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    readable = re.sub(r"[^A-Za-z0-9._-]", "_", Path(where).name)[:40] or "root"
    return envcheck_home() / "locks" / f"{readable}-{digest}.lock"


@contextlib.contextmanager
def lock_environment(prefix: Path, *, command: str, wait: float = 0.0) -> Iterator[None]:
    """Hold the lock of ``prefix`` while inside; raise BusyError naming the holder if another process has it.

    ``wait``: seconds to keep trying before giving up (0: refuse at once).
    """
    path = lock_path(prefix)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)  # not inherited by children (PEP 446)
    try:
        deadline = time.monotonic() + wait
        while not _try_lock(fd):
            if time.monotonic() >= deadline:
                raise _busy(prefix, path)
            time.sleep(POLL)
        _describe(fd, command)
        try:
            yield
        finally:
            _unlock(fd)
    finally:
        os.close(fd)


def holder(prefix: Path) -> dict[str, Any] | None:
    """What the lock file of ``prefix`` says about its last holder (alive or not), or None."""
    try:
        raw = lock_path(prefix).read_bytes()[LOCK_BYTE:]
        data = json.loads(raw.decode("utf-8"))
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
        f"wait for it to finish and run this again; if it is stuck, stop it with: kill {pid}",
    )


def _describe(fd: int, command: str) -> None:
    text = json.dumps(
        {"pid": os.getpid(), "command": command, "since": datetime.now().isoformat(sep=" ", timespec="seconds")}
    )
    os.lseek(fd, LOCK_BYTE, os.SEEK_SET)
    os.ftruncate(fd, LOCK_BYTE)
    os.write(fd, text.encode("utf-8"))


if os.name == "nt":
    import msvcrt

    def _try_lock(fd: int) -> bool:
        os.lseek(fd, 0, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, LOCK_BYTE)  # type: ignore[attr-defined]
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        with contextlib.suppress(OSError):
            msvcrt.locking(fd, msvcrt.LK_UNLCK, LOCK_BYTE)  # type: ignore[attr-defined]

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
