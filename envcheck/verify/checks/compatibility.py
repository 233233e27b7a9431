"""Compatibility checks: numpy's ABI, protobuf's range, pkg_resources, the Keras flavour and backend, the CPU's AVX."""

from __future__ import annotations

from collections.abc import Sequence

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from envcheck.results import CheckResult, Status
from envcheck.verify.checks.common import (
    applying_requirements,
    error_texts,
    first_line,
    import_result,
    pip_install,
    result,
    setup_command,
    tf_requirement,
    tf_version,
    unset,
)
from envcheck.verify.checks.ranges import declared_range, declarers, wanted_range
from envcheck.verify.checks.registry import COMPATIBILITY, check
from envcheck.verify.evidence import Evidence, as_version
from envcheck.verify.remedy import Remedy, advice, explained, install

NUMPY_1_BUILD = "compiled using NumPy 1.x cannot be run in"
NUMPY_ABI_PATTERNS = (
    NUMPY_1_BUILD,
    "_ARRAY_API not found",
    "numpy.core.multiarray failed to import",
    "numpy.core._multiarray_umath failed to import",
    "numpy.dtype size changed, may indicate binary incompatibility",
    "module compiled against ABI version",
    # a module built for numpy 2 under numpy 1.x (TensorFlow >= 2.19 with numpy<2): said on stderr, while the
    # import itself fails with "SystemError: <built-in function __import__> returned a result with an exception set"
    "module was compiled against NumPy C-API version",
)
# setuptools 82 no longer ships pkg_resources; older packages (tensorflow-hub 0.15) still import it
PKG_RESOURCES_GONE = "82"
PKG_RESOURCES_MISSING = "No module named 'pkg_resources'"
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
    conflicts = []
    for name in sorted(declarers(ev)):
        dist = ev.distributions.get(name)
        if dist is None:
            continue
        for requirement in applying_requirements(dist, ev.markers):
            if canonicalize_name(requirement.name) == dependency and not requirement.specifier.contains(
                have, prereleases=True
            ):
                conflicts.append((name, requirement))
    return conflicts


def numpy_fix(ev: Evidence) -> Remedy:
    """numpy in the range every compiled package here accepts; a new build of what raised when it already is."""
    numpy = ev.version_of("numpy")
    wanted = wanted_range(ev, "numpy")
    if numpy_1_build_broken(ev):
        # a module built for NumPy 1.x whose package declares no upper bound (TensorFlow 2.8 to 2.15)
        return install(f"numpy{wanted & SpecifierSet('<2')}")
    if _already_satisfied(ev, "numpy"):
        return _rebuild_fix(ev, "numpy", NUMPY_ABI_PATTERNS)
    if str(wanted):
        return install(f"numpy{wanted}")
    if numpy is not None and numpy.major >= 2:
        return install("numpy<2")
    return install("numpy", flags=("--upgrade",))


def numpy_1_build_broken(ev: Evidence) -> bool:
    """numpy 2 is installed, a module built for NumPy 1.x said so while an import failed, and nothing installed
    needs numpy 2 (else the module needs a new build, not an older numpy)."""
    numpy = ev.version_of("numpy")
    if numpy is None or numpy.major < 2 or NUMPY_1_BUILD not in error_texts(ev):
        return False
    return not any(
        spec.operator in (">=", ">", "==", "~=", "===") and (as_version(spec.version.rstrip(".*")) or numpy).major >= 2
        for spec in wanted_range(ev, "numpy")
    )


def protobuf_fix(ev: Evidence) -> Remedy:
    """protobuf in the range the generated code accepts; a new build of what raised when it already is."""
    wanted = wanted_range(ev, "protobuf")
    if _already_satisfied(ev, "protobuf"):
        return _rebuild_fix(ev, "protobuf", PROTOBUF_PATTERNS)
    if str(wanted):
        return install(f"protobuf{wanted}")
    return install("protobuf", flags=("--upgrade",))


def _already_satisfied(ev: Evidence, dependency: str) -> bool:
    """The installed version is inside every declared range: installing the range again would change nothing."""
    have = ev.version_of(dependency)
    wanted = declared_range(ev, dependency)
    return have is not None and bool(str(wanted)) and wanted.contains(have, prereleases=True)


def raising_distributions(ev: Evidence, patterns: Sequence[str]) -> list[str]:
    """The distributions whose import failed with one of ``patterns``: the other side of the mismatch."""
    by_module = {p.import_name: p.name for p in ev.profile.packages if p.import_name}
    names: list[str] = []
    for module, found in ev.imports.items():
        if found.ok or not any(p in found.error for p in patterns):
            continue
        name = by_module.get(module, module.split(".")[0])
        if name not in names:
            names.append(name)
    return names


