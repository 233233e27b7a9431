"""Progress reporting kept out of the core: core functions take a Reporter, the CLI passes a rich one."""

from __future__ import annotations

from typing import Protocol


class Reporter(Protocol):
    def phase(self, name: str) -> None:
        """A new phase starts (create interpreter, install, ...); the previous one is done."""

    def done(self, name: str, detail: str = "", *, ok: bool = True) -> None:
        """The phase ``name`` finished; ``ok=False``: it finished badly (shown with ✗, never ✓)."""

    def line(self, text: str) -> None:
        """One line of a child program's output (shown only when verbose)."""


class NullReporter:
    def phase(self, name: str) -> None:
        pass

    def done(self, name: str, detail: str = "", *, ok: bool = True) -> None:
        pass

    def line(self, text: str) -> None:
        pass
