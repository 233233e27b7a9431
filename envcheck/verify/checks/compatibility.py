"""Compatibility checks: numpy's ABI, protobuf's range, the Keras flavour and backend, the CPU's AVX."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from packaging.requirements import Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from envcheck.profiles.profile import TENSORFLOW_DISTRIBUTIONS
from envcheck.results import CheckResult, Status
from envcheck.verify.checks.common import (
    applying_requirements,
    as_version,
    error_texts,
    first_line,
    import_result,
    pip_install,
    result,
    setup_command,
    tf_requirement,
    tf_version,
    unset_command,
)
from envcheck.verify.checks.registry import COMPATIBILITY, check
from envcheck.verify.evidence import Evidence

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
        for requirement in applying_requirements(dist, ev.markers):
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
        for requirement in applying_requirements(dist or {}, ev.markers):
            if canonicalize_name(requirement.name) == dependency:
                specifier &= requirement.specifier
    return tightest(specifier)


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


def numpy_fix(ev: Evidence) -> str:
    numpy = ev.version_of("numpy")
    wanted = _combined(ev, "numpy")
    if _already_satisfied(ev, "numpy"):
        return _rebuild_fix(ev, "numpy", NUMPY_ABI_PATTERNS)
    if str(wanted):
        return pip_install(ev, f"numpy{wanted}")
    if numpy is not None and numpy.major >= 2:
        return pip_install(ev, "numpy<2")
    return pip_install(ev, "numpy", flags=("--upgrade",))


def protobuf_fix(ev: Evidence) -> str:
    wanted = _combined(ev, "protobuf")
    if _already_satisfied(ev, "protobuf"):
        return _rebuild_fix(ev, "protobuf", PROTOBUF_PATTERNS)
    return pip_install(
        ev, f"protobuf{wanted}" if str(wanted) else "protobuf", flags=() if str(wanted) else ("--upgrade",)
    )


def _already_satisfied(ev: Evidence, dependency: str) -> bool:
    """The installed version is inside every declared range: installing the range again would change nothing."""
    have = ev.version_of(dependency)
    wanted = _combined(ev, dependency)
    return have is not None and bool(str(wanted)) and wanted.contains(have, prereleases=True)


def raising_distributions(ev: Evidence, patterns: Sequence[str]) -> list[str]:
    """The distributions whose import failed with one of ``patterns``: the other side of the mismatch."""
    by_module = {p.import_name: p.name for p in ev.profile.packages if p.import_name}
    names: list[str] = []
    for module, found in ev.imports.items():
        if found.get("ok") or not any(p in str(found.get("error", "")) for p in patterns):
            continue
        name = by_module.get(module, module.split(".")[0])
        if name not in names:
            names.append(name)
    return names


def _rebuild_fix(ev: Evidence, dependency: str, patterns: Sequence[str]) -> str:
    """The fix when the dependency already fits: a fresh build of the modules that raised, for this version."""
    have = ev.version_of(dependency)
    wanted = _combined(ev, dependency)
    fits = f"{dependency} {have} already satisfies {wanted}"
    raisers = raising_distributions(ev, patterns)
    if not raisers:
        return (
            f"{fits}: the module that raised was built for another {dependency}; find it in the traceback"
            " (envcheck verify -v) and reinstall it with --upgrade --force-reinstall --no-deps"
        )
    # --no-deps: leave the dependency as it is; --upgrade: a release built for it, where one exists
    flags = ("--upgrade", "--force-reinstall", "--no-deps")
    built = f"{', '.join(raisers)} {'was' if len(raisers) == 1 else 'were'} built for another {dependency}"
    return f"{pip_install(ev, *raisers, flags=flags)}  ({fits}; {built})"


@check("compat.numpy-abi", group=COMPATIBILITY, order=10)
def check_numpy_abi(ev: Evidence) -> CheckResult:
    """numpy's major version fits what the compiled packages (TensorFlow, pandas, scikit-learn,
    matplotlib) were built against, and no import failed with numpy's ABI errors ("compiled using NumPy 1.x
    cannot be run in NumPy 2").

    Fix: `pip install` of the numpy range every installed package accepts."""
    numpy = ev.version_of("numpy")
    broken = _binary_dependency_broken(
        ev, "compat.numpy-abi", "numpy", NUMPY_ABI_PATTERNS, numpy_fix(ev), "a compiled module does not match numpy"
    )
    if broken is not None:
        return broken
    if numpy is None:
        return result("compat.numpy-abi", Status.SKIP, "numpy is not installed")
    users = _declared_by(ev, "numpy")
    fits = f" fits what {', '.join(users)} require" if users else ""
    return result("compat.numpy-abi", Status.PASS, f"numpy {numpy}{fits}; no ABI errors")


@check("compat.protobuf", group=COMPATIBILITY, order=20)
def check_protobuf(ev: Evidence) -> CheckResult:
    """protobuf lies within the range TensorFlow declares; outside it, `import tensorflow` fails
    with descriptor errors.

    Fix: `pip install 'protobuf<X,>=Y'` with TensorFlow's own range."""
    protobuf = ev.version_of("protobuf")
    broken = _binary_dependency_broken(
        ev,
        "compat.protobuf",
        "protobuf",
        PROTOBUF_PATTERNS,
        protobuf_fix(ev),
        "the generated code does not fit protobuf",
    )
    if broken is not None:
        return broken
    if protobuf is None:
        return result("compat.protobuf", Status.SKIP, "protobuf is not installed")
    wanted = _combined(ev, "protobuf")
    return result("compat.protobuf", Status.PASS, f"protobuf {protobuf}" + (f" within {wanted}" if str(wanted) else ""))


