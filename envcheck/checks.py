"""The rules of `envcheck verify`: pure functions from gathered facts to verdicts, each with a stable id.

Nothing here runs a program or touches the file system. The facts come from the environment probe (run by the
target's own interpreter), from ``pip check``, from ``nvidia-smi`` and from the kernel probe, bundled in
``Evidence``; every warn and fail carries a hint with the exact command to type.
"""

from __future__ import annotations

import ntpath
import posixpath
import re
import shlex
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from envcheck.marker import Marker
from envcheck.profiles import TENSORFLOW_DISTRIBUTIONS, Package, Profile
from envcheck.results import CheckResult, Status
from envcheck.runner import Completed

# The oldest NVIDIA driver each CUDA major version runs on (NVIDIA's minor-version compatibility table).
MIN_DRIVER = {"linux": {12: "525.60.13", 11: "450.80.02"}, "win32": {12: "527.41", 11: "452.39"}}
NVIDIA_SMI_QUERY = "name,driver_version,memory.total,compute_cap"
# Modules of the profile whose one small real operation the probe performs.
WORK_FOR = {"tensorflow": "matmul", "pandas": "pandas", "scikit-learn": "sklearn", "matplotlib": "matplotlib"}

NUMPY_ABI_PATTERNS = (
    "compiled using NumPy 1.x cannot be run in",
    "_ARRAY_API not found",
    "numpy.core.multiarray failed to import",
    "numpy.core._multiarray_umath failed to import",
    "numpy.dtype size changed, may indicate binary incompatibility",
    "module compiled against ABI version",
)
PROTOBUF_PATTERNS = (
    "Descriptors cannot be created directly",
    "cannot import name 'runtime_version' from 'google.protobuf'",
    "cannot import name 'builder' from 'google.protobuf.internal'",
    "Detected mismatched Protobuf Gencode/Runtime",
    "Detected incompatible Protobuf Gencode/Runtime",
)


# ---------------------------------------------------------------------------------------------- evidence


@dataclass(frozen=True)
class ProbeFault:
    """A probe process that did not finish: killed by a signal, past its timeout, or exited mid-way."""

    scope: str  # "environment" for the one process that imports everything, else the import name probed alone
    stage: str | None  # the last stage the probe announced, e.g. "import tensorflow" or "work.matmul"
    exit: str  # "was killed by SIGSEGV", "did not finish within its time limit", "exited with code 1"
    signal: str | None = None
    timed_out: bool = False
    timeout: float | None = None

    @property
    def what(self) -> str:
        if self.timed_out and self.timeout is not None:
            return f"did not finish within {self.timeout:g} s"
        return self.exit


@dataclass(frozen=True)
class EnvState:
    """What the host knows about the environment's folder (``prefix`` is None for a bare interpreter)."""

    prefix: str | None = None
    owned: bool = False  # envcheck created it (its ownership file is there)
    marker: Marker | None = None


@dataclass(frozen=True)
class Evidence:
    """Everything the rules judge. Built by verify; recorded by the tests."""

    profile: Profile
    python: str  # the target's interpreter, as the user will type it in a hint
    probe: Mapping[str, Any]  # the environment probe's answer (merged with per-package answers after a crash)
    env: EnvState = EnvState()
    origin: str = "python"  # "default", "prefix" or "python"
    same_prefix: bool | None = None  # the probe's sys.prefix is the target folder; None: nothing to compare
    faults: tuple[ProbeFault, ...] = ()
    stderr: str = ""  # what the probes wrote to stderr: TensorFlow's reasons live there
    probe_seconds: float | None = None
    pip_check: Completed | None = None  # None: not run
    pip_check_tool: str = "pip"
    nvidia_smi: Completed | None = None  # None: nvidia-smi is not on PATH
    kernel: Mapping[str, Any] | None = None  # the kernel probe's answer; None: not run
    kernel_fault: ProbeFault | None = None
    kernel_name: str | None = None
    profile_args: tuple[str, ...] = ()  # how to name the profile again: ("--profile", "x") or ("--file", path)
    timeout: float | None = None

    # -- convenience views of the probe answer
    @property
    def interpreter(self) -> Mapping[str, Any]:
        return self.probe.get("interpreter") or {}

    @property
    def platform(self) -> str:
        return str(self.interpreter.get("platform") or "linux")

    @property
    def markers(self) -> dict[str, str]:
        return dict(self.interpreter.get("markers") or {})

    @property
    def distributions(self) -> Mapping[str, Mapping[str, Any]]:
        return self.probe.get("distributions") or {}

    @property
    def imports(self) -> Mapping[str, Mapping[str, Any]]:
        return self.probe.get("imports") or {}

    def facts(self, key: str) -> Mapping[str, Any]:
        return (self.probe.get("facts") or {}).get(key) or {}

    def work(self, key: str) -> Mapping[str, Any] | None:
        return (self.probe.get("work") or {}).get(key)

    @property
    def distributions_known(self) -> bool:
        return isinstance(self.probe.get("distributions"), Mapping)

    def version_of(self, name: str) -> Version | None:
        raw = (self.distributions.get(canonicalize_name(name)) or {}).get("version")
        return _version(raw)

    def fault_at(self, stage: str) -> ProbeFault | None:
        """The fault that stopped a probe at ``stage``, preferring the one confirmed by a probe of its own."""
        hits = [f for f in self.faults if f.stage == stage]
        hits.sort(key=lambda f: f.scope == "environment")
        return hits[0] if hits else None


# ---------------------------------------------------------------------------------------------- hints


def quote(arg: str, platform: str = "linux") -> str:
    if platform == "win32":
        return f'"{arg}"' if (not arg or any(c in arg for c in " &|<>^()'")) else arg
    return shlex.quote(arg)


def command(ev: Evidence, *parts: str) -> str:
    return " ".join(quote(p, ev.platform) for p in parts)


def pip_install(ev: Evidence, *requirements: str, flags: Sequence[str] = ()) -> str:
    """The install command for the target: its own pip, or uv's pip where the environment has no pip."""
    if ev.probe.get("pip", True):
        return command(ev, ev.python, "-m", "pip", "install", *flags, *requirements)
    return command(ev, "uv", "pip", "install", "--python", ev.python, *flags, *requirements)


def pip_uninstall(ev: Evidence, *names: str) -> str:
    if ev.probe.get("pip", True):
        return command(ev, ev.python, "-m", "pip", "uninstall", "-y", *names)
    return command(ev, "uv", "pip", "uninstall", "--python", ev.python, *names)


def requirement_text(requirement: Requirement) -> str:
    """A requirement as typed on a command line: name, extras and versions, without its marker."""
    extras = f"[{','.join(sorted(requirement.extras))}]" if requirement.extras else ""
    return f"{requirement.name}{extras}{requirement.specifier}"


def setup_command(ev: Evidence, *extra: str) -> str:
    where: list[str] = []
    if ev.origin != "default" and ev.env.prefix:
        where += ["--prefix", ev.env.prefix]
    return command(ev, "envcheck", "setup", *ev.profile_args, *where, *extra)


def _unset(ev: Evidence, variable: str) -> str:
    return f"set {variable}=" if ev.platform == "win32" else f"unset {variable}"


# ---------------------------------------------------------------------------------------------- utilities


