"""One cause, one fix: for each way an environment breaks, the right root cause is named, every symptom points to
it, and the plan holds exactly the commands that fix it. Judged on the recorded probe answer of a real CPU
environment, broken the way each cause breaks it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version
from support.evidence import CPU, PREFIX, PY, evidence, ran, recorded, started_kernel
from support.locks import lock_text

from envcheck.completion import Marker
from envcheck.kernels import install_argv
from envcheck.lock.pylock import read_lock
from envcheck.profiles.profile import TENSORFLOW_DISTRIBUTIONS
from envcheck.results import Status
from envcheck.verify.checks import Evidence, evaluate
from envcheck.verify.checks.environ import variable_check_id
from envcheck.verify.evidence import EnvState, LockFacts
from envcheck.verify.plan import Diagnosis, Scope, Step, diagnose, merge_requirements


def diagnosed(ev: Evidence) -> Diagnosis:
    return diagnose(ev, evaluate(ev))


def by_id(diagnosis: Diagnosis) -> dict[str, Any]:
    return {c.id: c for c in diagnosis.checks}


def problems(diagnosis: Diagnosis) -> set[str]:
    return {c.id for c in diagnosis.checks if c.status in (Status.WARN, Status.FAIL)}


def declared_range(probe: dict[str, Any], dependency: str) -> list[SpecifierSet]:
    """What the profile's distributions and TensorFlow's declare for ``dependency`` (markers for Python 3.11)."""
    declarers = {p.name for p in CPU.packages} | set(TENSORFLOW_DISTRIBUTIONS)
    found = []
    for name, dist in probe["distributions"].items():
        if name not in declarers:
            continue
        for raw in dist.get("requires") or ():
            requirement = Requirement(raw)
            env = {**probe["interpreter"]["markers"], "extra": ""}
            if canonicalize_name(requirement.name) == dependency and (
                requirement.marker is None or requirement.marker.evaluate(env)
            ):
                found.append(requirement.specifier)
    return found


def assert_accepts_exactly(requirement_text: str, dependency: str, declared: list[SpecifierSet]) -> None:
    """The planned requirement accepts a version exactly when every declared range does (at every bound)."""
    requirement = Requirement(requirement_text)
    assert canonicalize_name(requirement.name) == dependency
    bounds = {Version(clause.version) for spec in declared for clause in spec}
    for version in bounds | {Version("0.1"), Version("99")}:
        expected = all(spec.contains(version, prereleases=True) for spec in declared)
        assert requirement.specifier.contains(version, prereleases=True) == expected, (requirement_text, version)


def only_environment_step(diagnosis: Diagnosis) -> Step:
    assert [s.scope for s in diagnosis.plan] == [Scope.ENVIRONMENT], diagnosis.plan
    return diagnosis.plan[0]


def assert_symptoms_point_to(diagnosis: Diagnosis, root: str) -> None:
    """Every problem but the root is caused by it alone and gives no fix of its own."""
    checks = by_id(diagnosis)
    assert root in problems(diagnosis)
    assert checks[root].caused_by == () and checks[root].hint
    for cid in problems(diagnosis) - {root}:
        assert checks[cid].caused_by == (root,), cid
        assert checks[cid].hint is None, cid
    assert diagnosis.unplanned == ()


# ---------------------------------------------------------------------------------------------- missing numpy


def without_numpy() -> tuple[dict[str, Any], Evidence]:
    probe = recorded()
    declarers = sorted(
        n for n, d in probe["distributions"].items() if any(r.startswith("numpy") for r in d["requires"])
    )
    del probe["distributions"]["numpy"]
    for name in ("tensorflow", "keras", "sklearn", "matplotlib"):
        probe["imports"][name] = {"ok": False, "error_type": "ModuleNotFoundError", "error": "No module named 'numpy'"}
    probe["imports"]["pandas"] = {
        "ok": False,
        "error_type": "ImportError",
        "error": "Unable to import required dependency numpy. Please see the traceback for details.",
    }
    probe["work"] = {}
    del probe["facts"]["tensorflow"]
    lines = "".join(
        f"{n} {probe['distributions'][n]['version']} requires numpy, which is not installed.\n" for n in declarers
    )
    return probe, evidence(probe, pip_check=ran(lines, returncode=1))


def test_missing_numpy_is_one_cause_with_one_install() -> None:
    probe, ev = without_numpy()
    diagnosis = diagnosed(ev)
    assert_symptoms_point_to(diagnosis, "packages.pip-check")
    checks = by_id(diagnosis)
    for name in ("tensorflow", "keras", "pandas", "scikit-learn", "matplotlib"):
        assert checks[f"package.{name}.import"].caused_by == ("packages.pip-check",)
    assert checks["work.matmul"].status is Status.SKIP and checks["work.matmul"].caused_by == ("packages.pip-check",)
    step = only_environment_step(diagnosis)
    assert step.argv[:4] == (PY, "-m", "pip", "install") and len(step.argv) == 5
    assert_accepts_exactly(step.argv[4], "numpy", declared_range(probe, "numpy"))
    assert set(step.resolves) >= problems(diagnosis)


def test_missing_numpy_and_old_protobuf_share_one_pip_install() -> None:
    probe, _ = without_numpy()
    probe["distributions"]["protobuf"]["version"] = "4.25.3"
    _, broken = without_numpy()
    ev = evidence(probe, pip_check=broken.pip_check)
    diagnosis = diagnosed(ev)
    step = only_environment_step(diagnosis)
    assert [Requirement(r).name for r in step.argv[4:]] == ["numpy", "protobuf"]
    assert_accepts_exactly(step.argv[5], "protobuf", declared_range(probe, "protobuf"))
    assert {"packages.pip-check", "compat.protobuf"} <= set(step.resolves)


# ---------------------------------------------------------------------------------------------- numpy's ABI


def test_numpy_1_under_packages_built_for_2_is_the_cause_of_the_import_errors() -> None:
    probe = recorded()
    probe["distributions"]["numpy"]["version"] = "1.26.4"
    probe["imports"]["pandas"] = {
        "ok": False,
        "error_type": "ImportError",
        "error": "numpy.core.multiarray failed to import",
    }
    del probe["work"]["pandas"]
    pandas = probe["distributions"]["pandas"]["version"]
    pip = ran(f"pandas {pandas} has requirement numpy>=2.0.2, but you have numpy 1.26.4.\n", returncode=1)
    diagnosis = diagnosed(evidence(probe, pip_check=pip))
    assert_symptoms_point_to(diagnosis, "compat.numpy-abi")
    assert by_id(diagnosis)["packages.pip-check"].caused_by == ("compat.numpy-abi",)
    assert by_id(diagnosis)["work.pandas"].caused_by == ("compat.numpy-abi",)
    step = only_environment_step(diagnosis)
    assert len(step.argv) == 5
    assert_accepts_exactly(step.argv[4], "numpy", declared_range(probe, "numpy"))
    assert not Requirement(step.argv[4]).specifier.contains("1.26.4")


# ---------------------------------------------------------------------------------------------- protobuf


def test_protobuf_out_of_range_is_one_cause_not_four() -> None:
    probe = recorded()
    probe["distributions"]["protobuf"]["version"] = "3.20.3"
    error = "Descriptors cannot be created directly.\nIf this call came from a _pb2.py file, ..."
    probe["imports"]["tensorflow"] = {"ok": False, "error_type": "TypeError", "error": error}
    probe["imports"]["keras"] = {"ok": False, "error_type": "TypeError", "error": error}
    tf = probe["distributions"]["tensorflow"]["version"]
    pip = ran(f"tensorflow {tf} has requirement protobuf<8.0.0,>=6.31.1, but you have protobuf 3.20.3.\n", returncode=1)
    diagnosis = diagnosed(evidence(probe, pip_check=pip))
    assert_symptoms_point_to(diagnosis, "compat.protobuf")
    assert {"package.tensorflow.import", "package.keras.import", "packages.pip-check"} <= problems(diagnosis)
    step = only_environment_step(diagnosis)
    assert len(step.argv) == 5
    assert_accepts_exactly(step.argv[4], "protobuf", declared_range(probe, "protobuf"))


# ---------------------------------------------------------------------------------------------- variables


def outside_steps(diagnosis: Diagnosis) -> list[tuple[str, ...]]:
    assert all(s.scope is Scope.OUTSIDE for s in diagnosis.plan), diagnosis.plan
    return [s.argv for s in diagnosis.plan]


def test_keras_backend_variable_is_the_cause_and_unsetting_it_the_fix() -> None:
    probe = recorded()
    probe["environ"]["KERAS_BACKEND"] = "jax"
    probe["imports"]["keras"] = {"ok": False, "error_type": "ModuleNotFoundError", "error": "No module named 'jax'"}
    diagnosis = diagnosed(evidence(probe, shell={"KERAS_BACKEND": "jax"}))
    root = variable_check_id("KERAS_BACKEND")
    assert_symptoms_point_to(diagnosis, root)
    checks = by_id(diagnosis)
    assert checks["package.keras.import"].caused_by == (root,)
    assert checks["keras.backend"].status is Status.SKIP and checks["keras.backend"].caused_by == (root,)
    assert "jax is not installed" in checks[root].detail
    assert outside_steps(diagnosis) == [("unset", "KERAS_BACKEND")]  # not `pip install jax`


def test_legacy_keras_without_tf_keras_is_the_variable() -> None:
    probe = recorded()
    probe["environ"]["TF_USE_LEGACY_KERAS"] = "1"
    diagnosis = diagnosed(evidence(probe, shell={"TF_USE_LEGACY_KERAS": "1"}))
    root = variable_check_id("TF_USE_LEGACY_KERAS")
    assert_symptoms_point_to(diagnosis, root)
    assert by_id(diagnosis)["keras.flavour"].caused_by == (root,)
    assert outside_steps(diagnosis) == [("unset", "TF_USE_LEGACY_KERAS")]


def test_pythonpath_shadowing_numpy_is_found_by_the_shell_probe() -> None:
    probe = recorded()
    shadow = "/home/ada/shadow"
    modules = {name: dict(found) for name, found in probe["imports"].items()}
    modules["pandas"] = {"ok": True, "file": f"{shadow}/pandas/__init__.py"}
    modules["tensorflow"] = {"ok": False, "error_type": "ImportError", "error": "cannot import name 'ndarray'"}
    ev = evidence(probe, shell={"PYTHONPATH": shadow}, shell_probe={"modules": modules})
    diagnosis = diagnosed(ev)
    checks = by_id(diagnosis)
    result = checks["environ.pythonpath"]
    assert result.status is Status.FAIL
    assert f"loads pandas from {shadow}/pandas/__init__.py" in result.detail
    assert "cannot import tensorflow (ImportError: cannot import name 'ndarray')" in result.detail
    assert problems(diagnosis) == {"environ.pythonpath"}  # the environment itself is fine
    assert outside_steps(diagnosis) == [("unset", "PYTHONPATH")]


def test_pythonpath_that_shadows_nothing_passes() -> None:
    probe = recorded()
    ev = evidence(probe, shell={"PYTHONPATH": "/home/ada/lib"}, shell_probe={"modules": probe["imports"]})
    assert by_id(diagnosed(ev))["environ.pythonpath"].status is Status.PASS


def test_a_python_that_cannot_start_from_the_shell_names_pythonhome() -> None:
    ev = evidence(
        shell={"PYTHONHOME": "/opt/old"}, shell_probe_failure="python exited with code 1: No module named 'encodings'"
    )
    diagnosis = diagnosed(ev)
    assert by_id(diagnosis)["environ.pythonhome"].status is Status.FAIL
    assert outside_steps(diagnosis) == [("unset", "PYTHONHOME")]


def test_without_variables_the_group_says_so_once() -> None:
    ids = [c.id for c in diagnosed(evidence()).checks if c.id.startswith("environ.")]
    assert ids == ["environ.shell"]


# ---------------------------------------------------------------------------------------------- user site, kernel


def test_package_in_user_site_packages_is_removed_from_there_not_from_the_environment() -> None:
    probe = recorded()
    probe["user_site"] = {
        "path": "/home/ada/.local/lib/python3.11/site-packages",
        "exists": True,
        "active": True,
        "entries": ["keras", "keras-2.15.0.dist-info"],
    }
    diagnosis = diagnosed(evidence(probe))
    assert problems(diagnosis) == {"packages.user-site"}
    assert outside_steps(diagnosis) == [(PY, "-m", "pip", "uninstall", "-y", "keras")]
    assert diagnosis.plan[0].resolves == ("packages.user-site",)


def test_missing_kernel_is_registered_outside_the_environment() -> None:
    managed = Marker("deep-learning", CPU.digest, "venv", "uv", "3.11.7", kernel="envcheck-deep-learning")
    ev = evidence(
        kernel={"complete": True, "spec": None, "available": ["python3"]},
        env=EnvState(prefix=PREFIX, owned=True, marker=managed),
    )
    diagnosis = diagnosed(ev)
    checks = by_id(diagnosis)
    assert checks["jupyter.kernelspec"].status is Status.FAIL
    assert checks["jupyter.kernel-start"].caused_by == ("jupyter.kernelspec",)
    assert outside_steps(diagnosis) == [install_argv(PY, "envcheck-deep-learning")]
    assert diagnosis.plan[0].resolves == ("jupyter.kernelspec", "jupyter.kernel-start")


# ---------------------------------------------------------------------------------------------- the plan itself


def test_a_healthy_environment_has_no_plan() -> None:
    diagnosis = diagnosed(evidence())
    assert diagnosis.plan == () and diagnosis.unplanned == ()
    assert all(c.caused_by == () for c in diagnosis.checks)


def test_a_problem_no_command_fixes_is_listed_apart() -> None:
    probe = recorded()
    probe["cpu"]["flags"]["avx"] = False
    diagnosis = diagnosed(evidence(probe))
    assert diagnosis.plan == ()
    assert diagnosis.unplanned == ("cpu.avx",)


def test_merged_requirements_keep_one_line_per_distribution() -> None:
    assert merge_requirements(["numpy>=1.26", "pandas>=2.0", "numpy<2.1", "NumPy>=2.0"]) == [
        "numpy<2.1,>=2.0",
        "pandas>=2.0",
    ]


def test_plan_json_has_argv_resolves_and_scope() -> None:
    _, ev = without_numpy()
    step = diagnosed(ev).plan[0].to_json()
    assert list(step) == ["argv", "resolves", "scope"]
    assert step["scope"] == "environment" and isinstance(step["argv"], list)


def test_a_pep_668_python_gets_an_environment_of_its_own_instead_of_pip() -> None:
    probe, ev = without_numpy()
    probe["venv"]["externally_managed"] = True
    diagnosis = diagnosed(evidence(probe, pip_check=ev.pip_check))
    assert [(s.argv, s.scope) for s in diagnosis.plan] == [(("envcheck", "setup"), Scope.OUTSIDE)]
    assert "packages.pip-check" in diagnosis.plan[0].resolves


# ---------------------------------------------------------------------------------------------- the plan's reach

# What TensorFlow 2.21, Keras 3 and pandas 3 (built for numpy 2) say under numpy 1.26.4: none of the import
# errors names numpy; numpy's own line goes to stderr (recorded from a real environment with `numpy<2`)
SYSTEM_ERROR = "<built-in function __import__> returned a result with an exception set"
PANDAS_C_EXTENSION = (
    "C extension: None not built. If you want to import pandas from the source directory, you may need to run"
    " 'python -m pip install -ve . --no-build-isolation -Ceditable-verbose=true' to build the C extensions first."
)
NUMPY_C_API = (
    "RuntimeError: module was compiled against NumPy C-API version 0x12 (NumPy 2.0) but the running NumPy has C-API"
    " version 0x11. Check the section C-API incompatibility at the Troubleshooting ImportError section at"
    " https://numpy.org/devdocs/user/troubleshooting-importerror.html#c-api-incompatibility for indications on how"
    " to solve this problem.\n"
)


def test_numpy_1_under_tensorflow_built_for_2_links_every_import_to_numpy_and_reinstalls_nothing() -> None:
    probe = recorded()
    probe["distributions"]["numpy"]["version"] = "1.26.4"
    for name in ("tensorflow", "keras"):
        probe["imports"][name] = {"ok": False, "error_type": "SystemError", "error": SYSTEM_ERROR}
    probe["imports"]["pandas"] = {"ok": False, "error_type": "ImportError", "error": PANDAS_C_EXTENSION}
    probe["work"] = {k: v for k, v in probe["work"].items() if k not in ("matmul", "pandas")}
    del probe["facts"]["tensorflow"]
    pandas = probe["distributions"]["pandas"]["version"]
    pip = ran(f"pandas {pandas} has requirement numpy>=2.0.2, but you have numpy 1.26.4.\n", returncode=1)
    stderr = "I0000 cpu_feature_guard.cc:227] This TensorFlow binary is optimized ...\n" + NUMPY_C_API
    diagnosis = diagnosed(evidence(probe, pip_check=pip, stderr=stderr))
    checks = by_id(diagnosis)
    for name in ("tensorflow", "keras", "pandas"):
        assert checks[f"package.{name}.import"].caused_by == ("compat.numpy-abi",), name
    assert "module was compiled against NumPy C-API version 0x12" in checks["compat.numpy-abi"].detail
    assert_symptoms_point_to(diagnosis, "compat.numpy-abi")
    step = only_environment_step(diagnosis)  # numpy alone: no --force-reinstall of tensorflow, keras, pandas
    assert len(step.argv) == 5 and Requirement(step.argv[4]).name == "numpy"
    assert {"package.tensorflow.import", "package.keras.import", "package.pandas.import"} <= set(step.resolves)


def with_ipython(probe: dict[str, Any]) -> dict[str, Any]:
    """The recorded probe with IPython installed, as ipykernel needs it (the recording lists 16 distributions)."""
    probe["distributions"]["ipython"] = {
        "version": "9.6.0",
        "requires": ["decorator>=4.3.2", "pygments>=2.11.0", "traitlets>=5.13.0"],
    }
    return probe


def test_a_kernel_that_dies_for_a_missing_dependency_is_caused_by_pip_check() -> None:
    probe = with_ipython(recorded())
    pip = ran("ipython 9.6.0 requires pygments, which is not installed.\n", returncode=1)
    died = {**started_kernel(), "started": False, "prefix": None}
    died["start_error"] = {"error_type": "RuntimeError", "error": "Kernel died before replying to kernel_info"}
    diagnosis = diagnosed(evidence(probe, pip_check=pip, kernel=died))
    checks = by_id(diagnosis)
    assert checks["jupyter.kernel-start"].status is Status.FAIL
    assert checks["jupyter.kernel-start"].caused_by == ("packages.pip-check",)
    assert_symptoms_point_to(diagnosis, "packages.pip-check")
    step = only_environment_step(diagnosis)  # pygments, not a --force-reinstall of ipykernel and all it needs
    assert step.argv[3:] == ("install", "pygments")
    assert step.resolves == ("packages.pip-check", "jupyter.kernel-start")


def test_a_kernel_that_dies_while_pip_check_names_another_tree_keeps_its_own_fix() -> None:
    pip = ran("matplotlib 3.11.2 requires pyparsing, which is not installed.\n", returncode=1)
    died = {**started_kernel(), "started": False, "prefix": None}
    died["start_error"] = {"error_type": "RuntimeError", "error": "Kernel died before replying to kernel_info"}
    checks = by_id(diagnosed(evidence(with_ipython(recorded()), pip_check=pip, kernel=died)))
    assert checks["jupyter.kernel-start"].caused_by == ()
    assert "--force-reinstall ipykernel" in (checks["jupyter.kernel-start"].hint or "")


def test_lock_drift_with_an_extra_package_keeps_the_lock_repair_and_installs_each_distribution_once(
    tmp_path: Path,
) -> None:
    """pygments gone (pip check and the lock both name it, and the kernel died of it) and one package the lock
    does not hold: the lock's pinned install serves pip check too, the extra one is uninstalled."""
    probe = with_ipython(recorded())
    probe["distributions"]["pygments"] = {"version": "2.19.1", "requires": []}
    locked = [
        (n, d["version"], [(f"{n.replace('-', '_')}-{d['version']}-py3-none-any.whl", "d" * 64)])
        for n, d in probe["distributions"].items()
        if n not in ("pip", "setuptools")
    ]
    del probe["distributions"]["pygments"]
    probe["distributions"]["tiny-demo"] = {"version": "1.0", "requires": []}
    path = tmp_path / "pylock.deep-learning.toml"
    path.write_text(lock_text(locked, "deep-learning", "x"))
    lock = read_lock(path)
    facts = LockFacts(path=str(path), digest=lock.digest, lock=lock, find_links=("/srv/wheels",))
    pip = ran("ipython 9.6.0 requires pygments, which is not installed.\n", returncode=1)
    died = {**started_kernel(), "started": False, "prefix": None}
    died["start_error"] = {"error_type": "RuntimeError", "error": "Kernel died before replying to kernel_info"}
    diagnosis = diagnosed(evidence(probe, pip_check=pip, kernel=died, lock=facts))
    checks = by_id(diagnosis)
    assert checks["packages.lock"].status is Status.WARN and checks["packages.lock"].caused_by == ()
    assert checks["jupyter.kernel-start"].caused_by == ("packages.pip-check",)
    assert [(s.argv[3:], s.resolves) for s in diagnosis.plan] == [
        (("uninstall", "-y", "tiny-demo"), ("packages.lock",)),
        (
            ("install", "--no-deps", "--find-links", "/srv/wheels", "pygments==2.19.1"),
            ("packages.pip-check", "packages.lock", "jupyter.kernel-start"),
        ),
    ]
