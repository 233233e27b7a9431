"""Package checks: each package imports and has a wanted version; pip check; one TensorFlow; user site-packages
(the lock check is in ``lock``)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from envcheck.locations import uv_command
from envcheck.probes import registers_twice
from envcheck.profiles.profile import TENSORFLOW_DISTRIBUTIONS, Package
from envcheck.results import CheckResult, Status
from envcheck.verify.answers import ImportResult
from envcheck.verify.checks.common import (
    applicable_requirements,
    applying_requirements,
    command,
    crash_hint,
    first_line,
    import_result,
    inside,
    interaction_hint,
    result,
    tf_requirement,
)
from envcheck.verify.checks.compatibility import (
    NUMPY_ABI_PATTERNS,
    PROTOBUF_PATTERNS,
    numpy_1_build_broken,
    numpy_fix,
    pkg_resources_fix,
    protobuf_fix,
)
from envcheck.verify.checks.device import platform_import_fix
from envcheck.verify.checks.pipcheck import ROOTS, parse_pip_check, pip_check_actions, pip_check_names
from envcheck.verify.checks.ranges import wanted
from envcheck.verify.checks.registry import PACKAGES, check
from envcheck.verify.evidence import Evidence
from envcheck.verify.remedy import (
    Finding,
    PipAction,
    Remedy,
    Scope,
    advice,
    explained,
    install,
    pip_argv,
    run,
    uninstall,
)

_MISSING = re.compile(r"No module named '([^']+)'")

# A package with no PEP 508 name (conda's _libgcc_mutex, _openmp_mutex): conda installs it, pip knows nothing of it.
CONDA_ONLY = "a conda-only package: no Python distribution to import or compare"


def _not_applicable(package: Package, requirements: Sequence[Requirement]) -> str | None:
    """Why a package's own checks do not apply here, or None when they do."""
    if not package.requirements:
        return CONDA_ONLY
    if not requirements:
        return "not needed on this platform"
    return None


@check("package.*.import", group=PACKAGES, order=10)
def check_package_imports(ev: Evidence) -> list[CheckResult]:
    """Each package of the profile imports in the environment (`package.tensorflow.import`, ...),
    with its version and import time. A package the platform does not get (a marker) is skipped. Failures caused
    by another finding (numpy's ABI, protobuf, `KERAS_BACKEND`) point to it instead of repeating a fix.

    Fix: a missing package: one `pip install` of every missing requirement; a broken one:
    `pip install --force-reinstall REQUIREMENT`; a known platform error (Metal plugin, Windows DLL) gets its
    own fix."""
    results = []
    for package in ev.profile.packages:
        check_id = f"package.{package.name}.import"
        requirements = applicable_requirements(ev, package)
        skipped = _not_applicable(package, requirements)
        if skipped is not None:
            results.append(result(check_id, Status.SKIP, skipped))
            continue
        if not package.import_name:
            said = (
                "it provides no Python module to import (libraries, data or a plugin)"
                if package.discover
                else "the profile names no module to import"
            )
            results.append(result(check_id, Status.SKIP, said))
            continue
        results.append(_import_check(ev, check_id, package))
    return _one_install_for_the_missing(ev, results)


def _not_installed(package: Package, found: ImportResult | None) -> bool:
    """The import failed because the package itself is not there (not one of its dependencies)."""
    if found is None or found.ok or found.error_type != "ModuleNotFoundError" or not package.import_name:
        return False
    module = _MISSING.search(found.error)
    return module is not None and module.group(1).split(".")[0] == package.import_name.split(".")[0]


def _one_install_for_the_missing(ev: Evidence, results: list[CheckResult]) -> list[CheckResult]:
    """Packages that are simply not installed get one pip command together, under the first of them."""
    missing: dict[str, str] = {}  # check id -> requirement
    for package in ev.profile.packages:
        if applicable_requirements(ev, package) and _not_installed(package, import_result(ev, package.import_name)):
            missing[f"package.{package.name}.import"] = wanted(ev, package)
    if len(missing) < 2:
        return results
    first = next(iter(missing))
    out = []
    for item in results:
        if isinstance(item, Finding) and item.id in missing and item.status is Status.FAIL and item.remedy:
            if item.id == first:
                remedy = dataclasses.replace(item.remedy, pip=(PipAction("install", tuple(missing.values())),))
            else:
                remedy = dataclasses.replace(item.remedy, text=f"installed by the one command under {first}")
            item = dataclasses.replace(item, remedy=remedy)
        out.append(item)
    return out


