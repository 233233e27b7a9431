"""The command line: one module per command, each parsing its options, calling one core function, rendering
what comes back and exiting with its code. ``app`` registers them; ``boundary`` turns errors into text."""

from __future__ import annotations

from envcheck.cli.app import app, main

__all__ = ["app", "main"]
