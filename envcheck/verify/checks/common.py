"""What the rules share: results with their remedies, commands written into hints, small views of the evidence."""

from __future__ import annotations

import ntpath
import os
import posixpath
from collections.abc import Sequence
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from envcheck import shell
from envcheck.kernels import install_argv, kernel_name
from envcheck.profiles.profile import TENSORFLOW_DISTRIBUTIONS, Package
from envcheck.results import CheckResult, Status
from envcheck.suggest import Naming
from envcheck.verify.answers import ImportResult, Installed, TensorflowFacts
from envcheck.verify.evidence import Evidence, ProbeFault, as_version
from envcheck.verify.remedy import Finding, PipAction, Remedy, Scope, advice, pip_text, run, unset_argv

# ---------------------------------------------------------------------------------------------- results


def result(
    check_id: str,
    status: Status,
    detail: str,
    remedy: Remedy | None = None,
    duration: float | None = None,
    **data: Any,
) -> CheckResult:
    """One verdict. ``remedy`` says how to fix it and what would explain it; ``evaluate`` renders the hint
    from it for a warning or a failure (a passing check carries none)."""
    return Finding(check_id, status, detail, None, duration, data, remedy=None if status is Status.PASS else remedy)


# ---------------------------------------------------------------------------------------------- commands in prose


def command(ev: Evidence, *parts: str) -> str:
    """A command line for the target's platform, each argument quoted (envcheck.shell builds every one)."""
    return shell.join(parts, platform=ev.platform)


def pip_install(ev: Evidence, *requirements: str, flags: Sequence[str] = ()) -> str:
    """An install command written into a hint's prose (an alternative, not the remedy itself)."""
    return pip_text(ev, PipAction("install", requirements, tuple(flags)))


def pip_uninstall(ev: Evidence, *names: str) -> str:
    return pip_text(ev, PipAction("uninstall", names))


def unset_command(ev: Evidence, variable: str) -> str:
    return command(ev, *unset_argv(ev, variable))


def unset(ev: Evidence, variable: str, text: str | None = None, explained_by: Sequence[str] = ()) -> Remedy:
    """Take a variable out of the user's shell: a step outside the environment."""
    return run(unset_argv(ev, variable), Scope.OUTSIDE, text, explained_by)


def setup_command(ev: Evidence, *extra: str) -> str:
    """``envcheck setup`` for this environment with the options that made it (recorded by its setup, finished
    or not), then ``extra``."""
    prefix = ev.env.prefix if ev.origin != "default" and ev.env.prefix else None
    return Naming.made_by(ev.env.made_with, ev.profile_args, prefix, platform=ev.platform).setup(*extra)


def kernel_install(ev: Evidence, explained_by: Sequence[str] = ()) -> Remedy:
    """Register this environment's Jupyter kernel (the command setup runs): it writes into the user's home.

    Never over a kernel of that name that runs another environment: that one stays its environment's, and
    this one is given a kernel of its own by setup instead."""
    name = own_kernel(ev)
    owner = ev.kernel_owners.get(name)
    if owner is not None:
        return advice(
            f"the kernel {name!r} runs the environment at {owner}; give this one a kernel of its own:"
            f" {setup_command(ev, '--kernel-name', 'NAME')}",
            explained_by=explained_by,
        )
    return run(install_argv(ev.python, name), Scope.OUTSIDE, explained_by=explained_by)


def own_kernel(ev: Evidence) -> str:
    """This environment's kernel name, as verify found it (the one setup recorded while it is free for this
    environment, else the profile's default for its folder)."""
    return ev.kernel_name or kernel_name(ev.profile)


def interaction_hint(ev: Evidence) -> str:
    modules = " ".join(f"import {n};" for n in ev.probe.packages)
    return f"reproduce with: {command(ev, ev.python, '-X', 'faulthandler', '-c', modules)}"


def crash_hint(ev: Evidence, module: str, fault: ProbeFault) -> str:
    reproduce = command(ev, ev.python, "-X", "faulthandler", "-c", f"import {module}")
    if fault.signal == "SIGILL":
        return f"the CPU lacks an instruction this build needs (see cpu.avx); reproduce with: {reproduce}"
    if fault.timed_out:
        return f"find where it hangs: {command(ev, ev.python, '-X', 'importtime', '-c', f'import {module}')}"
    return f"reproduce with a traceback: {reproduce}"