def _version(raw: Any) -> Version | None:
    if not raw:
        return None
    try:
        return Version(str(raw))
    except InvalidVersion:
        return None


def _result(
    check_id: str,
    status: Status,
    detail: str,
    hint: str | None = None,
    duration: float | None = None,
    **data: Any,
) -> CheckResult:
    return CheckResult(check_id, status, detail, hint if status in (Status.WARN, Status.FAIL) else None, duration, data)


def _requirements(dist: Mapping[str, Any], markers: Mapping[str, str]) -> list[Requirement]:
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


def _first_line(text: str, limit: int = 200) -> str:
    line = next((s.strip() for s in str(text).splitlines() if s.strip()), "")
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _same_path(a: str, b: str, platform: str) -> bool:
    mod = ntpath if platform == "win32" else posixpath
    return mod.normcase(mod.normpath(a)) == mod.normcase(mod.normpath(b))


def _inside(path: str, folder: str, platform: str) -> bool:
    mod = ntpath if platform == "win32" else posixpath
    p, f = mod.normcase(mod.normpath(path)), mod.normcase(mod.normpath(folder))
    return p == f or p.startswith(f.rstrip(mod.sep) + mod.sep)


def _applicable(ev: Evidence, package: Package) -> tuple[Requirement, ...]:
    return package.applicable(ev.markers or None) if ev.markers else package.requirements


def _texts(ev: Evidence) -> str:
    """Every error message the probes saw, and their stderr: where known breakages announce themselves."""
    errors = [str(i.get("error", "")) for i in ev.imports.values() if not i.get("ok")]
    errors += [str(w.get("error", "")) for w in (ev.probe.get("work") or {}).values() if isinstance(w, Mapping)]
    return "\n".join(errors + [ev.stderr])


def _import_result(ev: Evidence, import_name: str) -> Mapping[str, Any] | None:
    return ev.imports.get(import_name)


def _tf_version(ev: Evidence) -> Version | None:
    tf = ev.facts("tensorflow")
    found = _version(tf.get("version"))
    if found is not None:
        return found
    for name in TENSORFLOW_DISTRIBUTIONS:
        version = ev.version_of(name)
        if version is not None:
            return version
    return None


def _tf_requirement(ev: Evidence) -> str:
    package = ev.profile.package("tensorflow")
    if package is not None:
        applicable = _applicable(ev, package)
        if applicable:
            return requirement_text(applicable[0])
    return "tensorflow"


# ---------------------------------------------------------------------------------------------- interpreter


def check_python_version(ev: Evidence) -> CheckResult:
    version = _version(ev.interpreter.get("version"))
    wanted = ev.profile.python
    if version is None:
        return _result("python.version", Status.SKIP, "the probe did not report the interpreter")
    if not str(wanted) or wanted.contains(version, prereleases=True):
        where = f" (profile: {wanted})" if str(wanted) else ""
        return _result("python.version", Status.PASS, f"Python {version}{where}", version=str(version))
    candidates = [f"3.{minor}" for minor in range(20, 7, -1) if wanted.contains(f"3.{minor}.0", prereleases=True)]
    pick = candidates[0] if candidates else "3.12"
    recreate = ("--recreate",) if ev.env.owned else ()
    return _result(
        "python.version",
        Status.FAIL,
        f"Python {version} is outside the profile's range {wanted}",
        f"make an environment with a supported Python: {setup_command(ev, '--python', pick, *recreate)}",
        version=str(version),
    )


def check_python_bits(ev: Evidence) -> CheckResult:
    bits = ev.interpreter.get("bits")
    if bits is None:
        return _result("python.bits", Status.SKIP, "the probe did not report the interpreter")
    if int(bits) == 64:
        return _result("python.bits", Status.PASS, f"64-bit ({ev.interpreter.get('machine') or 'unknown machine'})")
    return _result(
        "python.bits",
        Status.FAIL,
        f"{bits}-bit Python: TensorFlow publishes 64-bit wheels only",
        f"install a 64-bit Python, then: {setup_command(ev, '--python', 'PATH-TO-64-BIT-PYTHON')}",
    )


def check_python_prefix(ev: Evidence) -> CheckResult:
    prefix = ev.interpreter.get("prefix")
    if prefix is None:
        return _result("python.prefix", Status.SKIP, "the probe did not report sys.prefix")
    if ev.same_prefix is None or ev.env.prefix is None:
        return _result("python.prefix", Status.PASS, f"sys.prefix is {prefix}", prefix=prefix)
    if ev.same_prefix:
        return _result("python.prefix", Status.PASS, f"sys.prefix is the environment ({prefix})", prefix=prefix)
    hint = (
        setup_command(ev, "--recreate")
        if ev.env.owned
        else f"{command(ev, ev.python, '-c', 'import sys; print(sys.executable, sys.prefix)')} shows which python runs"
    )
    return _result(
        "python.prefix",
        Status.FAIL,
        f"{ev.python} runs from {prefix}, not from the environment {ev.env.prefix}",
        hint,
        prefix=prefix,
    )


def check_env_complete(ev: Evidence) -> CheckResult:
    env = ev.env
    if env.prefix is None:
        return _result("env.complete", Status.SKIP, "an interpreter was named, not an environment made by setup")
    marker = env.marker
    if marker is None:
        if env.owned:
            return _result(
                "env.complete",
                Status.FAIL,
                "incomplete: an earlier `envcheck setup` did not finish (no completion marker)",
                f"rebuild it: {setup_command(ev, '--recreate')}",
            )
        return _result("env.complete", Status.SKIP, "not made by `envcheck setup` (no completion marker)")
    if marker.profile != ev.profile.name:
        return _result(
            "env.complete",
            Status.WARN,
            f"set up for profile {marker.profile!r}, checked against {ev.profile.name!r}",
            command(ev, "envcheck", "verify", "--prefix", env.prefix, "--profile", marker.profile),
        )
    if marker.profile_digest != ev.profile.digest:
        return _result(
            "env.complete",
            Status.WARN,
            f"profile {marker.profile!r} changed since this environment was set up",
            f"bring it in line: {setup_command(ev)}",
        )
    when = f" on {marker.created[:10]}" if marker.created else ""
    return _result("env.complete", Status.PASS, f"complete: set up by envcheck{when} for {marker.profile!r}")


# ---------------------------------------------------------------------------------------------- packages


def check_package_imports(ev: Evidence) -> list[CheckResult]:
    results = []
    for package in ev.profile.packages:
        check_id = f"package.{package.name}.import"
        requirements = _applicable(ev, package)
        if not requirements:
            results.append(_result(check_id, Status.SKIP, "not needed on this platform"))
            continue
        if not package.import_name:
            results.append(_result(check_id, Status.SKIP, "the profile names no module to import"))
            continue
        results.append(_import_check(ev, check_id, package, requirements[0]))
    return results


