"""A user's requirements.txt: the installer reads it (``-r FILE``); envcheck reads only the names and pins it checks.

The file is parsed with pip-requirements-parser, which carries pip's own parser, so that every line pip accepts
is accepted here too: ``--hash`` continuation lines from ``pip-compile --generate-hashes``, index options, ``-r``
and ``-c`` includes, ``-e .``, ``git+https://...#egg=name`` links, comments after a tab. Entries without a name
(``-e .``, a bare path or URL) are installed but not import-checked: only the installer knows their name. An
option line the parser cannot read (one with a marker after it, which pip and uv accept) is a warning: the
installer reads it. A line that is no requirement at all is refused, every such line of the file at once.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from envcheck.errors import ProfileError
from envcheck.profiles.profile import CORE_PACKAGES, KNOWN_IMPORT_NAMES, Package, Profile, build_profile, safe_name

_HINT = "the file must be one pip accepts; see https://pip.pypa.io/en/stable/reference/requirements-file-format/"


def parse_requirements(path: Path, read: Callable[[Path], str] | None = None) -> Profile:
    """The packages of a requirements file (and of the files it includes), with the file itself to install.

    ``read`` (given: every file, the included ones too, is read with it first) refuses a file that cannot or
    should not be read whole, before pip's parser reads them all.
    """
    # imported here: pip's parser costs ~70 ms, paid only by commands given a requirements file
    from pip_requirements_parser import InstallationError, RequirementsFile

    path = Path(path).absolute()
    try:
        if read is not None:
            _read_with_includes(path, read, set())
        parsed = RequirementsFile.from_file(str(path), include_nested=True)
    except InstallationError as exc:  # an include that cannot be read; pip's message says which
        raise ProfileError(f"{path}: {one_line(str(exc))}", "check the paths of -r and -c lines") from exc
    warnings, problems = _unread_lines(parsed.invalid_lines)
    if problems:
        raise file_problems(path, problems, _hint(problems))

    packages: dict[str, list[Package]] = {}
    content: list[str] = [line.dumps() for line in parsed.options]
    editable_urls = []
    for entry in parsed.requirements:
        content.append(entry.dumps())
        if entry.is_editable and entry.link is not None and _VCS.match(str(entry.link)):
            line = entry.requirement_line
            editable_urls.append(f"{line.filename}:{line.line_number}: {line.line.strip()}")
        if entry.is_constraint or entry.req is None or not entry.name:
            continue  # a constraint installs nothing; a nameless path or URL is named by its build only
        requirement = with_marker(entry)
        name = canonicalize_name(requirement.name)
        package = Package(
            name=name,
            requirements=(requirement,),
            import_name=KNOWN_IMPORT_NAMES.get(name, name.replace("-", "_")),
            core=name in CORE_PACKAGES,
            # a link or an editable install can only come from pip; conda has no such package
            conda=entry.link is None
            and not entry.is_editable
            and not name.startswith("tensorflow")
            and name != "keras",
            discover=True,
        )
        packages.setdefault(name, []).append(package)
    if not any(not r.is_constraint for r in parsed.requirements):
        raise ProfileError(f"{path}: no requirements found", "list one requirement per line")
    return build_profile(
        name=safe_name(path.stem),
        description=f"requirements from {path.name}",
        python=SpecifierSet(),
        device="cpu",
        disk_gb=2.5,
        kernel=True,
        packages=tuple(_merge(same) for same in packages.values()),
        conda_channels=("conda-forge",),
        source=path,
        install_args=("-r", str(path)),
        content=content,
        warnings=tuple(warnings),
        editable_urls=tuple(editable_urls),
    )


# what pip's parser says of an option line with more after it (a marker: "--extra-index-url URL ; sys_platform ==
# 'win32'"), which pip and uv themselves read; an unknown option is refused by them as well
READ_BY_INSTALLER = re.compile(r"Incorrect and ignored trailing argument", re.IGNORECASE)
_VCS = re.compile(r"^(?:git|hg|svn|bzr)\+", re.IGNORECASE)
# "Tensorflow 2.10.0": a name and a version without an operator, as people write them by hand
_NAME_VERSION = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s+v?(?P<version>[0-9]+(?:\.[0-9]+)*)$")


def _unread_lines(invalid: list[Any]) -> tuple[list[str], list[str]]:
    """The lines pip's parser could not read: option lines (warnings: pip and uv read a marker after an option,
    the parser does not), and lines that are no requirement (problems), each as "FILE:LINE: what"."""
    warnings, problems = [], []
    for bad in invalid:
        line = bad.requirement_line
        where, text = f"{line.filename}:{line.line_number}", line.line.strip()
        if text.startswith("-") and READ_BY_INSTALLER.search(bad.error_message):
            warnings.append(
                f"{where}: envcheck cannot read {text!r} ({one_line(bad.error_message)}); the installer reads it"
            )
            continue
        plain = _NAME_VERSION.match(text)
        if plain and plain["name"].lower() == "python":
            minor = ".".join(plain["version"].split(".")[:2])
            problems.append(
                f"{where}: {text!r} is not a requirement line (a Python version is given with --python {minor})"
            )
        elif plain:
            problems.append(
                f"{where}: {text!r} is not a requirement line (write {plain['name'].lower()}=={plain['version']})"
            )
        else:
            problems.append(f"{where}: {one_line(bad.error_message)}")
    return warnings, problems


def _hint(problems: list[str]) -> str:
    """Requirement lines people write by hand ("Tensorflow 2.10.0") get the line that works; else pip's format."""
    fixed = [m.group(1) for p in problems if (m := re.search(r"\(write (\S+==\S+)\)$", p))]
    if fixed:
        return f"write one requirement a line, name==version: {', '.join(fixed[:4])}"
    return _HINT


