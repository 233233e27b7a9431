"""Rendering of `envcheck schema`: a schema as shipped, where its file is, or the list of them.

The command takes no --json: what it prints is JSON already (or the list, for people).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from rich.console import Console

from envcheck.errors import ExitCode
from envcheck.output.display import View
from envcheck.output.schemas import NAMES, folder, load_schema, schema_file, schema_text


@dataclass(frozen=True)
class Shown:
    """What `envcheck schema` prints, exactly."""

    text: str


def shown(name: str | None, *, path: bool = False) -> Shown:
    """Schema ``name`` byte for byte (or its file's path); without a name, every schema's name and title."""
    if name is None:
        lines = [f"{each:<12} {load_schema(each)['title']}" for each in NAMES]
        return Shown("\n".join([*lines, f"files: {folder()}"]) + "\n")
    return Shown(f"{schema_file(name)}\n" if path else schema_text(name))


def render_schema(result: Shown, _: Console) -> None:
    # byte for byte: rich would wrap it and read [...] as markup
    sys.stdout.write(result.text)
    sys.stdout.flush()


SCHEMA: View[Shown] = View(
    exit_code=lambda _: ExitCode.OK,
    payload=lambda result, _: {"text": result.text},
    text=lambda result, console, _: render_schema(result, console),
)
