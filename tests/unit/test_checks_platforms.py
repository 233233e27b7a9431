"""The rules for the platforms TensorFlow users run on, judged on recorded facts: WSL2's kernel and library
layout, the Metal plugin's load errors on Apple silicon, the Windows DLL error, where the CUDA libraries come
from (the pip wheels or a system CUDA ahead of them), the cuDNN and XLA messages, GPU memory in use, and the
other registered Jupyter kernels."""

from __future__ import annotations

import copy
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from support.evidence import CPU, GPU, PY, check, evidence, gpu_probe, ran, recorded, text

from envcheck.probes import run_probe
from envcheck.results import Status
from envcheck.verify.checks import evaluate
from envcheck.verify.evidence import EnvState

FIXTURES = Path(__file__).parents[1] / "fixtures" / "verify"
HOME = "/home/ada/envs/deep-learning"


def layouts() -> dict[str, Any]:
    return json.loads((FIXTURES / "libraries-shadowing.json").read_text(encoding="utf-8"))


def with_libraries(layout: str, probe: dict[str, Any] | None = None) -> dict[str, Any]:
    """A probe answer with one recorded library layout: LD_LIBRARY_PATH, the wheels' folders, what was mapped."""
    probe = copy.deepcopy(probe or recorded())
    facts = layouts()[layout]
    libraries = facts["libraries"]
    wsl = libraries.get("wsl")
    if wsl is not None and isinstance(wsl.get("files"), str):
        wsl["files"] = text(wsl["files"]).split()
    probe["libraries"] = libraries
    probe["environ"] = {**probe.get("environ", {}), **facts.get("environ", {})}
    probe["facts"]["tensorflow"]["mapped_libraries"] = facts["mapped_libraries"]
    return probe


def on_wsl2(probe: dict[str, Any]) -> dict[str, Any]:
    probe["interpreter"]["markers"]["platform_release"] = text("uname-r-wsl2.txt").strip()
    return probe


def failed_import(error_type: str, error: str, platform: str, version: list[int] | None = None) -> dict[str, Any]:
    """The recorded probe, moved to another platform, where `import tensorflow` failed with ``error``."""
    probe = recorded()
    probe["interpreter"]["platform"] = platform
    markers = probe["interpreter"]["markers"]
    if platform == "darwin":
        markers.update(sys_platform="darwin", platform_machine="arm64", platform_system="Darwin")
    elif platform == "win32":
        markers.update(sys_platform="win32", platform_machine="AMD64", platform_system="Windows", os_name="nt")
    if version:
        probe["interpreter"]["version"] = ".".join(map(str, version))
        probe["interpreter"]["version_info"] = version
        markers.update(python_version=f"{version[0]}.{version[1]}", python_full_version=".".join(map(str, version)))
    probe["imports"]["tensorflow"] = {"ok": False, "error_type": error_type, "error": error, "seconds": 0.4}
    probe["facts"].pop("tensorflow", None)
    probe["work"].pop("matmul", None)
    return probe


# ---------------------------------------------------------------------------------------------- WSL2


def test_wsl2_with_the_windows_driver_passes() -> None:
    ev = evidence(on_wsl2(with_libraries("wsl2")), profile=GPU)
    result = check(ev, "device.wsl")
    assert result.status is Status.PASS
    assert "/usr/lib/wsl/drivers/" in result.detail


def test_wsl2_without_the_windows_driver_says_to_install_it_on_windows() -> None:
    probe = on_wsl2(with_libraries("wsl2"))
    probe["libraries"]["wsl"]["files"] = text("ls-usr-lib-wsl-lib-no-nvidia.txt").split()
    probe["facts"]["tensorflow"]["mapped_libraries"] = []
    ev = evidence(probe, profile=GPU)
    result = check(ev, "device.wsl")
    assert result.status is Status.FAIL
    assert "/usr/lib/wsl/lib/libcuda.so.1 is missing" in result.detail
    assert "NVIDIA driver on Windows" in (result.hint or "")
    assert "wsl --shutdown" in (result.hint or "")
    # TensorFlow's own "no driver" message and the missing nvidia-smi get the Windows driver too, not a Linux one
    device = check(ev, "device.tensorflow")
    assert device.status is Status.FAIL and "WSL2" in device.detail
    assert "NVIDIA driver on Windows" in (device.hint or "")
    driver = check(ev, "device.gpu-driver")
    assert "NVIDIA driver on Windows" in (driver.hint or "")
    # the same on a plain Linux kernel says to install the (Linux) driver
    plain = check(evidence(profile=GPU), "device.gpu-driver")
    assert plain.hint == "install the NVIDIA driver, then check it with: nvidia-smi"


