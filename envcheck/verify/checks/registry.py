"""The one registry of verify's checks: each rule with the id it reports, its group, its place, and what it needs.

A rule is declared with ``@check(...)`` in the module of its group; ``registered()`` lists them in checklist
order (the groups in ``GROUPS`` order, then ``order`` within a group), which is the order verify prints.
"""

from __future__ import annotations

import dataclasses
import fnmatch
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from envcheck.results import CheckResult, Status
from envcheck.verify.evidence import Evidence
from envcheck.verify.remedy import remedy_of, render_hint

# The checklist's groups, in the order verify prints them; a module of the package per group.
INTERPRETER = "Interpreter"
PACKAGES = "Packages"
COMPATIBILITY = "Compatibility"
DEVICE = "Device"
WORK = "Work"
JUPYTER = "Jupyter"
ENVIRONMENT_VARIABLES = "Environment variables"
CONDA = "Conda"
GROUPS: tuple[str, ...] = (INTERPRETER, PACKAGES, COMPATIBILITY, DEVICE, WORK, JUPYTER, ENVIRONMENT_VARIABLES, CONDA)
OTHER = "Other"  # the heading of an id no rule declares

# What a rule may need of the evidence; a rule whose needs are not met is not run and reports nothing.
NEEDS: Mapping[str, Callable[[Evidence], bool]] = {
    "conda": lambda ev: ev.conda is not None,  # the target is a conda prefix (conda-meta/ exists)
    "lock": lambda ev: ev.lock is not None,  # a lock was named (--lock) or recorded by setup
}

Outcome = CheckResult | list[CheckResult] | None
Rule = Callable[[Evidence], Outcome]
R = TypeVar("R", bound=Rule)


@dataclass(frozen=True)
class Check:
    """One registered rule."""

    id: str  # the id it reports, or a pattern ("package.*.import") for a rule that reports one result per item
    group: str
    order: int  # its place within the group
    rule: Rule
    needs: tuple[str, ...] = ()

    def applies(self, ev: Evidence) -> bool:
        return all(NEEDS[need](ev) for need in self.needs)

    def matches(self, check_id: str) -> bool:
        return fnmatch.fnmatchcase(check_id, self.id)


_REGISTRY: list[Check] = []


def check(check_id: str, *, group: str, order: int, needs: tuple[str, ...] = ()) -> Callable[[R], R]:
    """Register a rule (a pure function of ``Evidence`` returning a result, a list of them, or None)."""
    if group not in GROUPS:
        raise ValueError(f"unknown group {group!r} for {check_id}: choose one of {', '.join(GROUPS)}")
    unknown = [n for n in needs if n not in NEEDS]
    if unknown:
        raise ValueError(f"unknown needs {unknown} for {check_id}: choose from {', '.join(NEEDS)}")

    def register(rule: R) -> R:
        if any(c.id == check_id for c in _REGISTRY):
            raise ValueError(f"check {check_id!r} is registered twice")
        _REGISTRY.append(Check(check_id, group, order, rule, needs))
        return rule

    return register


def registered() -> tuple[Check, ...]:
    """Every registered check, in checklist order."""
    return tuple(sorted(_REGISTRY, key=lambda c: (GROUPS.index(c.group), c.order)))


def evaluate(ev: Evidence) -> list[CheckResult]:
    """Every rule whose needs are met, applied to the evidence in checklist order; each warning and failure
    with its hint, rendered from its remedy for the target's platform."""
    results: list[CheckResult] = []
    for entry in registered():
        if not entry.applies(ev):
            continue
        outcome = entry.rule(ev)
        if outcome is None:
            continue
        results.extend(_with_hint(ev, r) for r in (outcome if isinstance(outcome, list) else [outcome]))
    return results


def _with_hint(ev: Evidence, found: CheckResult) -> CheckResult:
    remedy = remedy_of(found)
    if remedy is None or found.status not in (Status.WARN, Status.FAIL):
        return found
    return dataclasses.replace(found, hint=render_hint(ev, remedy))


def group_of(check_id: str) -> str:
    """The checklist heading of a result's id, from the rule that declares it."""
    checks = registered()
    for entry in checks:
        if entry.matches(check_id):
            return entry.group
    # an id no rule declares exactly (a newer envcheck's JSON) goes with the rules of its family
    family = check_id.split(".", 1)[0] + "."
    return next((c.group for c in checks if c.id.startswith(family)), OTHER)
