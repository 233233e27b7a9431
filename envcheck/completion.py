"""The completion marker: written last by setup, so an environment without it is known to be incomplete."""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from envcheck.locations import MARKER_NAME
from envcheck.redaction import Redactor

MARKER_SCHEMA = 1


@dataclass(frozen=True)
class Marker:
    profile: str
    profile_digest: str
    backend: str
    installer: str
    python: str
    versions: dict[str, str] = field(default_factory=dict)
    kernel: str | None = None
    created: str = ""
    envcheck_version: str = ""
    schema: int = MARKER_SCHEMA
    # set up from a lock: where it was and its digest, and where the wheels came from (for repair commands)
    lock: str | None = None
    lock_digest: str | None = None
    find_links: list[str] = field(default_factory=list)
    offline: bool = False
    # set up from the user's own file (--file): its absolute path, for verify to judge the environment against it
    # (``profile_digest`` is the digest of what envcheck read from it)
    file: str | None = None
    # the import check failed on these modules (module -> the error, one line); the environment is complete
    import_failures: dict[str, str] = field(default_factory=dict)


def marker_path(prefix: Path) -> Path:
    return prefix / MARKER_NAME


def read_marker(prefix: Path) -> Marker | None:
    """The marker of a complete environment, or None (missing, unreadable, or from another schema)."""
    try:
        raw: Any = json.loads(marker_path(prefix).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(raw, dict) or raw.get("schema") != MARKER_SCHEMA:
        return None
    try:
        return Marker(**{k: raw[k] for k in Marker.__dataclass_fields__ if k in raw})
    except TypeError:
        return None


def write_marker(prefix: Path, marker: Marker) -> None:
    """Write the marker; a credential in it (a --find-links URL with a token) is kept hidden, like in every file."""
    path = marker_path(prefix)
    tmp = path.with_suffix(".tmp")
    fields = Redactor()(asdict(marker))
    tmp.write_text(json.dumps(fields, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def remove_marker(prefix: Path) -> None:
    """Called before an environment is changed, so an interrupted change leaves it marked incomplete."""
    with contextlib.suppress(FileNotFoundError):
        marker_path(prefix).unlink()
