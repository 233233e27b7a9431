"""The rules of `envcheck verify`, judged on recorded facts: a real probe answer from a CPU machine, TensorFlow's
own stderr lines for each way a GPU goes unused, and nvidia-smi output in its documented CSV format."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from support.evidence import CPU, GPU, PREFIX, PY, check, evidence, gpu_probe, ran, recorded, started_kernel, text

from envcheck.completion import Marker, SetupNote
from envcheck.errors import ExitCode
from envcheck.results import Status, exit_code_for
from envcheck.verify.checks import (
    EnvState,
    ProbeFault,
    devices,
    evaluate,
    parse_nvidia_smi,
    parse_pip_check,
    tensorflow_messages,
)

# ---------------------------------------------------------------------------------------------- the whole list


def test_recorded_cpu_environment_passes_and_says_cpu_only() -> None:
    results = evaluate(evidence())
    problems = [(r.id, r.detail) for r in results if r.status in (Status.WARN, Status.FAIL)]
    assert problems == []
    assert exit_code_for(results) is ExitCode.OK
    device = check(evidence(), "device.tensorflow")
    assert device.detail.startswith("CPU only (TensorFlow 2.21.0, CUDA 12.5.1, cuDNN 9 build; no NVIDIA driver")
    assert check(evidence(), "device.gpu-driver").status is Status.SKIP
    ids = [r.id for r in results]
    for expected in (
        "python.version",
        "python.bits",
        "python.prefix",
        "env.complete",
        "package.tensorflow.import",
        "package.keras.version",
        "packages.pip-check",
        "tensorflow.single-distribution",
        "packages.user-site",
        "compat.numpy-abi",
        "compat.protobuf",
        "keras.flavour",
        "keras.backend",
        "cpu.avx",
        "device.tensorflow",
        "device.gpu-driver",
        "work.matmul",
        "work.pandas",
        "work.scikit-learn",
        "work.matplotlib",
        "jupyter.kernelspec",
        "jupyter.kernel-start",
    ):
        assert expected in ids
    assert len(ids) == len(set(ids))


def test_every_warning_and_failure_carries_a_hint() -> None:
    scenarios = [
        evidence(profile=GPU),
        evidence(profile=GPU, stderr=text("stderr-linux-dlopen.txt"), nvidia_smi=ran(text("nvidia-smi-h100.csv"))),
        evidence(pip_check=ran("tensorflow 2.21.0 requires keras, which is not installed.\n", returncode=1)),
        evidence(env=EnvState(prefix=PREFIX, owned=True)),
        evidence(kernel={"complete": True, "spec": None, "available": ["python3"]}),
        evidence(faults=(ProbeFault("environment", "import tensorflow", "was killed by SIGSEGV", "SIGSEGV"),)),
    ]
    for ev in scenarios:
        for result in evaluate(ev):
            if result.status in (Status.WARN, Status.FAIL):
                assert result.hint, result.id
            else:
                assert result.hint is None, result.id


# ---------------------------------------------------------------------------------------------- interpreter


def test_python_outside_the_profile_range_fails_with_a_setup_command() -> None:
    probe = recorded()
    probe["interpreter"]["version"] = "3.9.18"
    result = check(evidence(probe), "python.version")
    assert result.status is Status.FAIL
    assert "3.9.18" in result.detail
    assert result.hint is not None and f"envcheck setup --prefix {PREFIX} --python 3.13" in result.hint


def test_32_bit_python_fails() -> None:
    probe = recorded()
    probe["interpreter"]["bits"] = 32
    assert check(evidence(probe), "python.bits").status is Status.FAIL


def test_probe_running_from_another_prefix_fails() -> None:
    result = check(evidence(same_prefix=False), "python.prefix")
    assert result.status is Status.FAIL
    assert f"not from the environment {PREFIX}" in result.detail


def test_completion_marker_rules() -> None:
    incomplete = check(evidence(env=EnvState(prefix=PREFIX, owned=True)), "env.complete")
    assert incomplete.status is Status.FAIL
    assert incomplete.hint == f"rebuild it: envcheck setup --prefix {PREFIX} --recreate"
    foreign = check(evidence(), "env.complete")
    assert foreign.status is Status.SKIP
    marker = Marker(profile="deep-learning", profile_digest=CPU.digest, backend="venv", installer="uv", python="3.11.7")
    complete = check(evidence(env=EnvState(prefix=PREFIX, owned=True, marker=marker)), "env.complete")
    assert complete.status is Status.PASS
    changed = Marker(profile="deep-learning", profile_digest="0" * 64, backend="venv", installer="uv", python="3.11.7")
    result = check(evidence(env=EnvState(prefix=PREFIX, owned=True, marker=changed)), "env.complete")
    assert result.status is Status.WARN and result.hint == f"bring it in line: envcheck setup --prefix {PREFIX}"
    other = Marker(profile="deep-learning-gpu", profile_digest=GPU.digest, backend="venv", installer="uv", python="3")
    assert check(evidence(env=EnvState(prefix=PREFIX, owned=True, marker=other)), "env.complete").status is Status.WARN


# ---------------------------------------------------------------------------------------------- packages


def without_keras() -> dict[str, Any]:
    probe = recorded()
    del probe["distributions"]["keras"]
    probe["imports"]["keras"] = {"ok": False, "error_type": "ModuleNotFoundError", "error": "No module named 'keras'"}
    del probe["facts"]["keras"]["version"], probe["facts"]["keras"]["backend"]
    return probe


def test_missing_keras_fails_with_the_install_command() -> None:
    ev = evidence(without_keras())
    # the profile's keras>=3.0, narrowed to what the installed tensorflow 2.21.0 requires: the plan's command too
    hint = f"{PY} -m pip install 'keras>=3.12.0'"
    imported = check(ev, "package.keras.import")
    assert imported.status is Status.FAIL
    assert imported.detail == "ModuleNotFoundError: No module named 'keras'"
    assert imported.hint == hint
    version = check(ev, "package.keras.version")  # one finding, not two
    assert version.status is Status.SKIP and version.detail == "keras is not installed (see package.keras.import)"
    assert check(ev, "keras.flavour").status is Status.FAIL
    assert check(ev, "keras.backend").status is Status.SKIP


def test_hint_uses_uv_where_the_environment_has_no_pip() -> None:
    probe = without_keras()
    probe["pip"] = False
    assert check(evidence(probe), "package.keras.import").hint == f"uv pip install --python {PY} 'keras>=3.12.0'"


def test_too_old_version_fails() -> None:
    probe = recorded()
    probe["distributions"]["pandas"]["version"] = "1.5.3"
    result = check(evidence(probe), "package.pandas.version")
    assert result.status is Status.FAIL
    assert result.detail == "pandas 1.5.3 does not satisfy >=2.0"
    assert result.hint == f"{PY} -m pip install 'pandas>=2.0'"


def test_import_error_of_a_dependency_names_the_dependency() -> None:
    probe = recorded()
    probe["imports"]["matplotlib"] = {
        "ok": False,
        "error_type": "ModuleNotFoundError",
        "error": "No module named 'kiwisolver'",
    }
    result = check(evidence(probe), "package.matplotlib.import")
    assert result.hint == f"{PY} -m pip install kiwisolver  (needed by matplotlib)"


@pytest.mark.parametrize(
    ("output", "hint"),
    [
        (
            "tensorflow 2.21.0 has requirement protobuf<8.0.0,>=6.31.1, but you have protobuf 5.29.3.\n",
            f"{PY} -m pip install 'protobuf<8.0.0,>=6.31.1'",
        ),
        # the range tensorflow declares for keras, which pip check leaves out of its line
        ("tensorflow 2.21.0 requires keras, which is not installed.\n", f"{PY} -m pip install 'keras>=3.12.0'"),
        (
            "The package `tensorflow` requires `ml-dtypes<1.0.0,>=0.5.1`, but `0.3.2` is installed\n",
            f"{PY} -m pip install 'ml-dtypes<1.0.0,>=0.5.1'",
        ),
    ],
)
def test_pip_check_conflicts_fail_with_the_fix(output: str, hint: str) -> None:
    result = check(evidence(pip_check=ran(output, returncode=1)), "packages.pip-check")
    assert result.status is Status.FAIL
    assert result.hint == hint
    assert parse_pip_check(output)


def test_pip_check_without_pip_warns() -> None:
    completed = ran(stderr=f"{PY}: No module named pip\n", returncode=1)
    result = check(evidence(pip_check=completed), "packages.pip-check")
    assert result.status is Status.WARN and result.hint == f"{PY} -m ensurepip --upgrade"


def test_two_tensorflow_distributions_fail() -> None:
    probe = recorded()
    probe["distributions"]["tf-nightly"] = {"name": "tf-nightly", "version": "2.22.0.dev20250301", "requires": []}
    result = check(evidence(probe), "tensorflow.single-distribution")
    assert result.status is Status.FAIL
    assert "tensorflow 2.21.0, tf-nightly 2.22.0.dev20250301" in result.detail
    assert result.hint == (
        f"{PY} -m pip uninstall -y tensorflow tf-nightly && {PY} -m pip install --force-reinstall 'tensorflow>=2.16'"
    )


def test_tensorflow_with_its_windows_part_counts_once() -> None:
    probe = recorded()
    probe["interpreter"]["markers"]["sys_platform"] = "win32"
    probe["interpreter"]["markers"]["platform_system"] = "Windows"
    probe["distributions"]["tensorflow"]["requires"].append("tensorflow-intel==2.21.0; platform_system == 'Windows'")
    probe["distributions"]["tensorflow-intel"] = {"name": "tensorflow-intel", "version": "2.21.0", "requires": []}
    assert check(evidence(probe), "tensorflow.single-distribution").status is Status.PASS


def test_user_site_shadowing_warns() -> None:
    probe = recorded()
    probe["user_site"] = {
        "path": "/home/ada/.local/lib/python3.11/site-packages",
        "exists": True,
        "active": True,
        "entries": ["keras", "keras-2.15.0.dist-info"],
    }
    result = check(evidence(probe), "packages.user-site")
    assert result.status is Status.WARN
    assert "has keras" in result.detail
    assert result.hint is not None and result.hint.startswith(f"{PY} -m pip uninstall -y keras")


def test_module_loading_from_outside_the_environment_warns() -> None:
    probe = recorded()
    probe["imports"]["pandas"]["file"] = "/home/ada/src/pandas/pandas/__init__.py"
    result = check(evidence(probe), "packages.user-site")
    assert result.status is Status.WARN
    assert result.detail == "pandas loads from /home/ada/src/pandas/pandas/__init__.py, outside the environment"


# ---------------------------------------------------------------------------------------------- compatibility


def test_numpy_abi_message_fails_with_the_numpy_range() -> None:
    probe = recorded()
    probe["imports"]["pandas"] = {
        "ok": False,
        "error_type": "ImportError",
        "error": "numpy.core.multiarray failed to import",
    }
    ev = evidence(probe, stderr=text("stderr-numpy-abi.txt"))
    result = check(ev, "compat.numpy-abi")
    assert result.status is Status.FAIL
    assert "A module that was compiled using NumPy 1.x cannot be run in" in result.detail
    # numpy 2.4.6 already satisfies TensorFlow's range: the module that raised is what needs a new build
    assert result.hint == (
        f"{PY} -m pip install --upgrade --force-reinstall --no-deps pandas"
        "  (numpy 2.4.6 already satisfies >=2.0.2; pandas was built for another numpy)"
    )
    assert check(ev, "package.pandas.import").hint == result.hint


def test_numpy_outside_tensorflows_range_fails() -> None:
    probe = recorded()
    probe["distributions"]["numpy"]["version"] = "1.24.4"
    result = check(evidence(probe), "compat.numpy-abi")
    assert result.status is Status.FAIL
    assert "but numpy 1.24.4 is installed" in result.detail


def test_protobuf_outside_tensorflows_range_fails() -> None:
    probe = recorded()
    probe["distributions"]["protobuf"]["version"] = "4.25.3"
    result = check(evidence(probe), "compat.protobuf")
    assert result.status is Status.FAIL
    assert result.detail == "tensorflow 2.21.0 requires protobuf<8.0.0,>=6.31.1, but protobuf 4.25.3 is installed"
    assert result.hint == f"{PY} -m pip install 'protobuf<8.0.0,>=6.31.1'"


def test_protobuf_error_text_fails() -> None:
    probe = recorded()
    probe["imports"]["tensorflow"] = {
        "ok": False,
        "error_type": "TypeError",
        "error": "Descriptors cannot be created directly.\nIf this call came from a _pb2.py file, ...",
    }
    assert check(evidence(probe), "compat.protobuf").status is Status.FAIL


def test_legacy_keras_without_tf_keras_fails() -> None:
    probe = recorded()
    probe["environ"]["TF_USE_LEGACY_KERAS"] = "1"
    result = check(evidence(probe), "keras.flavour")
    assert result.status is Status.FAIL
    assert result.hint is not None and result.hint.startswith("unset TF_USE_LEGACY_KERAS")


def test_legacy_keras_with_tf_keras_warns_that_the_two_do_not_mix() -> None:
    probe = recorded()
    probe["environ"]["TF_USE_LEGACY_KERAS"] = "True"
    probe["distributions"]["tf-keras"] = {"name": "tf_keras", "version": "2.21.0", "requires": []}
    result = check(evidence(probe), "keras.flavour")
    assert result.status is Status.WARN
    assert result.hint == "unset TF_USE_LEGACY_KERAS"


def test_keras_2_with_tensorflow_2_16_or_later_fails() -> None:
    probe = recorded()
    probe["distributions"]["keras"]["version"] = "2.15.0"
    probe["facts"]["keras"]["version"] = "2.15.0"
    result = check(evidence(probe), "keras.flavour")
    assert result.status is Status.FAIL and result.hint == f"{PY} -m pip install 'keras>=3.0'"


def test_keras_backend_from_the_environment_variable() -> None:
    probe = recorded()
    probe["environ"]["KERAS_BACKEND"] = "jax"
    probe["facts"]["keras"]["backend"] = "jax"
    result = check(evidence(probe), "keras.backend")
    assert result.status is Status.FAIL
    assert result.detail == "Keras uses the 'jax' backend (set by KERAS_BACKEND), not TensorFlow"
    assert result.hint is not None and result.hint.startswith("unset KERAS_BACKEND")


def test_keras_backend_from_keras_json() -> None:
    probe = recorded()
    probe["facts"]["keras"]["backend"] = "torch"
    probe["facts"]["keras"]["config_backend"] = "torch"
    result = check(evidence(probe), "keras.backend")
    assert result.status is Status.FAIL
    assert "set in /home/ada/.keras/keras.json" in result.detail
    assert result.hint is not None and "/home/ada/.keras/keras.json" in result.hint


def test_cpu_without_avx_fails() -> None:
    probe = recorded()
    probe["cpu"]["flags"]["avx"] = False
    del probe["facts"]["tensorflow"], probe["work"]
    probe["imports"] = {}
    fault = ProbeFault("environment", "import tensorflow", "was killed by SIGABRT", "SIGABRT")
    ev = evidence(probe, stderr=text("stderr-linux-no-avx.txt"), faults=(fault,))
    result = check(ev, "cpu.avx")
    assert result.status is Status.FAIL
    assert "has no AVX" in result.detail
    assert "/proc/cpuinfo" in (result.hint or "")
    assert (
        check(ev, "package.tensorflow.import").detail == "`import tensorflow` was killed by SIGABRT (the probe crashed)"
    )


def test_sigill_is_read_as_a_missing_cpu_instruction() -> None:
    fault = ProbeFault("tensorflow", "import tensorflow", "was killed by SIGILL", "SIGILL")
    result = check(evidence(faults=(fault,)), "cpu.avx")
    assert result.status is Status.FAIL and "SIGILL" in result.detail


# ---------------------------------------------------------------------------------------------- device


def test_tensorflow_messages_are_read_without_their_log_prefix() -> None:
    found = tensorflow_messages(text("stderr-linux-no-driver.txt"))
    assert [m.key for m in found] == ["no-driver", "cuinit"]
    assert found[0].line == "Could not find cuda drivers on your machine, GPU will not be used."
    libraries = [m.data["library"] for m in tensorflow_messages(text("stderr-linux-dlopen.txt")) if m.data]
    assert libraries == ["libcudnn.so.8", "libcublasLt.so.12"]


def test_gpu_profile_without_a_driver_fails() -> None:
    ev = evidence(profile=GPU)
    result = check(ev, "device.tensorflow")
    assert result.status is Status.FAIL
    assert result.detail.startswith("no GPU visible to TensorFlow: no NVIDIA driver")
    assert result.hint == "install the NVIDIA driver, then check it with: nvidia-smi"
    assert check(ev, "device.gpu-driver").status is Status.FAIL


def test_gpu_profile_with_missing_cuda_libraries_fails_with_the_and_cuda_install() -> None:
    ev = evidence(profile=GPU, stderr=text("stderr-linux-dlopen.txt"), nvidia_smi=ran(text("nvidia-smi-h100.csv")))
    result = check(ev, "device.tensorflow")
    assert result.status is Status.FAIL
    assert "libcublasLt.so.12, libcudnn.so.8" in result.detail
    assert result.hint == f"{PY} -m pip install 'tensorflow[and-cuda]==2.21.0'"
    assert check(ev, "device.gpu-driver").status is Status.PASS


def test_native_windows_notice_points_to_wsl2() -> None:
    probe = recorded()
    probe["interpreter"]["platform"] = "win32"
    ev = evidence(probe, profile=GPU, stderr=text("stderr-windows-native.txt"), python="C:\\envs\\dl\\python.exe")
    result = check(ev, "device.tensorflow")
    assert result.status is Status.FAIL
    assert "no GPU support on native Windows" in result.detail
    assert result.hint is not None and "WSL2" in result.hint


def test_cuda_visible_devices_hiding_the_gpu() -> None:
    probe = recorded()
    probe["environ"]["CUDA_VISIBLE_DEVICES"] = ""
    ev = evidence(
        probe,
        profile=GPU,
        stderr=text("stderr-linux-cuinit-no-device.txt"),
        nvidia_smi=ran(text("nvidia-smi-h100.csv")),
    )
    result = check(ev, "device.tensorflow")
    assert result.status is Status.FAIL
    assert result.hint == "unset CUDA_VISIBLE_DEVICES"


def test_gpu_too_old_for_tensorflow() -> None:
    ev = evidence(
        profile=GPU, stderr=text("stderr-linux-min-capability.txt"), nvidia_smi=ran(text("nvidia-smi-old-driver.csv"))
    )
    result = check(ev, "device.tensorflow")
    assert result.status is Status.FAIL
    assert "needs compute capability 5.0" in result.detail


def test_visible_gpu_passes_with_model_and_compute_capability() -> None:
    ev = evidence(gpu_probe(), profile=GPU, stderr="", nvidia_smi=ran(text("nvidia-smi-h100.csv")))
    result = check(ev, "device.tensorflow")
    assert result.status is Status.PASS
    assert result.detail == (
        "GPU: NVIDIA H100 80GB HBM3 (compute capability 9.0) (TensorFlow 2.21.0, CUDA 12.5.1, cuDNN 9 build)"
    )
    driver = check(ev, "device.gpu-driver")
    assert driver.detail == "NVIDIA H100 80GB HBM3, driver 550.54.15, 81559 MiB, compute capability 9.0"
    matmul = check(ev, "work.matmul")
    assert matmul.status is Status.PASS and "CPU:0, GPU:0" in matmul.detail
    listed = devices(ev)
    assert {"name": "nvidia:0", "type": "GPU", "source": "nvidia-smi", "model": "NVIDIA H100 80GB HBM3",
            "driver": "550.54.15", "memory": "81559 MiB", "compute_capability": "9.0"} in listed  # fmt: skip


def test_ptx_jit_warns() -> None:
    ev = evidence(
        gpu_probe(), profile=GPU, stderr=text("stderr-linux-ptx-jit.txt"), nvidia_smi=ran(text("nvidia-smi-h100.csv"))
    )
    assert check(ev, "device.tensorflow").status is Status.WARN


def test_nvidia_smi_csv_parsing() -> None:
    rows = parse_nvidia_smi(text("nvidia-smi-two-gpus.csv"))
    assert [r["name"] for r in rows] == ["NVIDIA GeForce RTX 4090", "NVIDIA GeForce RTX 3090"]
    assert rows[1]["compute_cap"] == "8.6"
    assert (
        parse_nvidia_smi("Quadro RTX 8000, Rev B, 535.104.05, 49152 MiB, 7.5\n")[0]["name"] == "Quadro RTX 8000, Rev B"
    )


def test_driver_older_than_tensorflows_cuda() -> None:
    gpu = evidence(profile=GPU, nvidia_smi=ran(text("nvidia-smi-old-driver.csv")))
    result = check(gpu, "device.gpu-driver")
    assert result.status is Status.FAIL
    assert "older than 525.60.13, the minimum for CUDA 12.5.1" in result.detail
    assert "525.60.13" in (result.hint or "")
    assert check(evidence(nvidia_smi=ran(text("nvidia-smi-old-driver.csv"))), "device.gpu-driver").status is Status.WARN


def test_nvidia_smi_that_cannot_reach_the_driver() -> None:
    failed = ran(text("nvidia-smi-no-driver.txt"), returncode=9)
    result = check(evidence(profile=GPU, nvidia_smi=failed), "device.gpu-driver")
    assert result.status is Status.FAIL
    assert "couldn't communicate with the NVIDIA driver" in result.detail
    assert check(evidence(nvidia_smi=failed), "device.gpu-driver").status is Status.WARN


# ---------------------------------------------------------------------------------------------- work and faults


def test_wrong_matmul_fails() -> None:
    probe = recorded()
    probe["work"]["matmul"]["devices"][0].update(ok=False, max_abs_diff=3.5)
    result = check(evidence(probe), "work.matmul")
    assert result.status is Status.FAIL
    assert result.detail == "64x64 matmul on /device:CPU:0: differs from NumPy by 3.5"


def test_failed_plot_fails_with_a_reinstall() -> None:
    probe = recorded()
    probe["work"]["matplotlib"] = {"ok": False, "error_type": "RuntimeError", "error": "libpng error", "seconds": 0.1}
    result = check(evidence(probe), "work.matplotlib")
    assert result.status is Status.FAIL
    assert result.hint == f"{PY} -m pip install --force-reinstall 'matplotlib>=3.7'"


def test_crash_found_by_probing_alone_is_named() -> None:
    probe = recorded()
    probe["imports"].pop("tensorflow")
    faults = (
        ProbeFault("environment", "import tensorflow", "was killed by SIGSEGV", "SIGSEGV"),
        ProbeFault("tensorflow", "import tensorflow", "was killed by SIGSEGV", "SIGSEGV"),
    )
    ev = evidence(probe, faults=faults)
    imported = check(ev, "package.tensorflow.import")
    assert imported.status is Status.FAIL
    assert imported.detail == "`import tensorflow` was killed by SIGSEGV (the probe crashed)"
    assert imported.hint == f"reproduce with a traceback: {PY} -X faulthandler -c 'import tensorflow'"
    probe_check = check(ev, "probe.environment")
    assert probe_check.status is Status.FAIL
    assert "was killed by SIGSEGV during import tensorflow" in probe_check.detail
    assert check(ev, "package.pandas.import").status is Status.PASS


def test_crash_only_when_imported_together_warns_on_the_package() -> None:
    fault = ProbeFault("environment", "import matplotlib", "was killed by SIGSEGV", "SIGSEGV")
    ev = evidence(faults=(fault,))  # matplotlib's own probe finished: its answer is in the recorded facts
    result = check(ev, "package.matplotlib.import")
    assert result.status is Status.WARN
    assert (
        result.detail == "`import matplotlib` works on its own, but was killed by SIGSEGV after the packages before it"
    )
    assert check(ev, "probe.environment").detail.endswith(
        "on its own, each package was fine (packages interfere with each other)"
    )
    assert exit_code_for(evaluate(ev)) is ExitCode.FAILED


def test_hang_is_reported_with_its_timeout() -> None:
    probe = recorded()
    del probe["work"]["matmul"]
    faults = (
        ProbeFault("environment", "work.matmul", "did not finish", None, True, 30.0),
        ProbeFault("tensorflow", "work.matmul", "did not finish", None, True, 30.0),
    )
    result = check(evidence(probe, faults=faults), "work.matmul")
    assert result.status is Status.FAIL
    assert result.detail == "the probe did not finish within 30 s during this work"


# ---------------------------------------------------------------------------------------------- jupyter


def test_kernel_not_registered() -> None:
    kernel = {"complete": True, "spec": None, "available": ["python3"]}
    result = check(evidence(kernel=kernel), "jupyter.kernelspec")
    assert result.status is Status.WARN
    assert result.hint == (
        f"{PY} -m ipykernel install --user --name envcheck-deep-learning"
        " --display-name 'Python (envcheck-deep-learning)'"
    )
    managed = Marker("deep-learning", CPU.digest, "venv", "uv", "3.11.7", kernel="envcheck-deep-learning")
    ev = evidence(kernel=kernel, env=EnvState(prefix=PREFIX, owned=True, marker=managed))
    assert check(ev, "jupyter.kernelspec").status is Status.FAIL
    assert check(ev, "jupyter.kernel-start").status is Status.SKIP


def test_kernel_pointing_at_another_python_fails() -> None:
    kernel = started_kernel()
    kernel["spec"] = {"argv0": "/usr/bin/python3", "argv0_resolved": "/usr/bin/python3"}
    kernel["prefix"] = "/usr"
    ev = evidence(kernel=kernel)
    assert check(ev, "jupyter.kernelspec").status is Status.FAIL
    start = check(ev, "jupyter.kernel-start")
    assert start.status is Status.FAIL
    assert start.detail == f"the kernel runs in /usr, not in {PREFIX}"


def test_kernel_that_does_not_start() -> None:
    kernel = started_kernel()
    kernel.pop("prefix")
    kernel["start_error"] = {"error_type": "RuntimeError", "error": "Kernel didn't respond in 60 seconds"}
    result = check(evidence(kernel=kernel), "jupyter.kernel-start")
    assert result.status is Status.FAIL
    assert result.detail.startswith("the kernel did not start in time")


def test_strict_turns_warnings_into_failure() -> None:
    results = evaluate(evidence(kernel={"complete": True, "spec": None, "available": []}))
    assert exit_code_for(results) is ExitCode.OK
    assert exit_code_for(results, strict=True) is ExitCode.FAILED


# ---------------------------------------------------------------------------------------------- what made it


def test_an_environment_set_up_without_a_kernel_says_so_and_passes() -> None:
    marker = Marker("deep-learning", CPU.digest, "venv", "uv", "3.11.7", no_kernel=True, options=["--no-kernel"])
    ev = evidence(kernel=None, no_kernel=True, env=EnvState(prefix=PREFIX, owned=True, marker=marker))
    kernel = check(ev, "jupyter.kernelspec")
    assert kernel.status is Status.SKIP
    # the command replaces the recorded --no-kernel with the name: typed, it registers the kernel
    assert kernel.detail == (
        "no kernel: set up with --no-kernel (to register one:"
        f" envcheck setup --prefix {PREFIX} --kernel-name envcheck-deep-learning)"
    )
    ids = {r.id for r in evaluate(ev)}
    assert "jupyter.kernel-start" not in ids and "jupyter.kernelspecs" not in ids
    assert exit_code_for(evaluate(ev), strict=True) is ExitCode.OK


def test_no_printed_command_registers_a_kernel_that_runs_another_environment() -> None:
    other = "/home/ada/envs/other"
    kernel = started_kernel()
    kernel["spec"] = {"argv0": f"{other}/bin/python", "argv0_resolved": f"{other}/bin/python"}
    kernel["prefix"] = other
    kernel["specs"] = {"python3": {"argv0": f"{other}/bin/python", "exists": True, "language": "python"}}
    owners = {"envcheck-deep-learning": other, "python3": other}
    ev = evidence(kernel=kernel, kernel_owners=owners)
    found = check(ev, "jupyter.kernelspec")
    assert found.status is Status.FAIL and "ipykernel install" not in (found.hint or "")
    assert found.hint == (
        f"the kernel 'envcheck-deep-learning' runs the environment at {other}; give this one a kernel of its own:"
        f" envcheck setup --prefix {PREFIX} --kernel-name NAME"
    )
    others = check(ev, "jupyter.kernelspecs")
    assert others.status is Status.WARN and "ipykernel install" not in (others.hint or "")
    assert f"choose the kernel 'envcheck-deep-learning' in Jupyter ('python3' runs the environment at {other})" in (
        others.hint or ""
    )
    from envcheck.verify.plan import diagnose

    assert not any("ipykernel" in step.argv for step in diagnose(ev, evaluate(ev)).plan)


def test_rebuild_hints_carry_the_options_that_made_the_environment() -> None:
    note = SetupNote(
        "lab",
        profile_args=["--file", "/labs/lab.toml"],
        options=["--kernel-name", "lab-k", "--installer", "pip", "--python", "3.12"],
        kernel="lab-k",
    )
    ev = evidence(env=EnvState(prefix=PREFIX, owned=True, note=note))  # verified without --file
    incomplete = check(ev, "env.complete")
    assert incomplete.hint == (
        f"rebuild it: envcheck setup --file /labs/lab.toml --prefix {PREFIX}"
        " --kernel-name lab-k --installer pip --python 3.12 --recreate"
    )
    aside = f"{PREFIX}.envcheck-previous"
    interrupted = check(evidence(env=EnvState(prefix=PREFIX, owned=True, note=note, previous=aside)), "env.complete")
    assert interrupted.detail == (
        f"incomplete: a `setup --recreate` did not finish; the previous environment is at {aside}"
    )
    assert interrupted.hint == (
        f"put it back: mv {aside} {PREFIX}; or build anew: envcheck setup --file /labs/lab.toml --prefix {PREFIX}"
        " --kernel-name lab-k --installer pip --python 3.12 --recreate"
    )
    # an option given again replaces the recorded one: --python 3.9 made it, the hint asks for 3.13
    old = Marker("deep-learning", CPU.digest, "venv", "uv", "3.9.18", options=["--python", "3.9"], profile_args=[])
    probe = recorded()
    probe["interpreter"]["version"] = "3.9.18"
    python = check(evidence(probe, env=EnvState(prefix=PREFIX, owned=True, marker=old)), "python.version")
    assert python.hint is not None and python.hint.endswith(
        f"envcheck setup --prefix {PREFIX} --python 3.13 --recreate"
    )


@pytest.mark.skipif(os.name != "posix", reason="symbolic links")
def test_an_environment_reached_through_a_link_is_itself(tmp_path: Path) -> None:
    real = tmp_path / "real" / "env"
    (real / "bin").mkdir(parents=True)
    (real / "bin" / "python").write_text("")
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "real")
    through = str(link / "env")
    kernel = started_kernel()
    kernel["spec"] = {"argv0": f"{real}/bin/python", "argv0_resolved": f"{real}/bin/python"}
    kernel["prefix"] = str(real)
    probe = recorded()
    probe["interpreter"]["prefix"] = through
    probe["interpreter"]["executable"] = f"{through}/bin/python"
    ev = evidence(probe, python=f"{through}/bin/python", kernel=kernel, env=EnvState(prefix=through))
    assert check(ev, "jupyter.kernelspec").status is Status.PASS
    assert check(ev, "jupyter.kernel-start").status is Status.PASS
