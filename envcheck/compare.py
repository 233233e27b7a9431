"""`envcheck compare`: read verify and smoke-train JSON reports from many machines and find what differs.

The reports come from wherever the user collected them (srun, Ansible, ssh); nothing here runs a program.
The first report, or the baseline, is the reference. A version drifts when the reports that name the
package do not all have the same version; a check drifts when it passes on some reports and fails on others;
the lock digest drifts when the verify reports that could carry one do not all carry the same one. Devices
are shown for every machine and never count as drift (a fleet may mix GPUs on purpose).

A fleet mixes envcheck releases, so a report is read by the reader of its ``schema_version``: every version
this envcheck has written has one (``READERS``), and a report from a newer envcheck is refused with what to do,
never half-read.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from envcheck import __version__
from envcheck.bounded import REPORT_LIMIT, TooLarge, describe, read_limited
from envcheck.errors import ExitCode, UsageError

KINDS = ("verify", "smoke-train")
FAILING = frozenset({"fail", "error"})
PASSING = frozenset({"pass", "warn"})


@dataclass(frozen=True)
class Report:
    """What compare needs from one report file."""

    path: str
    command: str
    status: str
    versions: dict[str, str]
    device: str
    checks: dict[str, str]  # check id -> pass, warn, fail, skip
    lock_digest: str | None = None


@dataclass(frozen=True)
class Comparison:
    """Every report, the reference, and what drifts: versions, checks and lock digests, per report."""

    reference: Report
    reports: tuple[Report, ...]
    versions: dict[str, dict[str, str | None]] = field(default_factory=dict)  # package -> path -> version
    checks: dict[str, dict[str, str | None]] = field(default_factory=dict)  # check id -> path -> status
    locks: dict[str, str | None] = field(default_factory=dict)  # path -> digest, when it drifts

    @property
    def agree(self) -> bool:
        return not (self.versions or self.checks or self.locks)

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.OK if self.agree else ExitCode.FAILED

    @property
    def status(self) -> str:
        return "pass" if self.agree else "fail"

    def drifted(self, report: Report) -> list[str]:
        """What of this report differs from the reference, as 'name: value (reference: value)'."""
        ref = self.reference.path
        items = []
        for name, values in self.versions.items():
            if report.path in values and values[report.path] != values.get(ref):
                items.append(f"{name} {values[report.path]} (reference {values.get(ref)})")
        for check_id, statuses in self.checks.items():
            if report.path in statuses and statuses[report.path] != statuses.get(ref):
                items.append(f"{check_id} {statuses[report.path]} (reference {statuses.get(ref)})")
        if report.path in self.locks and self.locks[report.path] != self.locks.get(ref):
            items.append(f"lock {_short(self.locks[report.path])} (reference {_short(self.locks.get(ref))})")
        return items

    def to_json(self) -> dict[str, Any]:
        return {
            "reference": self.reference.path,
            "agree": self.agree,
            "reports": [
                {
                    "path": r.path,
                    "command": r.command,
                    "status": r.status,
                    "device": r.device,
                    "lock_digest": r.lock_digest,
                    "drift": self.drifted(r),
                }
                for r in self.reports
            ],
            "drift": {"versions": self.versions, "checks": self.checks, "lock": self.locks},
        }


def compare_files(paths: Sequence[Path], baseline: Path | None = None) -> Comparison:
    """Load every file (the baseline first when given) and compare; unreadable or foreign files: UsageError."""
    if not paths and baseline is None:
        raise UsageError("no reports to compare", "envcheck compare REPORT.json REPORT.json ...")
    ordered = ([baseline] if baseline is not None else []) + [p for p in paths if p != baseline]
    reports: list[Report] = []
    bad: list[str] = []
    for path in ordered:
        try:
            reports.append(load_report(path))
        except _Unusable as exc:
            bad.append(f"{path} ({exc})")
    if bad:
        more = f" and {len(bad) - 3} more" if len(bad) > 3 else ""
        newer = any(NEWER in reason for reason in bad)
        raise UsageError(
            f"cannot compare {len(bad)} file(s): {'; '.join(bad[:3])}{more}",
            "upgrade envcheck where you compare (pip install --upgrade envcheck) to read the newer reports"
            if newer
            else "give the files that `envcheck verify --json` or `envcheck smoke-train --json` wrote",
        )
    return compare(reports)


class _Unusable(Exception):
    """A file that is not a readable envcheck report; the message says why."""


NEWER = "written by a newer envcheck"


def load_report(path: Path) -> Report:
    try:
        text = read_limited(path, REPORT_LIMIT).decode("utf-8")
    except TooLarge:
        raise _Unusable(f"larger than {describe(REPORT_LIMIT)}; a report is 10-100 KB") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise _Unusable(getattr(exc, "strerror", None) or str(exc)) from exc
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise _Unusable(f"not JSON: {exc}") from exc
    if not isinstance(document, dict) or "schema_version" not in document:
        raise _Unusable("not an envcheck report: no schema_version")
    version = document["schema_version"]
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise _Unusable(f"not an envcheck report: schema_version {version!r} is not a version number")
    if version not in READERS:
        raise _Unusable(
            f"{NEWER}: schema_version {version}, while envcheck {__version__} reads {_versions()}"
            if version > max(READERS)
            else f"schema_version {version} has no reader in envcheck {__version__}, which reads {_versions()}"
        )
    return READERS[version](document, path)


def _versions() -> str:
    return ", ".join(str(v) for v in sorted(READERS))


def _read_v1(document: dict[str, Any], path: Path) -> Report:
    """A report of schema version 1 (every key compare reads has been there since the first one)."""
    command = document.get("command")
    if command not in KINDS:
        raise _Unusable(f"a report of {command!r}, not of verify or smoke-train")
    if document.get("status") == "error":
        raise _Unusable(f"{command} ended in an error: {(document.get('error') or {}).get('message')}")
    checks = document.get("checks")
    if not isinstance(checks, list):
        raise _Unusable("no checks in it")
    lock = document.get("lock")
    return Report(
        path=str(path),
        command=command,
        status=str(document.get("status")),
        versions={str(k): str(v) for k, v in (document.get("versions") or {}).items() if v is not None},
        device=_device(document),
        checks={str(c.get("id")): str(c.get("status")) for c in checks if isinstance(c, dict)},
        lock_digest=str(lock.get("digest")) if isinstance(lock, dict) and lock.get("digest") else None,
    )


# One reader per schema_version that a fleet may hold. A version that renames, removes or changes the meaning
# of a key compare reads gets a reader of its own here, next to the older ones (a test holds the table to
# SCHEMA_VERSION).
READERS: dict[int, Callable[[dict[str, Any], Path], Report]] = {1: _read_v1}


def compare(reports: Sequence[Report]) -> Comparison:
    """The drift between reports; the first one is the reference."""
    reference = reports[0]
    versions: dict[str, dict[str, str | None]] = {}
    names = {name for r in reports for name in r.versions}
    for name in sorted(names):
        having = {r.path: r.versions[name] for r in reports if name in r.versions}
        if len(set(having.values())) > 1:
            versions[name] = {r.path: r.versions.get(name) for r in reports if name in r.versions}
    checks: dict[str, dict[str, str | None]] = {}
    ids: dict[str, None] = {}
    for r in reports:
        ids.update(dict.fromkeys(r.checks))
    for check_id in ids:
        statuses = {r.checks[check_id] for r in reports if check_id in r.checks}
        if statuses & FAILING and statuses & PASSING:
            checks[check_id] = {r.path: r.checks.get(check_id) for r in reports if check_id in r.checks}
    verifies = [r for r in reports if r.command == "verify"]
    locks: dict[str, str | None] = {}
    if any(r.lock_digest for r in verifies) and len({r.lock_digest for r in verifies}) > 1:
        locks = {r.path: r.lock_digest for r in verifies}
    return Comparison(reference, tuple(reports), versions, checks, locks)


def _device(document: dict[str, Any]) -> str:
    """One short text for a machine's device: its GPUs, or CPU only."""
    if document.get("command") == "verify":
        gpus = [d for d in document.get("devices") or [] if isinstance(d, dict) and d.get("type") == "GPU"]
        if gpus:
            return ", ".join(str(g.get("model") or g.get("name")) for g in gpus)
        return "CPU only" if document.get("devices") else "unknown"
    device = document.get("device") or {}
    names = [d.get("name") for d in device.get("gpu_details") or [] if isinstance(d, dict) and d.get("name")]
    if names:
        return ", ".join(str(n) for n in names)
    return "CPU only" if not device.get("physical_gpus") else f"{len(device['physical_gpus'])} GPU(s)"


def _short(digest: str | None) -> str:
    return "none" if digest is None else digest.split(":")[-1][:12]