def test_wsl2_library_not_on_the_loader_path() -> None:
    probe = on_wsl2(with_libraries("wsl2"))
    probe["libraries"]["loader_config"] = ["/usr/local/lib", "/usr/lib/x86_64-linux-gnu"]
    probe["facts"]["tensorflow"]["mapped_libraries"] = []
    result = check(evidence(probe, profile=GPU), "device.wsl")
    assert result.status is Status.FAIL
    assert "not on the loader's path" in result.detail
    assert result.hint == "echo /usr/lib/wsl/lib | sudo tee /etc/ld.so.conf.d/ld.wsl.conf && sudo ldconfig"
    # on LD_LIBRARY_PATH is as good as in /etc/ld.so.conf.d
    probe["libraries"]["ld_library_path"] = [{"path": "/usr/lib/wsl/lib", "cuda": ["libcuda.so.1"]}]
    probe["environ"]["LD_LIBRARY_PATH"] = "/usr/lib/wsl/lib"
    assert check(evidence(probe, profile=GPU), "device.wsl").status is Status.PASS


def test_wsl2_with_a_linux_driver_installed_inside() -> None:
    probe = on_wsl2(with_libraries("wsl2"))
    probe["facts"]["tensorflow"]["mapped_libraries"] = ["/usr/lib/x86_64-linux-gnu/libcuda.so.550.54.15"]
    result = check(evidence(probe), "device.wsl")
    assert result.status is Status.WARN  # the CPU profile: a GPU is not required
    assert "a Linux driver's libcuda" in result.detail


def test_no_wsl_check_on_a_plain_linux_kernel() -> None:
    assert "device.wsl" not in {r.id for r in evaluate(evidence(with_libraries("wsl2")))}


# ---------------------------------------------------------------------------------------------- Apple silicon


@pytest.mark.parametrize(
    "fixture",
    ["error-macos-metal-library-not-loaded.txt", "error-macos-metal-symbol-not-found.txt"],
)
def test_metal_plugin_load_error_gets_the_pair_that_loads(fixture: str) -> None:
    probe = failed_import("NotFoundError", text(fixture), "darwin", [3, 12, 8])
    ev = evidence(probe, profile=GPU)
    result = check(ev, "package.tensorflow.import")
    assert result.status is Status.FAIL
    assert result.hint is not None and "--force-reinstall" not in result.hint
    assert f"{PY} -m pip install 'tensorflow<2.20,>=2.18' tensorflow-metal==1.2.0" in result.hint
    assert f"{PY} -m pip uninstall -y tensorflow-metal" in result.hint
    device = check(ev, "device.tensorflow")
    assert device.status is Status.FAIL and "tensorflow-metal plugin does not load" in device.detail
    assert device.hint == result.hint


def test_metal_plugin_on_a_python_it_has_no_wheel_for() -> None:
    probe = failed_import("NotFoundError", text("error-macos-metal-symbol-not-found.txt"), "darwin", [3, 13, 1])
    ev = evidence(probe, profile=GPU, env=EnvState(prefix=HOME, owned=True), profile_args=("--profile", GPU.name))
    hint = check(ev, "package.tensorflow.import").hint or ""
    assert "no wheel for Python 3.13" in hint
    assert f"envcheck setup --profile deep-learning-gpu --prefix {HOME} --python 3.12 --recreate" in hint
    # and the profile's own Python range on that platform says so first
    version = check(ev, "python.version")
    assert version.status is Status.FAIL and "<3.13" in version.detail


