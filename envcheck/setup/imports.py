"""The import check: the new environment's python starts and imports every package of the profile, so that setup
never reports success for packages that installed but do not work together."""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any

from envcheck.errors import SetupError
from envcheck.probes import run_probe
from envcheck.profiles.profile import Profile
from envcheck.redaction import redact_credentials

PROBE_TIMEOUT = 60.0
IMPORT_CHECK_TIMEOUT = 600.0


def environment_python(python: Path) -> str:
    """The version of the python inside the environment just built, for the marker and the summary."""
    outcome = run_probe(python, "interpreter", timeout=PROBE_TIMEOUT)
    if outcome.data is None:
        raise SetupError(f"the new environment's python does not start: {outcome.failure}")
    return str(outcome.data["version"])


def import_check(python: Path, profile: Profile, log: IO[str]) -> dict[str, str]:
    """Import the profile's modules in the environment; return the installed version of each distribution."""
    modules = sorted({p.import_name for p in profile.packages if p.import_name})
    outcome = run_probe(
        python,
        "imports",
        {"modules": modules, "distributions": [p.name for p in profile.packages]},
        timeout=IMPORT_CHECK_TIMEOUT,
        write_bytecode=True,  # our own new environment: compile once here, not at every later import
    )
    said = f"\nimport check: {json.dumps(outcome.data)}\n{outcome.completed.stderr[-4000:]}\n"
    log.write(redact_credentials(said))
    data: dict[str, Any] = outcome.data or {}
    failed = [(name, r) for name, r in data.get("modules", {}).items() if not r.get("ok")]
    if failed or not outcome.ok:
        culprit = str(outcome.failure)
        if failed:
            name, record = failed[0]
            culprit = f"import {name}: {record.get('error_type')}: {record.get('error', '')}".splitlines()[0]
        raise SetupError(
            f"import check failed: {culprit}",
            "the packages installed but do not work together; envcheck verify explains why once fixed",
        )
    return {dist: version for dist, version in data.get("distributions", {}).items() if version}
