"""One cause, one fix: which findings another finding explains, and the fix plan that repairs them.

A pure pass over the checklist's results and the evidence, run after ``evaluate``. A finding explained by
another (an import failing because numpy is missing or too old, a version conflict, KERAS_BACKEND, ...) is
marked ``caused_by`` its root cause and loses its own hint; the root causes' fixes become the plan: the
shortest ordered list of commands, one ``pip install`` for every requirement it needs, each step with the
findings it resolves and whether it changes only the environment or something outside it (the user's shell,
their home, a driver). Nothing here runs anything: ``envcheck.verify.fix`` runs the environment's steps.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from envcheck import shell
from envcheck.kernels import install_argv, kernel_name
from envcheck.profiles.profile import TENSORFLOW_DISTRIBUTIONS, Package
from envcheck.results import CheckResult, Status
from envcheck.verify.checks.common import (
    applicable_requirements,
    externally_managed,
    kernel_install,
    pip_argv,
    pip_install,
    requirement_text,
    tf_requirement,
    tf_version,
    unset_command,
)
from envcheck.verify.checks.compatibility import (
    LEGACY_VALUES,
    NUMPY_ABI_PATTERNS,
    PROTOBUF_PATTERNS,
    _combined,
    tightest,
)
from envcheck.verify.checks.environ import variable_check_id
from envcheck.verify.checks.packages import parse_pip_check
from envcheck.verify.evidence import LOADING_VARIABLES, Evidence, as_version

PROBLEMS = (Status.FAIL, Status.WARN)
_MISSING = re.compile(r"No module named '([^']+)'")


class Scope(str, Enum):
    """What a step of the plan changes."""

    ENVIRONMENT = "environment"  # only the environment's own packages: `verify --fix` runs these
    OUTSIDE = "outside"  # the user's shell, their home, a driver: printed, never run by envcheck


@dataclass(frozen=True)
class PipAction:
    """Part of a finding's fix that the plan merges with the others': pip install or uninstall."""

    verb: str  # "install" or "uninstall"
    flags: tuple[str, ...]
    names: tuple[str, ...]  # requirements for install, distribution names for uninstall


@dataclass(frozen=True)
class Remedy:
    """One root cause's own fix."""

    pip: tuple[PipAction, ...] = ()
    commands: tuple[tuple[tuple[str, ...], Scope], ...] = ()


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
    unplanned: tuple[str, ...] = ()  # root causes whose hint is advice rather than one command

    def to_json(self) -> list[dict[str, Any]]:
        return [s.to_json() for s in self.plan]


@dataclass(frozen=True)
class _Finding:
    causes: tuple[str, ...] = ()
    remedy: Remedy | None = None


_NOTHING = _Finding()


# ---------------------------------------------------------------------------------------------- diagnose


def diagnose(ev: Evidence, results: Iterable[CheckResult]) -> Diagnosis:
    """Mark every symptom with its root causes and plan the commands that fix the root causes."""
    checks = list(results)
    by_id = {r.id: r for r in checks}
    explained: dict[str, _Finding] = {}
    for r in checks:
        if r.status is Status.PASS:
            continue
        found = _explain(ev, r, _Problems(by_id))
        if found.causes and found.remedy is None:
            explained[r.id] = found
        elif r.status in PROBLEMS:
            explained[r.id] = _Finding(remedy=found.remedy)
    roots = {cid: _roots(cid, explained, set()) for cid in explained}
    order = {r.id: n for n, r in enumerate(checks)}
    marked = []
    for r in checks:
        causes = tuple(sorted((c for c in roots.get(r.id, ()) if c != r.id), key=lambda c: order.get(c, 0)))
        marked.append(replace(r, caused_by=causes, hint=None) if causes else r)
    remedies = {cid: f.remedy for cid, f in explained.items() if not f.causes and f.remedy is not None}
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


def _roots(cid: str, explained: Mapping[str, _Finding], seen: set[str]) -> set[str]:
    found = explained.get(cid)
    if found is None or not found.causes or cid in seen:
        return {cid}
    seen = seen | {cid}
    out: set[str] = set()
    for cause in found.causes:
        out |= _roots(cause, explained, seen)
    return out


@dataclass(frozen=True)
class _Problems:
    """The checklist, asked whether a finding is a problem (warn or fail)."""

    by_id: Mapping[str, CheckResult] = field(default_factory=dict)

    def __call__(self, cid: str) -> bool:
        found = self.by_id.get(cid)
        return found is not None and found.status in PROBLEMS