def test_duplicate_kernel_registration_from_the_metal_plugin() -> None:
    probe = failed_import("InvalidArgumentError", text("error-macos-metal-opkernel.txt"), "darwin", [3, 12, 8])
    hint = check(evidence(probe, profile=GPU), "package.tensorflow.import").hint or ""
    assert "tensorflow-metal==1.2.0" in hint and "--force-reinstall" not in hint


def test_the_profile_pins_the_metal_pair_and_caps_python_on_apple_silicon() -> None:
    mac = {**recorded()["interpreter"]["markers"], "sys_platform": "darwin", "platform_machine": "arm64"}
    linux = recorded()["interpreter"]["markers"]
    tensorflow, plugin = GPU.package("tensorflow"), GPU.package("tensorflow-metal")
    assert tensorflow is not None and plugin is not None
    assert [str(r.specifier) for r in tensorflow.applicable(mac)] == ["<2.20,>=2.18"]
    assert [str(r.specifier) for r in plugin.applicable(mac)] == ["==1.2.0"]
    assert plugin.applicable(linux) == ()
    assert not GPU.python_for(mac).contains("3.13.0") and GPU.python_for(mac).contains("3.12.8")
    assert GPU.python_for(linux).contains("3.13.0")


# ---------------------------------------------------------------------------------------------- Windows


def test_windows_dll_error_gets_the_visual_cpp_runtime() -> None:
    probe = failed_import("ImportError", text("error-windows-dll.txt"), "win32")
    result = check(evidence(probe, python="C:\\envs\\dl\\python.exe"), "package.tensorflow.import")
    assert result.status is Status.FAIL
    assert "DLL load failed while importing _pywrap_tensorflow_internal" in result.detail
    hint = result.hint or ""
    assert "Microsoft Visual C++ Redistributable" in hint and "vc_redist.x64.exe" in hint
    assert "WSL2" in hint and "--force-reinstall" not in hint


# ---------------------------------------------------------------------------------------------- CUDA libraries


def test_cuda_libraries_from_the_pip_wheels_pass() -> None:
    result = check(evidence(with_libraries("wheels_only", gpu_probe()), profile=GPU), "device.cuda-libraries")
    assert result.status is Status.PASS
    assert "site-packages/nvidia/cudnn/lib" in result.detail


def test_system_cudnn_loaded_through_ld_library_path_ahead_of_the_wheels() -> None:
    probe = with_libraries("system_cudnn_loaded", gpu_probe())
    ev = evidence(probe, profile=GPU, stderr=text("stderr-linux-cudnn-mismatch.txt"))
    result = check(ev, "device.cuda-libraries")
    assert result.status is Status.FAIL
    assert result.detail.startswith(
        "libcudnn.so.8.6.0 is loaded from /usr/local/cuda/lib64 (through LD_LIBRARY_PATH), ahead of the pip wheel's"
    )
    assert "Loaded runtime CuDNN library: 8.6.0 but source was compiled with: 9.3.0" in result.detail
    # the fix keeps the folders that shadow nothing
    assert result.hint == "let TensorFlow load the pip wheels' CUDA libraries: export LD_LIBRARY_PATH=/opt/tools/lib"


def test_system_cuda_on_ld_library_path_predicted_to_shadow_the_wheels() -> None:
    ev = evidence(with_libraries("system_cudnn_on_path"), profile=GPU)
    result = check(ev, "device.cuda-libraries")
    assert result.status is Status.WARN  # no TensorFlow message yet: the search order alone
    assert "libcudart.so.12 and 1 more would be loaded from /usr/local/cuda/lib64" in result.detail
    assert result.hint == "let TensorFlow load the pip wheels' CUDA libraries: unset LD_LIBRARY_PATH"


def test_no_cuda_library_check_without_cuda() -> None:
    assert "device.cuda-libraries" not in {r.id for r in evaluate(evidence())}


# ---------------------------------------------------------------------------------------------- GPU work


def gpu_work(key: str, **entry: Any) -> dict[str, Any]:
    probe = with_libraries("wheels_only", gpu_probe())
    probe["work"][key] = {"device": "/device:GPU:0", "seconds": 0.8, **entry}
    return probe