def _import_check(ev: Evidence, check_id: str, package: Package, requirement: Requirement) -> CheckResult:
    name = package.import_name or package.name
    found = _import_result(ev, name)
    fault = ev.fault_at(f"import {name}")
    if found is not None and found.get("ok") and fault is not None and fault.scope == "environment":
        # it imports in a process of its own: the crash needs the packages imported before it
        return _result(
            check_id,
            Status.WARN,
            f"`import {name}` works on its own, but {fault.what} after the packages before it",
            _interaction_hint(ev),
            duration=found.get("seconds"),
        )
    if found is None or fault is not None:
        if fault is not None:
            return _result(
                check_id,
                Status.FAIL,
                f"`import {name}` {fault.what}" + (" (the probe crashed)" if fault.signal else ""),
                _crash_hint(ev, name, fault),
                signal=fault.signal,
                timed_out=fault.timed_out,
            )
        return _result(check_id, Status.SKIP, f"`import {name}` was not reached")
    seconds = found.get("seconds")
    if found.get("ok"):
        version = found.get("version")
        detail = f"import {name}" + (f" ({version})" if version else "") + " works"
        return _result(check_id, Status.PASS, detail, duration=seconds, file=found.get("file"))
    error = f"{found.get('error_type')}: {_first_line(found.get('error', ''))}"
    return _result(check_id, Status.FAIL, error, _import_hint(ev, package, requirement, found), duration=seconds)


def _interaction_hint(ev: Evidence) -> str:
    modules = " ".join(f"import {n};" for n in (ev.probe.get("packages") or ()))
    return f"reproduce with: {command(ev, ev.python, '-X', 'faulthandler', '-c', modules)}"


def _crash_hint(ev: Evidence, module: str, fault: ProbeFault) -> str:
    reproduce = command(ev, ev.python, "-X", "faulthandler", "-c", f"import {module}")
    if fault.signal == "SIGILL":
        return f"the CPU lacks an instruction this build needs (see cpu.avx); reproduce with: {reproduce}"
    if fault.timed_out:
        return f"find where it hangs: {command(ev, ev.python, '-X', 'importtime', '-c', f'import {module}')}"
    return f"reproduce with a traceback: {reproduce}"


def _import_hint(ev: Evidence, package: Package, requirement: Requirement, found: Mapping[str, Any]) -> str:
    text = str(found.get("error", ""))
    name = package.import_name or package.name
    wanted = requirement_text(requirement)
    if any(p in text for p in NUMPY_ABI_PATTERNS):
        return _numpy_fix(ev)
    if any(p in text for p in PROTOBUF_PATTERNS):
        return _protobuf_fix(ev)
    missing = re.search(r"No module named '([^']+)'", text)
    if found.get("error_type") == "ModuleNotFoundError" and missing:
        module = missing.group(1)
        if module.split(".")[0] == name.split(".")[0]:
            return pip_install(ev, wanted)
        return f"{pip_install(ev, module.split('.')[0])}  (needed by {name})"
    return pip_install(ev, wanted, flags=("--force-reinstall",))


def check_package_versions(ev: Evidence) -> list[CheckResult]:
    results = []
    if not ev.distributions_known:
        return [
            _result(f"package.{p.name}.version", Status.SKIP, "installed versions are unknown")
            for p in ev.profile.packages
        ]
    for package in ev.profile.packages:
        check_id = f"package.{package.name}.version"
        requirements = _applicable(ev, package)
        if not requirements:
            results.append(_result(check_id, Status.SKIP, "not needed on this platform"))
            continue
        specifier = SpecifierSet()
        for requirement in requirements:
            specifier &= requirement.specifier
        wanted = requirement_text(requirements[0])
        provider, version = package.name, ev.version_of(package.name)
        if version is None and package.name in TENSORFLOW_DISTRIBUTIONS:
            for other in TENSORFLOW_DISTRIBUTIONS:
                if ev.version_of(other) is not None:
                    provider, version = other, ev.version_of(other)
                    break
        if version is None:
            found = _import_result(ev, package.import_name) if package.import_name else None
            if found is not None and found.get("error_type") == "ModuleNotFoundError":
                # the failed import already says so, with the same command: one finding, not two
                results.append(
                    _result(
                        check_id, Status.SKIP, f"{package.name} is not installed (see package.{package.name}.import)"
                    )
                )
            else:
                results.append(
                    _result(check_id, Status.FAIL, f"{package.name} is not installed", pip_install(ev, wanted))
                )
            continue
        via = f" (provided by {provider})" if provider != package.name else ""
        if specifier.contains(version, prereleases=True):
            wants = f" satisfies {specifier}" if str(specifier) else ""
            results.append(_result(check_id, Status.PASS, f"{provider} {version}{wants}{via}", version=str(version)))
        else:
            results.append(
                _result(
                    check_id,
                    Status.FAIL,
                    f"{provider} {version} does not satisfy {specifier}{via}",
                    pip_install(ev, wanted),
                    version=str(version),
                )
            )
    return results


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


def check_pip_check(ev: Evidence) -> CheckResult:
    completed = ev.pip_check
    if completed is None:
        return _result("packages.pip-check", Status.SKIP, "not run")
    if completed.timed_out:
        return _result(
            "packages.pip-check",
            Status.WARN,
            f"`{ev.pip_check_tool} check` did not finish in time",
            command(ev, ev.python, "-m", "pip", "check"),
            duration=completed.duration,
        )
    output = completed.stdout + "\n" + completed.stderr
    if completed.returncode == 0:
        return _result("packages.pip-check", Status.PASS, "no broken requirements", duration=completed.duration)
    if "No module named pip" in output:
        return _result(
            "packages.pip-check",
            Status.WARN,
            "pip is not installed in the environment, so conflicts were not checked",
            command(ev, ev.python, "-m", "ensurepip", "--upgrade"),
            duration=completed.duration,
        )
    problems = parse_pip_check(output)
    rerun = (
        command(ev, "uv", "pip", "check", "--python", ev.python)
        if ev.pip_check_tool == "uv pip"
        else command(ev, ev.python, "-m", "pip", "check")
    )
    if not problems:
        return _result(
            "packages.pip-check",
            Status.FAIL,
            f"`{ev.pip_check_tool} check` failed: {_first_line(output)}",
            f"see the whole report: {rerun}",
            duration=completed.duration,
        )
    fixes: list[str] = []
    broken: list[str] = []
    for problem in problems:
        if "broken" in problem:
            broken.append(problem["broken"])
            continue
        try:
            fix = requirement_text(Requirement(problem["req"]))
        except InvalidRequirement:
            continue
        if fix not in fixes:
            fixes.append(fix)
    commands = [pip_install(ev, *fixes)] if fixes else []
    if broken:
        commands.append(pip_install(ev, *broken, flags=("--force-reinstall",)))
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return _result(
        "packages.pip-check",
        Status.FAIL,
        f"{_first_line(problems[0]['line'])}{more}",
        " && ".join(commands) if commands else rerun,
        duration=completed.duration,
        problems=[p["line"] for p in problems],
    )


def installed_tensorflow_distributions(ev: Evidence) -> list[str]:
    """The TensorFlow distributions installed on their own: one that another one requires is its part."""
    installed = [n for n in TENSORFLOW_DISTRIBUTIONS if n in ev.distributions]
    required: set[str] = set()
    for name in installed:
        for requirement in _requirements(ev.distributions[name], ev.markers):
            required.add(canonicalize_name(requirement.name))
    return [n for n in installed if n not in required]