# ---------------------------------------------------------------------------------------------- the rules


def _explain(ev: Evidence, r: CheckResult, problem: _Problems) -> _Finding:
    """The causes of one finding, or its own remedy."""
    cid = r.id
    parts = cid.split(".")
    if len(parts) == 3 and parts[0] == "package":
        package = ev.profile.package(parts[1])
        if package is not None and parts[2] == "import":
            return _import(ev, r, package, problem)
        if package is not None and parts[2] == "version":
            return _version(ev, r, package, problem)
    rule = _RULES.get(cid)
    if rule is not None:
        found = rule(ev, r, problem)
        if found is not _NOTHING:
            return found
    if parts[0] == "work":
        found = _work(ev, r, problem)
        if found is not _NOTHING:
            return found
    if parts[0] == "environ" and r.status in PROBLEMS:
        variable = next((v for v in (*LOADING_VARIABLES, *ev.shell) if variable_check_id(v) == cid), None)
        if variable is not None:
            return _Finding(remedy=Remedy(commands=((_unset_argv(ev, variable), Scope.OUTSIDE),)))
    return _from_hint(ev, r, problem)


def _import(ev: Evidence, r: CheckResult, package: Package, problem: _Problems) -> _Finding:
    name = package.import_name or package.name
    fault = ev.fault_at(f"import {name}")
    if fault is not None:
        return _Finding(causes=("cpu.avx",)) if fault.signal == "SIGILL" and problem("cpu.avx") else _NOTHING
    if r.status is not Status.FAIL:
        return _NOTHING
    found = ev.imports.get(name) or {}
    text = str(found.get("error", ""))
    if name == "keras" and problem("environ.keras-backend"):
        return _Finding(causes=("environ.keras-backend",))
    if any(p in text for p in NUMPY_ABI_PATTERNS) and problem("compat.numpy-abi"):
        return _Finding(causes=("compat.numpy-abi",))
    if any(p in text for p in PROTOBUF_PATTERNS) and problem("compat.protobuf"):
        return _Finding(causes=("compat.protobuf",))
    missing = list(dict.fromkeys(m.split(".")[0] for m in _MISSING.findall(text)))
    if not missing:
        # "Unable to import required dependency numpy": a dependency pip check names, named in the error
        named = [n for n in sorted(_pip_check_names(problem)) if re.search(rf"\b{re.escape(n)}\b", text)]
        if named:
            return _Finding(causes=("packages.pip-check",))
        return _Finding(remedy=_install(ev, [_wanted(ev, package)], flags=("--force-reinstall",)))
    causes: list[str] = []
    wanted: list[str] = []
    for module in missing:
        owner = next((p for p in ev.profile.packages if (p.import_name or "").split(".")[0] == module), None)
        if owner is None and module in _pip_check_names(problem):
            causes.append("packages.pip-check")  # "tensorflow requires numpy, which is not installed"
        elif owner is None:
            wanted.append(module)  # not in the profile: the module's own name, as the hint says
        elif owner.name != package.name and problem(f"package.{owner.name}.import"):
            causes.append(f"package.{owner.name}.import")
        else:
            wanted.append(_wanted(ev, owner))
    if wanted:
        return _Finding(remedy=_install(ev, wanted))
    return _Finding(causes=tuple(causes))


def _pip_check_names(problem: _Problems) -> set[str]:
    """The distributions `pip check` found missing or out of range, as canonical names."""
    found = problem.by_id.get("packages.pip-check")
    if found is None or found.status not in PROBLEMS:
        return set()
    names: set[str] = set()
    for item in parse_pip_check("\n".join(str(line) for line in found.data.get("problems") or ())):
        try:
            names.add(canonicalize_name(Requirement(item.get("req", "")).name))
        except InvalidRequirement:
            continue
    return names


def _version(ev: Evidence, r: CheckResult, package: Package, problem: _Problems) -> _Finding:
    if r.status is Status.SKIP:
        return (
            _Finding(causes=(f"package.{package.name}.import",))
            if problem(f"package.{package.name}.import")
            else _NOTHING
        )
    for name, root in (("numpy", "compat.numpy-abi"), ("protobuf", "compat.protobuf")):
        if package.name == name and problem(root):
            return _Finding(causes=(root,))
    return _Finding(remedy=_install(ev, [_wanted(ev, package)]))