def _import_check(ev: Evidence, check_id: str, package: Package) -> CheckResult:
    name = package.import_name or package.name
    found = import_result(ev, name)
    fault = ev.fault_at(f"import {name}")
    if found is not None and found.ok and fault is not None and fault.scope == "environment":
        # it imports in a process of its own: the crash needs the packages imported before it
        return result(
            check_id,
            Status.WARN,
            f"`import {name}` works on its own, but {fault.what} after the packages before it",
            advice(interaction_hint(ev)),
            duration=found.seconds,
        )
    if found is None or fault is not None:
        if fault is not None:
            return result(
                check_id,
                Status.FAIL,
                f"`import {name}` {fault.what}" + (" (the probe crashed)" if fault.signal else ""),
                advice(crash_hint(ev, name, fault), explained_by=("cpu.avx",) if fault.signal == "SIGILL" else ()),
                signal=fault.signal,
                timed_out=fault.timed_out,
            )
        return result(check_id, Status.SKIP, f"`import {name}` was not reached")
    if found.ok:
        detail = f"import {name}" + (f" ({found.version})" if found.version else "") + " works"
        return result(check_id, Status.PASS, detail, duration=found.seconds, file=found.file)
    if registers_twice(found.error):
        return result(
            check_id,
            Status.PASS,
            f"`import {name}` registers again what TensorFlow loaded itself ({first_line(found.error)}):"
            " TensorFlow's to load, not to import",
            duration=found.seconds,
        )
    known = platform_import_fix(ev, found.error)
    said = first_line(known[2] if known is not None else found.error)
    error = f"{found.error_type}: {said}"
    return result(check_id, Status.FAIL, error, _import_remedy(ev, package, found), duration=found.seconds)


def _import_remedy(ev: Evidence, package: Package, found: ImportResult) -> Remedy:
    """What repairs a failed import, and the findings that would explain it."""
    text = found.error
    name = package.import_name or package.name
    causes: tuple[str, ...] = ("environ.keras-backend",) if name == "keras" else ()
    known = platform_import_fix(ev, text)
    if known is not None:
        return dataclasses.replace(known[1], explained_by=causes)
    if any(p in text for p in NUMPY_ABI_PATTERNS) or numpy_1_build_broken(ev):
        return dataclasses.replace(numpy_fix(ev), explained_by=(*causes, "compat.numpy-abi"))
    if any(p in text for p in PROTOBUF_PATTERNS):
        return dataclasses.replace(protobuf_fix(ev), explained_by=(*causes, "compat.protobuf"))
    missing = _MISSING.search(text)
    if found.error_type == "ModuleNotFoundError" and missing and missing.group(1) == "pkg_resources":
        return pkg_resources_fix(explained_by=(*causes, "compat.pkg-resources"))
    if found.error_type == "ModuleNotFoundError" and missing:
        module = missing.group(1).split(".")[0]
        if module == name.split(".")[0]:
            return install(wanted(ev, package), explained_by=causes)
        owner = next((p for p in ev.profile.packages if (p.import_name or "").split(".")[0] == module), None)
        if owner is not None:
            requirement, explainer = wanted(ev, owner), f"package.{owner.name}.import"
        else:  # not in the profile: the module's own name; `pip check` names it when a dependency lacks it
            requirement, explainer = module, "packages.pip-check"
            if canonicalize_name(module) not in pip_check_names(ev):
                explainer = ""
        remedy = install(requirement, explained_by=(*causes, explainer) if explainer else causes)
        return dataclasses.replace(remedy, text=f"{{command}}  (needed by {name})")
    # "Unable to import required dependency numpy": a dependency pip check names, named in the error
    named = [n for n in sorted(pip_check_names(ev)) if re.search(rf"\b{re.escape(n)}\b", text)]
    # a compiled package that needs numpy (or protobuf) fails in its own words when that one does not fit
    # (TensorFlow: "SystemError: ... returned a result with an exception set", pandas: "C extension: None not
    # built"): the compatibility finding's fix makes the reinstall unnecessary
    binary = tuple(root for dependency, root in ROOTS.items() if _depends_on(ev, package, dependency))
    return install(
        wanted(ev, package),
        flags=("--force-reinstall",),
        explained_by=(*causes, *binary, *(("packages.pip-check",) if named else ())),
    )


def _depends_on(ev: Evidence, package: Package, dependency: str) -> bool:
    """Whether the installed distribution of ``package`` (for TensorFlow: any of its distributions) requires
    ``dependency`` here."""
    names = TENSORFLOW_DISTRIBUTIONS if package.name in TENSORFLOW_DISTRIBUTIONS else (package.name,)
    return any(
        canonicalize_name(r.name) == dependency
        for name in names
        for r in applying_requirements(ev.distributions.get(canonicalize_name(name)), ev.markers)
    )


