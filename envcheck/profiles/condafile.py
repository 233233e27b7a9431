"""Profiles in conda's words: conda specs and pip requirements, environment.yml and requirements.txt, both ways.

The conda backend and ``envcheck export`` render from the same functions, so the file a user exports is the
environment setup builds. A user's environment.yml is read by PyYAML (any YAML: flow style, anchors, quoting)
and then held to the structure conda documents (name, channels, a dependencies list of specs and ``pip:``
lists, plus prefix and variables); pip: lines are read with pip's own grammar.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from envcheck.errors import ProfileError, UsageError
from envcheck.profiles import FORMATS
from envcheck.profiles.condanames import pypi_name
from envcheck.profiles.profile import CORE_PACKAGES, KNOWN_IMPORT_NAMES, Package, Profile, build_profile, safe_name
from envcheck.profiles.requirements import READ_BY_INSTALLER, file_problems, one_line, with_marker

# conda's own pseudo-channel: "no channels from .condarc"; envcheck passes --override-channels instead.
NODEFAULTS = "nodefaults"
_YML_HINT = (
    "envcheck reads the environment.yml keys conda documents: name, channels, "
    "dependencies (package specs and a pip: list), prefix, variables"
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
        if package.requirements and not package.applicable(env):
            continue  # every requirement is for another platform or python
        if isinstance(package.conda, str):
            specs.append(package.conda)
            continue
        joined = ",".join(_conda_specifier(r.specifier) for r in package.applicable(env) if str(r.specifier))
        specs.append(package.name + joined)
    return specs


def pip_requirements(profile: Profile) -> list[str]:
    """The packages pip installs, as PEP 508 strings; markers stay in (pip evaluates them in the target)."""
    return [str(r) for p in profile.packages if p.conda is False for r in p.requirements]


def pip_install_args(profile: Profile) -> list[str]:
    """What the conda backend's pip step is given: the user's own pip lines where they carry options, else
    the pip requirements."""
    return list(profile.install_args) or pip_requirements(profile)


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


@dataclass(frozen=True)
class Exported:
    """A profile written out as a file's text (`envcheck export`)."""

    profile: str
    format: str
    content: str


def export_profile(profile: Profile, fmt: str, python_version: str | None = None) -> Exported:
    """``envcheck export``: the profile as an environment.yml (conda) or a requirements.txt (pip)."""
    return Exported(profile.name, fmt, export_text(profile, fmt, python_version))


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
    line: int  # 1-based, for the error messages


@dataclass(frozen=True)
class _Document:
    name: str | None
    channels: list[_Item]
    dependencies: list[_Item]
    pip: list[_Item]


