"""Rendering of `envcheck export`: the file's text as it is, or the JSON payload with it under ``content``."""

from __future__ import annotations

import sys

from rich.console import Console

from envcheck.errors import ExitCode
from envcheck.output.display import View
from envcheck.profiles.condafile import Exported


def render_export(exported: Exported, _: Console) -> None:
    # the file's text, byte for byte: rich would wrap and interpret it
    sys.stdout.write(exported.content)
    sys.stdout.flush()


EXPORT: View[Exported] = View(
    exit_code=lambda _: ExitCode.OK,
    payload=lambda exported, _: {"profile": exported.profile, "format": exported.format, "content": exported.content},
    text=lambda exported, console, _: render_export(exported, console),
)