@check("package.*.version", group=PACKAGES, order=20)
def check_package_versions(ev: Evidence) -> list[CheckResult]:
    """Each installed package's version satisfies the profile's requirement
    (`package.tensorflow.version`, ...); `tensorflow-cpu` and the other TensorFlow distributions count for
    `tensorflow`.

    Fix: `pip install 'REQUIREMENT'` inside the environment (the hint quotes the profile's requirement)."""
    results = []
    if not ev.distributions_known:
        return [
            result(
                f"package.{p.name}.version",
                Status.SKIP,
                "installed versions are unknown",
                explained(f"package.{p.name}.import"),
            )
            for p in ev.profile.packages
        ]
    for package in ev.profile.packages:
        check_id = f"package.{package.name}.version"
        requirements = applicable_requirements(ev, package)
        skipped = _not_applicable(package, requirements)
        if skipped is not None:
            results.append(result(check_id, Status.SKIP, skipped))
            continue
        specifier = SpecifierSet()
        for requirement in requirements:
            specifier &= requirement.specifier
        provider, version = package.name, ev.version_of(package.name)
        if version is None and package.name in TENSORFLOW_DISTRIBUTIONS:
            for other in TENSORFLOW_DISTRIBUTIONS:
                if ev.version_of(other) is not None:
                    provider, version = other, ev.version_of(other)
                    break
        if version is None:
            found = import_result(ev, package.import_name)
            if found is not None and found.error_type == "ModuleNotFoundError":
                # the failed import already says so, with the same command: one finding, not two
                detail = f"{package.name} is not installed (see package.{package.name}.import)"
                results.append(result(check_id, Status.SKIP, detail, explained(f"package.{package.name}.import")))
            else:
                fix = install(wanted(ev, package))
                results.append(result(check_id, Status.FAIL, f"{package.name} is not installed", fix))
            continue
        via = f" (provided by {provider})" if provider != package.name else ""
        if specifier.contains(version, prereleases=True):
            wants = f" satisfies {specifier}" if str(specifier) else ""
            results.append(result(check_id, Status.PASS, f"{provider} {version}{wants}{via}", version=str(version)))
        else:
            # numpy and protobuf out of range are their compatibility finding's to fix
            root = ROOTS.get(package.name)
            results.append(
                result(
                    check_id,
                    Status.FAIL,
                    f"{provider} {version} does not satisfy {specifier}{via}",
                    install(wanted(ev, package), explained_by=(root,) if root else ()),
                    version=str(version),
                )
            )
    return results


@check("packages.pip-check", group=PACKAGES, order=30)
def check_pip_check(ev: Evidence) -> CheckResult:
    """`pip check` (`uv pip check` where the environment has no pip) finds no broken
    requirements among the installed distributions.

    Fix: one `pip install` with every requirement it reports, each range merged with what the profile and the
    installed packages accept; a broken distribution is reinstalled with `--force-reinstall`; no pip:
    `python -m ensurepip --upgrade`."""
    completed = ev.pip_check
    if completed is None:
        return result("packages.pip-check", Status.SKIP, "not run")
    if completed.timed_out:
        return result(
            "packages.pip-check",
            Status.WARN,
            f"`{ev.pip_check_tool} check` did not finish in time",
            advice(command(ev, ev.python, "-m", "pip", "check")),
            duration=completed.duration,
        )
    output = completed.stdout + "\n" + completed.stderr
    if completed.returncode == 0:
        return result("packages.pip-check", Status.PASS, "no broken requirements", duration=completed.duration)
    if "No module named pip" in output:
        return result(
            "packages.pip-check",
            Status.WARN,
            "pip is not installed in the environment, so conflicts were not checked",
            run((ev.python, "-m", "ensurepip", "--upgrade"), Scope.ENVIRONMENT),
            duration=completed.duration,
        )
    problems = parse_pip_check(output)
    rerun = (
        command(ev, uv_command(), "pip", "check", "--python", ev.python)
        if ev.pip_check_tool == "uv pip"
        else command(ev, ev.python, "-m", "pip", "check")
    )
    if not problems:
        return result(
            "packages.pip-check",
            Status.FAIL,
            f"`{ev.pip_check_tool} check` failed: {first_line(output)}",
            advice(f"see the whole report: {rerun}"),
            duration=completed.duration,
        )
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    actions = pip_check_actions(ev, problems)
    return result(
        "packages.pip-check",
        Status.FAIL,
        f"{first_line(problems[0]['line'])}{more}",
        Remedy(pip=actions) if actions else advice(rerun),
        duration=completed.duration,
        problems=[p["line"] for p in problems],
    )


def installed_tensorflow_distributions(ev: Evidence) -> list[str]:
    """The TensorFlow distributions installed on their own: one that another one requires is its part."""
    installed = [n for n in TENSORFLOW_DISTRIBUTIONS if n in ev.distributions]
    required: set[str] = set()
    for name in installed:
        for requirement in applying_requirements(ev.distributions[name], ev.markers):
            required.add(canonicalize_name(requirement.name))
    return [n for n in installed if n not in required]


