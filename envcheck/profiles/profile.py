"""Profiles: what an environment holds, as envcheck's own TOML files describe it, validated.

The shipped profiles and a user's .toml are read here; envcheck/profiles/files.py picks the reader for a user's file by
its kind (TOML here, requirements.txt in envcheck/profiles/requirements.py, environment.yml in envcheck/profiles/condafile.py).
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from packaging.markers import InvalidMarker, Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name

from envcheck.errors import ProfileError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

DEFAULT_PROFILE = "deep-learning"
DEVICES = ("cpu", "gpu")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_TOP_KEYS = {"schema", "name", "description", "python", "device", "disk_gb", "kernel", "conda", "package"}
_PACKAGE_KEYS = {"name", "requirement", "import", "core", "conda"}
_CONDA_KEYS = {"channels"}
# Distributions that each install the `tensorflow` package; two of them in one environment overwrite each
# other's files. (tensorflow on Windows depends on tensorflow-intel: that pair counts as one.)
TENSORFLOW_DISTRIBUTIONS = (
    "tensorflow",
    "tensorflow-cpu",
    "tensorflow-gpu",
    "tensorflow-intel",
    "tensorflow-macos",
    "tensorflow-aarch64",
    "tensorflow-cpu-aws",
    "tensorflow-rocm",
    "intel-tensorflow",
    "tf-nightly",
    "tf-nightly-cpu",
    "tf-nightly-gpu",
    "tf-nightly-intel",
    "tf-nightly-macos",
)
# Import names that differ from the distribution name, for requirements.txt files that cannot say so.
KNOWN_IMPORT_NAMES = {
    **{name: "tensorflow" for name in TENSORFLOW_DISTRIBUTIONS},
    "tensorflow-metal": "tensorflow",
    "scikit-learn": "sklearn",
    "pillow": "PIL",
    "pyyaml": "yaml",
    "opencv-python": "cv2",
    "beautifulsoup4": "bs4",
}
# The five packages of the tutorial; the rest of an environment is supporting cast.
CORE_PACKAGES = ("tensorflow", "keras", "pandas", "scikit-learn", "matplotlib")


@dataclass(frozen=True)
class Package:
    name: str  # canonical distribution name
    requirements: tuple[Requirement, ...]  # one or more, told apart by environment markers
    import_name: str | None
    core: bool = True
    conda: bool | str = True  # False: installed with pip; True: the conda package of that name; str: a spec
    # the import name is a guess from a file that cannot say it (a requirements.txt, an environment.yml): the
    # environment's own records of the installed distribution say which modules it really provides
    discover: bool = False

    def applicable(self, marker_env: Mapping[str, str] | None = None) -> tuple[Requirement, ...]:
        """The requirements whose markers hold on the target (all of them when no target is known)."""
        return tuple(r for r in self.requirements if r.marker is None or r.marker.evaluate(dict(marker_env or {})))


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    python: SpecifierSet
    device: str
    disk_gb: float
    kernel: bool
    packages: tuple[Package, ...]
    conda_channels: tuple[str, ...]
    source: Path
    digest: str  # of the parsed content, so that a comment edit does not rebuild an environment
    # What pip or uv get when the user's file speaks for itself (("-r", FILE) for a requirements.txt, the pip:
    # lines of an environment.yml): the installer reads pip's grammar, envcheck only the names and pins it checks.
    install_args: tuple[str, ...] = ()
    install_cwd: Path | None = None  # where those arguments are relative to (None: where envcheck runs)
    # narrower Python ranges where a marker holds (a platform whose wheels stop at an older Python)
    python_limits: tuple[tuple[Marker, SpecifierSet], ...] = ()
    # what a reader of the user's file could not read but leaves to the installer, one line each ("FILE:LINE: ...")
    warnings: tuple[str, ...] = ()
    # an environment.yml's conda packages that install no PyPI distribution (ffmpeg, cudatoolkit): only conda has them
    conda_only: tuple[str, ...] = ()
    # editable installs from a version-control URL (-e git+https://...), as "FILE:LINE: the line": pip builds them, uv
    # refuses them
    editable_urls: tuple[str, ...] = ()

    def python_for(self, marker_env: Mapping[str, str] | None) -> SpecifierSet:
        """The Python range on a target: the profile's, narrowed by every limit whose marker holds there."""
        combined = SpecifierSet(str(self.python))
        for marker, limit in self.python_limits:
            if marker_env and marker.evaluate(dict(marker_env)):
                combined &= limit
        return combined

    def requirement_strings(self) -> list[str]:
        return [str(r) for p in self.packages for r in p.requirements]

    def installer_arguments(self) -> list[str]:
        """What pip or uv get for the whole profile without conda: the file's own lines where it has them (after
        the PyPI names of an environment.yml's conda packages), else every requirement."""
        if not self.install_args:
            return self.requirement_strings()
        from_conda = [str(r) for p in self.packages if isinstance(p.conda, str) for r in p.requirements]
        return [*from_conda, *self.install_args]

    def package(self, name: str) -> Package | None:
        wanted = canonicalize_name(name)
        # conda-only names (_libgcc_mutex) are kept as written: PEP 503 would turn them into no valid name
        return next((p for p in self.packages if p.name in (wanted, name.lower())), None)