def check_single_tensorflow(ev: Evidence) -> CheckResult | None:
    wants_tf = ev.profile.package("tensorflow") is not None
    if not ev.distributions_known:
        return (
            _result("tensorflow.single-distribution", Status.SKIP, "installed distributions are unknown")
            if wants_tf
            else None
        )
    top = installed_tensorflow_distributions(ev)
    if not top and not wants_tf:
        return None
    listing = ", ".join(f"{n} {ev.version_of(n)}" for n in top)
    if len(top) == 1:
        return _result("tensorflow.single-distribution", Status.PASS, f"one TensorFlow distribution: {listing}")
    wanted = _tf_requirement(ev)
    if not top:
        return _result(
            "tensorflow.single-distribution",
            Status.FAIL,
            "no TensorFlow distribution is installed",
            pip_install(ev, wanted),
        )
    every = [n for n in TENSORFLOW_DISTRIBUTIONS if n in ev.distributions]
    return _result(
        "tensorflow.single-distribution",
        Status.FAIL,
        f"{len(top)} TensorFlow distributions overwrite each other's files: {listing}",
        f"{pip_uninstall(ev, *every)} && {pip_install(ev, wanted, flags=('--force-reinstall',))}",
        installed=top,
    )


def check_user_site(ev: Evidence) -> CheckResult:
    site = ev.probe.get("user_site") or {}
    interp = ev.interpreter
    platform = ev.platform
    outside = []
    # the standard library lives under base_prefix; the environment's packages under prefix
    roots = [str(interp.get("prefix") or ""), str(interp.get("base_prefix") or "")]
    for name, found in ev.imports.items():
        where = found.get("file")
        if found.get("ok") and where and not any(r and _inside(where, r, platform) for r in roots):
            outside.append((name, where))
    shadowing = []
    entries = {canonicalize_name(e.split("-")[0]) for e in site.get("entries") or () if e.endswith(".dist-info")}
    modules = set(site.get("entries") or ())
    if site.get("active"):
        for package in ev.profile.packages:
            if package.name in entries or (package.import_name and package.import_name in modules):
                shadowing.append(package.name)
    if shadowing:
        return _result(
            "packages.user-site",
            Status.WARN,
            f"user site-packages ({site.get('path')}) has {', '.join(shadowing)}, which shadows the environment's"
            " copy whenever this python runs without -s",
            f"{pip_uninstall(ev, *shadowing)}  (removes the user copy first; or set PYTHONNOUSERSITE=1)",
            shadowing=shadowing,
        )
    if outside:
        name, where = outside[0]
        owner = next((p for p in ev.profile.packages if p.import_name == name), None)
        wanted = requirement_text(owner.requirements[0]) if owner else name
        return _result(
            "packages.user-site",
            Status.WARN,
            f"{name} loads from {where}, outside the environment",
            pip_install(ev, wanted, flags=("--force-reinstall",)),
            outside=[w for _, w in outside],
        )
    count = sum(1 for i in ev.imports.values() if i.get("ok"))
    noun = "module loads" if count == 1 else "modules load"
    return _result("packages.user-site", Status.PASS, f"{count} {noun} from inside the environment")


# ---------------------------------------------------------------------------------------------- compatibility


def _dependency_conflicts(ev: Evidence, dependency: str) -> list[tuple[str, Requirement]]:
    """Which of the profile's distributions (and TensorFlow's) declare ``dependency`` in a range it is outside."""
    have = ev.version_of(dependency)
    if have is None:
        return []
    names = {p.name for p in ev.profile.packages} | set(TENSORFLOW_DISTRIBUTIONS)
    conflicts = []
    for name in sorted(names):
        dist = ev.distributions.get(name)
        if not dist:
            continue
        for requirement in _requirements(dist, ev.markers):
            if canonicalize_name(requirement.name) == dependency and not requirement.specifier.contains(
                have, prereleases=True
            ):
                conflicts.append((name, requirement))
    return conflicts


def _combined(ev: Evidence, dependency: str) -> SpecifierSet:
    """The range of ``dependency`` that the profile's distributions all accept, without redundant bounds."""
    specifier = SpecifierSet()
    for name in {p.name for p in ev.profile.packages} | set(TENSORFLOW_DISTRIBUTIONS):
        dist = ev.distributions.get(name)
        for requirement in _requirements(dist or {}, ev.markers):
            if canonicalize_name(requirement.name) == dependency:
                specifier &= requirement.specifier
    return _tightest(specifier)


def _tightest(specifier: SpecifierSet) -> SpecifierSet:
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


def _numpy_fix(ev: Evidence) -> str:
    numpy = ev.version_of("numpy")
    wanted = _combined(ev, "numpy")
    if str(wanted):
        return pip_install(ev, f"numpy{wanted}")
    if numpy is not None and numpy.major >= 2:
        return pip_install(ev, "numpy<2")
    return pip_install(ev, "numpy", flags=("--upgrade",))


def _protobuf_fix(ev: Evidence) -> str:
    wanted = _combined(ev, "protobuf")
    return pip_install(
        ev, f"protobuf{wanted}" if str(wanted) else "protobuf", flags=() if str(wanted) else ("--upgrade",)
    )


def check_numpy_abi(ev: Evidence) -> CheckResult:
    numpy = ev.version_of("numpy")
    broken = _binary_dependency_broken(
        ev, "compat.numpy-abi", "numpy", NUMPY_ABI_PATTERNS, _numpy_fix(ev), "a compiled module does not match numpy"
    )
    if broken is not None:
        return broken
    if numpy is None:
        return _result("compat.numpy-abi", Status.SKIP, "numpy is not installed")
    users = _declared_by(ev, "numpy")
    fits = f" fits what {', '.join(users)} require" if users else ""
    return _result("compat.numpy-abi", Status.PASS, f"numpy {numpy}{fits}; no ABI errors")


def check_protobuf(ev: Evidence) -> CheckResult:
    protobuf = ev.version_of("protobuf")
    broken = _binary_dependency_broken(
        ev,
        "compat.protobuf",
        "protobuf",
        PROTOBUF_PATTERNS,
        _protobuf_fix(ev),
        "the generated code does not fit protobuf",
    )
    if broken is not None:
        return broken
    if protobuf is None:
        return _result("compat.protobuf", Status.SKIP, "protobuf is not installed")
    wanted = _combined(ev, "protobuf")
    return _result(
        "compat.protobuf", Status.PASS, f"protobuf {protobuf}" + (f" within {wanted}" if str(wanted) else "")
    )


def _binary_dependency_broken(
    ev: Evidence, check_id: str, name: str, patterns: Sequence[str], fix: str, what: str
) -> CheckResult | None:
    """A failure when an import error shows the mismatch, or installed metadata predicts it; else None."""
    version = ev.version_of(name)
    text = _texts(ev)
    seen = next((p for p in patterns if p in text), None)
    if seen is not None:
        line = next((s.strip() for s in text.splitlines() if seen in s), seen)
        return _result(check_id, Status.FAIL, f"{what} {version or '(unknown)'}: {_first_line(line, 160)}", fix)
    conflicts = _dependency_conflicts(ev, name)
    if conflicts:
        who, requirement = conflicts[0]
        return _result(
            check_id,
            Status.FAIL,
            f"{who} {ev.version_of(who)} requires {name}{requirement.specifier}, but {name} {version} is installed",
            fix,
        )
    return None


