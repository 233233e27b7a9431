"""Machine output: the versioned JSON envelope every command prints with --json (redaction: envcheck.redaction)."""

from __future__ import annotations

from typing import Any

from envcheck import __version__

SCHEMA_VERSION = 1


# The one vocabulary of the envelope's "status", whatever the command: a verdict, or an error that stopped it.
STATUSES = ("pass", "warn", "fail", "error")


def status_of(exit_code: int, *, warned: bool = False) -> str:
    """The status that goes with an exit code: 0 pass (or warn), 1 fail, 2, 3 and 130 error."""
    if exit_code == 0:
        return "warn" if warned else "pass"
    return "fail" if exit_code == 1 else "error"


def envelope(command: str, status: str, exit_code: int, **payload: Any) -> dict[str, Any]:
    """The one JSON document a command prints: stable top-level keys first, the command's payload after."""
    if status not in STATUSES:
        raise ValueError(f"status {status!r} is not one of {STATUSES}")
    return {
        "schema_version": SCHEMA_VERSION,
        "envcheck_version": __version__,
        "command": command,
        "status": status,
        "exit_code": int(exit_code),
        **payload,
    }


def emit_json(document: dict[str, Any]) -> None:
    """The only writer of --json documents: exactly one, on stdout, every credential in its values hidden."""
    import json
    import sys

    from envcheck.redaction import Redactor

    hidden = Redactor()(document)  # credentials only: identity is the command's choice (--no-redact)
    sys.stdout.write(json.dumps(hidden, indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()
