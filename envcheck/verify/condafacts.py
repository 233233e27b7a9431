"""What verify reads from a conda prefix's files: conda's records, the site-packages' installers, the activation
scripts and stored variables, bundled as ``CondaFacts`` for the conda checks (envcheck/verify/checks/conda.py).

Nothing here runs a program or executes a script; it only reads files.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from packaging.utils import canonicalize_name

from envcheck.locations import OWNER_NAME, python_in
from envcheck.results import CheckResult
from envcheck.verify.checks.conda import judge_activation, judge_double_install, judge_python_in_prefix
from envcheck.verify.evidence import CondaFacts, CondaRecord, Distribution

# One pattern per shell family: the names of the variables an activation script sets.
_SETTERS = {
    "sh": re.compile(r"^\s*(?:export\s+|declare\s+-x\s+)?([A-Za-z_][A-Za-z0-9_]*)=", re.MULTILINE),
    "csh": re.compile(r"^\s*setenv\s+([A-Za-z_][A-Za-z0-9_]*)", re.MULTILINE),
    "fish": re.compile(r"^\s*set\s+(?:-[a-zA-Z]+\s+)*([A-Za-z_][A-Za-z0-9_]*)", re.MULTILINE),
    "bat": re.compile(r"^\s*@?set\s+\"?([A-Za-z_][A-Za-z0-9_]*)=", re.MULTILINE | re.IGNORECASE),
    "ps1": re.compile(r"^\s*\$env:([A-Za-z_][A-Za-z0-9_]*)\s*=", re.MULTILINE | re.IGNORECASE),
    "xsh": re.compile(r"^\s*\$([A-Za-z_][A-Za-z0-9_]*)\s*=", re.MULTILINE),
}
_FAMILY = {".sh": "sh", ".bash": "sh", ".zsh": "sh", "": "sh", ".csh": "csh", ".fish": "fish"}
_FAMILY |= {".bat": "bat", ".cmd": "bat", ".ps1": "ps1", ".xsh": "xsh"}
_DIST_DIR = re.compile(r"(?:^|/)site-packages/([^/]+)\.(?:dist-info|egg-info)(?:/|$)")


def is_conda_prefix(prefix: Path) -> bool:
    return (prefix / "conda-meta").is_dir()


def read_records(prefix: Path) -> list[CondaRecord]:
    """conda's records of what it installed; an unreadable record is skipped (conda would fail on it too)."""
    records = []
    for path in sorted((prefix / "conda-meta").glob("*.json")):
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
            continue
        files = [f.replace("\\", "/") for f in raw.get("files") or [] if isinstance(f, str)]
        dirs: dict[str, str] = {}
        for file in files:
            match = _DIST_DIR.search(file)
            if match:  # the folder, relative to the prefix: ".../site-packages/numpy-2.1.0.dist-info"
                dirs[file[: match.end(0)].rstrip("/")] = canonicalize_name(match.group(1).split("-", 1)[0])
        records.append(
            CondaRecord(
                name=raw["name"],
                version=str(raw.get("version", "")),
                build=str(raw.get("build", "")),
                channel=str(raw.get("channel", "")),
                # a record without files is a metapackage (conda-forge's matplotlib): it stands for its name
                dists=frozenset(dirs.values()) if files else frozenset({canonicalize_name(raw["name"])}),
                dist_dirs=frozenset(dirs),
            )
        )
    return records


def site_distributions(prefix: Path) -> list[Distribution]:
    """Every .dist-info under the prefix's site-packages (lib/pythonX.Y on POSIX, Lib on Windows)."""
    found = []
    for site in [*prefix.glob("lib/python3*/site-packages"), prefix / "Lib" / "site-packages"]:
        for folder in sorted(site.glob("*.dist-info")):
            name, version = _metadata(folder)
            try:
                installer: str | None = (folder / "INSTALLER").read_text(encoding="utf-8").strip() or None
            except OSError:
                installer = None
            relative = folder.relative_to(prefix).as_posix()
            found.append(Distribution(canonicalize_name(name), version, installer, relative))
    return found


def _metadata(folder: Path) -> tuple[str, str]:
    stem_name, _, stem_version = folder.name[: -len(".dist-info")].partition("-")
    name, version = stem_name, stem_version
    try:
        text = (folder / "METADATA").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return name, version
    for line in text.splitlines():
        if not line.strip():
            break  # the headers end at the first empty line
        key, _, value = line.partition(":")
        if key.lower() == "name":
            name = value.strip()
        elif key.lower() == "version":
            version = value.strip()
    return name, version


def activation_scripts(prefix: Path) -> list[Path]:
    folder = prefix / "etc" / "conda" / "activate.d"
    return sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []


def variables_set_by(script: Path) -> list[str]:
    family = _FAMILY.get(script.suffix.lower())
    if family is None:
        return []
    try:
        text = script.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    return sorted(set(_SETTERS[family].findall(text)))


def stored_variables(prefix: Path) -> list[str]:
    """Variables saved with ``conda env config vars set`` (conda-meta/state), also applied only on activation."""
    try:
        state = json.loads((prefix / "conda-meta" / "state").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    env_vars = state.get("env_vars") if isinstance(state, dict) else None
    return sorted(env_vars) if isinstance(env_vars, dict) else []


def gather(prefix: Path, python: Path | None = None, reported_prefix: str | None = None) -> CondaFacts:
    """Read the conda checks' facts from the prefix's files; ``reported_prefix`` is the probe's sys.prefix."""
    python = python or python_in(prefix)
    exists = python.exists()
    return CondaFacts(
        prefix=str(prefix),
        owned=(prefix / OWNER_NAME).is_file(),
        python=str(python),
        python_exists=exists,
        python_resolved=str(python.resolve()) if exists else str(python),
        prefix_resolved=str(prefix.resolve()),
        reported_prefix=reported_prefix,
        reported_prefix_resolved=str(Path(reported_prefix).resolve()) if reported_prefix is not None else None,
        records=tuple(read_records(prefix)),
        distributions=tuple(site_distributions(prefix)),
        activation=tuple((s.name, tuple(variables_set_by(s))) for s in activation_scripts(prefix)),
        stored_variables=tuple(stored_variables(prefix)),
    )


# A prefix judged on its own, without the rest of verify's evidence.


def check_python_in_prefix(prefix: Path, python: Path | None = None, reported_prefix: str | None = None) -> CheckResult:
    return judge_python_in_prefix(gather(prefix, python, reported_prefix))


def check_double_install(prefix: Path) -> CheckResult:
    return judge_double_install(gather(prefix))


def check_activation(prefix: Path) -> CheckResult:
    return judge_activation(gather(prefix))


def conda_checks(prefix: Path, python: Path | None = None, reported_prefix: str | None = None) -> list[CheckResult]:
    """All conda checks of a prefix, in checklist order."""
    facts = gather(prefix, python, reported_prefix)
    return [judge_python_in_prefix(facts), judge_double_install(facts), judge_activation(facts)]