def _declared_by(ev: Evidence, dependency: str) -> list[str]:
    names = {p.name for p in ev.profile.packages} | set(TENSORFLOW_DISTRIBUTIONS)
    return sorted(
        n
        for n in names
        if any(
            canonicalize_name(r.name) == dependency for r in _requirements(ev.distributions.get(n) or {}, ev.markers)
        )
    )


LEGACY_VALUES = ("true", "True", "1")


def check_keras_flavour(ev: Evidence) -> CheckResult | None:
    if ev.profile.package("keras") is None and ev.version_of("keras") is None:
        return None
    keras = _version(ev.facts("keras").get("version")) or ev.version_of("keras")
    tf = _tf_version(ev)
    tf_keras = ev.version_of("tf-keras")
    legacy = (ev.probe.get("environ") or {}).get("TF_USE_LEGACY_KERAS") in LEGACY_VALUES
    unset = _unset(ev, "TF_USE_LEGACY_KERAS")
    if tf is None:
        if keras is None:
            return _result("keras.flavour", Status.SKIP, "neither TensorFlow nor Keras is installed")
        return _result("keras.flavour", Status.PASS, f"Keras {keras} (TensorFlow is not installed)")
    if tf.release < (2, 16):
        if keras is not None and keras.major >= 3:
            return _result(
                "keras.flavour",
                Status.FAIL,
                f"TensorFlow {tf} works with Keras 2, but Keras {keras} is installed",
                pip_install(
                    ev, _tf_requirement(ev) if str(_tf_requirement(ev)) != "tensorflow" else "tensorflow>=2.16"
                ),
            )
        return _result("keras.flavour", Status.PASS, f"tf.keras is Keras 2 (TensorFlow {tf})")
    if legacy:
        if tf_keras is None:
            return _result(
                "keras.flavour",
                Status.FAIL,
                "TF_USE_LEGACY_KERAS is set but tf_keras is not installed: tf.keras cannot be used",
                f"{unset}  (or install Keras 2 for tf.keras: {pip_install(ev, f'tf-keras~={tf.major}.{tf.minor}.0')})",
            )
        if (tf_keras.major, tf_keras.minor) != (tf.major, tf.minor):
            return _result(
                "keras.flavour",
                Status.FAIL,
                f"tf_keras {tf_keras} does not match TensorFlow {tf} (TF_USE_LEGACY_KERAS is set)",
                pip_install(ev, f"tf-keras~={tf.major}.{tf.minor}.0"),
            )
        return _result(
            "keras.flavour",
            Status.WARN,
            f"TF_USE_LEGACY_KERAS makes tf.keras Keras 2 (tf_keras {tf_keras}) while `import keras` is Keras {keras}:"
            " models from the two do not mix",
            unset,
        )
    if keras is None:
        return _result(
            "keras.flavour",
            Status.FAIL,
            f"TensorFlow {tf} needs Keras 3 for tf.keras, and keras is not installed",
            pip_install(ev, "keras>=3.0"),
        )
    if keras.major < 3:
        return _result(
            "keras.flavour",
            Status.FAIL,
            f"TensorFlow {tf} needs Keras 3, but Keras {keras} is installed",
            pip_install(ev, "keras>=3.0"),
        )
    return _result("keras.flavour", Status.PASS, f"Keras {keras}; tf.keras is Keras 3 (TensorFlow {tf})")


def check_keras_backend(ev: Evidence) -> CheckResult | None:
    if ev.profile.package("keras") is None:
        return None
    facts = ev.facts("keras")
    found = _import_result(ev, "keras")
    if not found or not found.get("ok") or "backend" not in facts:
        return _result("keras.backend", Status.SKIP, "keras did not import")
    backend = facts.get("backend")
    env_backend = (ev.probe.get("environ") or {}).get("KERAS_BACKEND")
    if env_backend:
        source = "set by KERAS_BACKEND"
    elif facts.get("config_backend"):
        source = f"set in {facts.get('config_path')}"
    else:
        source = "Keras's default"
    if backend == "tensorflow":
        return _result("keras.backend", Status.PASS, f"tensorflow ({source})", source=source)
    if env_backend:
        hint = f"{_unset(ev, 'KERAS_BACKEND')}  (or: export KERAS_BACKEND=tensorflow)"
    else:
        hint = f'set "backend": "tensorflow" in {facts.get("config_path")}, or: export KERAS_BACKEND=tensorflow'
    return _result(
        "keras.backend",
        Status.FAIL,
        f"Keras uses the {backend!r} backend ({source}), not TensorFlow",
        hint,
        source=source,
    )


def check_cpu_avx(ev: Evidence) -> CheckResult:
    cpu = ev.probe.get("cpu") or {}
    machine = str(ev.interpreter.get("machine") or "").lower()
    no_avx_message = "The TensorFlow library was compiled to use AVX instructions" in ev.stderr
    sigill = next((f for f in ev.faults if f.signal == "SIGILL"), None)
    flags = cpu.get("flags") or {}
    if machine and machine not in ("x86_64", "amd64", "i386", "i686", "x86"):
        return _result("cpu.avx", Status.SKIP, f"not an x86 CPU ({machine})")
    hint = (
        "TensorFlow's wheels need a CPU with AVX: run on another machine, or build TensorFlow from source for"
        " this CPU; check a machine with: grep -o -w -m1 avx /proc/cpuinfo"
    )
    if no_avx_message or flags.get("avx") is False:
        return _result("cpu.avx", Status.FAIL, f"this CPU ({cpu.get('model') or 'unknown'}) has no AVX", hint)
    if sigill is not None:
        return _result(
            "cpu.avx",
            Status.FAIL,
            f"the probe was killed by SIGILL during {sigill.stage}: the CPU lacks an instruction the build uses",
            hint,
        )
    if "avx" not in flags:
        return _result("cpu.avx", Status.SKIP, "CPU flags could not be read")
    present = ", ".join(k.upper() for k in ("avx", "avx2", "fma", "avx512f") if flags.get(k))
    return _result("cpu.avx", Status.PASS, f"{present} ({cpu.get('model') or 'CPU'})")


# ---------------------------------------------------------------------------------------------- device


@dataclass(frozen=True)
class TensorflowMessage:
    """One of TensorFlow's stderr lines that explains why a GPU is not used."""

    key: str
    line: str
    data: Mapping[str, str] = field(default_factory=dict)


_TF_MESSAGES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("no-driver", re.compile(r"Could not find cuda drivers on your machine")),
    ("dlopen", re.compile(r"Cannot dlopen some GPU libraries")),
    ("missing-library", re.compile(r"Could not load dynamic library '(?P<library>[^']+)'")),
    ("windows-native", re.compile(r"GPU support is not available on native Windows")),
    ("no-avx", re.compile(r"The TensorFlow library was compiled to use (?P<what>\S+) instructions")),
    ("cuinit", re.compile(r"failed call to cuInit: (?P<error>.+)$")),
    (
        "min-capability",
        re.compile(r"Ignoring visible gpu device .*?The minimum required Cuda capability is (?P<min>[\d.]+)"),
    ),
    ("ptx-jit", re.compile(r"not built with CUDA kernel binaries compatible with compute capability (?P<cc>[\d.]+)")),
    ("driver-insufficient", re.compile(r"CUDA driver version is insufficient|does not match DSO version")),
    ("legacy-keras-missing", re.compile(r"TF_USE_LEGACY_KERAS set to True, but you do not have the tf_keras")),
)