def file_problems(path: Path, problems: list[str], hint: str) -> ProfileError:
    """Every problem of a file ("FILE:LINE: what" each) in one error line, so that one run shows them all."""
    if len(problems) == 1:
        return ProfileError(problems[0], hint)
    prefix = f"{path}:"
    parts = ["line " + p.removeprefix(prefix) if p.startswith(prefix) else p for p in problems]
    return ProfileError(f"{path}: {len(problems)} problems: " + "; ".join(parts), hint)


def _read_with_includes(
    path: Path, read: Callable[[Path], str], seen: set[Path], within: tuple[Path, ...] = ()
) -> None:
    """Read ``path`` and every file its -r and -c lines include (found by pip's own parser), each once."""
    from pip_requirements_parser import RequirementsFile

    if path in within:
        raise ProfileError(f"{within[-1]}: includes {path}, which includes it again", "remove one of the -r lines")
    if path in seen or not path.exists():
        return  # read already, or for pip's parser to say that it is missing
    seen.add(path)
    read(path)
    for option in RequirementsFile.from_file(str(path), include_nested=False).options:
        for name in (*option.options.get("requirements", ()), *option.options.get("constraints", ())):
            if "://" not in name:  # an include by URL is the installer's to fetch
                _read_with_includes((path.parent / name).absolute(), read, seen, (*within, path))


def _merge(same: list[Package]) -> Package:
    """One package listed on several lines (one per platform marker, say) is one package with all its lines."""
    first = same[0]
    requirements = tuple(r for p in same for r in p.requirements)
    return dataclasses.replace(first, requirements=requirements, conda=all(p.conda for p in same))


def one_line(text: str) -> str:
    """pip's parser's message as one line: the first of its lines (a caret points on the second one)."""
    # it joins its own lines with a literal "|n", and names itself where pip would say "pip"
    first = " ".join(text.replace("|n", "\n").split("\n")[0].split())
    return first.removeprefix("pip_requirements_parser: error: ") or "cannot read this line"


def with_marker(entry: Any) -> Requirement:
    """A parsed line's requirement with its environment marker, which pip's parser keeps apart."""
    requirement = Requirement(str(entry.req))
    if entry.marker is not None and requirement.marker is None:
        requirement = Requirement(f"{entry.req}; {entry.marker}")
    return requirement
