"""The rules' hints act, and their boundaries hold: each case here breaks when a rule's boundary moves.

Judged on the recorded probe answer of a real CPU environment (tests/fixtures/verify), changed the way each
breakage changes it. The hints these rules print are run for real in tests/e2e/test_hints_run.py where they can be.
"""

from __future__ import annotations

import shlex

import pytest
from support.evidence import PREFIX, PY, check, evidence, ran, recorded, text

from envcheck.profiles.files import load_profile
from envcheck.results import Status
from envcheck.verify.checks import evaluate

GPU = load_profile("deep-learning-gpu")
ABI_ERROR = {"ok": False, "error_type": "ImportError", "error": "numpy.core.multiarray failed to import"}
PROTOBUF_ERROR = {
    "ok": False,
    "error_type": "TypeError",
    "error": "Detected mismatched Protobuf Gencode/Runtime version suffixes when loading tensorflow/core/x.proto",
}


# ---------------------------------------------------------------------------------------------- no-op hints


def test_numpy_outside_the_range_gets_the_range() -> None:
    probe = recorded()
    probe["imports"]["pandas"] = ABI_ERROR
    probe["distributions"]["numpy"]["version"] = "1.26.4"
    result = check(evidence(probe, stderr=text("stderr-numpy-abi.txt")), "compat.numpy-abi")
    assert result.status is Status.FAIL
    assert result.hint == f"{PY} -m pip install 'numpy>=2.0.2'"


def test_numpy_inside_the_range_names_the_module_that_raised_not_numpy() -> None:
    probe = recorded()
    probe["imports"]["sklearn"] = ABI_ERROR
    result = check(evidence(probe, stderr=text("stderr-numpy-abi.txt")), "compat.numpy-abi")
    assert result.hint is not None
    command = result.hint.split("  (")[0]
    # the package of the module that raised (sklearn is scikit-learn), rebuilt, numpy left alone
    assert shlex.split(command) == [
        PY,
        "-m",
        "pip",
        "install",
        "--upgrade",
        "--force-reinstall",
        "--no-deps",
        "scikit-learn",
    ]
    assert "numpy 2.4.6 already satisfies >=2.0.2" in result.hint


def test_protobuf_inside_the_range_names_the_module_that_raised() -> None:
    probe = recorded()
    probe["distributions"]["protobuf"]["version"] = "7.36.2"  # inside tensorflow's <8.0.0,>=6.31.1
    probe["imports"]["tensorflow"] = PROTOBUF_ERROR
    result = check(evidence(probe), "compat.protobuf")
    assert result.status is Status.FAIL
    assert result.hint is not None and "protobuf<8.0.0" not in result.hint
    assert result.hint.startswith(f"{PY} -m pip install --upgrade --force-reinstall --no-deps tensorflow  (")
    assert "protobuf 7.36.2 already satisfies <8.0.0,>=6.31.1" in result.hint


def test_protobuf_outside_the_range_gets_the_range() -> None:
    probe = recorded()
    probe["distributions"]["protobuf"]["version"] = "5.29.3"
    probe["imports"]["tensorflow"] = PROTOBUF_ERROR
    assert check(evidence(probe), "compat.protobuf").hint == f"{PY} -m pip install 'protobuf<8.0.0,>=6.31.1'"


def test_pip_check_names_each_package_once_with_the_ranges_merged() -> None:
    output = (
        "keras 3.12.0 has requirement numpy>=2.0.0, but you have numpy 1.26.4.\n"
        "tensorflow 2.21.0 has requirement numpy>=2.0.2, but you have numpy 1.26.4.\n"
        "tensorflow 2.21.0 has requirement ml-dtypes<1.0.0,>=0.5.1, but you have ml-dtypes 0.3.2.\n"
    )
    result = check(evidence(pip_check=ran(output, returncode=1)), "packages.pip-check")
    assert result.hint == f"{PY} -m pip install 'numpy>=2.0.2' 'ml-dtypes<1.0.0,>=0.5.1'"