# The prefix of TensorFlow's log lines: "I0000 00:00:1795880008.358114    8561 cudart_stub.cc:31] "
_LOG_PREFIX = re.compile(r"^[IWEF]\d{4} [\d:.]+\s+\d+ \S+:\d+\] ")


def tensorflow_messages(stderr: str) -> list[TensorflowMessage]:
    """TensorFlow's own explanations in the probe's stderr, each once, without the log-line prefix."""
    found: list[TensorflowMessage] = []
    seen: set[tuple[str, str]] = set()
    for raw in stderr.splitlines():
        line = _LOG_PREFIX.sub("", raw.strip())
        for key, pattern in _TF_MESSAGES:
            match = pattern.search(line)
            if match:
                data = {k: v for k, v in match.groupdict().items() if v is not None}
                marker = (key, str(sorted(data.items())))
                if marker not in seen:
                    seen.add(marker)
                    found.append(TensorflowMessage(key, line, data))
    return found


def parse_nvidia_smi(output: str) -> list[dict[str, str]]:
    """Rows of `nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv,noheader`."""
    keys = NVIDIA_SMI_QUERY.split(",")
    rows = []
    for line in output.splitlines():
        if not line.strip():
            continue
        cells = [c.strip() for c in line.split(",")]
        if len(cells) < len(keys):
            continue
        # a GPU name may itself hold a comma: the last three cells are the numeric ones
        head = ", ".join(cells[: len(cells) - len(keys) + 1])
        row = dict(zip(keys, [head, *cells[len(cells) - len(keys) + 1 :]], strict=True))
        rows.append(row)
    return rows


def _gpu_reason(ev: Evidence, messages: Sequence[TensorflowMessage]) -> tuple[str, str]:
    """Why TensorFlow sees no GPU, and what to type: from its own messages first, then from the facts."""
    keys = {m.key: m for m in messages}
    tf = _tf_version(ev)
    build = ev.facts("tensorflow").get("build_info") or {}
    smi_rows = parse_nvidia_smi(ev.nvidia_smi.stdout) if ev.nvidia_smi and ev.nvidia_smi.ok else []
    tf_pin = f"tensorflow[and-cuda]=={tf}" if tf is not None else "tensorflow[and-cuda]"
    if "windows-native" in keys or (ev.platform == "win32" and tf is not None and tf >= Version("2.11")):
        return (
            "TensorFlow >= 2.11 has no GPU support on native Windows",
            "use WSL2 (wsl --install), then inside it: envcheck setup --profile deep-learning-gpu",
        )
    if ev.platform == "darwin":
        return (
            "no Metal device: the tensorflow-metal plugin is missing or does not match TensorFlow",
            pip_install(ev, "tensorflow-metal"),
        )
    if "no-driver" in keys:
        return (
            "no NVIDIA driver (TensorFlow: Could not find cuda drivers)",
            "install the NVIDIA driver, then check it with: nvidia-smi",
        )
    if "min-capability" in keys:
        return (
            f"the GPU is older than this TensorFlow supports (needs compute capability {keys['min-capability'].data['min']})",
            f"use a newer GPU, or an older TensorFlow built for it: {pip_install(ev, 'tensorflow<2.16')}",
        )
    if "driver-insufficient" in keys:
        return ("the NVIDIA driver is too old for TensorFlow's CUDA", _driver_hint(ev))
    if "dlopen" in keys or "missing-library" in keys:
        libraries = sorted({m.data["library"] for m in messages if m.key == "missing-library"})
        missing = f" ({', '.join(libraries)})" if libraries else ""
        return (f"TensorFlow cannot load the CUDA libraries{missing}", pip_install(ev, tf_pin))
    if "cuinit" in keys:
        error = keys["cuinit"].data.get("error", "")
        visible = (ev.probe.get("environ") or {}).get("CUDA_VISIBLE_DEVICES")
        if "NO_DEVICE" in error and visible is not None:
            return (f"CUDA sees no device: CUDA_VISIBLE_DEVICES={visible!r}", _unset(ev, "CUDA_VISIBLE_DEVICES"))
        return (f"the CUDA driver failed to start: {error}", "check the driver with: nvidia-smi")
    if build and build.get("is_cuda_build") is False and ev.platform.startswith("linux"):
        return ("this TensorFlow build has no CUDA support", pip_install(ev, tf_pin))
    if ev.nvidia_smi is None and ev.platform.startswith("linux"):
        return (
            "no NVIDIA driver (nvidia-smi is not on PATH)",
            "install the NVIDIA driver, then check it with: nvidia-smi",
        )
    if ev.nvidia_smi is not None and not smi_rows:
        return ("nvidia-smi lists no usable GPU", "check the driver with: nvidia-smi")
    return ("TensorFlow lists no GPU", pip_install(ev, tf_pin))


def _driver_hint(ev: Evidence) -> str:
    cuda = str((ev.facts("tensorflow").get("build_info") or {}).get("cuda_version") or "")
    major = int(cuda.split(".")[0]) if cuda[:1].isdigit() else 12
    table = MIN_DRIVER["win32" if ev.platform == "win32" else "linux"]
    minimum = table.get(major)
    need = f" >= {minimum}" if minimum else ""
    return f"upgrade the NVIDIA driver to{need} (TensorFlow is built with CUDA {cuda or major}); then check: nvidia-smi"


def check_device_tensorflow(ev: Evidence) -> CheckResult | None:
    if ev.profile.package("tensorflow") is None:
        return None
    tf = ev.facts("tensorflow")
    messages = tensorflow_messages(ev.stderr)
    gpu_profile = ev.profile.device == "gpu"
    found = _import_result(ev, "tensorflow")
    if not found or not found.get("ok") or "physical_devices" not in tf:
        fault = ev.fault_at("facts.tensorflow")
        if fault is not None:
            return _result(
                "device.tensorflow",
                Status.FAIL,
                f"listing TensorFlow's devices {fault.what}",
                _crash_hint(ev, "tensorflow", fault),
            )
        status = Status.FAIL if gpu_profile else Status.SKIP
        return _result(
            "device.tensorflow",
            status,
            "tensorflow did not import",
            pip_install(ev, _tf_requirement(ev), flags=("--force-reinstall",)),
        )
    build = tf.get("build_info") or {}
    if build.get("is_cuda_build"):
        built = f"CUDA {build.get('cuda_version')}, cuDNN {build.get('cudnn_version')} build"
    elif build.get("is_rocm_build"):
        built = "ROCm build"
    else:
        built = "CPU-only build"
    gpus = tf.get("gpu_details") or [
        {"name": d.get("name")} for d in tf.get("physical_devices") or () if d.get("device_type") == "GPU"
    ]
    data: dict[str, Any] = {"build": dict(build), "gpus": list(gpus), "messages": [m.line for m in messages]}
    if gpus:
        names = "; ".join(_gpu_text(g) for g in gpus)
        jit = next((m for m in messages if m.key == "ptx-jit"), None)
        if jit is not None:
            return _result(
                "device.tensorflow",
                Status.WARN,
                f"GPU: {names}; TensorFlow {tf.get('version')} has no kernels for compute capability"
                f" {jit.data.get('cc')} and compiles them at start (slow)",
                f"use a TensorFlow release built for this GPU: {pip_install(ev, 'tensorflow[and-cuda]', flags=('--upgrade',))}",
                **data,
            )
        return _result(
            "device.tensorflow", Status.PASS, f"GPU: {names} (TensorFlow {tf.get('version')}, {built})", **data
        )
    reason, hint = _gpu_reason(ev, messages)
    if gpu_profile:
        return _result("device.tensorflow", Status.FAIL, f"no GPU visible to TensorFlow: {reason}", hint, **data)
    return _result(
        "device.tensorflow", Status.PASS, f"CPU only (TensorFlow {tf.get('version')}, {built}; {reason})", **data
    )


