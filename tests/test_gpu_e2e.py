"""On a machine with an NVIDIA GPU: verify and smoke-train must see it, use it, and agree with the CPU.

Skipped, with the reason, where nvidia-smi is absent or TensorFlow in the test environment sees no GPU.
The same paths are covered on every machine by the rules' tests with recorded GPU facts.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.gpu, pytest.mark.e2e]


def envcheck_json(*args: str) -> tuple[int, dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, "-m", "envcheck", *args, "--json"], capture_output=True, text=True, timeout=900
    )
    return done.returncode, json.loads(done.stdout)


@pytest.fixture(scope="module")
def gpu_verify(request: pytest.FixtureRequest) -> dict[str, Any]:
    """verify's JSON for the shared environment, with its prefix under "environment"."""
    if shutil.which("nvidia-smi") is None:
        pytest.skip("no nvidia-smi on this machine: no NVIDIA GPU to test on")
    dl_env: Path = request.getfixturevalue("dl_env")  # only now: no environment is built just to skip
    _, document = envcheck_json("verify", "--prefix", str(dl_env), "--no-redact")
    if not any(d.get("type") == "GPU" for d in document["devices"]):
        pytest.skip("nvidia-smi is present but TensorFlow in the test environment sees no GPU")
    return document


def test_verify_reports_the_gpu_and_computes_on_it(gpu_verify: dict[str, Any]) -> None:
    checks = {c["id"]: c for c in gpu_verify["checks"]}
    assert checks["device.tensorflow"]["status"] == "pass"
    assert checks["device.gpu-driver"]["status"] == "pass"
    assert "GPU" in checks["work.matmul"]["detail"] and checks["work.matmul"]["status"] == "pass"


def test_smoke_train_on_the_gpu_matches_the_cpu(gpu_verify: dict[str, Any]) -> None:
    prefix = gpu_verify["environment"]["prefix"]
    code, document = envcheck_json("smoke-train", "--prefix", prefix, "--device", "gpu", "--level", "tape")
    checks = {c["id"]: c for c in document["checks"]}
    assert code == 0, checks
    assert checks["device.gpu-vs-cpu"]["status"] == "pass"
    run = next(r for r in document["runs"] if r["name"] == "tape-batchN")
    assert run["devices"]["variables"][0].endswith("GPU:0")


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