def _rebuild_fix(ev: Evidence, dependency: str, patterns: Sequence[str]) -> Remedy:
    """The fix when the dependency already fits: a fresh build of the modules that raised, for this version."""
    have = ev.version_of(dependency)
    wanted = declared_range(ev, dependency)
    fits = f"{dependency} {have} already satisfies {wanted}"
    raisers = raising_distributions(ev, patterns)
    if not raisers:
        return advice(
            f"{fits}: the module that raised was built for another {dependency}; find it in the traceback"
            " (envcheck verify -v) and reinstall it with --upgrade --force-reinstall --no-deps"
        )
    # --no-deps: leave the dependency as it is; --upgrade: a release built for it, where one exists
    flags = ("--upgrade", "--force-reinstall", "--no-deps")
    built = f"{', '.join(raisers)} {'was' if len(raisers) == 1 else 'were'} built for another {dependency}"
    remedy = install(*raisers, flags=flags)
    return Remedy(pip=remedy.pip, text=f"{{command}}  ({fits}; {built})")


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
        return result("compat.numpy-abi", Status.SKIP, "numpy is not installed", explained("package.numpy.import"))
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
    wanted = declared_range(ev, "protobuf")
    return result("compat.protobuf", Status.PASS, f"protobuf {protobuf}" + (f" within {wanted}" if str(wanted) else ""))


