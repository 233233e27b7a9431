"""What `pip check` (or `uv pip check`) says, read: the broken requirements it lists, and the installs that
repair them, each narrowed to what the installed distributions accept."""

from __future__ import annotations

import re

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from envcheck.verify.checks.common import requirement_closure
from envcheck.verify.checks.ranges import tightest, with_range
from envcheck.verify.evidence import Evidence
from envcheck.verify.remedy import PipAction

# A dependency whose own finding fixes it, when that finding fails: its install is that finding's to do.
ROOTS = {"numpy": "compat.numpy-abi", "protobuf": "compat.protobuf"}

_PIP_CONFLICT = (
    # pip: "keras 3.0.0 has requirement numpy>=1.2, but you have numpy 1.0."
    re.compile(
        r"^(?P<who>\S+) (?P<ver>\S+) has requirement (?P<req>.+?), but you have (?P<dep>\S+) (?P<have>\S+?)\.?$"
    ),
    # pip: "tensorflow 2.21.0 requires keras, which is not installed."
    re.compile(r"^(?P<who>\S+) (?P<ver>\S+) requires (?P<req>.+?), which is not installed\.?$"),
    # uv: "The package `keras` requires `numpy>=1.26`, but `1.24.0` is installed"
    re.compile(
        r"^The package `(?P<who>[^`]+)` requires `(?P<req>[^`]+)`, but (?:`(?P<have>[^`]+)` is|it's not) installed"
    ),
    # uv: "The package `x` is broken or incomplete (unable to read `WHEEL` file). ..."
    re.compile(r"^The package `(?P<broken>[^`]+)` is broken or incomplete"),
)


def parse_pip_check(output: str) -> list[dict[str, str]]:
    """The problems `pip check` (or `uv pip check`) lists, one dict per line it understood."""
    problems = []
    for raw in output.splitlines():
        line = raw.strip()
        for pattern in _PIP_CONFLICT:
            match = pattern.match(line)
            if match:
                problems.append({k: v for k, v in match.groupdict().items() if v is not None} | {"line": line})
                break
    return problems


def pip_check_names(ev: Evidence) -> set[str]:
    """The distributions `pip check` found missing or out of range, as canonical names."""
    if ev.pip_check is None or ev.pip_check.ok:
        return set()
    names: set[str] = set()
    for item in parse_pip_check(ev.pip_check.stdout + "\n" + ev.pip_check.stderr):
        try:
            names.add(canonicalize_name(Requirement(item.get("req", "")).name))
        except InvalidRequirement:
            continue
    return names


def broken_dependencies(ev: Evidence, name: str) -> list[str]:
    """The distributions among ``name`` and what it needs whose requirements `pip check` reports broken."""
    if ev.pip_check is None or ev.pip_check.ok:
        return []
    needed = requirement_closure(ev, name)
    problems = parse_pip_check(ev.pip_check.stdout + "\n" + ev.pip_check.stderr)
    who = [canonicalize_name(p.get("who") or p.get("broken") or "") for p in problems]
    return sorted({w for w in who if w in needed})


def pip_check_actions(ev: Evidence, problems: list[dict[str, str]]) -> tuple[PipAction, ...]:
    """One install per package pip check names (every range asked for merged), then the broken ones again.

    A package's install is not needed when its own finding fails: that finding's fix covers it.
    """
    wanted: dict[str, Requirement] = {}
    broken: list[str] = []
    for problem in problems:
        if "broken" in problem:
            broken.append(problem["broken"])
            continue
        try:
            requirement = Requirement(problem["req"])
        except InvalidRequirement:
            continue
        key = canonicalize_name(requirement.name)
        if key in wanted:
            merged = wanted[key]
            merged.specifier = tightest(merged.specifier & requirement.specifier)
            merged.extras |= requirement.extras
        else:
            requirement.marker = None
            wanted[key] = requirement
    actions = []
    for name, requirement in wanted.items():
        own = [f"package.{name}.import", f"package.{name}.version"]
        explainers = [ROOTS[name], *own] if name in ROOTS else own
        actions.append(PipAction("install", (with_range(ev, requirement),), explained_by=tuple(explainers)))
    if broken:
        actions.append(PipAction("install", tuple(broken), ("--force-reinstall",)))
    return tuple(actions)
