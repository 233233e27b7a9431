"""Child processes as a terminal or a background job starts them, and what is left of them afterwards."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from pathlib import Path


def default_sigint() -> None:
    """Pre-exec: SIGINT at its default, as in a terminal, even when pytest runs with it ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def ignored_sigint() -> None:
    """Pre-exec: SIGINT ignored, as a shell script's background job gets it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def processes_mentioning(needle: str) -> list[str]:
    """Command lines of live processes that mention ``needle`` (Linux /proc; empty elsewhere)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if needle in text:
            found.append(text)
    return found


def wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()