def _pip_check(ev: Evidence, r: CheckResult, problem: _Problems) -> _Finding:
    if r.status is Status.WARN and not (ev.pip_check and ev.pip_check.timed_out):
        return _Finding(remedy=Remedy(commands=(((ev.python, "-m", "ensurepip", "--upgrade"), Scope.ENVIRONMENT),)))
    lines = r.data.get("problems") or []
    problems = parse_pip_check("\n".join(str(line) for line in lines))
    if not problems:
        return _NOTHING
    causes: list[str] = []
    wanted: list[str] = []
    broken: list[str] = []
    for item in problems:
        if "broken" in item:
            broken.append(item["broken"])
            continue
        try:
            requirement = Requirement(item["req"])
        except InvalidRequirement:
            return _NOTHING  # a line envcheck cannot act on: the hint says how to see the whole report
        name = canonicalize_name(requirement.name)
        root = {"numpy": "compat.numpy-abi", "protobuf": "compat.protobuf"}.get(name)
        if root is not None and problem(root):
            causes.append(root)
        elif problem(f"package.{name}.import"):
            causes.append(f"package.{name}.import")
        elif problem(f"package.{name}.version"):
            causes.append(f"package.{name}.version")
        else:
            wanted.append(_with_range(ev, requirement))
    if wanted or broken:
        actions = _install(ev, wanted).pip if wanted else ()
        if broken:
            actions += _install(ev, broken, flags=("--force-reinstall",)).pip
        return _Finding(remedy=Remedy(pip=actions))
    return _Finding(causes=tuple(dict.fromkeys(causes)))


def _single_tensorflow(ev: Evidence, r: CheckResult, problem: _Problems) -> _Finding:
    installed = r.data.get("installed")
    if not installed:
        if problem("package.tensorflow.import"):
            return _Finding(causes=("package.tensorflow.import",))
        return _Finding(remedy=_install(ev, [tf_requirement(ev)]))
    every = [n for n in TENSORFLOW_DISTRIBUTIONS if n in ev.distributions]
    uninstall = PipAction("uninstall", (), tuple(every))
    reinstall = _install(ev, [tf_requirement(ev)], flags=("--force-reinstall",)).pip
    return _Finding(remedy=Remedy(pip=(uninstall, *reinstall)))


def _user_site(ev: Evidence, r: CheckResult, problem: _Problems) -> _Finding:
    shadowing = r.data.get("shadowing")
    if shadowing:
        # the user's own copy lives in their home: removing it is theirs to do
        argv = _pip_argv(ev, "uninstall", (), tuple(shadowing))
        return _Finding(remedy=Remedy(commands=((argv, Scope.OUTSIDE),)))
    return _from_hint(ev, r, problem)


def _numpy_abi(ev: Evidence, r: CheckResult, problem: _Problems) -> _Finding:
    if r.status is Status.SKIP:
        return _Finding(causes=("package.numpy.import",)) if problem("package.numpy.import") else _NOTHING
    wanted = _range(ev, "numpy")
    if str(wanted):
        return _Finding(remedy=_install(ev, [f"numpy{wanted}"]))
    numpy = ev.version_of("numpy")
    if numpy is not None and numpy.major >= 2:
        return _Finding(remedy=_install(ev, ["numpy<2"]))
    return _Finding(remedy=_install(ev, ["numpy"], flags=("--upgrade",)))


def _protobuf(ev: Evidence, r: CheckResult, problem: _Problems) -> _Finding:
    if r.status is Status.SKIP:
        return _NOTHING
    wanted = _range(ev, "protobuf")
    if str(wanted):
        return _Finding(remedy=_install(ev, [f"protobuf{wanted}"]))
    return _Finding(remedy=_install(ev, ["protobuf"], flags=("--upgrade",)))


def _keras_flavour(ev: Evidence, r: CheckResult, problem: _Problems) -> _Finding:
    tf = tf_version(ev)
    keras = as_version(ev.facts("keras").get("version")) or ev.version_of("keras")
    legacy = (ev.probe.get("environ") or {}).get("TF_USE_LEGACY_KERAS") in LEGACY_VALUES
    if tf is None:
        return _NOTHING
    if tf.release < (2, 16):
        wanted = tf_requirement(ev)
        return _Finding(remedy=_install(ev, [wanted if wanted != "tensorflow" else "tensorflow>=2.16"]))
    if legacy:
        tf_keras = ev.version_of("tf-keras")
        if tf_keras is None and problem("environ.tf-use-legacy-keras"):
            return _Finding(causes=("environ.tf-use-legacy-keras",))
        if tf_keras is not None and (tf_keras.major, tf_keras.minor) != (tf.major, tf.minor):
            return _Finding(remedy=_install(ev, [f"tf-keras~={tf.major}.{tf.minor}.0"]))
        return _Finding(remedy=Remedy(commands=((_unset_argv(ev, "TF_USE_LEGACY_KERAS"), Scope.OUTSIDE),)))
    if keras is None and problem("package.keras.import"):
        return _Finding(causes=("package.keras.import",))
    return _Finding(remedy=_install(ev, ["keras>=3.0"]))


