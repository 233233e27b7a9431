"""The target folder: what is there already, what setup refuses to touch, whether a new environment fits there,
and making room for it.

envcheck writes into or deletes only a folder that it created (the ``envcheck-created`` stamp) or that was
empty; everything else is refused with a message before anything runs.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from enum import Enum
from pathlib import Path

from envcheck.completion import previous_environment, read_marker
from envcheck.errors import RefusedError, SetupError, UsageError
from envcheck.locations import OWNER_NAME, previous_of
from envcheck.setup.backends import is_environment
from envcheck.setup.journal import Journal
from envcheck.setup.request import Resolved
from envcheck.shell import command
from envcheck.suggest import restore_command


class PrefixState(str, Enum):
    MISSING = "missing"
    EMPTY = "empty"
    COMPLETE = "complete"  # made by envcheck, marker present
    INCOMPLETE = "incomplete"  # made by envcheck, marker missing: interrupted or killed
    FOREIGN_ENV = "foreign-env"  # a Python environment envcheck did not make
    FOREIGN = "foreign"  # anything else: a file, a folder with content


def prefix_state(prefix: Path) -> PrefixState:
    if not prefix.exists() and not prefix.is_symlink():
        return PrefixState.MISSING
    if not prefix.is_dir():
        return PrefixState.FOREIGN
    if not any(prefix.iterdir()):
        return PrefixState.EMPTY
    environment = is_environment(prefix)
    if environment and (prefix / OWNER_NAME).is_file():
        return PrefixState.COMPLETE if read_marker(prefix) is not None else PrefixState.INCOMPLETE
    return PrefixState.FOREIGN_ENV if environment else PrefixState.FOREIGN


def refuse_foreign(resolved: Resolved, state: PrefixState) -> None:
    """What setup will not build over: someone else's folder or environment, or (without --recreate) its own
    environment that an earlier setup did not finish, or a new one while a killed --recreate's previous
    environment still waits to be put back."""
    prefix = resolved.prefix
    previous = previous_environment(prefix)
    if previous is not None and state is not PrefixState.COMPLETE and not resolved.request.recreate:
        raise SetupError(
            f"a `setup --recreate` of {prefix} did not finish; the previous environment is at {previous}",
            f"put it back with: {restore_command(prefix, previous)}; or build anew with:"
            f" {resolved.naming.setup('--recreate')}",
        )
    if state is PrefixState.FOREIGN:
        raise RefusedError(
            f"{prefix} exists and is not a Python environment; envcheck will not write into it or delete it",
            f"put the previous environment back with: {restore_command(prefix, previous)}"
            if previous is not None
            else "choose another --prefix, or move that folder away yourself",
        )
    if state is PrefixState.FOREIGN_ENV:
        raise RefusedError(
            f"{prefix} is a Python environment that envcheck did not create; it will not change or delete it",
            f"put the previous environment back with: {restore_command(prefix, previous)}"
            if previous is not None
            else f"check it instead with: {command('envcheck', 'verify', '--prefix', prefix)}; or choose another --prefix",
        )
    if state is PrefixState.INCOMPLETE and not resolved.request.recreate:
        raise SetupError(
            f"{prefix} is incomplete (an earlier setup did not finish)",
            f"rebuild it with: {resolved.naming.setup('--recreate')}",
        )


def creates(resolved: Resolved, state: PrefixState) -> bool:
    """Whether this run makes a new environment (rather than bringing an existing one in line)."""
    return resolved.request.recreate or state in (PrefixState.MISSING, PrefixState.EMPTY)


def make_room(resolved: Resolved, state: PrefixState, journal: Journal) -> None:
    """Clear the way for the backend's create step, each change recorded in ``journal``: --recreate moves the
    old environment aside; a backend that needs an absent prefix gets the user's empty folder removed; the
    folders above a new prefix are made."""
    prefix = resolved.prefix
    removed = "removed the partial environment at " + str(prefix)
    aside = previous_of(prefix)
    previous = previous_environment(prefix)
    if resolved.request.recreate and previous is not None and state is not PrefixState.COMPLETE:
        # an earlier --recreate was killed: its previous environment stays this run's to put back, and what it
        # half-built (envcheck's own, or an empty folder) goes
        if state in (PrefixState.INCOMPLETE, PrefixState.EMPTY):
            shutil.rmtree(prefix)
        journal.moved_aside(prefix, previous, f"the previous environment at {prefix} was restored")
        state = PrefixState.MISSING
    elif resolved.request.recreate and state in (PrefixState.COMPLETE, PrefixState.INCOMPLETE):
        if aside.exists() or aside.is_symlink():
            raise RefusedError(
                f"{aside} is in the way of --recreate",
                f"it holds an earlier environment that could not be restored; delete it with:"
                f" {command('rm', '-rf', aside)}",
            )
        os.replace(prefix, aside)
        journal.moved_aside(prefix, aside, f"the previous environment at {prefix} was restored")
    if state is PrefixState.EMPTY:
        journal.filled(prefix, removed)
        if resolved.backend.needs_absent_prefix:
            with contextlib.suppress(OSError):  # a mount point stays; the tool then says why it refuses
                prefix.rmdir()
        return
    if not prefix.exists():
        top = nearest_existing(prefix.parent)
        prefix.parent.mkdir(parents=True, exist_ok=True)
        journal.created(prefix if top == prefix.parent else top / prefix.relative_to(top).parts[0], removed)


def check_room(resolved: Resolved) -> None:
    """Before a new environment is made: the nearest existing folder above it is writable and has room."""
    existing = nearest_existing(resolved.prefix)
    if not os.access(existing, os.W_OK):
        raise UsageError(f"cannot write to {existing}", "choose a writable place with --prefix PATH")
    free_gb = shutil.disk_usage(existing).free / 1e9
    needed = resolved.profile.disk_gb
    if free_gb < needed:
        raise UsageError(
            f"{existing} has {free_gb:.1f} GB free; this environment takes about {needed} GB",
            "free some space or choose another disk with --prefix PATH",
        )


def nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path
