"""The training probe run for real by an interpreter with NumPy and without TensorFlow (the one running the tests).

The scratch level must train and converge; the TensorFlow levels must be reported as unavailable, not crash.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from envcheck.probes import run_probe
from envcheck.profiles.files import load_profile
from envcheck.results import Status
from envcheck.smoke import levels
from envcheck.smoke import rules as training
from envcheck.smoke.train import make_options, smoke_train
from envcheck.targets import Target

pytest.importorskip("numpy", reason="the scratch level needs NumPy (a test dependency)")
if importlib.util.find_spec("tensorflow") is not None:
    pytest.skip("this interpreter has TensorFlow; these tests need one without it", allow_module_level=True)

PYTHON = Path(sys.executable)


def payload(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "levels": levels.probe_rows(levels.names()),
        "seed": 0,
        "epochs": 2000,
        "lr": 0.1,
        "device": "auto",
        "plot": None,
        "compare_cpu": True,
    }
    return {**base, **changes}


def target() -> Target:
    return Target(python=PYTHON, prefix=None, profile=load_profile(None, None), marker=None, origin="python")


def test_probe_trains_scratch_and_reports_tf_levels_unavailable() -> None:
    outcome = run_probe(PYTHON, "smoke_train", payload(), timeout=120)
    assert outcome.ok, outcome.completed.stderr
    facts = outcome.data
    assert facts is not None and facts["complete"] is True
    runs = facts["runs"]
    for name in ("scratch-batchN", "scratch-batch1"):
        assert runs[name]["status"] == "ok"
        assert runs[name]["loss"].startswith("sse")
        assert runs[name]["steps"] == (2000 if name.endswith("N") else 6000)
        assert len(runs[name]["loss_curve"]["loss"]) <= 102
    for name in ("keras-batch1", "tape-batch1", "tape-batchN", "tf1-optimizer-batchN", "tf1-gradients-batchN"):
        assert runs[name]["status"] == "unavailable"
        assert "No module named 'tensorflow'" in runs[name]["error"]
    assert facts["processes"] == 1  # no worker process without TensorFlow levels to share the time with
    assert set(facts["reference"]["chain_rule_gradient"]) == {"W_h", "b_h", "W_o", "b_o"}
    assert facts["versions"]["numpy"]


def test_scratch_level_converges_as_the_article_says() -> None:
    outcome = run_probe(PYTHON, "smoke_train", payload(levels=levels.probe_rows(["scratch"])), timeout=120)
    assert outcome.data is not None
    checks = {c.id: c for c in training.evaluate(outcome.data, levels=("scratch",), device="auto")}
    assert checks["level.scratch-batchN.converged"].status is Status.PASS
    assert checks["level.scratch-batch1.converged"].status is Status.PASS
    assert checks["level.scratch-batchN.loss-fell"].status is Status.PASS
    outputs = outcome.data["runs"]["scratch-batchN"]["final_outputs"]
    assert [round(v) for v in outputs] == [1, 1, 0]


def test_same_seed_same_weights_other_seed_other_weights() -> None:
    scratch = levels.probe_rows(["scratch"])
    one = run_probe(PYTHON, "smoke_train", payload(levels=scratch, epochs=3), timeout=60).data
    two = run_probe(PYTHON, "smoke_train", payload(levels=scratch, epochs=3), timeout=60).data
    other = run_probe(PYTHON, "smoke_train", payload(levels=scratch, epochs=3, seed=1), timeout=60).data
    assert one and two and other
    assert one["reference"]["initial_weights"] == two["reference"]["initial_weights"]
    assert one["runs"]["scratch-batchN"]["final_weights"] == two["runs"]["scratch-batchN"]["final_weights"]
    assert other["reference"]["initial_weights"] != one["reference"]["initial_weights"]


def test_core_scratch_only_passes_and_all_levels_fail_without_tensorflow() -> None:
    report = smoke_train(target(), make_options(["scratch"]))
    assert report.exit_code == 0
    assert [c.status for c in report.checks if c.id.startswith("level.")] == [Status.PASS] * 4

    everything = smoke_train(target(), make_options(None))
    assert everything.exit_code == 1
    failed = {c.id: c for c in everything.checks if c.status is Status.FAIL}
    assert "level.tape-batch1.converged" in failed
    assert "not run: tensorflow: ModuleNotFoundError" in failed["level.tape-batch1.converged"].detail
    assert "level.scratch-batch1.converged" not in failed
