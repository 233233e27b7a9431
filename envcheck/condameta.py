"""Conda-specific verify checks, judged on the host from the prefix's files alone (no program is run).

- ``conda.double-install``: a package that conda's records (``conda-meta/*.json``) say conda installed, while
  the ``.dist-info`` in site-packages was written by pip (its INSTALLER file). pip then replaced conda's files
  under conda's feet: ``conda list`` shows a version that is not there, and the next conda update of that
  package, or of anything depending on it, breaks the environment.
- ``conda.python-in-prefix``: the environment's interpreter really lies inside the prefix (not a link out of
  it) and, when verify's probe reported it, its ``sys.prefix`` is the prefix.
- ``conda.activation``: scripts in ``etc/conda/activate.d`` and variables stored with ``conda env config vars``.
  envcheck runs the environment's python directly, without activation, because that is what a Jupyter kernel
  does (kernel.json names ``<prefix>/bin/python``; nothing sources activate.d). So verify sees what a notebook
  sees: a variable set only on activation (CUDA paths, LD_LIBRARY_PATH, XLA_FLAGS set by CUDA packages) is
  missing in both, and a TensorFlow that finds its GPU only after ``conda activate`` will not find it in
  Jupyter. Those loading variables are reported as a warning with what to do; other libraries' data paths
  are listed without one. No script is ever executed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name

from envcheck.locations import OWNER_NAME, python_in
from envcheck.results import CheckResult, Status

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
# Variables that decide where TensorFlow finds CUDA and how python loads: the ones a notebook misses most.
_LOADING = re.compile(r"^(LD_LIBRARY_PATH|DYLD_\w+|PATH|CUDA\w*|CUDNN\w*|NCCL\w*|XLA_\w+|TF_\w+|PYTHON\w+)$")
_DIST_DIR = re.compile(r"(?:^|/)site-packages/([^/]+)\.(?:dist-info|egg-info)(?:/|$)")


@dataclass(frozen=True)
class CondaRecord:
    """One ``conda-meta/*.json``: a package conda linked into the prefix."""

    name: str
    version: str
    build: str
    channel: str
    dists: frozenset[str]  # canonical names of the Python distributions among its files
    dist_dirs: frozenset[str]  # their .dist-info / .egg-info folders, relative to the prefix


@dataclass(frozen=True)
class Distribution:
    """One ``*.dist-info`` in the prefix's site-packages."""

    name: str  # canonical
    version: str
    installer: str | None  # the INSTALLER file: "conda", "pip", "uv", ... None when there is none
    path: Path


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
            found.append(Distribution(canonicalize_name(name), version, installer, folder))
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


def check_double_install(prefix: Path) -> CheckResult:
    records = read_records(prefix)
    by_dist = {dist: record for record in records for dist in record.dists}
    conda_dirs = {d for record in records for d in record.dist_dirs}
    doubles = []
    for dist in site_distributions(prefix):
        record = by_dist.get(dist.name)
        relative = dist.path.relative_to(prefix).as_posix()
        if record is None or relative in conda_dirs or dist.installer == "conda":
            continue
        doubles.append((dist, record))
    if not doubles:
        return CheckResult(
            "conda.double-install",
            Status.PASS,
            f"no package installed by both conda and pip ({len(records)} conda records)",
            data={"records": len(records)},
        )
    names = sorted({dist.name for dist, _ in doubles})
    detail = "; ".join(
        f"{dist.name}: conda records {record.version}, {dist.installer or 'another installer'} installed {dist.version}"
        for dist, record in doubles
    )
    python = python_in(prefix)
    if (prefix / OWNER_NAME).is_file():
        hint = f"rebuild it: envcheck setup --prefix {prefix} --recreate"
    else:
        hint = (
            f"give them back to conda: {python} -m pip uninstall -y {' '.join(names)}, then "
            f"conda install --prefix {prefix} --force-reinstall {' '.join(names)} (mamba and micromamba alike)"
        )
    return CheckResult(
        "conda.double-install",
        Status.WARN,
        f"installed by both conda and pip: {detail}",
        hint,
        data={
            "packages": [
                {"name": d.name, "conda": r.version, "pip": d.version, "installer": d.installer} for d, r in doubles
            ]
        },
    )


def check_python_in_prefix(prefix: Path, python: Path | None = None, reported_prefix: str | None = None) -> CheckResult:
    """The interpreter file resolves inside the prefix, and its sys.prefix (when known) is the prefix."""
    python = python or python_in(prefix)
    if not python.exists():
        return CheckResult(
            "conda.python-in-prefix",
            Status.FAIL,
            f"{prefix} has no python ({python} is missing)",
            f"install it: conda install --prefix {prefix} python  (or rebuild the environment)",
        )
    real, home = python.resolve(), prefix.resolve()
    data = {"python": str(python), "resolved": str(real), "sys_prefix": reported_prefix}
    if not real.is_relative_to(home):
        return CheckResult(
            "conda.python-in-prefix",
            Status.FAIL,
            f"{python} leads to {real}, outside the prefix: it is not this environment's python",
            f"reinstall python into it: conda install --prefix {prefix} --force-reinstall python",
            data=data,
        )
    if reported_prefix is not None and Path(reported_prefix).resolve() != home:
        return CheckResult(
            "conda.python-in-prefix",
            Status.FAIL,
            f"{python} lies in the prefix but reports sys.prefix {reported_prefix}",
            "PYTHONHOME or a python._pth file redirects it; unset PYTHONHOME, or rebuild the environment",
            data=data,
        )
    return CheckResult("conda.python-in-prefix", Status.PASS, f"{python} lies inside the prefix", data=data)


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


def check_activation(prefix: Path) -> CheckResult:
    scripts = activation_scripts(prefix)
    setting = {script: variables_set_by(script) for script in scripts}
    variables = sorted({v for names in setting.values() for v in names} | set(stored_variables(prefix)))
    data = {"scripts": [s.name for s in scripts], "variables": variables}
    if not variables:
        detail = (
            f"{len(scripts)} activation script(s), setting no variables: {_names(scripts)}"
            if scripts
            else "no activation scripts: running the python directly equals running it activated"
        )
        return CheckResult("conda.activation", Status.PASS, detail, data=data)
    loading = [v for v in variables if _LOADING.match(v)]
    sources = _names([s for s, names in setting.items() if names]) or "conda env config vars"
    if not loading:
        # data paths of other libraries (PROJ_DATA, GDAL_DATA, ...) do not change how this stack runs
        detail = (
            f"activation sets {', '.join(variables)} ({sources}); none of them changes how python or TensorFlow load"
        )
        return CheckResult("conda.activation", Status.PASS, detail, data=data)
    detail = (
        f"activation sets {', '.join(loading)} ({sources}); envcheck, like a Jupyter kernel, runs the "
        "python without activation, so these are unset there"
    )
    hint = (
        f"{', '.join(loading)} only exist after `conda activate`: for the GPU prefer TensorFlow's pip CUDA "
        'wheels (tensorflow[and-cuda]), which need no activation, or add them to the kernel\'s kernel.json "env"'
    )
    return CheckResult("conda.activation", Status.WARN, detail, hint, data=data)


def _names(scripts: Iterable[Path]) -> str:
    return ", ".join(f"etc/conda/activate.d/{s.name}" for s in scripts)


def conda_checks(prefix: Path, python: Path | None = None, reported_prefix: str | None = None) -> list[CheckResult]:
    """All conda checks of a prefix, for verify to add when ``prefix/conda-meta`` exists."""
    return [
        check_python_in_prefix(prefix, python, reported_prefix),
        check_double_install(prefix),
        check_activation(prefix),
    ]
