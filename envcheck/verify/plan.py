"""One cause, one fix: which findings another finding explains, and the fix plan that repairs them.

A pure pass over the checklist's results, run after ``evaluate``, that reads only what each check declared in
its remedy (``envcheck.verify.remedy``). A finding whose ``explained_by`` names a finding that is a problem
(warn or fail) is a symptom: it is marked ``caused_by`` the root causes behind it (followed to the end) and loses
its own hint. The root causes' remedies become the plan: the shortest ordered list of commands, one
``pip install`` for every requirement they need (uninstalls first), each step with the findings it resolves
and whether it changes only the environment or something outside it (the user's shell, their home, a driver).
Nothing here runs anything: ``envcheck.verify.fix`` runs the environment's steps.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from envcheck import shell
from envcheck.results import CheckResult, Status
from envcheck.verify.checks.common import requirement_text
from envcheck.verify.checks.ranges import tightest
from envcheck.verify.evidence import Evidence
from envcheck.verify.remedy import Command, Remedy, Scope, externally_managed, pip_argv, remedy_of, setup_instead

__all__ = ["Diagnosis", "Scope", "Step", "diagnose", "merge_requirements"]

PROBLEMS = (Status.FAIL, Status.WARN)


@dataclass(frozen=True)
class Step:
    """One command of the fix plan and the findings it resolves."""

    argv: tuple[str, ...]
    resolves: tuple[str, ...]
    scope: Scope

    def text(self, platform: str = "linux") -> str:
        return shell.join(self.argv, platform=platform)

    def to_json(self) -> dict[str, Any]:
        return {"argv": list(self.argv), "resolves": list(self.resolves), "scope": self.scope.value}


@dataclass(frozen=True)
class Diagnosis:
    """The checklist with each symptom marked by its causes, the plan, and the problems no command repairs."""

    checks: tuple[CheckResult, ...]
    plan: tuple[Step, ...] = ()
    unplanned: tuple[str, ...] = ()  # root causes whose remedy is advice rather than a command

    def to_json(self) -> list[dict[str, Any]]:
        return [s.to_json() for s in self.plan]


@dataclass(frozen=True)
class _Finding:
    causes: tuple[str, ...] = ()  # the problems that explain it (not yet followed to the roots)
    remedy: Remedy | None = None  # its own fix, for a root cause


# ---------------------------------------------------------------------------------------------- diagnose


def diagnose(ev: Evidence, results: Iterable[CheckResult]) -> Diagnosis:
    """Mark every symptom with its root causes and plan the commands that fix the root causes."""
    checks = list(results)
    problems = {r.id for r in checks if r.status in PROBLEMS}
    findings = {r.id: f for r in checks if r.status is not Status.PASS and (f := _finding(r, problems)) is not None}
    roots = {cid: _roots(cid, findings, set()) for cid in findings}
    order = {r.id: n for n, r in enumerate(checks)}
    marked = []
    for r in checks:
        causes = tuple(sorted((c for c in roots.get(r.id, ()) if c != r.id), key=lambda c: order.get(c, 0)))
        marked.append(replace(r, caused_by=causes, hint=None) if causes else r)
    remedies = {cid: f.remedy for cid, f in findings.items() if not f.causes and f.remedy is not None}
    symptoms: dict[str, list[str]] = {}
    for cid, ids in roots.items():
        for root in ids:
            if root != cid:
                symptoms.setdefault(root, []).append(cid)
    plan = _plan(ev, remedies, symptoms, order)
    unplanned = tuple(
        r.id for r in checks if r.status in PROBLEMS and r.id not in remedies and not roots.get(r.id, set()) - {r.id}
    )
    return Diagnosis(tuple(marked), plan, unplanned)


def _finding(r: CheckResult, problems: set[str]) -> _Finding | None:
    """What one finding's remedy says, given which findings are problems: its causes, or its own fix."""
    remedy = remedy_of(r) or Remedy()
    causes = _problems_among(remedy.explained_by, problems, r.id)
    if causes:
        return _Finding(causes=causes)
    if r.status not in PROBLEMS:
        return None
    # an action another finding's fix covers is left to it; when that covers them all, it explains this one
    kept = tuple(a for a in remedy.pip if not _problems_among(a.explained_by, problems, r.id))
    if remedy.pip and not kept and not remedy.commands:
        covering = (c for a in remedy.pip for c in _problems_among(a.explained_by, problems, r.id))
        return _Finding(causes=tuple(dict.fromkeys(covering)))
    if not kept and not remedy.commands:
        return _Finding()  # advice: a root cause no command repairs
    return _Finding(remedy=replace(remedy, pip=kept))


def _problems_among(ids: Iterable[str], problems: set[str], own: str) -> tuple[str, ...]:
    return tuple(c for c in ids if c in problems and c != own)


