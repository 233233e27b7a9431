"""The completion marker, written last by setup, so that an environment without it is known to be incomplete;
and setup's note, written before it changes anything, so that what made an incomplete environment is known too.

Both record the options that made the environment (``profile_args``: ``--profile``/``--file``; ``options``: the
rest, as typed, without ``--prefix``), so that every command printed later names them again: a rebuild after a
killed setup keeps its ``--kernel-name``, its ``--installer`` and its lock.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from envcheck.locations import MARKER_NAME, NOTE_NAME, OWNER_NAME, previous_of
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
    # set up with --no-kernel: the profile wants a kernel, this environment has none on purpose
    no_kernel: bool = False
    # the options that made it, to name again in printed commands (see the module's docstring); None: a marker
    # from before they were recorded
    profile_args: list[str] | None = None
    options: list[str] = field(default_factory=list)


def marker_path(prefix: Path) -> Path:
    return prefix / MARKER_NAME


def read_marker(prefix: Path) -> Marker | None:
    """The marker of a complete environment, or None (missing, unreadable, or from another schema)."""
    return _read_record(marker_path(prefix), MARKER_SCHEMA, Marker)


def write_marker(prefix: Path, marker: Marker) -> None:
    """Write the marker; a credential in it (a --find-links URL with a token) is kept hidden, like in every file."""
    _write_record(marker_path(prefix), marker)


def remove_marker(prefix: Path) -> None:
    """Called before an environment is changed, so an interrupted change leaves it marked incomplete."""
    with contextlib.suppress(FileNotFoundError):
        marker_path(prefix).unlink()


NOTE_SCHEMA = 1


@dataclass(frozen=True)
class SetupNote:
    """What a setup was asked to build, written into the environment before it installs anything: the options
    that made it and its kernel (None: none registered, ``no_kernel``: on purpose)."""

    profile: str
    profile_args: list[str] = field(default_factory=list)
    options: list[str] = field(default_factory=list)
    kernel: str | None = None
    no_kernel: bool = False
    schema: int = NOTE_SCHEMA


def note_path(prefix: Path) -> Path:
    return prefix / NOTE_NAME


def write_note(prefix: Path, note: SetupNote) -> None:
    """Write the note (a credential in an option stays hidden, as in every file envcheck writes)."""
    _write_record(note_path(prefix), note)


def read_note(prefix: Path) -> SetupNote | None:
    """The note of the last setup of ``prefix``, or None (none, unreadable, or from another schema)."""
    return _read_record(note_path(prefix), NOTE_SCHEMA, SetupNote)


def remove_note(prefix: Path) -> None:
    """The marker holds the same record once it is written."""
    with contextlib.suppress(FileNotFoundError):
        note_path(prefix).unlink()


def recorded(prefix: Path) -> Marker | SetupNote | None:
    """What made the environment at ``prefix``: its marker, else the note of a setup that did not finish."""
    return read_marker(prefix) or read_note(prefix)


def previous_environment(prefix: Path) -> Path | None:
    """The complete environment an interrupted ``setup --recreate`` of ``prefix`` left aside (killed before it
    could put it back or delete it): a real folder, envcheck's, with its marker; else None."""
    aside = previous_of(prefix)
    if aside.is_dir() and not aside.is_symlink() and (aside / OWNER_NAME).is_file() and read_marker(aside):
        return aside
    return None


Record = TypeVar("Record", Marker, SetupNote)


def _read_record(path: Path, schema: int, kind: type[Record]) -> Record | None:
    """The record of ``kind`` in ``path``, or None (missing, unreadable, or from another schema); keys it does
    not know (from a newer envcheck of the same schema) are left out."""
    try:
        raw: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(raw, dict) or raw.get("schema") != schema:
        return None
    try:
        return kind(**{k: raw[k] for k in kind.__dataclass_fields__ if k in raw})
    except TypeError:
        return None


def _write_record(path: Path, record: Marker | SetupNote) -> None:
    """Write ``record`` whole or not at all (a temporary file moved over it), credentials hidden."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(Redactor()(asdict(record)), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)
