"""The smoke-train rules on recorded probe facts: convergence, gradients, trajectories, placement, GPU vs CPU.

The facts in tests/fixtures/smoke/ are real answers of the training probe on a CPU-only machine. GPU facts are
made from them the way TensorFlow reports a GPU (device strings ending in device:GPU:0), since no GPU with
TensorFlow is available to the tests.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from envcheck.results import Status
from envcheck.smoke import levels
from envcheck.smoke import rules as training

FIXTURES = Path(__file__).parents[1] / "fixtures" / "smoke"
GPU = "/job:localhost/replica:0/task:0/device:GPU:0"
CPU = "/job:localhost/replica:0/task:0/device:CPU:0"


def recorded(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


@pytest.fixture
def cpu_facts() -> dict[str, Any]:
    return recorded("cpu_machine_device_auto.json")


def on_gpu(facts: dict[str, Any], *, cpu_reference: bool = True) -> dict[str, Any]:
    """The CPU facts as a GPU machine reports them: every TF tensor on GPU:0, and the CPU comparison run."""
    gpu = copy.deepcopy(facts)
    gpu["tensorflow"]["physical_gpus"] = ["/physical_device:GPU:0"]
    gpu["tensorflow"]["gpu_details"] = [{"name": "NVIDIA H200", "compute_capability": [9, 0]}]
    gpu["device_used"] = "GPU:0"
    for run in gpu["runs"].values():
        devices = run.get("devices") or {}
        for key in ("variables", "outputs", "ops"):
            if key in devices:
                devices[key] = [GPU for _ in devices[key]]
    if cpu_reference:
        gpu["cpu_reference"] = {
            "gradients": {"tape": copy.deepcopy(facts["reference"]["autodiff_gradients"]["tape"])},
            "runs": {
                name: {
                    "final_weights": copy.deepcopy(facts["runs"][name]["final_weights"]),
                    "final_outputs": facts["runs"][name]["final_outputs"],
                    "devices": {"variables": [CPU], "outputs": [CPU]},
                }
                for name in ("tape-batch1", "tape-batchN")
            },
        }
    return gpu


def by_id(checks: list[Any]) -> dict[str, Any]:
    return {c.id: c for c in checks}


def nudge(weights: dict[str, Any], amount: float) -> dict[str, Any]:
    moved = copy.deepcopy(weights)
    moved["W_h"][0][0] += amount
    return moved


# ---------------------------------------------------------------------------------------------- whole runs


def test_recorded_cpu_run_passes_every_check(cpu_facts: dict[str, Any]) -> None:
    checks = training.evaluate(cpu_facts, levels=levels.names(), device="auto")
    assert [c.id for c in checks if c.status is not Status.PASS] == []
    ids = {c.id for c in checks}
    for run in levels.run_names(levels.names()):
        assert f"level.{run}.converged" in ids
        assert f"level.{run}.loss-fell" in ids
    assert "level.tape-batch1.device" in ids
    assert "level.scratch-batchN.device" not in ids  # NumPy has no device to judge
    assert {
        "device.requested",
        "gradient.autodiff-vs-chain-rule",
        "trajectory.scratch-batchN-vs-tape-batchN",
        "trajectory.scratch-batchN-vs-tf1-optimizer-batchN",
        "trajectory.scratch-batch1-vs-tape-batch1",
        "trajectory.scratch-batch1-vs-keras-batch1",
        "trajectory.scratch-sequential-vs-tf1-gradients-batchN",
    } <= ids
    assert "device.gpu-vs-cpu" not in ids  # no GPU ran, so nothing to compare


def test_gradient_check_reports_the_largest_relative_difference(cpu_facts: dict[str, Any]) -> None:
    check = training.check_gradients(cpu_facts)
    assert check is not None and check.status is Status.PASS
    assert set(check.data["max_relative_difference"]) == {"tape", "tf1-optimizer", "tf1-gradients"}
    assert max(check.data["max_relative_difference"].values()) < 1e-12
    assert "largest relative difference" in check.detail


def test_gradient_off_by_more_than_1e_9_fails(cpu_facts: dict[str, Any]) -> None:
    grads = cpu_facts["reference"]["autodiff_gradients"]["tf1-gradients"]
    grads["b_o"][0][0] *= 1 + 1e-8
    check = training.check_gradients(cpu_facts)
    assert check is not None and check.status is Status.FAIL
    assert check.detail.startswith("tf1-gradients: autodiff differs from the chain rule by 1.0e-08")
    assert check.hint


def test_relative_difference_is_scaled_per_parameter() -> None:
    chain = {"W": [[1.0, 1e-20]], "b": [[2.0]]}
    # a tiny entry that differs in every digit is round-off relative to the parameter's scale
    autodiff = {"W": [[1.0, 3e-20]], "b": [[2.0 * (1 + 1e-12)]]}
    assert training.max_relative_difference(chain, autodiff) == pytest.approx(1e-12, rel=1e-3)


def test_trajectory_reports_the_largest_difference_and_fails_above_tolerance(cpu_facts: dict[str, Any]) -> None:
    run = cpu_facts["runs"]["tape-batchN"]
    run["final_weights"] = nudge(run["final_weights"], 1e-6)
    checks = by_id(training.check_trajectories(cpu_facts))
    bad = checks["trajectory.scratch-batchN-vs-tape-batchN"]
    assert bad.status is Status.FAIL
    assert bad.data["max_abs_difference"] == pytest.approx(1e-6, rel=1e-3)
    assert "differ by 1.0e-06" in bad.detail
    assert checks["trajectory.scratch-batch1-vs-tape-batch1"].status is Status.PASS


def test_trajectory_pairs_only_runs_that_finished(cpu_facts: dict[str, Any]) -> None:
    cpu_facts["runs"]["keras-batch1"] = {"name": "keras-batch1", "status": "error", "error": "boom"}
    ids = {c.id for c in training.check_trajectories(cpu_facts)}
    assert "trajectory.scratch-batch1-vs-keras-batch1" not in ids


# ---------------------------------------------------------------------------------------------- per run


def test_converged_names_the_loss_and_threshold(cpu_facts: dict[str, Any]) -> None:
    keras_check = training.check_converged(cpu_facts["runs"]["keras-batch1"])
    assert keras_check.status is Status.PASS
    assert keras_check.data["loss"] == "mse"
    assert keras_check.data["threshold"] == training.MSE_THRESHOLD
    scratch = training.check_converged(cpu_facts["runs"]["scratch-batchN"])
    assert scratch.data == {**scratch.data, "loss": "sse", "threshold": training.SSE_THRESHOLD}


def test_outputs_that_do_not_round_to_the_targets_fail(cpu_facts: dict[str, Any]) -> None:
    run = cpu_facts["runs"]["tape-batch1"]
    run["final_outputs"] = [0.98, 0.41, 0.03]
    check = training.check_converged(run)
    assert check.status is Status.FAIL
    assert "do not round to [1, 1, 0]" in check.detail
    assert "--seed" in (check.hint or "")


def test_a_high_final_loss_fails_even_when_outputs_round(cpu_facts: dict[str, Any]) -> None:
    run = cpu_facts["runs"]["scratch-batchN"]
    run["final_outputs"] = [0.7, 0.7, 0.3]
    run["final_loss"] = 0.27
    check = training.check_converged(run)
    assert check.status is Status.FAIL
    assert "final sse 0.27 is not under 0.05" in check.detail


def test_loss_that_did_not_fall_fails(cpu_facts: dict[str, Any]) -> None:
    run = cpu_facts["runs"]["tf1-optimizer-batchN"]
    run["final_loss"] = run["initial_loss"] * 2
    check = training.check_loss_fell(run)
    assert check is not None and check.status is Status.FAIL


def test_a_run_that_raised_fails_with_its_exception(cpu_facts: dict[str, Any]) -> None:
    cpu_facts["runs"]["tape-batchN"] = {
        "name": "tape-batchN",
        "level": "tape",
        "status": "error",
        "error": "InvalidArgumentError: Cannot assign a device for operation MatMul",
        "traceback": "Traceback ...",
    }
    checks = by_id(training.evaluate(cpu_facts, levels=levels.names(), device="auto"))
    failed = checks["level.tape-batchN.converged"]
    assert failed.status is Status.FAIL
    assert failed.detail == "raised InvalidArgumentError: Cannot assign a device for operation MatMul"
    assert "level.tape-batchN.loss-fell" not in checks
    assert "trajectory.scratch-batchN-vs-tape-batchN" not in checks


def test_a_run_the_probe_never_reached_fails_with_the_reason(cpu_facts: dict[str, Any]) -> None:
    del cpu_facts["runs"]["tf1-gradients-batchN"]
    checks = by_id(
        training.evaluate(
            cpu_facts,
            levels=levels.names(),
            device="auto",
            missing_reason="the training process was killed by SIGSEGV",
        )
    )
    check = checks["level.tf1-gradients-batchN.converged"]
    assert check.status is Status.FAIL
    assert "SIGSEGV" in check.detail


def test_only_the_requested_levels_are_judged(cpu_facts: dict[str, Any]) -> None:
    checks = training.evaluate(cpu_facts, levels=("scratch",), device="auto")
    assert {c.id.split(".")[1] for c in checks if c.id.startswith("level.")} == {"scratch-batchN", "scratch-batch1"}
    assert not any(c.id == "device.requested" for c in checks)


# ---------------------------------------------------------------------------------------------- devices


def test_device_gpu_without_a_gpu_fails_clearly() -> None:
    facts = recorded("cpu_machine_device_gpu.json")
    checks = by_id(training.evaluate(facts, levels=levels.names(), device="gpu"))
    requested = checks["device.requested"]
    assert requested.status is Status.FAIL
    assert requested.detail.startswith("--device gpu, but TensorFlow 2.21.0 sees no GPU")
    assert "nvidia-smi" in (requested.hint or "")
    # the TF levels did not silently run on the CPU
    assert checks["level.tape-batch1.converged"].status is Status.SKIP
    assert checks["level.scratch-batchN.converged"].status is Status.PASS


def test_gpu_placement_passes_for_device_gpu(cpu_facts: dict[str, Any]) -> None:
    facts = on_gpu(cpu_facts)
    checks = by_id(training.evaluate(facts, levels=levels.names(), device="gpu"))
    assert checks["device.requested"].status is Status.PASS
    for run in ("keras-batch1", "tape-batch1", "tape-batchN", "tf1-optimizer-batchN", "tf1-gradients-batchN"):
        check = checks[f"level.{run}.device"]
        assert check.status is Status.PASS, check
        assert "GPU:0" in check.detail
    assert [c.id for c in checks.values() if c.status is not Status.PASS] == []


def test_a_run_that_fell_back_to_the_cpu_fails_device_gpu(cpu_facts: dict[str, Any]) -> None:
    facts = on_gpu(cpu_facts)
    facts["runs"]["tape-batchN"]["devices"]["outputs"] = [CPU]
    check = by_id(training.evaluate(facts, levels=levels.names(), device="gpu"))["level.tape-batchN.device"]
    assert check.status is Status.FAIL
    assert check.detail == "variables on GPU:0, outputs on CPU:0, but --device gpu was asked for"


def test_auto_on_a_gpu_machine_warns_when_a_run_stayed_on_the_cpu(cpu_facts: dict[str, Any]) -> None:
    facts = on_gpu(cpu_facts)
    facts["runs"]["keras-batch1"]["devices"] = {"variables": [CPU], "outputs": [CPU]}
    check = by_id(training.evaluate(facts, levels=levels.names(), device="auto"))["level.keras-batch1.device"]
    assert check.status is Status.WARN
    assert "TensorFlow sees 1 GPU(s)" in check.detail


def test_device_cpu_rejects_a_gpu_placement(cpu_facts: dict[str, Any]) -> None:
    facts = on_gpu(cpu_facts, cpu_reference=False)
    check = by_id(training.evaluate(facts, levels=levels.names(), device="cpu"))["level.tape-batch1.device"]
    assert check.status is Status.FAIL


def test_gpu_matches_cpu_within_tolerance(cpu_facts: dict[str, Any]) -> None:
    facts = on_gpu(cpu_facts)
    facts["cpu_reference"]["runs"]["tape-batchN"]["final_weights"] = nudge(
        facts["cpu_reference"]["runs"]["tape-batchN"]["final_weights"], 3e-9
    )
    check = training.check_gpu_vs_cpu(facts)
    assert check is not None and check.status is Status.PASS
    assert check.data["max_abs_difference"]["tape-batchN"] == pytest.approx(3e-9, rel=1e-3)


def test_gpu_that_disagrees_with_the_cpu_fails(cpu_facts: dict[str, Any]) -> None:
    facts = on_gpu(cpu_facts)
    facts["cpu_reference"]["runs"]["tape-batch1"]["final_weights"] = nudge(
        facts["cpu_reference"]["runs"]["tape-batch1"]["final_weights"], 1e-3
    )
    check = training.check_gpu_vs_cpu(facts)
    assert check is not None and check.status is Status.FAIL
    assert "final weights differ by 1.0e-03" in check.detail
    assert check.id == "device.gpu-vs-cpu"


def test_trajectory_against_a_gpu_run_uses_the_gpu_tolerance(cpu_facts: dict[str, Any]) -> None:
    facts = on_gpu(cpu_facts)
    run = facts["runs"]["tape-batchN"]
    run["final_weights"] = nudge(run["final_weights"], 1e-8)
    check = by_id(training.check_trajectories(facts))["trajectory.scratch-batchN-vs-tape-batchN"]
    assert check.status is Status.PASS
    assert check.data["tolerance"] == training.GPU_CPU_TOLERANCE


def test_cpu_comparison_that_raised_fails(cpu_facts: dict[str, Any]) -> None:
    facts = on_gpu(cpu_facts)
    facts["cpu_reference"] = {"error": "InternalError: could not pin to CPU"}
    check = training.check_gpu_vs_cpu(facts)
    assert check is not None and check.status is Status.FAIL


@pytest.mark.parametrize(
    ("name", "kind"),
    [(GPU, "GPU"), (CPU, "CPU"), ("/device:GPU:1", "GPU"), ("GPU:0", "GPU"), ("", None)],
)
def test_device_kind(name: str, kind: str | None) -> None:
    assert training.device_kind(name) == kind


def test_plot_not_written_fails_with_a_hint() -> None:
    check = training.check_plot(
        {"plot": {"written": False, "error": "ModuleNotFoundError: No module named 'matplotlib'"}}, "x.png"
    )
    assert check is not None and check.status is Status.FAIL
    assert "matplotlib" in (check.hint or "")
    assert training.check_plot({}, None) is None


# ---------------------------------------------------------------------------------------------- NaN and boundaries


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), None])
def test_a_nan_or_infinite_gradient_fails_the_autodiff_check(cpu_facts: dict[str, Any], bad: float | None) -> None:
    facts = copy.deepcopy(cpu_facts)
    facts["reference"]["autodiff_gradients"]["tape"]["W_o"][1][0] = bad  # None: the probe's JSON for NaN
    check = training.check_gradients(facts)
    assert check is not None and check.status is Status.FAIL
    assert check.data["max_relative_difference"]["tape"] == float("inf")
    assert "tape: autodiff differs from the chain rule by inf" in check.detail


def test_nan_weights_fail_the_trajectory_check(cpu_facts: dict[str, Any]) -> None:
    facts = copy.deepcopy(cpu_facts)
    facts["runs"]["tape-batchN"]["final_weights"]["b_o"][0][0] = float("nan")
    check = by_id(training.check_trajectories(facts))["trajectory.scratch-batchN-vs-tape-batchN"]
    assert check.status is Status.FAIL and check.data["max_abs_difference"] == float("inf")


def test_nan_on_both_sides_is_not_agreement() -> None:
    nan = float("nan")
    assert training.max_abs_difference({"w": [[nan]]}, {"w": [[nan]]}) == float("inf")
    assert training.max_relative_difference({"w": [[1.0, nan]]}, {"w": [[1.0, nan]]}) == float("inf")


def test_a_gpu_gradient_that_disagrees_with_the_cpu_fails_even_when_weights_agree(cpu_facts: dict[str, Any]) -> None:
    facts = on_gpu(cpu_facts)
    gradient = facts["cpu_reference"]["gradients"]["tape"]
    scale = max(abs(v) for row in gradient["W_h"] for v in row)
    gradient["W_h"][0][0] += 10 * training.GRADIENT_TOLERANCE * scale
    check = training.check_gpu_vs_cpu(facts)
    assert check is not None and check.status is Status.FAIL
    assert "GPU against CPU: gradients differ by" in check.detail


def test_gpu_vs_cpu_tolerance_boundary(cpu_facts: dict[str, Any]) -> None:
    facts = on_gpu(cpu_facts)
    weights = facts["cpu_reference"]["runs"]["tape-batchN"]["final_weights"]
    facts["cpu_reference"]["runs"]["tape-batchN"]["final_weights"] = nudge(weights, 0.9 * training.GPU_CPU_TOLERANCE)
    passing = training.check_gpu_vs_cpu(facts)
    assert passing is not None and passing.status is Status.PASS
    facts["cpu_reference"]["runs"]["tape-batchN"]["final_weights"] = nudge(weights, 1.1 * training.GPU_CPU_TOLERANCE)
    failing = training.check_gpu_vs_cpu(facts)
    assert failing is not None and failing.status is Status.FAIL


def test_gpu_vs_cpu_with_nan_on_the_gpu_fails(cpu_facts: dict[str, Any]) -> None:
    facts = on_gpu(cpu_facts)
    facts["runs"]["tape-batch1"]["final_weights"]["W_h"][2][1] = None
    check = training.check_gpu_vs_cpu(facts)
    assert check is not None and check.status is Status.FAIL
