"""Distributed smoke-train on the host: the cluster from TF_CONFIG and Slurm, and the rules for workers."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from envcheck.errors import UsageError
from envcheck.results import Status
from envcheck.smoke import distributed

FIXTURES = Path(__file__).parents[1] / "fixtures" / "distributed"
WEIGHTS = {"W_h": [[0.5, -0.25, 0.125]] * 4, "b_h": [[0.1, 0.2, 0.3]], "W_o": [[1.0], [2.0], [3.0]], "b_o": [[0.5]]}
CPU0 = "/job:worker/replica:0/task:0/device:CPU:0"


def slurm_environment() -> dict[str, str]:
    lines = (FIXTURES / "slurm-srun-N2-ntasks-per-node2.env").read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


# ---------------------------------------------------------------------------------------------- the cluster


def test_tf_config_gives_the_task_and_every_worker() -> None:
    config = {"cluster": {"worker": ["node-a:12345", "node-b:12345"]}, "task": {"type": "worker", "index": 1}}
    spec = distributed.cluster_from_environment({"TF_CONFIG": json.dumps(config)})
    assert (spec.source, spec.task_type, spec.task_index, spec.num_workers) == ("TF_CONFIG", "worker", 1, 2)
    assert spec.addresses == ("node-a:12345", "node-b:12345") and not spec.is_chief


def test_tf_config_with_a_chief_counts_it_as_a_worker_and_the_chief() -> None:
    config = {"cluster": {"chief": ["c:1"], "worker": ["w:1", "w:2"]}, "task": {"type": "chief", "index": 0}}
    spec = distributed.cluster_from_environment({"TF_CONFIG": json.dumps(config)})
    assert spec.num_workers == 3 and spec.is_chief


def test_tf_config_wins_over_slurm() -> None:
    config = {"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 0}}
    spec = distributed.cluster_from_environment({**slurm_environment(), "TF_CONFIG": json.dumps(config)})
    assert spec.source == "TF_CONFIG"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("{not json", "TF_CONFIG is not valid JSON"),
        ('{"cluster": {"worker": ["a:1"]}}', 'TF_CONFIG needs "cluster" and "task" objects'),
        ('{"cluster": {"worker": "a:1"}, "task": {"type": "worker", "index": 0}}', "must map each job to a list"),
        ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 1}}', "task 'worker' #1 is not in"),
        ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "ps", "index": 0}}', "task 'ps' #0 is not in"),
    ],
)
def test_a_bad_tf_config_is_a_usage_error(raw: str, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        distributed.cluster_from_environment({"TF_CONFIG": raw})
    assert message in caught.value.message
    assert caught.value.exit_code == 2 and "TF_CONFIG" in (caught.value.hint or "")


def test_a_slurm_job_step_gives_rank_and_task_count() -> None:
    spec = distributed.cluster_from_environment(slurm_environment())
    assert (spec.source, spec.task_type, spec.task_index, spec.num_workers) == ("slurm", "worker", 3, 4)
    assert spec.nodes == "gpu[07-08]" and spec.addresses == () and not spec.is_chief
    assert distributed.cluster_from_environment({**slurm_environment(), "SLURM_PROCID": "0"}).is_chief


def test_a_slurm_allocation_without_srun_says_to_use_srun() -> None:
    allocation = {k: v for k, v in slurm_environment().items() if not k.startswith(("SLURM_STEP", "SLURM_PROCID"))}
    with pytest.raises(UsageError) as caught:
        distributed.cluster_from_environment(allocation)
    assert "outside a job step" in caught.value.message and "srun" in (caught.value.hint or "")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"SLURM_STEP_TASKS_PER_NODE": ""}, "SLURM_STEP_TASKS_PER_NODE not set"),
        ({"SLURM_PROCID": "4"}, "SLURM_PROCID 4 is outside the step's 4 task(s)"),
        ({"SLURM_STEP_NUM_TASKS": "four"}, "not numbers"),
    ],
)
def test_inconsistent_slurm_variables_are_a_usage_error(change: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError) as caught:
        distributed.cluster_from_environment({**slurm_environment(), **change})
    assert message in caught.value.message


def test_no_cluster_at_all_is_a_usage_error() -> None:
    with pytest.raises(UsageError) as caught:
        distributed.cluster_from_environment({"HOME": "/home/x"})
    assert "--cluster needs TF_CONFIG or a Slurm job step" in caught.value.message


# ---------------------------------------------------------------------------------------------- worker results


def worker_run(weights: dict[str, Any] | None = None, *, spread: float = 0.0) -> dict[str, Any]:
    w = copy.deepcopy(weights or WEIGHTS)
    return {
        "name": "workers-batchN",
        "status": "ok",
        "joined": True,
        "replicas_in_sync": 2,
        "final_weights": w,
        "replicas": [{"device": CPU0, "weights": w}],
        "spread": spread,
        "collective_s_per_step": 0.002,
        "train_s_per_step": 0.003,
        "devices": {"variables": [CPU0], "outputs": []},
    }


def loopback_facts(*runs: dict[str, Any], failures: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    workers = [
        {"index": i, "address": f"127.0.0.1:{4000 + i}", "joined": bool(r.get("joined")), "run": r}
        for i, r in enumerate(runs)
    ]
    return {
        "runs": {"scratch-batchN": {"name": "scratch-batchN", "status": "ok", "final_weights": WEIGHTS}},
        "distributed": {"mode": "workers", "workers": workers, "failures": failures or []},
    }


def by_id(facts: dict[str, Any], mode: str = "workers", workers: int = 2) -> dict[str, Any]:
    return {c.id: c for c in distributed.evaluate(facts, mode=mode, workers=workers)}


def test_two_workers_that_agree_pass_every_check() -> None:
    checks = by_id(loopback_facts(worker_run(), worker_run()))
    assert {k: c.status for k, c in checks.items()} == {
        "distributed.workers": Status.PASS,
        "distributed.replicas-agree": Status.PASS,
        "distributed.vs-single-process": Status.PASS,
        "distributed.collective-time": Status.PASS,
    }
    assert checks["distributed.workers"].detail == "2 workers joined, 2 replica(s) in sync"
    assert "2.000 ms per step" in checks["distributed.collective-time"].detail


def test_a_worker_that_died_is_named_with_its_address() -> None:
    failure = {"index": 1, "address": "127.0.0.1:4001", "error": "was killed by SIGKILL after joining"}
    dead = {"name": "workers-batchN", "status": "running", "joined": True}
    checks = by_id(loopback_facts(worker_run(), dead, failures=[failure]))
    check = checks["distributed.workers"]
    assert check.status is Status.FAIL
    assert check.detail == (
        "worker 1 at 127.0.0.1:4001 was killed by SIGKILL after joining; the other workers were stopped"
    )
    assert set(checks) == {"distributed.workers"}  # nothing to compare when a worker did not finish


def test_a_worker_that_did_not_join_fails() -> None:
    failure = {"index": 0, "address": "127.0.0.1:4000", "error": "did not join within 180 s"}
    checks = by_id(loopback_facts({"status": "running"}, {"status": "running"}, failures=[failure]))
    assert checks["distributed.workers"].status is Status.FAIL
    assert "worker 0 at 127.0.0.1:4000 did not join within 180 s" in checks["distributed.workers"].detail


def test_a_worker_whose_training_raised_fails_with_its_error() -> None:
    raised = {"name": "workers-batchN", "status": "error", "error": "InternalError: collective timed out"}
    check = by_id(loopback_facts(worker_run(), raised))["distributed.workers"]
    assert check.status is Status.FAIL and "worker 1 at 127.0.0.1:4001 InternalError" in check.detail


@pytest.mark.parametrize(("amount", "status"), [(0.0, Status.PASS), (5e-13, Status.PASS), (2e-12, Status.FAIL)])
def test_workers_agree_within_1e_12_on_cpu(amount: float, status: Status) -> None:
    moved = copy.deepcopy(WEIGHTS)
    moved["W_o"][2][0] += amount
    check = by_id(loopback_facts(worker_run(), worker_run(moved)))["distributed.replicas-agree"]
    assert check.status is status


def test_replicas_on_a_gpu_must_agree_exactly() -> None:
    moved = copy.deepcopy(WEIGHTS)
    moved["W_o"][2][0] += 1e-15
    runs = [worker_run(), worker_run(moved)]
    for run in runs:
        run["devices"]["variables"] = ["/job:worker/replica:0/task:0/device:GPU:0"]
    check = by_id(loopback_facts(*runs))["distributed.replicas-agree"]
    assert check.status is Status.FAIL and check.data["tolerance"] == 0.0


def test_a_remote_replica_seen_only_through_the_gathered_spread_counts() -> None:
    check = by_id(loopback_facts(worker_run(spread=1e-6), worker_run(spread=1e-6)))["distributed.replicas-agree"]
    assert check.status is Status.FAIL and "1.0e-06" in check.detail


@pytest.mark.parametrize("bad", [float("nan"), None])
def test_a_nan_spread_or_weight_never_agrees(bad: float | None) -> None:
    check = by_id(loopback_facts(worker_run(), worker_run(spread=bad)))["distributed.replicas-agree"]  # type: ignore[arg-type]
    assert check.status is Status.FAIL


@pytest.mark.parametrize(("amount", "status"), [(5e-11, Status.PASS), (2e-10, Status.FAIL)])
def test_the_distributed_run_matches_the_single_process_run_within_1e_10(amount: float, status: Status) -> None:
    facts = loopback_facts(worker_run(), worker_run())
    facts["runs"]["scratch-batchN"]["final_weights"] = copy.deepcopy(WEIGHTS)
    facts["runs"]["scratch-batchN"]["final_weights"]["b_h"][0][1] += amount
    check = by_id(facts)["distributed.vs-single-process"]
    assert check.status is status and check.data["tolerance"] == 1e-10


def test_on_a_gpu_the_single_process_tolerance_is_1e_6() -> None:
    run = worker_run()
    run["devices"]["variables"] = ["/job:localhost/replica:0/task:0/device:GPU:0"]
    facts = {
        "runs": {"scratch-batchN": {"status": "ok", "final_weights": WEIGHTS}, "mirrored-batchN": run},
        "distributed": {"mode": "mirrored"},
    }
    facts["runs"]["scratch-batchN"]["final_weights"] = copy.deepcopy(WEIGHTS)
    facts["runs"]["scratch-batchN"]["final_weights"]["b_o"][0][0] += 5e-7
    checks = by_id(facts, mode="mirrored", workers=1)
    assert checks["distributed.vs-single-process"].status is Status.PASS
    assert checks["distributed.workers"].detail == "2 devices joined, 2 replica(s) in sync"


def test_the_chief_of_a_cluster_says_how_many_workers_joined() -> None:
    run = worker_run()
    run["name"] = "cluster-batchN"
    facts = {
        "runs": {"scratch-batchN": {"status": "ok", "final_weights": WEIGHTS}, "cluster-batchN": run},
        "distributed": {
            "mode": "cluster",
            "expected_workers": 2,
            "cluster": {"worker": ["node-a:8888", "node-b:8888"]},
            "task": {"type": "worker", "index": 0},
        },
    }
    check = by_id(facts, mode="cluster", workers=1)["distributed.workers"]
    assert check.status is Status.PASS and check.detail == "2 of 2 workers joined, 2 replica(s) in sync"
    run["status"], run["error"] = "error", "DeadlineExceeded: barrier timed out"
    failed = by_id(facts, mode="cluster", workers=1)["distributed.workers"]
    assert failed.status is Status.FAIL and "worker 0 at node-a:8888 DeadlineExceeded" in failed.detail


def test_a_cluster_worker_says_how_many_gpus_it_trained_on() -> None:
    run = dict(worker_run(), name="cluster-batchN")
    info = {"mode": "cluster", "expected_workers": 2, "cluster": {"worker": ["n:1", "n:2"]}, "task": {"index": 0}}
    facts = {"runs": {"cluster-batchN": run}, "distributed": {**info, "gpus": {"count": 0, "devices": []}}}
    detail = by_id(facts, mode="cluster", workers=1)["distributed.workers"].detail
    assert detail == "2 of 2 workers joined, 2 replica(s) in sync; this task on the CPU"
    facts["distributed"]["gpus"] = {"count": 2, "devices": ["/physical_device:GPU:0", "/physical_device:GPU:1"]}
    assert by_id(facts, mode="cluster", workers=1)["distributed.workers"].detail.endswith("trained on 2 GPU(s)")


# ---------------------------------------------------------------------------------------------- Slurm: ports, place


def test_a_slurm_task_knows_its_node_local_index_and_the_tasks_per_node() -> None:
    step = distributed.cluster_from_environment(slurm_environment()).slurm
    assert step is not None
    assert (step.job_id, step.step_id, step.node, step.local_id, step.tasks_per_node) == ("481516", "0", "gpu08", 1, 2)
    assert not step.gpus_bound
    bound = distributed.cluster_from_environment({**slurm_environment(), "SLURM_GPUS_PER_TASK": "1"}).slurm
    assert bound is not None and bound.gpus_bound


@pytest.mark.parametrize(("value", "most"), [("2(x2)", 2), ("1", 1), ("3(x2),4,1", 4), ("8(x16)", 8)])
def test_the_most_tasks_on_one_node_from_slurms_list(value: str, most: int) -> None:
    step = distributed.cluster_from_environment({**slurm_environment(), "SLURM_STEP_TASKS_PER_NODE": value}).slurm
    assert step is not None and step.tasks_per_node == most


def test_ports_reserved_for_the_step_are_used_first() -> None:
    environ = {**slurm_environment(), "SLURM_STEP_RESV_PORTS": "20008-20010"}
    assert distributed.slurm_port_base(environ, 2) == (
        20008,
        "reserved by Slurm for the step (SLURM_STEP_RESV_PORTS=20008-20010)",
    )
    assert distributed.slurm_port_base({**environ, "SLURM_STEP_RESV_PORTS": "12000,12001"}, 2)[0] == 12000


def test_without_enough_reserved_ports_the_base_comes_from_the_job_and_step() -> None:
    environ = slurm_environment()
    few = {**environ, "SLURM_STEP_RESV_PORTS": "20008"}
    for case in (environ, few):
        base, why = distributed.slurm_port_base(case, 2)
        assert why.startswith("derived from the job and step ids")
        low, high = distributed.DERIVED_PORTS
        assert low <= base and base + 2 <= high and (base - low) % 2 == 0
    # every task of the step derives the same base; another step of the job, or another job, another one
    assert distributed.slurm_port_base({**environ, "SLURM_PROCID": "0", "SLURM_LOCALID": "0"}, 2)[0] == base
    others = {distributed.slurm_port_base({**environ, "SLURM_STEP_ID": str(s)}, 2)[0] for s in range(50)}
    assert len(others) >= 45


def test_two_steps_on_one_node_do_not_share_ports() -> None:
    environ = slurm_environment()
    first = distributed.slurm_port_base({**environ, "SLURM_STEP_ID": "0"}, 2)[0]
    second = distributed.slurm_port_base({**environ, "SLURM_STEP_ID": "1"}, 2)[0]
    assert {first, first + 1}.isdisjoint({second, second + 1})


def test_slurms_task_numbers_in_the_json_report() -> None:
    spec = distributed.cluster_from_environment({**slurm_environment(), "SLURM_STEP_RESV_PORTS": "20008-20010"})
    document = spec.to_json()
    assert document["slurm"]["port_base"] == 20008 and document["slurm"]["local_id"] == 1
    assert document["slurm"]["node"] == "gpu08"