def test_convolution_and_xla_pass_on_a_gpu() -> None:
    probe = gpu_work("conv", ok=True, max_abs_diff=3.1e-6)
    probe["work"]["xla"] = {"ok": True, "device": "/device:GPU:0", "max_abs_diff": 1.2e-7, "seconds": 1.9}
    ev = evidence(probe, profile=GPU, nvidia_smi=ran(text("nvidia-smi-h100-memory.csv")))
    conv, xla = check(ev, "work.conv"), check(ev, "work.xla")
    assert conv.status is Status.PASS and conv.detail.startswith("3x3 convolution on GPU:0 (cuDNN) matches the CPU")
    assert xla.status is Status.PASS and "(XLA)" in xla.detail
    problems = [(r.id, r.detail) for r in evaluate(ev) if r.status in (Status.WARN, Status.FAIL)]
    assert problems == []


def test_convolution_without_cudnn() -> None:
    probe = gpu_work("conv", ok=False, error_type="NotFoundError", error=text("error-linux-dnn-not-found.txt"))
    result = check(evidence(probe, profile=GPU), "work.conv")
    assert result.status is Status.FAIL
    assert "DNN library is not found" in result.detail
    assert (
        result.hint
        == f"install the cuDNN this TensorFlow was built with: {PY} -m pip install 'tensorflow[and-cuda]==2.21.0'"
    )


def test_convolution_with_a_shadowing_cudnn_says_to_fix_the_search_order() -> None:
    probe = with_libraries("system_cudnn_loaded", gpu_probe())
    probe["work"]["conv"] = {"ok": False, "error": text("error-linux-dnn-not-found.txt"), "device": "/device:GPU:0"}
    result = check(evidence(probe, profile=GPU), "work.conv")
    assert result.status is Status.FAIL
    assert result.hint == "let TensorFlow load the pip wheels' CUDA libraries: export LD_LIBRARY_PATH=/opt/tools/lib"


@pytest.mark.parametrize(
    ("error", "stderr", "said"),
    [
        ("error-linux-xla-libdevice.txt", "stderr-linux-xla-libdevice.txt", "libdevice not found"),
        ("error-linux-xla-ptxas.txt", "stderr-linux-no-driver.txt", "Couldn't get ptxas version"),
    ],
)
def test_xla_without_libdevice_or_ptxas(error: str, stderr: str, said: str) -> None:
    probe = gpu_work("xla", ok=False, error_type="InternalError", error=text(error))
    result = check(evidence(probe, profile=GPU, stderr=text(stderr)), "work.xla")
    assert result.status is Status.FAIL and said in result.detail
    hint = result.hint or ""
    assert "nvidia-cuda-nvcc-cu12" in hint and "'tensorflow[and-cuda]==2.21.0'" in hint
    assert "XLA_FLAGS=--xla_gpu_cuda_data_dir=" in hint


def test_gpu_work_is_not_reported_without_a_gpu() -> None:
    probe = recorded()
    probe["work"]["conv"] = {"ok": None, "skipped": "no GPU", "seconds": 0.001}
    probe["work"]["xla"] = {"ok": None, "skipped": "no GPU", "seconds": 0.001}
    ids = {r.id for r in evaluate(evidence(probe))}
    assert "work.conv" not in ids and "work.xla" not in ids
    assert check(evidence(probe, profile=GPU), "work.conv").status is Status.SKIP


# ---------------------------------------------------------------------------------------------- GPU memory


def test_gpu_memory_held_by_other_processes_warns() -> None:
    ev = evidence(gpu_probe(), profile=GPU, nvidia_smi=ran(text("nvidia-smi-busy.csv")))
    result = check(ev, "device.gpu-memory")
    assert result.status is Status.WARN
    assert "GPU 0 (NVIDIA A100-SXM4-40GB): 38949 of 40960 MiB in use, 2011 MiB free" in result.detail
    assert "nvidia-smi --query-compute-apps=pid,process_name,used_memory --format=csv" in (result.hint or "")
    assert "export CUDA_VISIBLE_DEVICES=1" in (result.hint or "")
    driver = check(ev, "device.gpu-driver")
    assert driver.status is Status.PASS and "NVIDIA A100-SXM4-40GB, driver 550.54.15, 40960 MiB" in driver.detail