def profiles_dir() -> Path:
    """The shipped profiles: the package ``envcheck.environments`` once installed; in a source checkout run
    with PYTHONPATH=. (a machine where nothing may be installed), the folder ``environments/`` beside it."""
    try:
        return Path(str(resources.files("envcheck.environments")))
    except ModuleNotFoundError:
        return Path(__file__).parents[2] / "environments"


def available_profiles() -> list[str]:
    return sorted(p.stem for p in profiles_dir().glob("*.toml"))


def profile_path(name: str | None) -> Path:
    """The file of the shipped profile called ``name`` (default: deep-learning), or a ProfileError saying why not."""
    name = name or DEFAULT_PROFILE
    if not _NAME.match(name):
        raise ProfileError(
            f"invalid profile name {name!r}",
            "a profile name is a plain word such as 'deep-learning'; use --file PATH for a file elsewhere",
        )
    path = profiles_dir() / f"{name}.toml"
    if not path.is_file():
        raise ProfileError(
            f"unknown profile {name!r}",
            f"available profiles: {', '.join(available_profiles())}; or pass your own with --file PATH",
        )
    return path


def parse_toml(text: str, path: Path) -> Profile:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{path}: not valid TOML: {exc}", "fix the file's syntax") from exc
    _reject_unknown(doc, _TOP_KEYS, path, "")
    if doc.get("schema", 1) != 1:
        raise ProfileError(f"{path}: unsupported schema {doc.get('schema')!r}", "this envcheck reads schema 1")
    name = _typed(doc, "name", str, path, default=path.stem)
    if not _NAME.match(name):
        raise ProfileError(f"{path}: invalid name {name!r}", "use letters, digits, '.', '_' and '-'")
    python, python_limits = _python_ranges(doc.get("python", ""), path)
    device = _typed(doc, "device", str, path, default="cpu")
    if device not in DEVICES:
        raise ProfileError(f"{path}: device must be one of {', '.join(DEVICES)}, not {device!r}", None)
    disk_gb = _typed(doc, "disk_gb", (int, float), path, default=2.5)
    conda = _typed(doc, "conda", dict, path, default={})
    _reject_unknown(conda, _CONDA_KEYS, path, "conda.")
    channels = _typed(conda, "channels", list, path, default=["conda-forge"], where="conda.")
    raw_packages = _typed(doc, "package", list, path, default=[])
    if not raw_packages:
        raise ProfileError(f"{path}: no [[package]] entries", "list at least one package")
    packages = tuple(_package(entry, i, path) for i, entry in enumerate(raw_packages))
    return build_profile(
        name=name,
        description=_typed(doc, "description", str, path, default=""),
        python=python,
        device=device,
        disk_gb=float(disk_gb),
        kernel=_typed(doc, "kernel", bool, path, default=True),
        packages=packages,
        conda_channels=tuple(str(c) for c in channels),
        source=path,
        python_limits=python_limits,
    )


def _python_ranges(raw: Any, path: Path) -> tuple[SpecifierSet, tuple[tuple[Marker, SpecifierSet], ...]]:
    """`python = ">=3.10,<3.14"`, or a list whose entries after the first carry a marker: "<3.13; sys_platform == 'darwin'"."""
    entries = raw if isinstance(raw, list) else [raw]
    if not entries or not all(isinstance(e, str) for e in entries):
        raise ProfileError(f"{path}: python must be a string or a list of strings", None)
    general = _specifier(entries[0], path, "python")
    limits = []
    for entry in entries[1:]:
        spec, _, marker = entry.partition(";")
        if not marker.strip():
            raise ProfileError(
                f"{path}: python: {entry!r} needs a marker after ';'",
                "write it like \"<3.13; sys_platform == 'darwin'\"",
            )
        try:
            limits.append((Marker(marker.strip()), _specifier(spec.strip(), path, "python")))
        except InvalidMarker as exc:
            raise ProfileError(f"{path}: python: invalid marker in {entry!r}", "write a PEP 508 marker") from exc
    return general, tuple(limits)


