"""The undo journal of one setup: what this run created, moved aside and registered, undone exactly, in reverse.

Each entry is written as the change happens, before the next one can fail. ``undo`` reverses them, latest
first, and says what the user now has; ``commit`` (the new environment is complete) lets go of what was only
kept for an undo, such as the previous environment moved aside by --recreate.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class _Entry:
    undo: Callable[[], None]
    commit: Callable[[], None] | None = None
    said: str | None = None  # what the undo means to the user, when it is the run's outermost change


class Journal:
    def __init__(self) -> None:
        self._entries: list[_Entry] = []

    def created(self, path: Path, said: str | None = None) -> None:
        """``path`` (a folder, a file) did not exist before this run."""
        self._entries.append(_Entry(lambda: _remove(path), said=said))

    def filled(self, folder: Path, said: str | None = None) -> None:
        """``folder`` was empty before this run: it is emptied again (and made again if a tool replaced it)."""

        def empty() -> None:
            folder.mkdir(parents=True, exist_ok=True)
            for child in folder.iterdir():
                _remove(child)

        self._entries.append(_Entry(empty, said=said))

    def moved_aside(self, original: Path, aside: Path, said: str | None = None) -> None:
        """``original`` was moved to ``aside``: put back on undo, deleted on commit."""

        def put_back() -> None:
            _remove(original)
            os.replace(aside, original)

        self._entries.append(_Entry(put_back, lambda: shutil.rmtree(aside), said=said))

    def undo(self, otherwise: str) -> str:
        """Undo every entry, latest first; return what the outermost change said, else ``otherwise``."""
        for entry in reversed(self._entries):
            entry.undo()
        said = next((entry.said for entry in self._entries if entry.said), otherwise)
        self._entries.clear()
        return said

    def commit(self) -> None:
        for entry in reversed(self._entries):
            if entry.commit is not None:
                entry.commit()
        self._entries.clear()


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