def test_gpu_memory_free_passes_and_older_recordings_have_no_memory_check() -> None:
    free = check(evidence(nvidia_smi=ran(text("nvidia-smi-h100-memory.csv"))), "device.gpu-memory")
    assert free.status is Status.PASS and free.detail == "GPU 0: 81004 MiB free of 81559 MiB"
    older = evaluate(evidence(nvidia_smi=ran(text("nvidia-smi-h100.csv"))))
    assert "device.gpu-memory" not in {r.id for r in older}


# ---------------------------------------------------------------------------------------------- Jupyter kernels


def kernel_answer(specs: dict[str, Any]) -> dict[str, Any]:
    return {
        "complete": True,
        "stage": "done",
        "spec": {"argv0": PY, "argv0_resolved": PY, "argv": [PY, "-m", "ipykernel_launcher"]},
        "available": ["envcheck-deep-learning", *specs],
        "specs": specs,
        "started": True,
        "prefix": HOME,
        "seconds": 1.1,
    }


def test_default_kernel_of_another_python_warns_with_both_fixes() -> None:
    specs = {
        "python3": {
            "argv0": "/usr/bin/python3",
            "argv0_resolved": "/usr/bin/python3",
            "exists": True,
            "language": "python",
        },
        "other-project": {"argv0": "/home/ada/envs/other/bin/python", "exists": True, "language": "python"},
    }
    result = check(evidence(kernel=kernel_answer(specs)), "jupyter.kernelspecs")
    assert result.status is Status.WARN
    assert "the default kernel 'python3' runs /usr/bin/python3, not this environment's python" in result.detail
    assert "other-project" not in result.detail  # a kernel of another environment is that environment's business
    assert f"{PY} -m ipykernel install --user --name python3 --display-name 'Python (python3)'" in (result.hint or "")


def test_other_kernels_that_all_exist_pass() -> None:
    specs = {"python3": {"argv0": PY, "argv0_resolved": PY, "exists": True, "language": "python"}}
    result = check(evidence(kernel=kernel_answer(specs)), "jupyter.kernelspecs")
    assert result.status is Status.PASS and result.detail.startswith("1 other kernel registered")


def test_kernel_probe_reports_a_real_kernelspec_whose_python_is_gone(tmp_path: Path) -> None:
    """A real kernelspec folder in JUPYTER_DATA_DIR, read by the real kernel probe with this interpreter."""
    pytest.importorskip("jupyter_client")
    data_dir = Path(os.environ["JUPYTER_DATA_DIR"])
    spec_dir = data_dir / "kernels" / "gone-env"
    spec_dir.mkdir(parents=True)
    gone = tmp_path / "gone-env" / "bin" / "python"
    argv = [str(gone), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec_dir / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "Python (gone-env)", "language": "python"}), encoding="utf-8"
    )
    try:
        outcome = run_probe(
            Path(sys.executable), "kernel", {"kernel_name": "envcheck-none", "start": False}, timeout=60
        )
        answer = outcome.data
        assert outcome.ok and answer is not None, outcome.completed.stderr
        assert answer["specs"]["gone-env"]["exists"] is False
        assert answer["specs"]["gone-env"]["argv0"] == str(gone)
        ev = evidence(kernel={**answer, "spec": kernel_answer({})["spec"]}, profile=CPU)
        result = check(ev, "jupyter.kernelspecs")
        assert result.status is Status.WARN
        assert f"kernel 'gone-env' runs {gone}, which no longer exists" in result.detail
        assert f"{PY} -m jupyter kernelspec remove -y gone-env" in (result.hint or "")
    finally:
        (spec_dir / "kernel.json").unlink()
        spec_dir.rmdir()


# ---------------------------------------------------------------------------------------------- the probe


