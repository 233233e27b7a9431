"""What the rules share: command lines for hints, result building, and small views of the evidence."""

from __future__ import annotations

import ntpath
import posixpath
from collections.abc import Mapping, Sequence
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.version import Version

from envcheck import shell
from envcheck.installers import environment_pip_argv
from envcheck.kernels import install_argv, kernel_name
from envcheck.locations import uv_command
from envcheck.profiles.profile import TENSORFLOW_DISTRIBUTIONS, Package
from envcheck.results import CheckResult, Status
from envcheck.suggest import Naming
from envcheck.verify.evidence import Evidence, ProbeFault, as_version

# ---------------------------------------------------------------------------------------------- hints


def command(ev: Evidence, *parts: str) -> str:
    """A command line for the target's platform, each argument quoted (envcheck.shell builds every one)."""
    return shell.join(parts, platform=ev.platform)


def externally_managed(ev: Evidence) -> bool:
    """A system python whose packages its distribution manages (PEP 668): pip refuses to install into it."""
    return bool((ev.probe.get("venv") or {}).get("externally_managed"))


def pip_install(ev: Evidence, *requirements: str, flags: Sequence[str] = ()) -> str:
    """The install command for the target: its own pip, or uv's pip where the environment has no pip.

    A system python under PEP 668 gets no pip command (pip stops with externally-managed-environment):
    the fix there is an environment of its own, which ``envcheck setup`` makes with everything in it.
    """
    if externally_managed(ev):
        return (
            f"{Naming(ev.profile_args, platform=ev.platform).setup()}  (this python's packages are managed by the"
            " system (PEP 668), so pip refuses to install into it; setup makes an environment of its own)"
        )
    return command(ev, *pip_argv(ev, "install", *flags, *requirements))


def pip_uninstall(ev: Evidence, *names: str) -> str:
    return command(ev, *pip_argv(ev, "uninstall", *names))


def pip_argv(ev: Evidence, verb: str, *args: str) -> list[str]:
    """``pip VERB ARGS`` for the target: its own pip, or uv's pip where it has none (the uv envcheck uses, as the
    user can type it)."""
    return environment_pip_argv(ev.python, verb, *args, uv=None if ev.probe.get("pip", True) else uv_command())


def requirement_text(requirement: Requirement) -> str:
    """A requirement as typed on a command line: name, extras and versions, without its marker."""
    extras = f"[{','.join(sorted(requirement.extras))}]" if requirement.extras else ""
    return f"{requirement.name}{extras}{requirement.specifier}"


def setup_command(ev: Evidence, *extra: str) -> str:
    prefix = ev.env.prefix if ev.origin != "default" and ev.env.prefix else None
    return Naming(ev.profile_args, prefix, platform=ev.platform).setup(*extra)


def unset_command(ev: Evidence, variable: str) -> str:
    return f"set {variable}=" if ev.platform == "win32" else f"unset {variable}"


# ---------------------------------------------------------------------------------------------- utilities


def result(
    check_id: str,
    status: Status,
    detail: str,
    hint: str | None = None,
    duration: float | None = None,
    **data: Any,
) -> CheckResult:
    """One verdict; a hint is kept only where there is something to fix (warn, fail)."""
    return CheckResult(check_id, status, detail, hint if status in (Status.WARN, Status.FAIL) else None, duration, data)


def applying_requirements(dist: Mapping[str, Any], markers: Mapping[str, str]) -> list[Requirement]:
    """A distribution's Requires-Dist entries that apply here (no extras requested)."""
    out: list[Requirement] = []
    for raw in dist.get("requires") or ():
        try:
            requirement = Requirement(raw)
        except InvalidRequirement:
            continue
        if requirement.marker is not None and not requirement.marker.evaluate({**markers, "extra": ""}):
            continue
        out.append(requirement)
    return out


def first_line(text: str, limit: int = 200) -> str:
    line = next((s.strip() for s in str(text).splitlines() if s.strip()), "")
    return line if len(line) <= limit else line[: limit - 1] + "…"


def same_path(a: str, b: str, platform: str) -> bool:
    mod = ntpath if platform == "win32" else posixpath
    return mod.normcase(mod.normpath(a)) == mod.normcase(mod.normpath(b))


def inside(path: str, folder: str, platform: str) -> bool:
    mod = ntpath if platform == "win32" else posixpath
    p, f = mod.normcase(mod.normpath(path)), mod.normcase(mod.normpath(folder))
    return p == f or p.startswith(f.rstrip(mod.sep) + mod.sep)


def applicable_requirements(ev: Evidence, package: Package) -> tuple[Requirement, ...]:
    return package.applicable(ev.markers or None) if ev.markers else package.requirements


def error_texts(ev: Evidence) -> str:
    """Every error message the probes saw, and their stderr: where known breakages announce themselves."""
    errors = [str(i.get("error", "")) for i in ev.imports.values() if not i.get("ok")]
    errors += [str(w.get("error", "")) for w in (ev.probe.get("work") or {}).values() if isinstance(w, Mapping)]
    return "\n".join(errors + [ev.stderr])


def import_result(ev: Evidence, import_name: str) -> Mapping[str, Any] | None:
    return ev.imports.get(import_name)


def tf_version(ev: Evidence) -> Version | None:
    tf = ev.facts("tensorflow")
    found = as_version(tf.get("version"))
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


def interaction_hint(ev: Evidence) -> str:
    modules = " ".join(f"import {n};" for n in (ev.probe.get("packages") or ()))
    return f"reproduce with: {command(ev, ev.python, '-X', 'faulthandler', '-c', modules)}"


def crash_hint(ev: Evidence, module: str, fault: ProbeFault) -> str:
    reproduce = command(ev, ev.python, "-X", "faulthandler", "-c", f"import {module}")
    if fault.signal == "SIGILL":
        return f"the CPU lacks an instruction this build needs (see cpu.avx); reproduce with: {reproduce}"
    if fault.timed_out:
        return f"find where it hangs: {command(ev, ev.python, '-X', 'importtime', '-c', f'import {module}')}"
    return f"reproduce with a traceback: {reproduce}"


def kernel_install(ev: Evidence) -> str:
    """The command that registers this environment's Jupyter kernel: the one setup runs, as the user types it."""
    name = kernel_name(ev.profile, recorded=ev.kernel_name, prefix=ev.env.prefix)
    return command(ev, *install_argv(ev.python, name))