def _keras_backend(ev: Evidence, r: CheckResult, problem: _Problems) -> _Finding:
    if r.status is Status.SKIP:
        return _Finding(causes=("package.keras.import",)) if problem("package.keras.import") else _NOTHING
    if (ev.probe.get("environ") or {}).get("KERAS_BACKEND"):
        if problem("environ.keras-backend"):
            return _Finding(causes=("environ.keras-backend",))
        return _Finding(remedy=Remedy(commands=((_unset_argv(ev, "KERAS_BACKEND"), Scope.OUTSIDE),)))
    return _NOTHING  # keras.json names another backend: the hint says which line to change


def _device(ev: Evidence, r: CheckResult, problem: _Problems) -> _Finding:
    if not (ev.imports.get("tensorflow") or {}).get("ok") and problem("package.tensorflow.import"):
        return _Finding(causes=("package.tensorflow.import",))
    return _from_hint(ev, r, problem)


def _work(ev: Evidence, r: CheckResult, problem: _Problems) -> _Finding:
    owner = "tensorflow" if r.id == "work.matmul" else r.id.split(".", 1)[1]
    if r.status is Status.SKIP:
        return _Finding(causes=(f"package.{owner}.import",)) if problem(f"package.{owner}.import") else _NOTHING
    key = {"tensorflow": "matmul", "scikit-learn": "sklearn"}.get(owner, owner)
    text = str((ev.work(key) or {}).get("error", ""))
    if any(p in text for p in NUMPY_ABI_PATTERNS) and problem("compat.numpy-abi"):
        return _Finding(causes=("compat.numpy-abi",))
    return _NOTHING


def _kernelspec(ev: Evidence, r: CheckResult, problem: _Problems) -> _Finding:
    if (ev.kernel or {}).get("jupyter_client_error") and problem("package.ipykernel.import"):
        return _Finding(causes=("package.ipykernel.import",))
    return _from_hint(ev, r, problem)


def _kernel_start(ev: Evidence, r: CheckResult, problem: _Problems) -> _Finding:
    if problem("jupyter.kernelspec") and (r.status is Status.SKIP or not (ev.kernel or {}).get("start_error")):
        return _Finding(causes=("jupyter.kernelspec",))
    return _from_hint(ev, r, problem)


_RULES = {
    "packages.pip-check": _pip_check,
    "tensorflow.single-distribution": _single_tensorflow,
    "packages.user-site": _user_site,
    "compat.numpy-abi": _numpy_abi,
    "compat.protobuf": _protobuf,
    "keras.flavour": _keras_flavour,
    "keras.backend": _keras_backend,
    "device.tensorflow": _device,
    "jupyter.kernelspec": _kernelspec,
    "jupyter.kernel-start": _kernel_start,
}


def _from_hint(ev: Evidence, r: CheckResult, problem: _Problems) -> _Finding:
    """A finding without a rule of its own: its hint, when it is exactly one command envcheck knows how to build."""
    hint = r.hint
    if not hint or r.status not in PROBLEMS:
        return _NOTHING
    for variable in (*LOADING_VARIABLES, *ev.shell):
        if hint == unset_command(ev, variable):
            if problem(variable_check_id(variable)) and variable_check_id(variable) != r.id:
                return _Finding(causes=(variable_check_id(variable),))
            return _Finding(remedy=Remedy(commands=((_unset_argv(ev, variable), Scope.OUTSIDE),)))
    name = kernel_name(ev.profile, recorded=ev.kernel_name, prefix=ev.env.prefix)
    if hint == kernel_install(ev):
        # `ipykernel install --user` writes the kernelspec into the user's home
        return _Finding(remedy=Remedy(commands=((install_argv(ev.python, name), Scope.OUTSIDE),)))
    try:
        words = shlex.split(hint, posix=ev.platform != "win32")
    except ValueError:
        return _NOTHING
    head = list(_pip_argv(ev, "install", (), ()))
    if words[: len(head)] != head:
        return _NOTHING
    rest = words[len(head) :]
    flags = tuple(w for w in rest if w.startswith("--"))
    names = [w for w in rest if not w.startswith("--")]
    # only a hint that is exactly envcheck's own install command, nothing after it
    if not names or pip_install(ev, *names, flags=flags) != hint:
        return _NOTHING
    return _Finding(remedy=_install(ev, names, flags=flags))


