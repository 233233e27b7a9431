"""The completion marker of a finished setup, written last, and the "up to date" answer read back from it."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

from envcheck import __version__
from envcheck.completion import Marker, SetupNote, read_marker, remove_note, write_marker
from envcheck.kernels import wants_kernel
from envcheck.locations import LOG_NAME
from envcheck.lock.pylock import Lock, file_digest
from envcheck.profiles.profile import profiles_dir
from envcheck.setup.request import Resolved
from envcheck.setup.result import Action, SetupResult
from envcheck.suggest import next_program, path_note, profile_args


def up_to_date(resolved: Resolved) -> SetupResult | None:
    """The answer for an unchanged profile, from the marker alone (no interpreter is started); None when the
    environment must be built or brought in line. Only for an environment that setup completed."""
    request = resolved.request
    prefix = resolved.prefix
    marker = read_marker(prefix)
    if request.recreate or marker is None or marker.import_failures:
        return None  # (an import check that failed is made again)
    if marker.profile_digest != request.profile.digest or marker.backend != request.backend:
        return None
    if request.lock is not None and marker.lock_digest != _lock_digest(request.lock):
        return None  # a new or changed lock: the environment is brought in line with it
    if resolved.kernel is not None and resolved.kernel != marker.kernel:
        return None  # another kernel name asked for, or its own taken since: the kernel is registered again
    if not resolved.backend.python(prefix).exists():
        return None
    return SetupResult(
        action=Action.UP_TO_DATE,
        prefix=prefix,
        profile=marker.profile,
        python_version=marker.python,
        versions=dict(marker.versions),
        kernel=marker.kernel,
        log=prefix / LOG_NAME,
        duration=0.0,
        next_command=resolved.naming.verify(),
        backend=marker.backend,
        installer=marker.installer,
        run_command=resolved.naming.run(*next_program(request.profile)),
        path_note=path_note(),
        lock=None if marker.lock is None or marker.lock_digest is None else lock_json(marker.lock, marker.lock_digest),
        warnings=list(request.profile.warnings),
    )


def write(
    resolved: Resolved,
    *,
    installer: str,
    python_version: str,
    versions: dict[str, str],
    kernel: str | None,
    lock: Lock | None,
    import_failures: dict[str, str] | None = None,
) -> None:
    """Mark the environment complete: the last thing setup writes (also when the import check failed: every
    package is installed, and ``import_failures`` says which modules do not import)."""
    request = resolved.request
    index = request.index
    marker = Marker(
        profile=request.profile.name,
        profile_digest=request.profile.digest,
        backend=request.backend,
        installer=installer,
        python=python_version,
        versions=versions,
        kernel=kernel,
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        envcheck_version=__version__,
        lock=None if lock is None else str(lock.path),
        lock_digest=None if lock is None else lock.digest,
        # where the lock's wheels came from, for the repair commands verify prints on another day
        find_links=[_absolute_link(link) for link in index.find_links] if lock else [],
        offline=index.offline if lock is not None else False,
        file=_user_file(request.profile.source),
        import_failures=dict(import_failures or {}),
        no_kernel=kernel is None and wants_kernel(request.profile),
        profile_args=list(profile_args(request.profile)),
        options=list(resolved.options),
    )
    write_marker(resolved.prefix, marker)
    remove_note(resolved.prefix)  # the marker holds the same record now


def note(resolved: Resolved) -> SetupNote:
    """What this setup was asked, for the environment to hold until the marker is written."""
    request = resolved.request
    return SetupNote(
        profile=request.profile.name,
        profile_args=list(profile_args(request.profile)),
        options=list(resolved.options),
        kernel=resolved.kernel,
        no_kernel=resolved.kernel is None and wants_kernel(request.profile),
    )


def _user_file(source: Path) -> str | None:
    """The user's own file as an absolute path; None for a profile that ships with envcheck."""
    try:
        shipped = source.resolve().parent == profiles_dir().resolve()
    except OSError:
        shipped = False
    return None if shipped else os.fspath(source.expanduser().absolute())


def lock_json(path: str | Path, digest: str) -> dict[str, str]:
    return {"path": str(path), "digest": digest}


def _lock_digest(path: Path) -> str | None:
    try:
        return file_digest(path.expanduser())
    except OSError:
        return None  # setup then reads the lock and says why it cannot


def _absolute_link(link: str) -> str:
    """A folder as an absolute path (a repair command must work from anywhere); a URL as given."""
    return os.fspath(Path(link).expanduser().absolute()) if Path(link).expanduser().is_dir() else link
