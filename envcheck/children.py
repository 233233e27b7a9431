"""How envcheck's children start and end: a lower priority for background work, the kernel's death signal
(Linux), and killing a child's whole process tree. ``envcheck.runner`` starts them and decides when."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from typing import Any

BACKGROUND_NICE = 10  # a tenth of the share of a process at the default priority, when both want the CPU


def pre_exec(background: bool) -> Callable[[], None] | None:
    """What the child does before it runs its program: the death signal (Linux), a lower priority (POSIX)."""
    death = death_signal_hook()
    if not background or os.name != "posix":
        return death

    def hook() -> None:
        if death is not None:
            death()
        os.nice(BACKGROUND_NICE)

    return hook


def death_signal_hook() -> Callable[[], None] | None:
    """Linux: a pre-exec hook asking the kernel to SIGKILL the child when envcheck dies, even by kill -9.

    Elsewhere there is no such request: a child of a killed envcheck runs on, and the next setup finds the
    environment incomplete (no completion marker) and says so. The hook only calls a function resolved here,
    in the parent, so that nothing between fork and exec needs a lock.
    """
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    parent = os.getpid()

    def hook() -> None:
        prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        if os.getppid() != parent:  # envcheck died before the request was made
            os._exit(137)

    return hook


_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def descendants(pid: int) -> list[Any]:
    """Every process below ``pid``, collected before anything is killed: once a process dies its children are
    re-parented and can no longer be found (a Jupyter kernel lives in a session of its own, out of reach of
    the process group)."""
    import psutil

    try:
        return list(psutil.Process(pid).children(recursive=True))
    except psutil.Error:
        return []


def kill_tree(proc: subprocess.Popen[Any], *, wait: bool = True) -> None:
    if proc.poll() is not None:
        return
    import psutil

    below = descendants(proc.pid)
    try:
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except (ProcessLookupError, PermissionError):
        pass
    for child in below:
        with contextlib.suppress(psutil.Error):
            child.kill()
    if wait:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)