def _binary_dependency_broken(
    ev: Evidence, check_id: str, name: str, patterns: Sequence[str], fix: Remedy, what: str
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
    return sorted(
        n
        for n in declarers(ev)
        if any(
            canonicalize_name(r.name) == dependency for r in applying_requirements(ev.distributions.get(n), ev.markers)
        )
    )


LEGACY_VALUES = ("true", "True", "1")


@check("compat.pkg-resources", group=COMPATIBILITY, order=25)
def check_pkg_resources(ev: Evidence) -> CheckResult | None:
    """Every package that imports `pkg_resources` finds it: setuptools ships it up to 81 and no longer from 82
    on, while packages of its time (tensorflow-hub 0.15, older TensorBoard tools) still import it. Applies only
    when an import failed for want of it.

    Fix: `pip install 'setuptools<82'`."""
    failed = sorted(name for name, found in ev.imports.items() if not found.ok and PKG_RESOURCES_MISSING in found.error)
    if not failed:
        return None
    setuptools = ev.version_of("setuptools")
    why = (
        f"setuptools {setuptools} has no pkg_resources (gone from {PKG_RESOURCES_GONE} on)"
        if setuptools is not None and setuptools.major >= int(PKG_RESOURCES_GONE)
        else "setuptools, which ships it, is not installed"
        if setuptools is None
        else f"setuptools {setuptools} has no pkg_resources"
    )
    return result(
        "compat.pkg-resources",
        Status.FAIL,
        f"{', '.join(failed)} import{'s' if len(failed) == 1 else ''} pkg_resources, and {why}",
        pkg_resources_fix(),
        modules=failed,
    )


def pkg_resources_fix(*, explained_by: Sequence[str] = ()) -> Remedy:
    """The setuptools that still ships pkg_resources."""
    return install(f"setuptools<{PKG_RESOURCES_GONE}", explained_by=explained_by)


@check("keras.flavour", group=COMPATIBILITY, order=30)
def check_keras_flavour(ev: Evidence) -> CheckResult | None:
    """Keras and TensorFlow fit together: TensorFlow 2.16 and later need Keras 3 for `tf.keras`;
    older ones Keras 2; with `TF_USE_LEGACY_KERAS` set, `tf.keras` is `tf_keras` (Keras 2), which must match
    TensorFlow's version and is then another Keras than `import keras`.

    Fix: install the Keras that matches (`pip install 'keras>=3'`, or `tf-keras~=2.N.0`), or unset
    `TF_USE_LEGACY_KERAS`."""
    if ev.profile.package("keras") is None and ev.version_of("keras") is None:
        return None
    keras = as_version(ev.probe.keras.version if ev.probe.keras else None) or ev.version_of("keras")
    tf = tf_version(ev)
    tf_keras = ev.version_of("tf-keras")
    legacy = ev.probe.environ.get("TF_USE_LEGACY_KERAS") in LEGACY_VALUES
    if tf is None:
        if keras is None:
            return result("keras.flavour", Status.SKIP, "neither TensorFlow nor Keras is installed")
        return result("keras.flavour", Status.PASS, f"Keras {keras} (TensorFlow is not installed)")
    if tf.release < (2, 16):
        if keras is not None and keras.major >= 3:
            wanted = tf_requirement(ev)
            return result(
                "keras.flavour",
                Status.FAIL,
                f"TensorFlow {tf} works with Keras 2, but Keras {keras} is installed",
                install(wanted if wanted != "tensorflow" else "tensorflow>=2.16"),
            )
        return result("keras.flavour", Status.PASS, f"tf.keras is Keras 2 (TensorFlow {tf})")
    tf_keras_pin = f"tf-keras~={tf.major}.{tf.minor}.0"
    if legacy:
        if tf_keras is None:
            return result(
                "keras.flavour",
                Status.FAIL,
                "TF_USE_LEGACY_KERAS is set but tf_keras is not installed: tf.keras cannot be used",
                unset(
                    ev,
                    "TF_USE_LEGACY_KERAS",
                    f"{{command}}  (or install Keras 2 for tf.keras: {pip_install(ev, tf_keras_pin)})",
                    explained_by=("environ.tf-use-legacy-keras",),
                ),
            )
        if (tf_keras.major, tf_keras.minor) != (tf.major, tf.minor):
            return result(
                "keras.flavour",
                Status.FAIL,
                f"tf_keras {tf_keras} does not match TensorFlow {tf} (TF_USE_LEGACY_KERAS is set)",
                install(tf_keras_pin),
            )
        return result(
            "keras.flavour",
            Status.WARN,
            f"TF_USE_LEGACY_KERAS makes tf.keras Keras 2 (tf_keras {tf_keras}) while `import keras` is Keras {keras}:"
            " models from the two do not mix",
            unset(ev, "TF_USE_LEGACY_KERAS"),
        )
    if keras is None:
        return result(
            "keras.flavour",
            Status.FAIL,
            f"TensorFlow {tf} needs Keras 3 for tf.keras, and keras is not installed",
            install("keras>=3.0", explained_by=("package.keras.import",)),
        )
    if keras.major < 3:
        return result(
            "keras.flavour",
            Status.FAIL,
            f"TensorFlow {tf} needs Keras 3, but Keras {keras} is installed",
            install("keras>=3.0"),
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
    facts = ev.probe.keras
    found = import_result(ev, "keras")
    if not found or not found.ok or facts is None or not facts.backend_read:
        return result("keras.backend", Status.SKIP, "keras did not import", explained("package.keras.import"))
    backend = facts.backend
    env_backend = ev.probe.environ.get("KERAS_BACKEND")
    if env_backend:
        source = "set by KERAS_BACKEND"
    elif facts.config_backend:
        source = f"set in {facts.config_path}"
    else:
        source = "Keras's default"
    if backend == "tensorflow":
        return result("keras.backend", Status.PASS, f"tensorflow ({source})", source=source)
    if env_backend:
        fix = unset(
            ev,
            "KERAS_BACKEND",
            "{command}  (or: export KERAS_BACKEND=tensorflow)",
            explained_by=("environ.keras-backend",),
        )
    else:  # keras.json names another backend: the hint says which line to change
        fix = advice(f'set "backend": "tensorflow" in {facts.config_path}, or: export KERAS_BACKEND=tensorflow')
    return result(
        "keras.backend",
        Status.FAIL,
        f"Keras uses the {backend!r} backend ({source}), not TensorFlow",
        fix,
        source=source,
    )


@check("cpu.avx", group=COMPATIBILITY, order=50)
def check_cpu_avx(ev: Evidence) -> CheckResult:
    """On x86, the CPU has AVX: TensorFlow's wheels are built with it and die with SIGILL without it. An
    x86_64 python under Rosetta 2 on Apple silicon is named as such. Skipped on other CPUs.

    Fix: run on a CPU with AVX, or build TensorFlow from source for this one; under Rosetta 2, install an arm64
    python and `envcheck setup --python /opt/homebrew/bin/python3.12 --recreate`."""
    cpu = ev.probe.cpu
    machine = (ev.interpreter.machine or "").lower()
    no_avx_message = "The TensorFlow library was compiled to use AVX instructions" in ev.stderr
    sigill = next((f for f in ev.faults if f.signal == "SIGILL"), None)
    flags = cpu.flags
    if machine and machine not in ("x86_64", "amd64", "i386", "i686", "x86"):
        return result("cpu.avx", Status.SKIP, f"not an x86 CPU ({machine})")
    failed = no_avx_message or flags.get("avx") is False or sigill is not None
    if cpu.translated:
        # an x86_64 python on Apple silicon, translated by Rosetta 2 (which offers no AVX before macOS 15):
        # the fix is a native python, not another CPU or a build from source
        arm64 = setup_command(ev, "--python", "/opt/homebrew/bin/python3.12", "--recreate")
        return result(
            "cpu.avx",
            Status.FAIL if failed else Status.WARN,
            f"this is an x86_64 python running under Rosetta 2 on Apple silicon ({cpu.model or 'Apple'})",
            advice(
                "install an arm64 python (python.org's universal2 installer, or Homebrew in /opt/homebrew),"
                f" then: {arm64}"
            ),
            translated=True,
        )
    hint = advice(
        "TensorFlow's wheels need a CPU with AVX: run on another machine, or build TensorFlow from source for"
        " this CPU; check a machine with: grep -o -w -m1 avx /proc/cpuinfo"
    )
    if no_avx_message or flags.get("avx") is False:
        return result("cpu.avx", Status.FAIL, f"this CPU ({cpu.model or 'unknown'}) has no AVX", hint)
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
    return result("cpu.avx", Status.PASS, f"{present} ({cpu.model or 'CPU'})")