def _binary_dependency_broken(
    ev: Evidence, check_id: str, name: str, patterns: Sequence[str], fix: str, what: str
) -> CheckResult | None:
    """A failure when an import error shows the mismatch, or installed metadata predicts it; else None."""
    version = ev.version_of(name)
    text = error_texts(ev)
    seen = next((p for p in patterns if p in text), None)
    if seen is not None:
        line = next((s.strip() for s in text.splitlines() if seen in s), seen)
        return result(check_id, Status.FAIL, f"{what} {version or '(unknown)'}: {first_line(line, 160)}", fix)
    conflicts = _dependency_conflicts(ev, name)
    if conflicts:
        who, requirement = conflicts[0]
        return result(
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
            canonicalize_name(r.name) == dependency
            for r in applying_requirements(ev.distributions.get(n) or {}, ev.markers)
        )
    )


LEGACY_VALUES = ("true", "True", "1")


@check("keras.flavour", group=COMPATIBILITY, order=30)
def check_keras_flavour(ev: Evidence) -> CheckResult | None:
    """Keras and TensorFlow fit together: TensorFlow 2.16 and later need Keras 3 for `tf.keras`;
    older ones Keras 2; with `TF_USE_LEGACY_KERAS` set, `tf.keras` is `tf_keras` (Keras 2), which must match
    TensorFlow's version and is then another Keras than `import keras`.

    Fix: install the Keras that matches (`pip install 'keras>=3'`, or `tf-keras~=2.N.0`), or unset
    `TF_USE_LEGACY_KERAS`."""
    if ev.profile.package("keras") is None and ev.version_of("keras") is None:
        return None
    keras = as_version(ev.facts("keras").get("version")) or ev.version_of("keras")
    tf = tf_version(ev)
    tf_keras = ev.version_of("tf-keras")
    legacy = (ev.probe.get("environ") or {}).get("TF_USE_LEGACY_KERAS") in LEGACY_VALUES
    unset = unset_command(ev, "TF_USE_LEGACY_KERAS")
    if tf is None:
        if keras is None:
            return result("keras.flavour", Status.SKIP, "neither TensorFlow nor Keras is installed")
        return result("keras.flavour", Status.PASS, f"Keras {keras} (TensorFlow is not installed)")
    if tf.release < (2, 16):
        if keras is not None and keras.major >= 3:
            return result(
                "keras.flavour",
                Status.FAIL,
                f"TensorFlow {tf} works with Keras 2, but Keras {keras} is installed",
                pip_install(ev, tf_requirement(ev) if str(tf_requirement(ev)) != "tensorflow" else "tensorflow>=2.16"),
            )
        return result("keras.flavour", Status.PASS, f"tf.keras is Keras 2 (TensorFlow {tf})")
    if legacy:
        if tf_keras is None:
            return result(
                "keras.flavour",
                Status.FAIL,
                "TF_USE_LEGACY_KERAS is set but tf_keras is not installed: tf.keras cannot be used",
                f"{unset}  (or install Keras 2 for tf.keras: {pip_install(ev, f'tf-keras~={tf.major}.{tf.minor}.0')})",
            )
        if (tf_keras.major, tf_keras.minor) != (tf.major, tf.minor):
            return result(
                "keras.flavour",
                Status.FAIL,
                f"tf_keras {tf_keras} does not match TensorFlow {tf} (TF_USE_LEGACY_KERAS is set)",
                pip_install(ev, f"tf-keras~={tf.major}.{tf.minor}.0"),
            )
        return result(
            "keras.flavour",
            Status.WARN,
            f"TF_USE_LEGACY_KERAS makes tf.keras Keras 2 (tf_keras {tf_keras}) while `import keras` is Keras {keras}:"
            " models from the two do not mix",
            unset,
        )
    if keras is None:
        return result(
            "keras.flavour",
            Status.FAIL,
            f"TensorFlow {tf} needs Keras 3 for tf.keras, and keras is not installed",
            pip_install(ev, "keras>=3.0"),
        )
    if keras.major < 3:
        return result(
            "keras.flavour",
            Status.FAIL,
            f"TensorFlow {tf} needs Keras 3, but Keras {keras} is installed",
            pip_install(ev, "keras>=3.0"),
        )
    return result("keras.flavour", Status.PASS, f"Keras {keras}; tf.keras is Keras 3 (TensorFlow {tf})")


