"""`envcheck smoke-train` end to end on the environment `envcheck setup` built: real TensorFlow, every level."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

TIMEOUT = 900
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def smoke(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "envcheck", "smoke-train", *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=env,
    )


@pytest.fixture(scope="module")
def temporary_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The temporary folder (TMPDIR) of the run of every level."""
    return tmp_path_factory.mktemp("tmpdir")


@pytest.fixture(scope="module")
def all_levels(
    dl_env: Path, tmp_path_factory: pytest.TempPathFactory, temporary_folder: Path
) -> tuple[dict[str, Any], Path]:
    plot = tmp_path_factory.mktemp("smoke") / "curves.png"
    env = dict(os.environ, TMPDIR=str(temporary_folder))
    completed = smoke("--prefix", str(dl_env), "--json", "--plot", str(plot), env=env)
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-4000:]
    return json.loads(completed.stdout), plot


def test_every_level_converges(all_levels: tuple[dict[str, Any], Path]) -> None:
    document, _ = all_levels
    runs = {r["name"]: r for r in document["runs"]}
    assert set(runs) == {
        "scratch-batchN",
        "scratch-batch1",
        "keras-batch1",
        "tape-batch1",
        "tape-batchN",
        "tf1-optimizer-batchN",
        "tf1-gradients-batchN",
    }
    checks = {c["id"]: c for c in document["checks"]}
    for name, run in runs.items():
        assert run["status"] == "ok", run
        assert checks[f"level.{name}.converged"]["status"] == "pass"
        assert checks[f"level.{name}.loss-fell"]["status"] == "pass"
        assert [round(v) for v in run["final_outputs"]] == [1, 1, 0]
        assert run["first_step_s"] > 0 and run["rest_s"] > 0 and run["steps_per_s"] > 0
    assert runs["keras-batch1"]["loss"].startswith("mse")
    assert runs["tape-batchN"]["loss"].startswith("sse")
    assert runs["tape-batch1"]["devices"]["variables"][0].endswith("device:CPU:0")
    assert document["status"] == "pass" and document["exit_code"] == 0


def test_nothing_is_left_in_the_temporary_folder(
    all_levels: tuple[dict[str, Any], Path], temporary_folder: Path
) -> None:
    # TensorFlow's autograph writes a source file there for every function it converts, and never removes it
    assert sorted(p.name for p in temporary_folder.iterdir()) == []


def test_autodiff_equals_the_chain_rule_within_1e_9(all_levels: tuple[dict[str, Any], Path]) -> None:
    document, _ = all_levels
    check = next(c for c in document["checks"] if c["id"] == "gradient.autodiff-vs-chain-rule")
    assert check["status"] == "pass"
    differences = check["data"]["max_relative_difference"]
    assert set(differences) == {"tape", "tf1-optimizer", "tf1-gradients"}
    assert max(differences.values()) <= 1e-9
    trajectories = [c for c in document["checks"] if c["id"].startswith("trajectory.")]
    assert len(trajectories) == 5 and all(c["status"] == "pass" for c in trajectories)


def test_json_envelope_is_complete(all_levels: tuple[dict[str, Any], Path]) -> None:
    document, plot = all_levels
    assert document["command"] == "smoke-train" and document["schema_version"] >= 1
    assert {"python", "numpy", "tensorflow", "keras"} <= document["versions"].keys()
    assert document["device"]["requested"] == "auto" and document["device"]["used"] in ("CPU:0", "GPU:0")
    assert document["request"] == {
        "levels": ["scratch", "keras", "tape", "tf1-optimizer", "tf1-gradients"],
        "seed": 0,
        "epochs": 2000,
        "lr": 0.1,
        "device": "auto",
        "plot": document["request"]["plot"],
        "compare_cpu": True,
        "mode": "levels",
        "strategy": None,
        "workers": None,
        "cluster": None,
    }
    assert document["distributed"] is None
    assert document["probe"]["complete"] is True
    assert document["duration"] > 0
    assert document["plot"]["written"] is True and Path(document["request"]["plot"]).name == plot.name


def test_plot_is_a_valid_png(all_levels: tuple[dict[str, Any], Path]) -> None:
    _, plot = all_levels
    data = plot.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    width, height = struct.unpack(">II", data[16:24])
    assert 200 <= width <= 4000 and 200 <= height <= 4000


def test_device_gpu_without_a_gpu_fails_clearly(dl_env: Path, all_levels: tuple[dict[str, Any], Path]) -> None:
    document, _ = all_levels
    if document["device"]["physical_gpus"]:
        pytest.skip("this machine has a GPU that TensorFlow sees")
    completed = smoke("--prefix", str(dl_env), "--device", "gpu", "--level", "tape")
    assert completed.returncode == 1
    assert "device.requested" in completed.stdout
    assert "--device gpu, but TensorFlow" in completed.stdout and "sees no GPU" in completed.stdout
    assert "hint:" in completed.stdout and "--device cpu" in completed.stdout