def _gpu_text(gpu: Mapping[str, Any]) -> str:
    name = gpu.get("device_name") or gpu.get("name") or "GPU"
    capability = gpu.get("compute_capability")
    if capability:
        return f"{name} (compute capability {'.'.join(str(c) for c in capability)})"
    return str(name)


def check_gpu_driver(ev: Evidence) -> CheckResult:
    gpu_profile = ev.profile.device == "gpu"
    smi = ev.nvidia_smi
    if smi is None:
        if gpu_profile and ev.platform != "darwin":
            return _result(
                "device.gpu-driver",
                Status.FAIL,
                "nvidia-smi is not on PATH: no NVIDIA driver is installed",
                "install the NVIDIA driver, then check it with: nvidia-smi",
            )
        return _result("device.gpu-driver", Status.SKIP, "nvidia-smi not found (no NVIDIA driver)")
    bad = Status.FAIL if gpu_profile else Status.WARN
    if smi.timed_out:
        return _result(
            "device.gpu-driver", bad, "nvidia-smi did not answer in time", "check the driver with: nvidia-smi"
        )
    if not smi.ok:
        said = _first_line(smi.stdout + "\n" + smi.stderr)
        return _result(
            "device.gpu-driver",
            bad,
            f"nvidia-smi failed: {said}",
            "the NVIDIA driver is not working: reinstall it or reboot, then check: nvidia-smi",
        )
    rows = parse_nvidia_smi(smi.stdout)
    if not rows:
        return _result("device.gpu-driver", bad, "nvidia-smi lists no GPU", "check the driver with: nvidia-smi")
    first = rows[0]
    detail = "; ".join(
        f"{r['name']}, driver {r['driver_version']}, {r['memory.total']}, compute capability {r['compute_cap']}"
        for r in rows
    )
    cuda = str((ev.facts("tensorflow").get("build_info") or {}).get("cuda_version") or "")
    table = MIN_DRIVER["win32" if ev.platform == "win32" else "linux"]
    minimum = table.get(int(cuda.split(".")[0])) if cuda[:1].isdigit() else None
    driver = _version(first["driver_version"])
    if minimum and driver is not None and driver < Version(minimum):
        return _result(
            "device.gpu-driver",
            bad,
            f"driver {driver} is older than {minimum}, the minimum for CUDA {cuda}: {detail}",
            _driver_hint(ev),
            gpus=rows,
        )
    return _result("device.gpu-driver", Status.PASS, detail, gpus=rows)


# ---------------------------------------------------------------------------------------------- work


def check_work(ev: Evidence) -> list[CheckResult]:
    results = []
    for package in ev.profile.packages:
        key = WORK_FOR.get(package.name)
        if key is None or not _applicable(ev, package):
            continue
        check_id = "work.matmul" if key == "matmul" else f"work.{package.name}"
        results.append(_work_check(ev, check_id, key, package))
    return results


def _work_check(ev: Evidence, check_id: str, key: str, package: Package) -> CheckResult:
    wanted = requirement_text(_applicable(ev, package)[0])
    fault = ev.fault_at(f"work.{key}")
    if fault is not None and fault.scope == "environment" and ev.work(key) is not None:
        return _result(
            check_id,
            Status.WARN,
            f"works on its own, but the probe importing everything {fault.what} here",
            _interaction_hint(ev),
        )
    if fault is not None:
        return _result(
            check_id,
            Status.FAIL,
            f"the probe {fault.what} during this work",
            _crash_hint(ev, package.import_name or package.name, fault),
        )
    found = ev.work(key)
    if found is None:
        return _result(check_id, Status.SKIP, f"{package.name} did not import")
    seconds = found.get("seconds")
    reinstall = pip_install(ev, wanted, flags=("--force-reinstall",))
    if key == "matmul":
        devices = found.get("devices") or []
        bad = [d for d in devices if not d.get("ok")]
        if not devices:
            return _result(check_id, Status.FAIL, "TensorFlow lists no device to compute on", reinstall, seconds)
        if bad:
            first = bad[0]
            why = first.get("error") or f"differs from NumPy by {first.get('max_abs_diff')}"
            return _result(
                check_id,
                Status.FAIL,
                f"64x64 matmul on {first.get('device')}: {_first_line(str(why))}",
                reinstall,
                seconds,
                devices=devices,
            )
        names = ", ".join(str(d.get("device", "")).replace("/device:", "") for d in devices)
        worst = max(float(d.get("max_abs_diff") or 0.0) for d in devices)
        return _result(
            check_id,
            Status.PASS,
            f"64x64 matmul on {names} matches NumPy (max diff {worst:.1e})",
            None,
            seconds,
            devices=devices,
        )
    if not found.get("ok"):
        why = found.get("error") or f"wrong result {found.get('result')!r}"
        return _result(check_id, Status.FAIL, f"{_first_line(str(why))}", reinstall, seconds)
    detail = {
        "pandas": "groupby-sum on a DataFrame gives the right totals",
        "sklearn": "LinearRegression recovers y = 2x + 1",
        "matplotlib": f"plot rendered to a PNG in memory with {found.get('backend') or 'Agg'}",
    }[key]
    return _result(check_id, Status.PASS, detail, None, seconds)


# ---------------------------------------------------------------------------------------------- jupyter


def kernel_install(ev: Evidence) -> str:
    name = ev.kernel_name or ev.profile.kernel_name
    return command(
        ev, ev.python, "-m", "ipykernel", "install", "--user", "--name", name, "--display-name", f"Python ({name})"
    )


def wants_kernel(profile: Profile) -> bool:
    """Setup registers a kernel for profiles that ask for one and install ipykernel; verify checks those."""
    return profile.kernel and profile.package("ipykernel") is not None


