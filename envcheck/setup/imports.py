"""The import check: the new environment's python starts and imports the modules of every package of the profile,
in one process, TensorFlow first, the way a user's program would.

Which modules a distribution provides is read from the environment's own records of it (RECORD, top_level.txt)
wherever the profile could only guess them (a requirements.txt, an environment.yml): ``protobuf`` is
``google.protobuf``, ``absl-py`` is ``absl``; the CUDA library wheels, data packages and TensorBoard's plugins
provide none and are not imported. A module that fails after the others but imports in a process of its own
(TensorFlow registers its GCS file-system plugin itself, and a second registration fails) is not the user's
problem: it is logged, not reported. What fails on its own too is the check's finding, returned to setup, which
keeps the environment: every package is installed, and ``envcheck verify`` says why one does not import.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from packaging.utils import canonicalize_name

from envcheck.errors import SetupError
from envcheck.probes import registers_twice, run_probe
from envcheck.profiles.profile import Profile
from envcheck.redaction import redact_credentials
from envcheck.setup.request import Resolved

IMPORT_CHECK_TIMEOUT = 600.0
ALONE_TIMEOUT = 120.0  # one module imported again in a process of its own
FIRST = ("tensorflow",)  # imported before everything else when installed, as a user's program does


@dataclass(frozen=True)
class ImportCheck:
    """What the import check found: the installed version of each distribution of the profile, and the modules
    that do not import (module -> its error in one line, and the distribution it belongs to)."""

    versions: dict[str, str]
    python_version: str  # of the environment's python, for the marker and the summary
    failures: dict[str, str] = field(default_factory=dict)
    owners: dict[str, str] = field(default_factory=dict)  # failed module -> its distribution
    checked: int = 0  # modules imported
    skipped: dict[str, str] = field(default_factory=dict)  # distribution -> why none of its modules is imported

    @property
    def ok(self) -> bool:
        return not self.failures


def import_check(python: Path, profile: Profile, log: IO[str], markers: Mapping[str, str] | None = None) -> ImportCheck:
    """Import the profile's modules in the environment (those of its packages whose markers hold on ``markers``,
    the target's); raises SetupError only when the probe itself cannot run (the environment's python does not
    start or dies at once), which is no finding about a package."""
    here = [p for p in profile.packages if not p.requirements or p.applicable(markers)]
    declared = sorted({p.import_name for p in here if p.import_name and not p.discover})
    # the one module a user of the distribution imports (black's blackd needs black[d]; setuptools' pkg_resources
    # is no longer setuptools' from 82 on)
    discover = [{"name": p.name, "import": p.import_name, "most": 1} for p in here if p.discover]
    outcome = run_probe(
        python,
        "imports",
        {
            "modules": declared,
            "distributions": [p.name for p in profile.packages],
            "discover": discover,
            "first": list(FIRST),
        },
        timeout=IMPORT_CHECK_TIMEOUT,
        write_bytecode=True,  # our own new environment: compile once here, not at every later import
    )
    said = f"\nimport check: {json.dumps(outcome.data)}\n{outcome.completed.stderr[-4000:]}\n"
    log.write(redact_credentials(said))
    data: dict[str, Any] = outcome.data or {}
    results: dict[str, Any] = data.get("modules", {})
    if not data.get("python_version"):  # the probe wrote nothing: the python did not start
        raise SetupError(f"the new environment's python does not start: {outcome.failure}")
    if not results and not outcome.ok:
        raise SetupError(
            f"import check failed: {outcome.failure}",
            "the environment's python does not start its first import; envcheck verify explains why",
        )
    owners = _owners(profile, data)
    failures: dict[str, str] = {}
    for name, record in results.items():
        if record.get("ok"):
            continue
        line = f"{record.get('error_type')}: {record.get('error', '')}".splitlines()[0]
        if registers_twice(str(record.get("error", ""))):
            log.write(f"import check: {name} is TensorFlow's to load, not to import again: {line}\n")
            continue
        if record.get("error_type") != "Started" and _imports_alone(python, name, log):
            log.write(f"import check: {name} imports on its own, not after the others: {line}\n")
            continue
        failures[name] = (
            line if record.get("error_type") != "Started" else f"the probe {outcome.completed.describe_exit()}"
        )
    skipped = {
        dist: str(found.get("reason"))
        for dist, found in (data.get("provides") or {}).items()
        if isinstance(found, dict) and not found.get("modules")
    }
    versions = {dist: version for dist, version in data.get("distributions", {}).items() if version}
    return ImportCheck(
        versions=versions,
        python_version=str(data["python_version"]),
        failures=failures,
        owners={m: owners[m] for m in failures if m in owners},
        checked=len(results),
        skipped=skipped,
    )


def _imports_alone(python: Path, module: str, log: IO[str]) -> bool:
    """Whether ``module`` imports in a process of its own (it failed after the others in the shared one)."""
    outcome = run_probe(python, "imports", {"modules": [module]}, timeout=ALONE_TIMEOUT)
    record = ((outcome.data or {}).get("modules") or {}).get(module) or {}
    log.write(redact_credentials(f"import check, {module} alone: {json.dumps(record)}\n"))
    return bool(record.get("ok"))


def _owners(profile: Profile, data: dict[str, Any]) -> dict[str, str]:
    """Module -> the distribution of the profile it was imported for."""
    owners = {p.import_name: p.name for p in profile.packages if p.import_name and not p.discover}
    for dist, found in (data.get("provides") or {}).items():
        for module in (found or {}).get("modules", []) if isinstance(found, dict) else []:
            owners.setdefault(module, dist)
    for p in profile.packages:
        if p.discover and p.import_name and (data.get("provides") or {}).get(p.name) is None:
            owners.setdefault(p.import_name, p.name)  # not installed: imported by its guessed name
    return owners


def import_check_failed(checked: ImportCheck, resolved: Resolved, log: Path) -> SetupError:
    """The error setup ends with when every package installed but some module does not import: the environment
    is kept and marked complete (its marker names the failures), and ``verify --fix`` says why and repairs it."""
    said = [f"import {_named(checked, module)}: {error}" for module, error in checked.failures.items()]
    more = f" (and {len(said) - 1} more)" if len(said) > 1 else ""
    return SetupError(
        f"import check failed: {said[0]}{more}; the environment at {resolved.prefix} is kept: every package is"
        " installed",
        f"see why and repair it: {resolved.naming.verify('--fix')}; the full log is at {log}",
        tuple(said),
    )


def _named(checked: ImportCheck, module: str) -> str:
    """A module with its distribution beside it where the two names differ: ``google.protobuf (protobuf)``."""
    owner = checked.owners.get(module)
    return f"{module} ({owner})" if owner and canonicalize_name(owner) != canonicalize_name(module) else module
