"""Version ranges for remedies: what the profile and the installed distributions that declare a dependency all
accept, written as one requirement per distribution (``packaging`` judges every version)."""

from __future__ import annotations

from typing import Any

from packaging.requirements import Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from envcheck.profiles.profile import TENSORFLOW_DISTRIBUTIONS, Package
from envcheck.verify.checks.common import applicable_requirements, applying_requirements
from envcheck.verify.evidence import Evidence


def tightest(specifier: SpecifierSet) -> SpecifierSet:
    """Keep only the highest lower bound and the lowest upper bound; other clauses stay as they are."""
    lower: dict[str, Any] = {}
    upper: dict[str, Any] = {}
    rest = []
    for clause in specifier:
        try:
            version = Version(clause.version)
        except InvalidVersion:
            rest.append(str(clause))
            continue
        if clause.operator in (">=", ">") and (not lower or version > lower["v"]):
            lower = {"v": version, "s": str(clause)}
        elif clause.operator in ("<", "<=") and (not upper or version < upper["v"]):
            upper = {"v": version, "s": str(clause)}
        elif clause.operator not in (">=", ">", "<", "<="):
            rest.append(str(clause))
    parts = [p["s"] for p in (upper, lower) if p] + rest
    try:
        return SpecifierSet(",".join(parts))
    except InvalidSpecifier:
        return specifier


def declarers(ev: Evidence) -> set[str]:
    """The distributions whose requirements count: the profile's and TensorFlow's."""
    return {p.name for p in ev.profile.packages} | set(TENSORFLOW_DISTRIBUTIONS)


def declared_range(ev: Evidence, dependency: str) -> SpecifierSet:
    """The range of ``dependency`` that the profile's distributions all accept, without redundant bounds."""
    specifier = SpecifierSet()
    for name in declarers(ev):
        for requirement in applying_requirements(ev.distributions.get(name), ev.markers):
            if canonicalize_name(requirement.name) == dependency:
                specifier &= requirement.specifier
    return tightest(specifier)


def wanted_range(ev: Evidence, name: str) -> SpecifierSet:
    """The versions of ``name`` the profile and the installed distributions that declare it all accept."""
    specifier = declared_range(ev, canonicalize_name(name))
    package = ev.profile.package(name)
    if package is not None:
        for requirement in applicable_requirements(ev, package):
            specifier &= requirement.specifier
    return tightest(specifier)


def wanted(ev: Evidence, package: Package) -> str:
    """What to install for a package of the profile: its requirement, in the range everything here accepts."""
    requirements = applicable_requirements(ev, package)
    if not requirements:
        return package.name
    first = requirements[0]
    extras = f"[{','.join(sorted(first.extras))}]" if first.extras else ""
    return f"{first.name}{extras}{wanted_range(ev, package.name)}"


def with_range(ev: Evidence, requirement: Requirement) -> str:
    """A requirement someone asked for (pip check's), narrowed to what the installed distributions accept."""
    specifier = tightest(requirement.specifier & declared_range(ev, canonicalize_name(requirement.name)))
    extras = f"[{','.join(sorted(requirement.extras))}]" if requirement.extras else ""
    return f"{requirement.name}{extras}{specifier}"