def check_kernelspec(ev: Evidence) -> CheckResult | None:
    if not wants_kernel(ev.profile):
        return None
    name = ev.kernel_name or ev.profile.kernel_name
    answer = ev.kernel
    fault = ev.kernel_fault
    if answer is None and fault is None:
        return _result("jupyter.kernelspec", Status.SKIP, "not checked")
    if answer is None or (fault is not None and answer.get("stage") in ("import jupyter_client", "kernelspec")):
        assert fault is not None
        return _result("jupyter.kernelspec", Status.FAIL, f"the kernel probe {fault.what}", kernel_install(ev))
    if answer.get("jupyter_client_error"):
        error = answer["jupyter_client_error"]
        return _result(
            "jupyter.kernelspec",
            Status.FAIL,
            f"jupyter_client does not import: {error.get('error_type')}: {_first_line(error.get('error', ''))}",
            pip_install(ev, "ipykernel"),
        )
    spec = answer.get("spec")
    if spec is None:
        available = ", ".join(answer.get("available") or ()) or "none"
        managed = ev.env.marker is not None and ev.env.marker.kernel
        return _result(
            "jupyter.kernelspec",
            Status.FAIL if managed else Status.WARN,
            f"kernel {name!r} is not registered (registered: {available})",
            kernel_install(ev),
        )
    argv0 = spec.get("argv0") or ""
    resolved = spec.get("argv0_resolved") or argv0
    executable = str(ev.interpreter.get("executable") or ev.python)
    folders = {posixpath.dirname(p) if ev.platform != "win32" else ntpath.dirname(p) for p in (ev.python, executable)}
    here = resolved and any(
        _same_path(ntpath.dirname(resolved) if ev.platform == "win32" else posixpath.dirname(resolved), f, ev.platform)
        for f in folders
    )
    if not here:
        return _result(
            "jupyter.kernelspec",
            Status.FAIL,
            f"kernel {name!r} runs {argv0}, not this environment's python ({ev.python})",
            kernel_install(ev),
            argv0=argv0,
        )
    return _result("jupyter.kernelspec", Status.PASS, f"kernel {name!r} runs {argv0}", argv0=argv0)


def check_kernel_start(ev: Evidence) -> CheckResult | None:
    if not wants_kernel(ev.profile):
        return None
    answer = ev.kernel
    fault = ev.kernel_fault
    if answer is None and fault is None:
        return _result("jupyter.kernel-start", Status.SKIP, "not checked")
    if answer is None or answer.get("spec") is None:
        return _result("jupyter.kernel-start", Status.SKIP, "no kernel to start")
    duration = answer.get("seconds") or answer.get("start_seconds")
    if fault is not None:
        return _result(
            "jupyter.kernel-start",
            Status.FAIL,
            f"the kernel {fault.what} while starting",
            pip_install(ev, "ipykernel", flags=("--force-reinstall",)),
        )
    if answer.get("start_error"):
        error = answer["start_error"]
        what = "did not start in time" if error.get("error_type") == "RuntimeError" else "failed to start"
        return _result(
            "jupyter.kernel-start",
            Status.FAIL,
            f"the kernel {what}: {error.get('error_type')}: {_first_line(error.get('error', ''))}",
            pip_install(ev, "ipykernel", flags=("--force-reinstall",)),
        )
    reported = answer.get("prefix")
    expected = ev.interpreter.get("prefix")
    if not reported or not expected or not _same_path(str(reported), str(expected), ev.platform):
        return _result(
            "jupyter.kernel-start",
            Status.FAIL,
            f"the kernel runs in {reported or '(nothing printed)'}, not in {expected}",
            kernel_install(ev),
            duration,
        )
    return _result(
        "jupyter.kernel-start", Status.PASS, f"kernel started and reports sys.prefix {reported}", None, duration
    )


# ---------------------------------------------------------------------------------------------- the probe itself


def check_probe(ev: Evidence) -> CheckResult:
    main = next((f for f in ev.faults if f.scope == "environment"), None)
    if main is None:
        took = f" in {ev.probe_seconds:.1f} s" if ev.probe_seconds is not None else ""
        count = len(ev.probe.get("packages") or ())
        return _result(
            "probe.environment", Status.PASS, f"one process imported {count} packages and did the work{took}"
        )
    alone = [f for f in ev.faults if f.scope != "environment"]
    culprit = next((f for f in alone if f.stage == main.stage), alone[0] if alone else None)
    if culprit is not None:
        found = f"; on its own, {culprit.stage} {culprit.what} too"
        hint = _crash_hint(ev, culprit.scope, culprit)
    else:
        found = "; on its own, each package was fine (packages interfere with each other)"
        hint = _interaction_hint(ev)
    return _result(
        "probe.environment",
        Status.FAIL,
        f"the probe {main.what} during {main.stage or 'start-up'}{found}",
        hint,
        stage=main.stage,
        signal=main.signal,
        timed_out=main.timed_out,
    )


# ---------------------------------------------------------------------------------------------- all of them

GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Interpreter", ("python.", "env.", "probe.")),
    ("Packages", ("package.", "packages.", "tensorflow.")),
    ("Compatibility", ("compat.", "keras.", "cpu.")),
    ("Device", ("device.",)),
    ("Work", ("work.",)),
    ("Jupyter", ("jupyter.",)),
)


def group_of(check_id: str) -> str:
    for title, prefixes in GROUPS:
        if check_id.startswith(prefixes):
            return title
    return "Other"


RULES: tuple[Callable[[Evidence], CheckResult | list[CheckResult] | None], ...] = (
    check_python_version,
    check_python_bits,
    check_python_prefix,
    check_env_complete,
    check_probe,
    check_package_imports,
    check_package_versions,
    check_pip_check,
    check_single_tensorflow,
    check_user_site,
    check_numpy_abi,
    check_protobuf,
    check_keras_flavour,
    check_keras_backend,
    check_cpu_avx,
    check_device_tensorflow,
    check_gpu_driver,
    check_work,
    check_kernelspec,
    check_kernel_start,
)


def evaluate(ev: Evidence) -> list[CheckResult]:
    """Every rule applied to the evidence, in checklist order."""
    results: list[CheckResult] = []
    for rule in RULES:
        outcome = rule(ev)
        if outcome is None:
            continue
        results.extend(outcome if isinstance(outcome, list) else [outcome])
    return results


def summary_versions(ev: Evidence, names: Iterable[str]) -> dict[str, str]:
    """Versions for the report's header: Python first, then the named distributions that are installed."""
    versions: dict[str, str] = {}
    if ev.interpreter.get("version"):
        versions["python"] = str(ev.interpreter["version"])
    for name in names:
        version = ev.version_of(name)
        if version is None and name == "tensorflow":
            top = installed_tensorflow_distributions(ev)
            version = ev.version_of(top[0]) if top else None
        if version is not None:
            versions[name] = str(version)
    return versions


def devices(ev: Evidence) -> list[dict[str, Any]]:
    """The devices for the report: what TensorFlow lists, with nvidia-smi's facts for NVIDIA GPUs."""
    tf = ev.facts("tensorflow")
    out: list[dict[str, Any]] = []
    details = {d.get("name"): d for d in tf.get("gpu_details") or ()}
    for device in tf.get("physical_devices") or ():
        entry: dict[str, Any] = {"name": device.get("name"), "type": device.get("device_type"), "source": "tensorflow"}
        extra = details.get(device.get("name"))
        if extra:
            entry["model"] = extra.get("device_name")
            if extra.get("compute_capability"):
                entry["compute_capability"] = ".".join(str(c) for c in extra["compute_capability"])
        out.append(entry)
    if ev.nvidia_smi is not None and ev.nvidia_smi.ok:
        for index, row in enumerate(parse_nvidia_smi(ev.nvidia_smi.stdout)):
            out.append(
                {
                    "name": f"nvidia:{index}",
                    "type": "GPU",
                    "source": "nvidia-smi",
                    "model": row["name"],
                    "driver": row["driver_version"],
                    "memory": row["memory.total"],
                    "compute_capability": row["compute_cap"],
                }
            )
    return out


__all__ = [
    "EnvState",
    "Evidence",
    "ProbeFault",
    "evaluate",
    "group_of",
    "parse_nvidia_smi",
    "parse_pip_check",
    "tensorflow_messages",
]