# ---------------------------------------------------------------------------------------------- utilities


def requirement_text(requirement: Requirement) -> str:
    """A requirement as typed on a command line: name, extras and versions, without its marker."""
    extras = f"[{','.join(sorted(requirement.extras))}]" if requirement.extras else ""
    return f"{requirement.name}{extras}{requirement.specifier}"


def applying_requirements(dist: Installed | None, markers: dict[str, str]) -> list[Requirement]:
    """A distribution's Requires-Dist entries that apply here (no extras requested)."""
    out: list[Requirement] = []
    for raw in dist.requires if dist is not None else ():
        try:
            requirement = Requirement(raw)
        except InvalidRequirement:
            continue
        if requirement.marker is not None and not requirement.marker.evaluate({**markers, "extra": ""}):
            continue
        out.append(requirement)
    return out


def requirement_closure(ev: Evidence, name: str) -> set[str]:
    """``name`` and every distribution it needs here, followed through the installed metadata (canonical names)."""
    seen: set[str] = set()
    todo = [canonicalize_name(name)]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        todo += [canonicalize_name(r.name) for r in applying_requirements(ev.distributions.get(current), ev.markers)]
    return seen


def first_line(text: str | None, limit: int = 200) -> str:
    line = next((s.strip() for s in str(text or "").splitlines() if s.strip()), "")
    return line if len(line) <= limit else line[: limit - 1] + "…"


def same_path(a: str, b: str, platform: str) -> bool:
    """The same place: spelled alike, or (on this machine) the same folder once symbolic links are followed, so
    that an environment reached through a link is itself."""
    mod = ntpath if platform == "win32" else posixpath
    if mod.normcase(mod.normpath(a)) == mod.normcase(mod.normpath(b)):
        return True
    return _here(platform) and os.path.realpath(a) == os.path.realpath(b)


def inside(path: str, folder: str, platform: str) -> bool:
    """``path`` lies in ``folder`` (or is it), compared as spelled and, on this machine, with links followed."""
    mod = ntpath if platform == "win32" else posixpath
    p, f = mod.normcase(mod.normpath(path)), mod.normcase(mod.normpath(folder))
    if p == f or p.startswith(f.rstrip(mod.sep) + mod.sep):
        return True
    if not _here(platform):
        return False
    real, top = os.path.realpath(path), os.path.realpath(folder)
    return real == top or real.startswith(top.rstrip(os.sep) + os.sep)


def _here(platform: str) -> bool:
    """Paths of ``platform`` can be followed on this machine (evidence recorded elsewhere is compared as written)."""
    return (platform == "win32") == (os.name == "nt")


def applicable_requirements(ev: Evidence, package: Package) -> tuple[Requirement, ...]:
    return package.applicable(ev.markers or None) if ev.markers else package.requirements


def error_texts(ev: Evidence) -> str:
    """Every error message the probes saw, and their stderr: where known breakages announce themselves."""
    errors = [i.error for i in ev.imports.values() if not i.ok]
    errors += [w.error or "" for w in ev.probe.work.values()]
    return "\n".join(errors + [ev.stderr])


def import_result(ev: Evidence, import_name: str | None) -> ImportResult | None:
    return ev.imports.get(import_name) if import_name else None


def tensorflow_facts(ev: Evidence) -> TensorflowFacts:
    """What TensorFlow said about itself; empty when it did not import."""
    return ev.probe.tensorflow or TensorflowFacts()


def tf_version(ev: Evidence) -> Version | None:
    found = as_version(tensorflow_facts(ev).version)
    if found is not None:
        return found
    for name in TENSORFLOW_DISTRIBUTIONS:
        version = ev.version_of(name)
        if version is not None:
            return version
    return None


def tf_requirement(ev: Evidence) -> str:
    package = ev.profile.package("tensorflow")
    if package is not None:
        applicable = applicable_requirements(ev, package)
        if applicable:
            return requirement_text(applicable[0])
    return "tensorflow"
