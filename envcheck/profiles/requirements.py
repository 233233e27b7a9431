"""A user's requirements.txt: the installer reads it (``-r FILE``); envcheck reads only the names and pins it checks.

The file is parsed with pip-requirements-parser, which carries pip's own parser, so that every line pip accepts
is accepted here too: ``--hash`` continuation lines from ``pip-compile --generate-hashes``, index options, ``-r``
and ``-c`` includes, ``-e .``, ``git+https://...#egg=name`` links, comments after a tab. Entries without a name
(``-e .``, a bare path or URL) are installed but not import-checked: only the installer knows their name.
"""

from __future__ import annotations

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
    if parsed.invalid_lines:
        bad = parsed.invalid_lines[0]
        line = bad.requirement_line
        raise ProfileError(f"{line.filename}:{line.line_number}: {one_line(bad.error_message)}", _HINT)

    packages: dict[str, list[Package]] = {}
    content: list[str] = [line.dumps() for line in parsed.options]
    for entry in parsed.requirements:
        content.append(entry.dumps())
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
    )


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
    return Package(first.name, requirements, first.import_name, first.core, all(p.conda for p in same))


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