@check("keras.backend", group=COMPATIBILITY, order=40)
def check_keras_backend(ev: Evidence) -> CheckResult | None:
    """Keras 3 runs on TensorFlow, not on JAX or PyTorch; the finding says whether
    `KERAS_BACKEND` or `~/.keras/keras.json` chose the backend.

    Fix: `unset KERAS_BACKEND` (or `export KERAS_BACKEND=tensorflow`), or set `"backend": "tensorflow"` in
    the keras.json it names."""
    if ev.profile.package("keras") is None:
        return None
    facts = ev.facts("keras")
    found = import_result(ev, "keras")
    if not found or not found.get("ok") or "backend" not in facts:
        return result("keras.backend", Status.SKIP, "keras did not import")
    backend = facts.get("backend")
    env_backend = (ev.probe.get("environ") or {}).get("KERAS_BACKEND")
    if env_backend:
        source = "set by KERAS_BACKEND"
    elif facts.get("config_backend"):
        source = f"set in {facts.get('config_path')}"
    else:
        source = "Keras's default"
    if backend == "tensorflow":
        return result("keras.backend", Status.PASS, f"tensorflow ({source})", source=source)
    if env_backend:
        hint = f"{unset_command(ev, 'KERAS_BACKEND')}  (or: export KERAS_BACKEND=tensorflow)"
    else:
        hint = f'set "backend": "tensorflow" in {facts.get("config_path")}, or: export KERAS_BACKEND=tensorflow'
    return result(
        "keras.backend",
        Status.FAIL,
        f"Keras uses the {backend!r} backend ({source}), not TensorFlow",
        hint,
        source=source,
    )


@check("cpu.avx", group=COMPATIBILITY, order=50)
def check_cpu_avx(ev: Evidence) -> CheckResult:
    """On x86, the CPU has AVX: TensorFlow's wheels are built with it and die with SIGILL without it. An
    x86_64 python under Rosetta 2 on Apple silicon is named as such. Skipped on other CPUs.

    Fix: run on a CPU with AVX, or build TensorFlow from source for this one; under Rosetta 2, install an arm64
    python and `envcheck setup --python /opt/homebrew/bin/python3.12 --recreate`."""
    cpu = ev.probe.get("cpu") or {}
    machine = str(ev.interpreter.get("machine") or "").lower()
    no_avx_message = "The TensorFlow library was compiled to use AVX instructions" in ev.stderr
    sigill = next((f for f in ev.faults if f.signal == "SIGILL"), None)
    flags = cpu.get("flags") or {}
    if machine and machine not in ("x86_64", "amd64", "i386", "i686", "x86"):
        return result("cpu.avx", Status.SKIP, f"not an x86 CPU ({machine})")
    failed = no_avx_message or flags.get("avx") is False or sigill is not None
    if cpu.get("translated"):
        # an x86_64 python on Apple silicon, translated by Rosetta 2 (which offers no AVX before macOS 15):
        # the fix is a native python, not another CPU or a build from source
        arm64 = setup_command(ev, "--python", "/opt/homebrew/bin/python3.12", "--recreate")
        return result(
            "cpu.avx",
            Status.FAIL if failed else Status.WARN,
            f"this is an x86_64 python running under Rosetta 2 on Apple silicon ({cpu.get('model') or 'Apple'})",
            f"install an arm64 python (python.org's universal2 installer, or Homebrew in /opt/homebrew), then: {arm64}",
            translated=True,
        )
    hint = (
        "TensorFlow's wheels need a CPU with AVX: run on another machine, or build TensorFlow from source for"
        " this CPU; check a machine with: grep -o -w -m1 avx /proc/cpuinfo"
    )
    if no_avx_message or flags.get("avx") is False:
        return result("cpu.avx", Status.FAIL, f"this CPU ({cpu.get('model') or 'unknown'}) has no AVX", hint)
    if sigill is not None:
        return result(
            "cpu.avx",
            Status.FAIL,
            f"the probe was killed by SIGILL during {sigill.stage}: the CPU lacks an instruction the build uses",
            hint,
        )
    if "avx" not in flags:
        return result("cpu.avx", Status.SKIP, "CPU flags could not be read")
    present = ", ".join(k.upper() for k in ("avx", "avx2", "fma", "avx512f") if flags.get(k))
    return result("cpu.avx", Status.PASS, f"{present} ({cpu.get('model') or 'CPU'})")