def _roots(cid: str, findings: Mapping[str, _Finding], seen: set[str]) -> set[str]:
    found = findings.get(cid)
    if found is None or not found.causes or cid in seen:
        return {cid}
    seen = seen | {cid}
    out: set[str] = set()
    for cause in found.causes:
        out |= _roots(cause, findings, seen)
    return out


# ---------------------------------------------------------------------------------------------- the plan


def merge_requirements(texts: Iterable[str]) -> list[str]:
    """One requirement per distribution: their version ranges intersected, their extras joined, first seen first."""
    merged: dict[str, Requirement] = {}
    plain: list[str] = []
    for text in texts:
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            if text not in plain:
                plain.append(text)
            continue
        key = canonicalize_name(requirement.name)
        if key in merged:
            earlier = merged[key]
            earlier.specifier = tightest(earlier.specifier & requirement.specifier)
            earlier.extras |= requirement.extras
        else:
            merged[key] = requirement
    return [requirement_text(r) for r in merged.values()] + plain


_PIP_ORDER = (("uninstall", ()), ("install", ()), ("install", ("--upgrade",)), ("install", ("--force-reinstall",)))


def _plan(
    ev: Evidence, remedies: Mapping[str, Remedy], symptoms: Mapping[str, list[str]], order: Mapping[str, int]
) -> tuple[Step, ...]:
    """Merge the root causes' remedies into the fewest commands: uninstalls, one install per kind, then the rest.

    An install that another step's pinned install of the same distribution satisfies (pip check asks for
    ``pygments``, the lock's repair installs ``pygments==2.19.1``) is left to that step, which then resolves
    its finding too: one distribution is installed once, at the version the stricter step wants.
    """
    pip: dict[tuple[str, tuple[str, ...]], list[tuple[str, str]]] = {}  # (verb, flags) -> [(name, finding)]
    commands: dict[Command, set[str]] = {}
    for cid, remedy in remedies.items():
        for action in remedy.pip:
            entries = pip.setdefault((action.verb, action.flags), [])
            entries.extend((name, cid) for name in action.names)
        for command in remedy.commands:
            commands.setdefault(command, set()).add(cid)
    _fold_into_pins(pip)

    def resolves(roots: set[str]) -> tuple[str, ...]:
        found = set(roots)
        for root in roots:
            found.update(symptoms.get(root, ()))
        return tuple(sorted(found, key=lambda c: order.get(c, len(order))))

    keys = sorted(pip, key=lambda k: _PIP_ORDER.index(k) if k in _PIP_ORDER else len(_PIP_ORDER))
    steps: list[Step] = []
    if pip and externally_managed(ev):
        # pip refuses a PEP 668 python: the fix is an environment of its own, made by setup, as the hints say
        every = {cid for entries in pip.values() for _, cid in entries}
        steps.append(Step(setup_instead(ev), resolves(every), Scope.OUTSIDE))
        keys = []
    for verb, flags in keys:
        entries = pip[(verb, flags)]
        if not any(name for name, _ in entries):
            continue
        names = [name for name, _ in entries if name]
        unique = merge_requirements(names) if verb == "install" else list(dict.fromkeys(names))
        resolved = {cid for _, cid in entries}
        steps.append(Step(pip_argv(ev, verb, flags, unique), resolves(resolved), Scope.ENVIRONMENT))
    for scope in (Scope.ENVIRONMENT, Scope.OUTSIDE):
        for command, resolved in commands.items():
            if command.scope is scope:
                steps.append(Step(command.argv, resolves(resolved), scope))
    return tuple(steps)


def _fold_into_pins(pip: dict[tuple[str, tuple[str, ...]], list[tuple[str, str]]]) -> None:
    """Hand each install whose range a pinned install (``name==version``) in another step satisfies over to that
    step: its name leaves its own step (an empty name stays behind, to drop the step), its finding joins."""
    pins: dict[str, tuple[tuple[str, tuple[str, ...]], str]] = {}
    for key, entries in pip.items():
        if key[0] != "install":
            continue
        for name, _ in entries:
            requirement = _requirement(name)
            pinned = _pinned_version(requirement)
            if requirement is not None and pinned is not None:
                pins.setdefault(canonicalize_name(requirement.name), (key, pinned))
    for key, entries in pip.items():
        if key[0] != "install":
            continue
        for index, (name, cid) in enumerate(entries):
            requirement = _requirement(name)
            if requirement is None or requirement.url:
                continue
            pin = pins.get(canonicalize_name(requirement.name))
            if pin is None or pin[0] == key or not requirement.specifier.contains(pin[1], prereleases=True):
                continue
            entries[index] = ("", cid)
            pip[pin[0]].append(("", cid))


def _requirement(text: str) -> Requirement | None:
    try:
        return Requirement(text)
    except InvalidRequirement:
        return None


def _pinned_version(requirement: Requirement | None) -> str | None:
    if requirement is None or requirement.url or len(requirement.specifier) != 1:
        return None
    (spec,) = requirement.specifier
    return spec.version if spec.operator in ("==", "===") and "*" not in spec.version else None