def test_a_python_missing_the_whole_stack_gets_one_install_command() -> None:
    probe = recorded()
    for module in probe["imports"]:
        probe["imports"][module] = {
            "ok": False,
            "error_type": "ModuleNotFoundError",
            "error": f"No module named '{module}'",
        }
    results = [r for r in evaluate(evidence(probe)) if r.id.endswith(".import")]
    commands = [r.hint for r in results if r.hint and " -m pip install " in r.hint]
    assert len(commands) == 1
    words = shlex.split(commands[0])
    assert words[:4] == [PY, "-m", "pip", "install"] and "tensorflow>=2.16" in words and "ipykernel>=6.25" in words
    assert len(words) == 4 + len(results)
    pointers = [r.hint for r in results if r.hint and r.hint != commands[0]]
    assert pointers and all(h == "installed by the one command under package.tensorflow.import" for h in pointers)


def test_one_missing_package_keeps_its_own_command() -> None:
    probe = recorded()
    probe["imports"]["pandas"] = {"ok": False, "error_type": "ModuleNotFoundError", "error": "No module named 'pandas'"}
    assert check(evidence(probe), "package.pandas.import").hint == f"{PY} -m pip install 'pandas>=2.0'"


def test_a_pep_668_system_python_is_told_to_make_an_environment_not_to_pip_install() -> None:
    probe = recorded()
    probe["venv"] = {"is_venv": False, "conda": False, "externally_managed": True}
    probe["imports"]["pandas"] = {"ok": False, "error_type": "ModuleNotFoundError", "error": "No module named 'pandas'"}
    results = evaluate(evidence(probe, origin="python"))
    hints = [r.hint for r in results if r.hint]
    assert hints and not any("pip install" in h.split("  (")[0] for h in hints)
    assert check(evidence(probe, origin="python"), "package.pandas.import").hint.startswith("envcheck setup  (")  # type: ignore[union-attr]


# ---------------------------------------------------------------------------------------------- GPU and CPU


def no_gpu_probe(*wheels: str) -> dict:
    probe = recorded()
    for name in wheels:
        location = f"{PREFIX}/lib/python3.11/site-packages"
        probe["distributions"][name] = {"name": name, "version": "12.5.82", "requires": [], "location": location}
    return probe


def test_cuda_wheels_already_installed_point_at_their_folders_not_at_and_cuda_again() -> None:
    probe = no_gpu_probe("nvidia-cudnn-cu12", "nvidia-cublas-cu12")
    probe["environ"]["LD_LIBRARY_PATH"] = "/usr/local/cuda-11.8/lib64"
    result = check(evidence(probe, profile=GPU, stderr=text("stderr-linux-dlopen.txt")), "device.tensorflow")
    assert result.status is Status.FAIL
    assert result.hint is not None and "pip install" not in result.hint
    assert f"ls {PREFIX}/lib/python3.11/site-packages/nvidia/*/lib" in result.hint
    assert "nvidia-cublas-cu12 12.5.82, nvidia-cudnn-cu12 12.5.82" in result.hint
    assert result.hint.endswith("unset LD_LIBRARY_PATH")


def test_without_the_cuda_wheels_the_hint_installs_them() -> None:
    result = check(evidence(no_gpu_probe(), profile=GPU, stderr=text("stderr-linux-dlopen.txt")), "device.tensorflow")
    assert result.hint == f"{PY} -m pip install 'tensorflow[and-cuda]==2.21.0'"


def rosetta_probe() -> dict:
    probe = recorded()
    probe["interpreter"]["platform"] = "darwin"
    probe["cpu"] = {"source": None, "model": "Apple M2", "flags": {}, "translated": True}
    return probe