def build_profile(*, content: Sequence[str] = (), **fields: Any) -> Profile:
    """A profile with its digest; ``content`` adds what else the installer is given (hashes, pip options)."""
    canonical = {
        "name": fields["name"],
        "python": str(fields["python"]),
        # only when present, so that profiles without limits keep the digest their environments recorded
        **(
            {"python_limits": [[str(m), str(r)] for m, r in fields["python_limits"]]}
            if fields.get("python_limits")
            else {}
        ),
        "device": fields["device"],
        "kernel": fields["kernel"],
        "channels": list(fields["conda_channels"]),
        "packages": [
            [p.name, [str(r) for r in p.requirements], p.import_name, p.core, p.conda] for p in fields["packages"]
        ],
        **({"content": list(content)} if content else {}),  # absent when empty: older digests stay valid
    }
    digest = hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()
    return Profile(digest=digest, **fields)


def _package(entry: Any, index: int, path: Path) -> Package:
    where = f"package[{index}]."
    if not isinstance(entry, dict):
        raise ProfileError(f"{path}: package[{index}] must be a table", "write it as [[package]]")
    _reject_unknown(entry, _PACKAGE_KEYS, path, where)
    raw = entry.get("requirement")
    if raw is None:
        raise ProfileError(f"{path}: {where}requirement is missing", "give a PEP 508 string like 'pandas>=2.0'")
    raw_list = raw if isinstance(raw, list) else [raw]
    if not raw_list or not all(isinstance(r, str) for r in raw_list):
        raise ProfileError(f"{path}: {where}requirement must be a string or a list of strings", None)
    requirements = tuple(_requirement(r, path, f"{where}requirement") for r in raw_list)
    name = canonicalize_name(_typed(entry, "name", str, path, default=requirements[0].name, where=where))
    for r in requirements:
        if canonicalize_name(r.name) != name:
            raise ProfileError(f"{path}: {where}requirement {str(r)!r} is not for package {name!r}", None)
    conda = entry.get("conda", True)
    if not isinstance(conda, (bool, str)):
        raise ProfileError(f"{path}: {where}conda must be true, false or a conda spec string", None)
    return Package(
        name=name,
        requirements=requirements,
        import_name=_typed(entry, "import", str, path, default=name.replace("-", "_"), where=where),
        core=_typed(entry, "core", bool, path, default=True, where=where),
        conda=conda,
    )


def _requirement(text: str, path: Path, where: str) -> Requirement:
    try:
        requirement = Requirement(text)
        if requirement.marker is not None:
            Marker(str(requirement.marker))
    except (InvalidRequirement, InvalidMarker) as exc:
        raise ProfileError(
            f"{path}: {where}: invalid requirement {text!r}: {exc}".splitlines()[0],
            "write a PEP 508 requirement, for example 'pandas>=2.0'",
        ) from exc
    return requirement


def _specifier(text: str, path: Path, key: str) -> SpecifierSet:
    try:
        return SpecifierSet(text)
    except InvalidSpecifier as exc:
        raise ProfileError(f"{path}: {key}: invalid version range {text!r}", "write it like '>=3.10,<3.14'") from exc


def _typed(table: Mapping[str, Any], key: str, kind: Any, path: Path, *, default: Any, where: str = "") -> Any:
    value = table.get(key, default)
    if isinstance(value, bool) and kind in (int, float, (int, float)):
        value = None  # TOML booleans are ints to Python; a disk size of `true` is a mistake
    if value is None or not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise ProfileError(f"{path}: {where}{key} must be of type {names}", None)
    return value


def _reject_unknown(table: Mapping[str, Any], allowed: set[str], path: Path, where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ProfileError(
            f"{path}: unknown key {where}{unknown[0]}",
            f"allowed keys here: {', '.join(sorted(allowed))}",
        )


def safe_name(stem: str) -> str:
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-.") or "custom"
    return name[:64]