def test_probe_lists_ld_library_path_and_the_wheels_folders(tmp_path: Path) -> None:
    """The environment probe, run for real by a fresh venv whose site-packages holds a wheel-like nvidia folder."""
    if not sys.platform.startswith("linux"):
        pytest.skip("the library facts are gathered on Linux only")
    import venv

    target = tmp_path / "env"
    venv.EnvBuilder(with_pip=False, symlinks=True).create(target)
    python = target / "bin" / "python"
    site = next((target / "lib").glob("python3*/site-packages"))
    wheel_lib = site / "nvidia" / "cudnn" / "lib"
    wheel_lib.mkdir(parents=True)
    (wheel_lib / "libcudnn.so.9").write_bytes(b"")
    system = tmp_path / "cuda" / "lib64"
    system.mkdir(parents=True)
    for name in ("libcudnn.so.9", "libcudart.so.12", "libnvToolsExt.so.1"):
        (system / name).write_bytes(b"")
    outcome = run_probe(python, "environment", {"packages": []}, timeout=60, env={"LD_LIBRARY_PATH": str(system)})
    data = outcome.data
    assert outcome.ok and data is not None, outcome.completed.stderr
    libraries = data["libraries"]
    assert libraries["ld_library_path"] == [
        {"path": str(system), "resolved": os.path.realpath(system), "cuda": ["libcudart.so.12", "libcudnn.so.9"]}
    ]
    assert libraries["wheel_dirs"] == [{"path": os.path.realpath(wheel_lib), "cuda": ["libcudnn.so.9"]}]
    # judged on the host: the system cuDNN comes first in the search order
    result = check(evidence(data, profile=GPU, python=str(python)), "device.cuda-libraries")
    assert result.status is Status.WARN
    assert f"libcudnn.so.9 would be loaded from {system} (through LD_LIBRARY_PATH)" in result.detail
    assert result.hint == "let TensorFlow load the pip wheels' CUDA libraries: unset LD_LIBRARY_PATH"


def test_cudnn_loaded_only_by_the_convolution_is_judged_from_the_convolutions_mappings() -> None:
    """cuDNN is loaded on first use: after listing the devices only libcudart is mapped, the rest comes later."""
    probe = with_libraries("system_cudnn_loaded", gpu_probe())
    mapped = probe["facts"]["tensorflow"]["mapped_libraries"]
    cudnn = [p for p in mapped if "libcudnn" in p]
    probe["facts"]["tensorflow"]["mapped_libraries"] = [p for p in mapped if "libcudnn" not in p]
    # before the convolution ran, the search order predicts the system cuDNN
    predicted = check(evidence(copy.deepcopy(probe), profile=GPU), "device.cuda-libraries")
    assert "libcudnn.so.8 would be loaded from /usr/local/cuda/lib64" in predicted.detail
    # the convolution's own mappings say which cuDNN was loaded
    probe["work"]["conv"] = {
        "ok": False,
        "error": text("error-linux-dnn-not-found.txt"),
        "device": "/device:GPU:0",
        "mapped_libraries": cudnn,
    }
    result = check(evidence(probe, profile=GPU), "device.cuda-libraries")
    assert result.status is Status.FAIL
    assert result.detail.startswith("libcudnn.so.8.6.0 is loaded from /usr/local/cuda/lib64 (through LD_LIBRARY_PATH)")
    assert "DNN library is not found" in result.detail


def test_a_python_limit_without_a_marker_is_refused(tmp_path: Path) -> None:
    from envcheck.errors import ProfileError
    from envcheck.profiles.files import load_file

    profile = tmp_path / "mine.toml"
    profile.write_text(
        'name = "mine"\npython = [">=3.10", "<3.13"]\n[[package]]\nname = "numpy"\nrequirement = "numpy"\n',
        encoding="utf-8",
    )
    with pytest.raises(ProfileError) as caught:
        load_file(profile)
    assert "python: '<3.13' needs a marker after ';'" in caught.value.message


def test_a_gpu_work_failure_nothing_explains_says_how_to_reproduce_it() -> None:
    probe = gpu_work("xla", ok=False, error_type="InternalError", error="Failed to launch kernel: unknown error")
    result = check(evidence(probe, profile=GPU), "work.xla")
    assert result.status is Status.FAIL and result.detail.endswith("Failed to launch kernel: unknown error")
    assert result.hint is not None and result.hint.startswith(
        f"reproduce it with TensorFlow's own log: TF_CPP_MIN_LOG_LEVEL=0 {PY} -c"
    )
    assert "jit_compile=True" in result.hint and "--force-reinstall" not in result.hint