@check("tensorflow.single-distribution", group=PACKAGES, order=40)
def check_single_tensorflow(ev: Evidence) -> CheckResult | None:
    """Exactly one TensorFlow distribution is installed (`tensorflow`,
    `tensorflow-cpu`, `tensorflow-macos`, `tf-nightly`, ...): two of them overwrite each other's files.

    Fix: uninstall the extra ones and reinstall the one the profile names (the hint gives both commands)."""
    wants_tf = ev.profile.package("tensorflow") is not None
    if not ev.distributions_known:
        return (
            result("tensorflow.single-distribution", Status.SKIP, "installed distributions are unknown")
            if wants_tf
            else None
        )
    top = installed_tensorflow_distributions(ev)
    if not top and not wants_tf:
        return None
    listing = ", ".join(f"{n} {ev.version_of(n)}" for n in top)
    if len(top) == 1:
        return result("tensorflow.single-distribution", Status.PASS, f"one TensorFlow distribution: {listing}")
    requirement = tf_requirement(ev)
    if not top:
        return result(
            "tensorflow.single-distribution",
            Status.FAIL,
            "no TensorFlow distribution is installed",
            install(requirement, explained_by=("package.tensorflow.import",)),
        )
    every = [n for n in TENSORFLOW_DISTRIBUTIONS if n in ev.distributions]
    reinstall = PipAction("install", (requirement,), ("--force-reinstall",))
    return result(
        "tensorflow.single-distribution",
        Status.FAIL,
        f"{len(top)} TensorFlow distributions overwrite each other's files: {listing}",
        Remedy(pip=(uninstall(*every), reinstall)),
        installed=top,
    )


@check("packages.user-site", group=PACKAGES, order=50)
def check_user_site(ev: Evidence) -> CheckResult:
    """No module of the stack loads from the user's site-packages (`~/.local/lib/...`), which
    a Python started outside envcheck's probes would see and which would hide what the environment holds.

    Fix: remove the user-site copies (`pip uninstall` with the user's own python, or delete the folder the hint
    names), or set `PYTHONNOUSERSITE=1`."""
    site = ev.probe.user_site
    platform = ev.platform
    outside = []
    # the standard library lives under base_prefix; the environment's packages under prefix
    roots = [ev.interpreter.prefix or "", ev.interpreter.base_prefix or ""]
    for name, found in ev.imports.items():
        where = found.file
        if found.ok and where and not any(r and inside(where, r, platform) for r in roots):
            outside.append((name, where))
    shadowing = []
    listed = site.entries if site is not None else ()
    entries = {canonicalize_name(e.split("-")[0]) for e in listed if e.endswith(".dist-info")}
    modules = set(listed)
    if site is not None and site.active:
        for package in ev.profile.packages:
            if package.name in entries or (package.import_name and package.import_name in modules):
                shadowing.append(package.name)
    if site is not None and shadowing:
        # the user's own copy lives in their home: removing it is theirs to do
        return result(
            "packages.user-site",
            Status.WARN,
            f"user site-packages ({site.path}) has {', '.join(shadowing)}, which shadows the environment's"
            " copy whenever this python runs without -s",
            run(
                pip_argv(ev, "uninstall", (), shadowing),
                Scope.OUTSIDE,
                "{command}  (removes the user copy first; or set PYTHONNOUSERSITE=1)",
            ),
            shadowing=shadowing,
        )
    if outside:
        name, where = outside[0]
        owner = next((p for p in ev.profile.packages if p.import_name == name), None)
        requirement = wanted(ev, owner) if owner else name
        return result(
            "packages.user-site",
            Status.WARN,
            f"{name} loads from {where}, outside the environment",
            install(requirement, flags=("--force-reinstall",)),
            outside=[w for _, w in outside],
        )
    count = sum(1 for i in ev.imports.values() if i.ok)
    noun = "module loads" if count == 1 else "modules load"
    return result("packages.user-site", Status.PASS, f"{count} {noun} from inside the environment")


def summary_versions(ev: Evidence, names: Iterable[str]) -> dict[str, str]:
    """Versions for the report's header: Python first, then the named distributions that are installed."""
    versions: dict[str, str] = {}
    if ev.interpreter.version:
        versions["python"] = ev.interpreter.version
    for name in names:
        version = ev.version_of(name)
        if version is None and name == "tensorflow":
            top = installed_tensorflow_distributions(ev)
            version = ev.version_of(top[0]) if top else None
        if version is not None:
            versions[name] = str(version)
    return versions
