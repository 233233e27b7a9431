"""On a machine with an NVIDIA GPU: an environment of the `deep-learning-gpu` profile must see it, use it, and
agree with the CPU.

Skipped, with the reason, only where nvidia-smi is absent or lists no GPU. Where nvidia-smi sees a GPU and
TensorFlow in the environment does not, that is a failure: the profile's CUDA wheels exist to make it work
without a system CUDA. The same paths are covered on every machine by the rules' tests with recorded facts.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

# as tests/conftest.py's: `from conftest import` finds tests/e2e/conftest.py when the whole layer is collected
E2E_TIMEOUT = 1800

pytestmark = [pytest.mark.gpu, pytest.mark.e2e]


def envcheck_json(*args: str) -> tuple[int, dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, "-m", "envcheck", *args, "--json"], capture_output=True, text=True, timeout=900
    )
    return done.returncode, json.loads(done.stdout)


def gpus_seen_by_nvidia_smi() -> list[str]:
    smi = shutil.which("nvidia-smi")
    if smi is None:
        pytest.skip("no nvidia-smi on this machine: no NVIDIA GPU to test on")
    listed = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=60)
    gpus = [line for line in listed.stdout.splitlines() if line.startswith("GPU ")]
    if listed.returncode != 0 or not gpus:
        pytest.skip(f"nvidia-smi lists no GPU (exit {listed.returncode}): {listed.stderr.strip()[:200]}")
    return gpus


@pytest.fixture(scope="module")
def gpu_env(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real environment of the deep-learning-gpu profile (TensorFlow with its CUDA wheels)."""
    gpus_seen_by_nvidia_smi()  # only now: no environment is built just to skip
    prefix = tmp_path_factory.mktemp("gpu") / "deep-learning-gpu"
    done = subprocess.run(
        [sys.executable, "-m", "envcheck", "setup", "--profile", "deep-learning-gpu", "--prefix", str(prefix)],
        capture_output=True,
        text=True,
        timeout=E2E_TIMEOUT,
    )
    if done.returncode != 0:
        pytest.fail(f"envcheck setup --profile deep-learning-gpu failed ({done.returncode}):\n{done.stderr}")
    return prefix


@pytest.fixture(scope="module")
def gpu_verify(gpu_env: Path) -> dict[str, Any]:
    """verify's JSON for the GPU environment; a failure, not a skip, when TensorFlow sees no GPU there."""
    _, document = envcheck_json("verify", "--profile", "deep-learning-gpu", "--prefix", str(gpu_env), "--no-redact")
    if not any(d.get("type") == "GPU" for d in document["devices"]):
        failing = {c["id"]: c["detail"] for c in document["checks"] if c["status"] != "pass"}
        pytest.fail(f"nvidia-smi sees {gpus_seen_by_nvidia_smi()}, TensorFlow sees no GPU: {failing}")
    return document


def test_verify_reports_the_gpu_and_computes_on_it(gpu_verify: dict[str, Any]) -> None:
    checks = {c["id"]: c for c in gpu_verify["checks"]}
    assert checks["device.tensorflow"]["status"] == "pass"
    assert checks["device.gpu-driver"]["status"] == "pass"
    assert "GPU" in checks["work.matmul"]["detail"] and checks["work.matmul"]["status"] == "pass"


def test_smoke_train_on_the_gpu_matches_the_cpu(gpu_env: Path, gpu_verify: dict[str, Any]) -> None:
    code, document = envcheck_json(
        "smoke-train", "--profile", "deep-learning-gpu", "--prefix", str(gpu_env), "--device", "gpu", "--level", "tape"
    )
    checks = {c["id"]: c for c in document["checks"]}
    assert code == 0, checks
    assert checks["device.gpu-vs-cpu"]["status"] == "pass"
    run = next(r for r in document["runs"] if r["name"] == "tape-batchN")
    assert run["devices"]["variables"][0].endswith("GPU:0")


def test_mirrored_over_every_local_gpu_agrees_with_the_single_process_run(gpu_verify: dict[str, Any]) -> None:
    prefix = gpu_verify["environment"]["prefix"]
    gpus = [d for d in gpu_verify["devices"] if d.get("type") == "GPU"]
    code, document = envcheck_json("smoke-train", "--prefix", prefix, "--strategy", "mirrored", "--device", "gpu")
    checks = {c["id"]: c for c in document["checks"]}
    assert code == 0, checks
    assert checks["distributed.workers"]["data"]["replicas_in_sync"] == len(gpus)
    assert all(d.endswith(f"GPU:{i}") for i, d in enumerate(document["distributed"]["devices"]))
    assert checks["distributed.replicas-agree"]["status"] == "pass"
    assert checks["distributed.vs-single-process"]["data"]["tolerance"] == 1e-6


def test_verify_runs_a_cudnn_convolution_on_the_gpu(gpu_verify: dict[str, Any]) -> None:
    checks = {c["id"]: c for c in gpu_verify["checks"]}
    conv = checks["work.conv"]
    assert conv["status"] == "pass", conv
    assert conv["detail"].startswith("3x3 convolution on GPU:0 (cuDNN) matches the CPU")


def test_verify_compiles_an_xla_function_on_the_gpu(gpu_verify: dict[str, Any]) -> None:
    checks = {c["id"]: c for c in gpu_verify["checks"]}
    xla = checks["work.xla"]
    assert xla["status"] == "pass", xla
    assert xla["detail"].startswith("jit_compile=True function on GPU:0 (XLA) matches the CPU")
    assert checks["device.cuda-libraries"]["status"] == "pass"
    assert checks["device.gpu-memory"]["status"] in ("pass", "warn")
