"""The cluster worker's part of the training probe, loaded by the current interpreter: its share of the node's
GPUs, which peer a failed collective blames, and how a TensorFlow error is described."""

from __future__ import annotations

import importlib.util
import socket
from typing import Any

import pytest
from support.probes import load_probe

from envcheck.probes import script_path

cluster = load_probe("smoke_cluster")
GPUS = [f"GPU:{i}" for i in range(4)]


@pytest.mark.parametrize(
    ("gpus", "local_id", "tasks_here", "bound", "mine"),
    [
        ([], 1, 2, False, []),  # a CPU node: no GPU for anyone, and no error
        (GPUS, 0, 1, False, GPUS),  # one task per node takes them all
        (GPUS, 1, 2, False, ["GPU:2", "GPU:3"]),  # two tasks share four: two each, by local index
        (GPUS, 3, 4, False, ["GPU:3"]),
        (GPUS[:1], 1, 2, False, ["GPU:0"]),  # fewer GPUs than tasks: taken in turn
        (GPUS[:1], 1, 2, True, ["GPU:0"]),  # Slurm bound one to each task: it uses what it sees
        (GPUS[:2], 1, 2, True, GPUS[:2]),
    ],
)
def test_a_tasks_share_of_the_gpus(
    gpus: list[str], local_id: int, tasks_here: int, bound: bool, mine: list[str]
) -> None:
    assert cluster.share_gpus(gpus, local_id, tasks_here, bound) == mine


def listener() -> socket.socket:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    return server


def closed_address() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{s.getsockname()[1]}"


def info_for(addresses: list[str]) -> dict[str, Any]:
    return {"cluster": {"worker": addresses}, "task": {"type": "worker", "index": 0}}


def test_a_failed_collective_blames_the_task_tensorflow_names() -> None:
    with listener() as a, listener() as b:
        addresses = ["127.0.0.1:1", *(f"127.0.0.1:{s.getsockname()[1]}" for s in (a, b))]
        error = (
            "Graph execution error:\n\nCollective ops is aborted by: recvmsg:Connection reset by peer\n"
            "Additional GRPC error information from remote target /job:worker/replica:0/task:2 while calling"
        )
        failures = cluster.failures_after(info_for(addresses), error, 12.34)
    assert [(f["index"], f["address"]) for f in failures] == [(2, addresses[2])]
    assert failures[0]["error"] == (
        "did not take part in a collective 12.3 s into training "
        "(Collective ops is aborted by: recvmsg:Connection reset by peer)"
    )


def test_a_timed_out_collective_blames_the_peers_that_no_longer_answer() -> None:
    gone = closed_address()
    with listener() as alive:
        addresses = ["127.0.0.1:1", f"127.0.0.1:{alive.getsockname()[1]}", gone]
        error = "DeadlineExceededError: Graph execution error:\n\nCollective has timed out during execution.\n"
        failures = cluster.failures_after(info_for(addresses), error, 3.0)
    assert failures == [
        {
            "index": 2,
            "job": "worker",
            "address": gone,
            "answering": False,
            "error": "stopped answering 3.0 s into training (Collective has timed out during execution.)",
        }
    ]


def test_a_tensorflow_error_is_described_by_its_cause() -> None:
    spec = importlib.util.spec_from_file_location("_test_probe_smoke_net", script_path("smoke_net"))
    assert spec is not None and spec.loader is not None
    net = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(net)

    class DeadlineExceededError(Exception):
        pass

    tf_error = DeadlineExceededError(
        "Graph execution error:\n\nDetected at node while/CollectiveReduceV2 defined at (most recent call last):\n"
        '  File "/x/w.py", line 25, in <module>\n\nCollective has timed out during execution.\n'
        "\t [[{{node while/CollectiveReduceV2}}]] [Op:__inference_step_84]"
    )
    assert net.describe(tf_error) == "DeadlineExceededError: Collective has timed out during execution."
    assert net.describe(ValueError("plain: one line\nsecond")) == "ValueError: plain: one line"
    assert net.describe(KeyError()) == "KeyError:"


class FakeSpec:
    def __init__(self, jobs: dict[str, list[str]]) -> None:
        self.jobs = jobs

    def as_dict(self) -> dict[str, list[str]]:
        return self.jobs


def tensorflow_placing(addresses: list[str], rank: int) -> Any:
    """A stand-in for tensorflow whose SlurmClusterResolver places the step's tasks at ``addresses``."""
    asked: dict[str, Any] = {}

    class SlurmClusterResolver:
        def __init__(self, **kwargs: Any) -> None:
            asked.update(kwargs)
            self.task_type, self.task_id = "worker", rank

        def cluster_spec(self) -> FakeSpec:
            return FakeSpec({"worker": addresses})

    resolver = type("cluster_resolver", (), {"SlurmClusterResolver": SlurmClusterResolver})
    tf = type("tf", (), {"distribute": type("distribute", (), {"cluster_resolver": resolver})})
    tf.asked = asked
    return tf


SLURM = {"port_base": 20008, "tasks_per_node": 2, "node": "node-a", "local_id": 1}


def test_the_resolver_is_asked_for_one_address_per_task_and_this_task_finds_its_own() -> None:
    tf = tensorflow_placing(["node-a:20008", "node-a:20009", "node-b:20008"], rank=1)
    spec, task_type, task_id, here = cluster.slurm_cluster(tf, SLURM)
    assert (spec["worker"][task_id], task_type, here) == ("node-a:20009", "worker", 2)
    assert tf.asked == {"port_base": 20008, "gpus_per_node": 2, "gpus_per_task": 1, "auto_set_gpu": False}


def test_a_task_placed_elsewhere_than_slurm_started_it_fails_naming_both() -> None:
    tf = tensorflow_placing(["node-a:20008", "node-b:20008", "node-a:20009"], rank=1)  # cyclic, read as block
    with pytest.raises(cluster.ClusterError) as caught:
        cluster.slurm_cluster(tf, SLURM)
    message = str(caught.value)
    assert "the address node-b:20008, but Slurm started it on node-a as its local task 1" in message
    assert "srun -m block" in message
