"""Bounded input: what envcheck reads from files and captures from programs stops at a size far above any real one.

A report, a profile, a lock or a probe's answer larger than its limit is refused with the size it reached (never
read whole: ``/dev/zero`` has no end); a program's output keeps its head and its tail, with one line saying how
much was left out between them. Each limit is stated with the real sizes it was measured against.
"""

from __future__ import annotations

import os
from collections import deque
from pathlib import Path

MIB = 1 << 20

# `verify --json` and `smoke-train --json` reports: 10-20 KB (a GPU node's, with -v data: under 100 KB).
REPORT_LIMIT = 16 * MIB
# Profiles, requirements files (with their includes) and environment.yml files: a hashed requirements file of
# 700 packages from pip-compile is about 1.3 MB and 15,000 lines; `conda env export` of a big environment,
# 30 KB and 500 lines.
USER_FILE_LIMIT = 16 * MIB
USER_FILE_LINES = 200_000
# A PEP 751 lock of the deep-learning profile for every platform and Python: 0.95 MB, 3,800 lines.
LOCK_LIMIT = 64 * MIB
# A probe's JSON answer: the environment probe's is about 50 KB; smoke-train's with every run, 30 KB.
ANSWER_LIMIT = 64 * MIB
# What one stream of a program's output keeps, head and tail each: `pip freeze` of a big environment is 30 KB,
# `conda create --json` of 400 packages 0.5 MB, `nvidia-smi -q` of 8 GPUs 160 KB, TensorFlow's chatter 100 KB.
CAPTURE_HEAD = 8 * MIB
CAPTURE_TAIL = 8 * MIB
# One line of streamed output: pip and uv print lines of a few hundred characters.
LINE_LIMIT = 64 * 1024


class TooLarge(ValueError):
    """A file past its limit: ``size`` is how much was read before stopping (the file may be endless)."""

    def __init__(self, path: Path, limit: int) -> None:
        super().__init__(f"{path} is larger than {describe(limit)}")
        self.path = path
        self.limit = limit


def describe(size: int) -> str:
    """A size as people read it: 16 MiB, 512 KiB, 300 bytes."""
    if size >= MIB and size % MIB == 0:
        return f"{size // MIB} MiB"
    if size >= 1024 and size % 1024 == 0:
        return f"{size // 1024} KiB"
    return f"{size:,} bytes"


def read_limited(path: Path, limit: int) -> bytes:
    """The file's bytes, or TooLarge when it holds more than ``limit`` (at most limit + 1 bytes are read)."""
    with open(path, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(Path(path), limit)
    return data


def too_many_lines(text: str, limit: int = USER_FILE_LINES) -> bool:
    return text.count("\n") > limit


class HeadTail:
    """A program's output kept within bounds: the first ``head`` bytes, the last ``tail`` bytes, and how many
    were dropped between them. Fed from one reader thread; read once the program has ended."""

    def __init__(self, head: int = CAPTURE_HEAD, tail: int = CAPTURE_TAIL) -> None:
        self._head_limit = head
        self._tail_limit = tail
        self._head = bytearray()
        self._tail: deque[bytes] = deque()
        self._tail_size = 0
        self.dropped = 0
        self.total = 0

    @property
    def head_full(self) -> bool:
        return len(self._head) >= self._head_limit

    def add(self, data: bytes) -> None:
        self.total += len(data)
        room = self._head_limit - len(self._head)
        if room > 0:
            self._head += data[:room]
            data = data[room:]
        if not data:
            return
        self._tail.append(data)
        self._tail_size += len(data)
        while self._tail_size > self._tail_limit:
            excess = self._tail_size - self._tail_limit
            first = self._tail[0]
            if len(first) <= excess:
                self._tail.popleft()
                self._tail_size -= len(first)
                self.dropped += len(first)
            else:
                self._tail[0] = first[excess:]
                self._tail_size -= excess
                self.dropped += excess

    def text(self) -> str:
        """The kept output as text (UTF-8, undecodable bytes replaced), with a line where the middle was."""
        return bytes(self._head).decode("utf-8", errors="replace") + self.since(len(self._head))

    def since(self, offset: int) -> str:
        """What was kept after the first ``offset`` bytes: the line saying what was left out, if anything was,
        then the tail (for a log that took the head as it came)."""
        start = self.total - self._tail_size  # where the kept tail begins in the whole output
        tail = b"".join(self._tail)[max(0, offset - start) :]
        gap = ""
        if offset < start:
            gap = (
                f"\n[envcheck: {start - offset:,} bytes of output left out here; the first"
                f" {describe(self._head_limit)} and the last {describe(self._tail_limit)} are kept]\n"
            )
        return gap + tail.decode("utf-8", errors="replace")


def drain(fd: int, into: HeadTail) -> None:
    """Read ``fd`` to its end into ``into`` (a reader thread's whole work)."""
    while True:
        try:
            chunk = os.read(fd, 1 << 16)
        except OSError:
            return
        if not chunk:
            return
        into.add(chunk)