def test_x86_python_under_rosetta_is_told_to_use_an_arm64_python() -> None:
    no_avx = "The TensorFlow library was compiled to use AVX instructions, but these aren't available on your machine."
    result = check(evidence(rosetta_probe(), stderr=no_avx), "cpu.avx")
    assert result.status is Status.FAIL
    assert "Rosetta 2" in result.detail
    assert result.hint is not None and "arm64" in result.hint and "from source" not in result.hint
    assert "envcheck setup --prefix" in result.hint and "--python /opt/homebrew/bin/python3.12" in result.hint


def test_rosetta_without_a_failure_still_warns() -> None:
    assert check(evidence(rosetta_probe(), stderr=""), "cpu.avx").status is Status.WARN


@pytest.mark.parametrize(
    ("cpu", "stderr", "status"),
    [
        ({"source": None, "model": None, "flags": {}}, "", Status.SKIP),  # no /proc/cpuinfo: not judged
        (
            {"source": None, "model": None, "flags": {}},
            "The TensorFlow library was compiled to use AVX instructions, but these aren't available",
            Status.FAIL,  # TensorFlow's own word still counts
        ),
        ({"source": "/proc/cpuinfo", "model": "Atom", "flags": {"avx": False}}, "", Status.FAIL),
        ({"source": "/proc/cpuinfo", "model": "EPYC", "flags": {"avx": True}}, "", Status.PASS),
    ],
)
def test_avx_is_judged_only_on_what_was_read(cpu: dict, stderr: str, status: Status) -> None:
    probe = recorded()
    probe["cpu"] = cpu
    assert check(evidence(probe, stderr=stderr), "cpu.avx").status is status


# ---------------------------------------------------------------------------------------------- boundaries


@pytest.mark.parametrize(("active", "status"), [(False, Status.PASS), (True, Status.WARN)])
def test_user_site_counts_only_where_python_reads_it(active: bool, status: Status) -> None:
    probe = recorded()
    probe["user_site"] = {
        "active": active,
        "entries": ["numpy", "numpy-1.26.4.dist-info", "pandas", "pandas-2.0.0.dist-info"],
        "exists": True,
        "path": "/home/ada/.local/lib/python3.11/site-packages",
    }
    result = check(evidence(probe), "packages.user-site")
    assert result.status is status
    if active:
        assert "pandas" in result.detail


@pytest.mark.parametrize(
    ("where", "status"),
    [
        (f"{PREFIX}/lib/python3.11/site-packages/pandas/__init__.py", Status.PASS),
        (f"{PREFIX}2/lib/python3.11/site-packages/pandas/__init__.py", Status.WARN),  # a sibling, not inside
        (f"{PREFIX}-old/lib/python3.11/site-packages/pandas/__init__.py", Status.WARN),
    ],
)
def test_a_sibling_folder_is_not_inside_the_environment(where: str, status: Status) -> None:
    probe = recorded()
    probe["imports"]["pandas"] = {**probe["imports"]["pandas"], "file": where}
    result = check(evidence(probe), "packages.user-site")
    assert result.status is status
    if status is Status.WARN:
        assert result.detail == f"pandas loads from {where}, outside the environment"


@pytest.mark.parametrize(
    ("tensorflow", "keras", "status"),
    [("2.15.1", "3.3.3", Status.FAIL), ("2.15.1", "2.15.0", Status.PASS), ("2.16.1", "3.3.3", Status.PASS)],
)
def test_keras_3_with_tensorflow_before_2_16_fails(tensorflow: str, keras: str, status: Status) -> None:
    probe = recorded()
    probe["facts"]["tensorflow"]["version"] = tensorflow
    probe["distributions"]["tensorflow"]["version"] = tensorflow
    probe["facts"]["keras"]["version"] = keras
    probe["distributions"]["keras"]["version"] = keras
    result = check(evidence(probe), "keras.flavour")
    assert result.status is status
    if status is Status.FAIL:
        assert result.detail == f"TensorFlow {tensorflow} works with Keras 2, but Keras {keras} is installed"