def parse_environment_yml(text: str, path: Path) -> Profile:
    """A user's environment.yml as a profile: conda entries keep their spec verbatim, pip: entries go to pip.

    Conda names stay conda's: lowercased, never folded like PyPI's (``typing-extensions`` and ``typing_extensions``
    are two conda packages, and a ``conda env export`` lists both); each carries the PyPI name of what it installs
    (conda-forge's mapping, ``condanames``), so that the environment can be checked, and built without conda.
    Only the pip: lines follow PEP 503. The pip: lines are also handed to pip as they are (conda does the same,
    from the file's folder), so that pip options there (``--extra-index-url``, ``-r``, ``-e .``) work. Every
    problem of the file is reported at once, in one ProfileError.
    """
    doc = _read_yml(text, path)
    python = SpecifierSet()
    problems: list[str] = []
    seen: dict[str, int] = {}  # conda name -> its line
    # one Package per PyPI name that carries requirements (the last word: pip's line, else the first conda entry),
    # and the conda entries that install nothing PyPI has, or what another entry already stands for
    entries: dict[tuple[str, str], Package] = {}
    conda_only: list[str] = []
    for item in doc.dependencies:
        try:
            name, specifier = _split_matchspec(item.value, path, str(item.line))
        except ProfileError as exc:
            problems.append(exc.message)
            continue
        if name in seen:
            problems.append(f"{path}:{item.line}: {name} is listed twice (also on line {seen[name]})")
            continue
        seen[name] = item.line
        if name == "python":
            python = specifier
            continue
        pypi = pypi_name(name)
        if pypi and ("pypi", pypi) not in entries:
            entries[("pypi", pypi)] = Package(
                name=pypi,
                requirements=(Requirement(f"{pypi}{specifier}"),),
                import_name=_import_name(pypi),
                core=pypi in CORE_PACKAGES,
                conda=item.value,
                discover=True,
            )
            continue
        if not pypi and name != "pip":
            conda_only.append(name)
        # conda installs it; what it holds is checked through the entry that stands for its PyPI name, if any
        entries[("conda", name)] = Package(name, (), None, core=False, conda=item.value)
    # options and nameless paths (-e .) name nothing: pip reads them, envcheck has no name to check
    requirements, pip_problems = _pip_requirements(doc.pip, path) if doc.pip else ([], [])
    problems += pip_problems
    for _line, requirement in requirements:
        name = canonicalize_name(requirement.name)
        previous = entries.get(("pypi", name))
        if previous is not None and previous.conda is not False:
            # pip installs over conda's: the conda entry stays conda's to install, the pip line is what is checked
            spec = str(previous.conda)
            conda_name = _split_matchspec(spec, path, "")[0]
            entries[("conda", conda_name)] = Package(conda_name, (), None, core=False, conda=spec)
            previous = None
        entries[("pypi", name)] = Package(
            name=name,
            requirements=(previous.requirements if previous else ()) + (requirement,),
            import_name=_import_name(name),
            core=name in CORE_PACKAGES,
            conda=False,
            discover=True,
        )
    if problems:
        raise file_problems(path, problems, _YML_HINT)
    if not entries and not doc.pip:
        raise ProfileError(f"{path}: no dependencies besides python", "list the packages under dependencies:")
    channels = tuple(c.value for c in doc.channels if c.value != NODEFAULTS) or ("conda-forge",)
    pip = [item.value for item in doc.pip]
    with_options = any(line.startswith("-") for line in pip)
    return build_profile(
        name=safe_name(doc.name or path.stem),
        description=f"environment from {path.name}",
        python=python,
        device="cpu",
        disk_gb=2.5,
        kernel=True,
        packages=tuple(entries.values()),
        conda_channels=channels,
        source=path,
        # plain requirements go to pip as envcheck renders them; options make pip read the user's own lines
        install_args=tuple(arg for line in pip for arg in shlex.split(line)) if with_options else (),
        install_cwd=path.absolute().parent if with_options else None,
        content=pip if with_options else (),
        conda_only=tuple(conda_only),
        editable_urls=tuple(f"{path}:{item.line}: {item.value}" for item in doc.pip if _EDITABLE_URL.match(item.value)),
    )


# an editable install from a version-control URL: "-e git+https://..." or "--editable=hg+..."
_EDITABLE_URL = re.compile(r"^(?:-e|--editable)(?:\s+|=)\s*['\"]?(?:git|hg|svn|bzr)\+", re.IGNORECASE)


def _import_name(name: str) -> str:
    return KNOWN_IMPORT_NAMES.get(name, name.replace("-", "_"))


_MATCHSPEC = re.compile(r"^(?:(?P<channel>[^\s:]+)::)?(?P<name>[A-Za-z0-9_.-]+)\s*(?P<rest>.*)$")
# conda env export's exact pins: name=version=build
_EXPORTED = re.compile(r"^=(?P<version>[^=\s]+)=(?P<build>[^=\s]+)$")


def _split_matchspec(spec: str, path: Path, where: str) -> tuple[str, SpecifierSet]:
    """Name (as conda reads it: lowercased, nothing folded) and a PEP 440 reading of a conda spec; a build string
    or an or-spec keeps only the name."""
    match = _MATCHSPEC.match(spec)
    if match is None:
        raise ProfileError(f"{path}:{where}: not a conda package spec: {spec!r}", _YML_HINT)
    name = match["name"].lower()
    rest = match["rest"].strip()
    if not rest:
        return name, SpecifierSet()
    exported = _EXPORTED.match(rest)
    if exported:
        rest = f"=={exported['version']}"
    if len(rest.split()) > 2 or not re.match(r"^[0-9*<>=!~]", rest):
        raise ProfileError(f"{path}:{where}: not a conda package spec: {spec!r}", _YML_HINT)
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
        for item in specifier:
            Version(item.version.rstrip("*").rstrip("."))
    except (InvalidSpecifier, InvalidVersion):
        return name, SpecifierSet()
    return name, specifier


