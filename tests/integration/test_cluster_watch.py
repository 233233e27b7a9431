"""The join watch of a cluster worker, for real: a worker process that never gets out of its join (as TensorFlow's
C++ join holds the GIL, a busy loop here) and the watch process it starts, against real sockets."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from envcheck.probes import script_path


def listener() -> socket.socket:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    return server


def closed_address() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{s.getsockname()[1]}"


def info_for(addresses: list[str]) -> dict[str, object]:
    return {"cluster": {"worker": addresses}, "task": {"type": "worker", "index": 0}}


WORKER = textwrap.dedent(
    """
    import importlib.util, sys, time
    spec = importlib.util.spec_from_file_location("smoke_cluster", sys.argv[1])
    cluster = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cluster)
    cluster.start_join_watch(sys.argv[2], float(sys.argv[3]))
    while True:  # TensorFlow's join, which never comes (and holds the GIL: no thread of this process could run)
        pass
    """
)


def joining_worker(tmp_path: Path, addresses: list[str], limit: float) -> subprocess.Popen[bytes]:
    """A worker whose answer says it is joining the cluster of ``addresses``, and its join watch."""
    answer = {
        "complete": False,
        "runs": {"cluster-batchN": {"name": "cluster-batchN", "status": "running"}},
        "distributed": {**info_for(addresses), "stage": "joining"},
    }
    (tmp_path / "output.json").write_text(json.dumps(answer))
    argv = [sys.executable, "-c", WORKER, str(script_path("smoke_cluster")), str(tmp_path), str(limit)]
    return subprocess.Popen(argv)


def test_the_join_watch_ends_a_worker_whose_peer_stops_answering(tmp_path: Path) -> None:
    server = listener()
    peer = f"127.0.0.1:{server.getsockname()[1]}"
    worker = joining_worker(tmp_path, ["127.0.0.1:1", peer], limit=120)
    try:
        time.sleep(2.5)  # seen answering
        server.close()
        closed = time.monotonic()
        assert worker.wait(timeout=10) == -9  # SIGKILL: nothing else reaches a worker inside the join
        waited = time.monotonic() - closed
    finally:
        worker.kill()
    answer = json.loads((tmp_path / "output.json").read_text())
    assert waited < 5
    failure = answer["distributed"]["failures"][0]
    assert (failure["index"], failure["address"]) == (1, peer)
    assert failure["error"].startswith("answered, then stopped answering before joining")
    assert answer["runs"]["cluster-batchN"]["error"].startswith(f"worker 1 at {peer} answered, then stopped")
    assert (answer["complete"], answer["ended_by"], answer["distributed"]["stage"]) == (True, "join-watch", "failed")


def test_the_join_watch_ends_a_join_that_takes_too_long(tmp_path: Path) -> None:
    silent = closed_address()
    worker = joining_worker(tmp_path, ["127.0.0.1:1", silent], limit=2)
    try:
        assert worker.wait(timeout=15) == -9
    finally:
        worker.kill()
    failure = json.loads((tmp_path / "output.json").read_text())["distributed"]["failures"][0]
    assert failure["address"] == silent
    assert failure["error"] == "nothing answers there after 2 s: the task did not start, or died"


def test_the_join_watch_leaves_a_worker_that_joined_alone(tmp_path: Path) -> None:
    worker = joining_worker(tmp_path, ["127.0.0.1:1", closed_address()], limit=1)
    try:
        answer = json.loads((tmp_path / "output.json").read_text())
        answer["distributed"]["stage"] = "training"
        (tmp_path / "output.json").write_text(json.dumps(answer))
        with pytest.raises(subprocess.TimeoutExpired):
            worker.wait(timeout=4)
    finally:
        worker.kill()
        worker.wait()
    assert "failures" not in json.loads((tmp_path / "output.json").read_text())["distributed"]
