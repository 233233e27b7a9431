"""Profiles in conda's words: conda specs and pip requirements, environment.yml and requirements.txt, both ways.

The conda backend and ``envcheck export`` render from the same functions, so the file a user exports is the
environment setup builds. Reading a user's environment.yml needs no YAML library: conda documents a small
subset (name, channels, a dependencies list of strings with one ``pip:`` list, plus prefix and variables),
and anything beyond it is refused with the file and line rather than guessed at.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from envcheck.errors import ProfileError, UsageError
from envcheck.profiles import CORE_PACKAGES, KNOWN_IMPORT_NAMES, Package, Profile, build_profile, safe_name

FORMATS = ("conda", "pip")
# conda's own pseudo-channel: "no channels from .condarc"; envcheck passes --override-channels instead.
NODEFAULTS = "nodefaults"
# Conda packages from a user's environment.yml that are Python packages envcheck can import-check; other
# conda packages (compilers, CUDA, C libraries) are installed but have no module to import.
IMPORTABLE = {*CORE_PACKAGES, *KNOWN_IMPORT_NAMES, "numpy", "scipy", "ipykernel", "notebook", "jupyterlab", "pip"}
_YML_HINT = (
    "envcheck reads the environment.yml subset conda documents: name, channels, "
    "dependencies (strings and one pip: list), prefix, variables"
)


# --- specs ---------------------------------------------------------------------------------------------------


def marker_environment(python_version: str | None = None) -> dict[str, str]:
    """This machine's PEP 508 environment, with the target's python when it is known."""
    env = {key: str(value) for key, value in default_environment().items()}
    if python_version:
        parts = python_version.split(".")
        env["python_version"] = ".".join(parts[:2])
        env["python_full_version"] = python_version if len(parts) > 2 else f"{python_version}.0"
    return env


def python_spec(profile: Profile, python_version: str | None) -> str:
    """``python=3.11`` for a known interpreter (conda's fuzzy match keeps the minor version), else the range."""
    if python_version:
        return "python=" + ".".join(python_version.split(".")[:2])
    return f"python{_conda_specifier(profile.python)}" if str(profile.python) else "python"


def conda_specs(profile: Profile, python_version: str | None = None) -> list[str]:
    """The conda specs of a profile: python, pip (the pip step needs it) and the conda packages, in order."""
    env = marker_environment(python_version)
    specs = [python_spec(profile, python_version), "pip"]
    for package in profile.packages:
        if package.conda is False or package.name in ("python", "pip"):
            continue
        applicable = package.applicable(env)
        if not applicable:
            continue  # every requirement is for another platform or python
        if isinstance(package.conda, str):
            specs.append(package.conda)
            continue
        joined = ",".join(_conda_specifier(r.specifier) for r in applicable if str(r.specifier))
        specs.append(package.name + joined)
    return specs


def pip_requirements(profile: Profile) -> list[str]:
    """The packages pip installs, as PEP 508 strings; markers stay in (pip evaluates them in the target)."""
    return [str(r) for p in profile.packages if p.conda is False for r in p.requirements]


def _conda_specifier(specifier: SpecifierSet) -> str:
    """A PEP 440 specifier set as a conda version spec (conda reads >=, <, ==, !=, ~= alike)."""
    parts = []
    for spec in sorted(specifier, key=str):
        operator, version = spec.operator, spec.version
        if operator == "===":
            operator = "=="
        if operator == "==" and version.endswith(".*"):
            operator = "="  # conda's "=1.2" is "1.2.*"
            version = version[:-2]
        parts.append(f"{operator}{version}")
    return ",".join(parts)


# --- rendering -----------------------------------------------------------------------------------------------


def render_environment_yml(profile: Profile, python_version: str | None = None) -> str:
    """The profile as conda's environment.yml: conda-forge packages first, TensorFlow and Keras under pip:."""
    channels = [*profile.conda_channels, NODEFAULTS]
    lines = [
        f"# envcheck profile {profile.name!r}: {profile.description}".rstrip(": "),
        "# create with: micromamba create -p ./env -f environment.yml  (or: conda env create -p ./env -f ...)",
        "# envcheck itself installs the pip: section as a separate, checked step after the conda packages",
        f"name: {_scalar(profile.name)}",
        "channels:",
        *(f"  - {_scalar(c)}" for c in channels),
        "dependencies:",
        *(f"  - {_scalar(s)}" for s in conda_specs(profile, python_version)),
    ]
    pip = pip_requirements(profile)
    if pip:
        lines.append("  - pip:")
        lines += [f"      - {_scalar(r)}" for r in pip]
    return "\n".join(lines) + "\n"


def render_requirements_txt(profile: Profile) -> str:
    """Every package of the profile for pip alone (conda users get the same list through environment.yml)."""
    lines = [f"# envcheck profile {profile.name!r}; Python {profile.python or 'any'}"]
    lines += profile.requirement_strings()
    return "\n".join(lines) + "\n"


def export_text(profile: Profile, fmt: str, python_version: str | None = None) -> str:
    """What ``envcheck export --format FMT`` prints; the python is pinned only when the profile allows it."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown export format {fmt!r}", f"choose one of: {', '.join(FORMATS)}")
    if fmt == "pip":
        return render_requirements_txt(profile)
    if python_version and not profile.python.contains(Version(python_version), prereleases=True):
        python_version = None
    return render_environment_yml(profile, python_version)


_PLAIN = re.compile(r"^[A-Za-z0-9_.][A-Za-z0-9_.*=<>!~,+/:@\[\]-]*$")


def _scalar(text: str) -> str:
    """A YAML scalar: plain where that is unambiguous, else double-quoted (JSON strings are valid YAML)."""
    if _PLAIN.match(text) and ": " not in text and not text.endswith(":"):
        return text
    return json.dumps(text)


# --- reading a user's environment.yml ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Item:
    value: str
    line: int


@dataclass(frozen=True)
class _Document:
    name: str | None
    channels: list[_Item]
    dependencies: list[_Item]
    pip: list[_Item]


def parse_environment_yml(text: str, path: Path) -> Profile:
    """A user's environment.yml as a profile: conda entries keep their spec verbatim, pip: entries go to pip."""
    doc = _read_yml(text, path)
    python = SpecifierSet()
    packages: dict[str, Package] = {}
    for item in doc.dependencies:
        name, specifier = _split_matchspec(item, path)
        if name == "python":
            python = specifier
            continue
        if name in packages:
            raise ProfileError(f"{path}:{item.line}: {name} is listed twice", "list each package once")
        packages[name] = Package(
            name=name,
            requirements=(Requirement(f"{name}{specifier}"),),
            import_name=_import_name(name) if name in IMPORTABLE else None,
            core=name in CORE_PACKAGES,
            conda=item.value,
        )
    for item in doc.pip:
        if item.value.startswith("-"):
            raise ProfileError(
                f"{path}:{item.line}: pip options are not supported in the pip: list: {item.value}",
                "pass index options to envcheck (--index-url, --extra-index-url, --find-links)",
            )
        try:
            requirement = Requirement(item.value)
        except InvalidRequirement as exc:
            raise ProfileError(
                f"{path}:{item.line}: invalid pip requirement {item.value!r}: {exc}".splitlines()[0],
                "write a PEP 508 requirement, for example 'tensorflow>=2.16'",
            ) from exc
        name = canonicalize_name(requirement.name)
        previous = packages.get(name)
        if previous is not None and previous.conda is not False:
            raise ProfileError(
                f"{path}:{item.line}: {name} is listed both as a conda package and under pip:",
                "install it one way only; a package installed by both breaks conda's records",
            )
        requirements = (previous.requirements if previous else ()) + (requirement,)
        packages[name] = Package(
            name=name,
            requirements=requirements,
            import_name=_import_name(name),
            core=name in CORE_PACKAGES,
            conda=False,
        )
    if not packages:
        raise ProfileError(f"{path}: no dependencies besides python", "list the packages under dependencies:")
    channels = tuple(c.value for c in doc.channels if c.value != NODEFAULTS) or ("conda-forge",)
    return build_profile(
        name=safe_name(doc.name or path.stem),
        description=f"environment from {path.name}",
        python=python,
        device="cpu",
        disk_gb=2.5,
        kernel=True,
        packages=tuple(packages.values()),
        conda_channels=channels,
        source=path,
    )


def _import_name(name: str) -> str:
    return KNOWN_IMPORT_NAMES.get(name, name.replace("-", "_"))


_MATCHSPEC = re.compile(r"^(?:(?P<channel>[^\s:]+)::)?(?P<name>[A-Za-z0-9_.-]+)\s*(?P<rest>.*)$")


def _split_matchspec(item: _Item, path: Path) -> tuple[str, SpecifierSet]:
    """Name and a PEP 440 reading of a conda spec; a build string or an or-spec keeps only the name."""
    match = _MATCHSPEC.match(item.value)
    if match is None:
        raise ProfileError(f"{path}:{item.line}: not a conda package spec: {item.value!r}", _YML_HINT)
    name = canonicalize_name(match["name"])
    rest = match["rest"].strip()
    if not rest:
        return name, SpecifierSet()
    version = rest.split()[0]  # "1.26.* py311*": the build string does not translate
    if "|" in version or "[" in version:
        return name, SpecifierSet()
    specs = []
    for part in version.split(","):
        operator, number = re.match(r"^(==|>=|<=|!=|~=|>|<|=)?(.*)$", part).groups()  # type: ignore[union-attr]
        if operator in (None, "="):
            # conda: "=1.2" and "1.2" both mean 1.2.*; "1.2.*" says it outright
            specs.append(f"=={number.rstrip('*').rstrip('.')}.*" if number.rstrip("*").rstrip(".") else "")
        else:
            specs.append(f"{operator}{number}")
    try:
        specifier = SpecifierSet(",".join(s for s in specs if s))
        for spec in specifier:
            Version(spec.version.rstrip("*").rstrip("."))
    except (InvalidSpecifier, InvalidVersion):
        return name, SpecifierSet()
    return name, specifier


_TOP = re.compile(r"^(?P<key>[A-Za-z_][A-Za-z0-9_-]*)\s*:\s*(?P<value>.*)$")
_ITEM = re.compile(r"^(?P<indent> *)-(?: +(?P<value>.*))?$")


def _read_yml(text: str, path: Path) -> _Document:
    """The environment.yml subset conda documents, read line by line; one ProfileError per departure."""
    name: str | None = None
    lists: dict[str, list[_Item]] = {"channels": [], "dependencies": [], "pip": []}
    seen: set[str] = set()
    section: str | None = None  # the top-level key whose block we are in
    item_indent: int | None = None  # indentation of that block's "- " items
    in_pip = False  # right after "- pip:", whose items are indented deeper
    pip_indent: int | None = None

    def fail(number: int, what: str) -> ProfileError:
        return ProfileError(f"{path}:{number}: {what}", _YML_HINT)

    for number, raw in enumerate(text.splitlines(), start=1):
        line = _strip_comment(raw).rstrip()
        if not line.strip() or line.strip() == "---" and not seen:
            continue
        if "\t" in raw[: len(raw) - len(raw.lstrip())]:
            raise fail(number, "tabs are not allowed for indentation in YAML")
        indent = len(line) - len(line.lstrip(" "))
        item = _ITEM.match(line)
        if indent == 0 and item is None:
            top = _TOP.match(line)
            if top is None:
                raise fail(number, f"expected 'key: value', found {line.strip()!r}")
            key, value = top["key"], top["value"].strip()
            if key in seen:
                raise fail(number, f"{key} appears twice")
            seen.add(key)
            section, item_indent, in_pip, pip_indent = key, None, False, None
            if key == "name":
                name = _unquote(value, number, path)
            elif key in ("channels", "dependencies"):
                if value:
                    lists[key] += [_Item(v, number) for v in _flow_list(value, number, path)]
            elif key not in ("prefix", "variables"):
                # prefix: envcheck chooses the prefix itself; variables: it runs python without activation
                raise fail(number, f"unsupported key {key!r}")
            continue
        if section == "variables":
            continue  # its body is not envcheck's business
        if section not in ("channels", "dependencies"):
            raise fail(number, f"unexpected line under {section or 'nothing'}: {line.strip()!r}")
        if item is None:
            raise fail(number, f"expected a list item '- ...' under {section}:, found {line.strip()!r}")
        value = (item["value"] or "").strip()
        if not value:
            raise fail(number, "empty list item")
        if in_pip and item_indent is not None and indent > item_indent:
            pip_indent = indent if pip_indent is None else pip_indent
            if indent != pip_indent:
                raise fail(number, "inconsistent indentation in the pip: list")
            lists["pip"].append(_Item(_unquote(value, number, path), number))
            continue
        in_pip = False
        item_indent = indent if item_indent is None else item_indent
        if indent != item_indent:
            raise fail(number, f"inconsistent indentation in {section}:")
        if section == "dependencies" and re.match(r"^pip\s*:", value):
            if lists["pip"] or pip_indent is not None:
                raise fail(number, "only one pip: list is supported")
            rest = value.split(":", 1)[1].strip()
            if rest:
                lists["pip"] += [_Item(v, number) for v in _flow_list(rest, number, path)]
                pip_indent = -1
            else:
                in_pip = True
            continue
        if re.match(r"^[^\s'\"\[]+\s*:(\s|$)", value):
            raise fail(number, f"only strings and one pip: list are supported in {section}:")
        lists[section].append(_Item(_unquote(value, number, path), number))
    if "dependencies" not in seen:
        raise ProfileError(f"{path}: no dependencies: list", _YML_HINT)
    return _Document(name=name, channels=lists["channels"], dependencies=lists["dependencies"], pip=lists["pip"])


def _strip_comment(line: str) -> str:
    """Drop a ``#`` comment: at the start, or after whitespace outside quotes (YAML's rule)."""
    quote: str | None = None
    for i, char in enumerate(line):
        if quote:
            if char == quote:
                quote = None
        elif char in "'\"" and (i == 0 or line[i - 1] in " -[,:"):
            quote = char
        elif char == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i]
    return line


def _unquote(value: str, number: int, path: Path) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        try:
            result = json.loads(value)
        except ValueError:
            result = None
        if isinstance(result, str):
            return result
        raise ProfileError(f"{path}:{number}: cannot read the quoted string {value}", _YML_HINT)
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1].replace("''", "'")
    if not value or value[0] in "[{&*!|>%@`'\"":
        raise ProfileError(f"{path}:{number}: unsupported YAML value {value!r}", _YML_HINT)
    return value


def _flow_list(value: str, number: int, path: Path) -> list[str]:
    """``[a, b]`` on one line (conda accepts it for channels); nothing more elaborate."""
    if not (value.startswith("[") and value.endswith("]")):
        raise ProfileError(f"{path}:{number}: expected a list, found {value!r}", _YML_HINT)
    inner = value[1:-1].strip()
    return [_unquote(v.strip(), number, path) for v in inner.split(",")] if inner else []