def _pip_requirements(items: list[_Item], path: Path) -> tuple[list[tuple[int, Requirement]], list[str]]:
    """The requirements the pip: lines name, with their lines, read by pip's grammar (options name none); and
    the lines that are not requirements, as problems ("LINE: why")."""
    import tempfile

    from pip_requirements_parser import RequirementsFile  # pip's own parser, only on this path

    # the parser reads files only (pip's requirements are files); the includes stay pip's business at install
    with tempfile.TemporaryDirectory(prefix="envcheck-") as folder:
        copy = Path(folder) / "pip-section.txt"
        copy.write_text("\n".join(item.value for item in items) + "\n", encoding="utf-8")
        parsed = RequirementsFile.from_file(str(copy), include_nested=False)
    problems = []
    for bad in parsed.invalid_lines:
        item = items[bad.requirement_line.line_number - 1]
        if item.value.startswith("-") and READ_BY_INSTALLER.search(bad.error_message):
            continue  # an option with a marker after it: pip itself reads it at install
        problems.append(f"{path}:{item.line}: invalid pip line {item.value!r}: {one_line(bad.error_message)}")
    found = [
        (items[r.requirement_line.line_number - 1].line, with_marker(r))
        for r in parsed.requirements
        if r.req is not None and r.name and not r.is_constraint
    ]
    return found, problems


_TOP_KEYS = ("name", "channels", "dependencies", "prefix", "variables")


def _read_yml(text: str, path: Path) -> _Document:
    """The file read by PyYAML, then held to the structure conda documents; one ProfileError per departure.

    The structure is checked on PyYAML's node tree rather than on plain objects, so that errors keep their line.
    """
    import yaml  # only commands given an environment.yml pay for it

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ProfileError(f"{path}{where}: not valid YAML: {problem}", "fix the file's syntax") from exc

    def fail(node: Any, what: str) -> ProfileError:
        return ProfileError(f"{path}:{node.start_mark.line + 1}: {what}", _YML_HINT)

    if root is None:
        raise ProfileError(f"{path}: the file is empty", _YML_HINT)
    if not isinstance(root, yaml.MappingNode):
        raise fail(root, "expected a mapping of name, channels and dependencies")
    top: dict[str, Any] = {}
    for key, value in root.value:
        if not isinstance(key, yaml.ScalarNode) or key.value not in _TOP_KEYS:
            raise fail(key, f"unsupported key {getattr(key, 'value', '?')!r}")
        if key.value in top:
            raise fail(key, f"{key.value} appears twice")
        top[key.value] = value
    # prefix: envcheck chooses the prefix itself; variables: it runs python without activation
    if "dependencies" not in top:
        raise ProfileError(f"{path}: no dependencies: list", _YML_HINT)
    name = top.get("name")
    if name is not None and not isinstance(name, yaml.ScalarNode):
        raise fail(name, "name must be a string")

    def strings(node: Any, where: str) -> list[_Item]:
        if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null":
            return []
        if not isinstance(node, yaml.SequenceNode):
            raise fail(node, f"{where} must be a list")
        items = []
        for entry in node.value:
            if not isinstance(entry, yaml.ScalarNode) or not entry.value.strip() or entry.tag.endswith(":null"):
                raise fail(entry, f"{where} must be a list of strings")
            items.append(_Item(entry.value.strip(), entry.start_mark.line + 1))
        return items

    channels = strings(top["channels"], "channels") if "channels" in top else []
    dependencies_node = top["dependencies"]
    if not isinstance(dependencies_node, yaml.SequenceNode):
        raise fail(dependencies_node, "dependencies must be a list")
    dependencies: list[_Item] = []
    pip: list[_Item] = []
    for entry in dependencies_node.value:
        if isinstance(entry, yaml.MappingNode):
            keys = [k.value for k, _ in entry.value if isinstance(k, yaml.ScalarNode)]
            if keys != ["pip"]:
                raise fail(entry, "only package specs and pip: lists are allowed in dependencies:")
            pip += strings(entry.value[0][1], "pip:")
        elif isinstance(entry, yaml.ScalarNode) and entry.value.strip() and entry.tag != "tag:yaml.org,2002:null":
            dependencies.append(_Item(entry.value.strip(), entry.start_mark.line + 1))
        else:
            raise fail(entry, "dependencies must be package specs or a pip: list")
    return _Document(
        name=None if name is None else str(name.value),
        channels=channels,
        dependencies=dependencies,
        pip=pip,
    )
