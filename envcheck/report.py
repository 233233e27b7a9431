"""Machine output: the versioned JSON envelope every command prints with --json (redaction: envcheck.redaction)."""

from __future__ import annotations

from typing import Any

from envcheck import __version__

SCHEMA_VERSION = 1


def envelope(command: str, status: str, exit_code: int, **payload: Any) -> dict[str, Any]:
    """The one JSON document a command prints: stable top-level keys first, the command's payload after."""
    return {
        "schema_version": SCHEMA_VERSION,
        "envcheck_version": __version__,
        "command": command,
        "status": status,
        "exit_code": int(exit_code),
        **payload,
    }


# The redactor lived here once; kept importable from here for code that still looks for it.
from envcheck.redaction import Redactor, redactor  # noqa: E402

__all__ = ["SCHEMA_VERSION", "Redactor", "envelope", "redactor"]