# ---------------------------------------------------------------------------------------------- requirements


def _range(ev: Evidence, name: str) -> SpecifierSet:
    """The versions of ``name`` the profile and the installed distributions that declare it all accept."""
    specifier = _combined(ev, canonicalize_name(name))
    package = ev.profile.package(name)
    if package is not None:
        for requirement in applicable_requirements(ev, package):
            specifier &= requirement.specifier
    return tightest(specifier)


def _wanted(ev: Evidence, package: Package) -> str:
    requirements = applicable_requirements(ev, package)
    if not requirements:
        return package.name
    first = requirements[0]
    extras = f"[{','.join(sorted(first.extras))}]" if first.extras else ""
    return f"{first.name}{extras}{_range(ev, package.name)}"


def _with_range(ev: Evidence, requirement: Requirement) -> str:
    specifier = tightest(requirement.specifier & _combined(ev, canonicalize_name(requirement.name)))
    extras = f"[{','.join(sorted(requirement.extras))}]" if requirement.extras else ""
    return f"{requirement.name}{extras}{specifier}"


def _install(ev: Evidence, requirements: Iterable[str], flags: tuple[str, ...] = ()) -> Remedy:
    return Remedy(pip=(PipAction("install", flags, tuple(requirements)),))


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


# ---------------------------------------------------------------------------------------------- the plan


def _pip_argv(ev: Evidence, verb: str, flags: tuple[str, ...], names: tuple[str, ...]) -> tuple[str, ...]:
    """The same command ``pip_install`` and ``pip_uninstall`` print, as an argument list."""
    return tuple(pip_argv(ev, verb, *flags, *names))


def _unset_argv(ev: Evidence, variable: str) -> tuple[str, ...]:
    return ("set", f"{variable}=") if ev.platform == "win32" else ("unset", variable)


_PIP_ORDER = (("uninstall", ()), ("install", ()), ("install", ("--upgrade",)), ("install", ("--force-reinstall",)))


def _plan(
    ev: Evidence, remedies: Mapping[str, Remedy], symptoms: Mapping[str, list[str]], order: Mapping[str, int]
) -> tuple[Step, ...]:
    """Merge the root causes' remedies into the fewest commands: uninstalls, one install per kind, then the rest."""
    pip: dict[tuple[str, tuple[str, ...]], tuple[list[str], set[str]]] = {}
    commands: dict[tuple[tuple[str, ...], Scope], set[str]] = {}
    for cid, remedy in remedies.items():
        for action in remedy.pip:
            names, resolved = pip.setdefault((action.verb, action.flags), ([], set()))
            names.extend(action.names)
            resolved.add(cid)
        for argv, scope in remedy.commands:
            commands.setdefault((argv, scope), set()).add(cid)

    def resolves(roots: set[str]) -> tuple[str, ...]:
        found = set(roots)
        for root in roots:
            found.update(symptoms.get(root, ()))
        return tuple(sorted(found, key=lambda c: order.get(c, len(order))))

    keys = sorted(pip, key=lambda k: _PIP_ORDER.index(k) if k in _PIP_ORDER else len(_PIP_ORDER))
    steps: list[Step] = []
    if pip and externally_managed(ev):
        # pip refuses a PEP 668 python: the fix is an environment of its own, made by setup, as the hints say
        every = set().union(*(resolved for _, resolved in pip.values()))
        steps.append(Step(("envcheck", "setup", *ev.profile_args), resolves(every), Scope.OUTSIDE))
        keys = []
    for verb, flags in keys:
        names, resolved = pip[(verb, flags)]
        unique = merge_requirements(names) if verb == "install" else list(dict.fromkeys(names))
        steps.append(Step(_pip_argv(ev, verb, flags, tuple(unique)), resolves(resolved), Scope.ENVIRONMENT))
    for scope in (Scope.ENVIRONMENT, Scope.OUTSIDE):
        for (argv, where), resolved in commands.items():
            if where is scope:
                steps.append(Step(argv, resolves(resolved), scope))
    return tuple(steps)
