"""The kernel probe's connection file (it holds the key that authenticates to the kernel) never outlives the run.

The probe runs for real with the interpreter running the tests (it has jupyter_client) against kernelspecs
whose "kernel" never answers or dies at once, so that each way a run ends can be reached on purpose: the
kernel failing, the probe killed for its time limit, and Ctrl-C. Each run gets an empty temporary folder,
which must be empty again afterwards.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from envcheck.probes import run_probe

pytestmark = pytest.mark.skipif(os.name != "posix", reason="kernels started as POSIX processes")

KERNELS = {
    # never answers, so the start waits for it; it goes when its parent (the probe) goes
    "sleeper": ["-c", "import os, time\nparent = os.getppid()\nwhile os.getppid() == parent: time.sleep(0.2)"],
    "dying": ["-c", "raise SystemExit(3)"],  # dies at once: the start fails
}


@pytest.fixture()
def places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """An empty temporary folder for the run, and Jupyter's own runtime folder; the two kernelspecs."""
    data = tmp_path / "jupyter"
    for name, args in KERNELS.items():
        spec = data / "kernels" / name
        spec.mkdir(parents=True)
        argv = [sys.executable, *args, "{connection_file}"]
        (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": name, "language": "python"}))
    scratch, runtime = tmp_path / "tmp", tmp_path / "runtime"
    scratch.mkdir()
    runtime.mkdir()
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(data))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(runtime))
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    return scratch, runtime


def everything_in(*folders: Path) -> list[str]:
    return [str(p) for folder in folders for p in folder.rglob("*")]


def test_a_kernel_that_dies_leaves_no_connection_file(places: tuple[Path, Path]) -> None:
    outcome = run_probe(Path(sys.executable), "kernel", {"kernel_name": "dying", "timeout": 30}, timeout=120)
    assert outcome.data is not None and outcome.data["complete"]
    assert outcome.data["start_error"]["error_type"]  # the start failed, as it should
    assert everything_in(*places) == []


def test_a_probe_killed_for_its_time_limit_leaves_no_connection_file(places: tuple[Path, Path]) -> None:
    outcome = run_probe(Path(sys.executable), "kernel", {"kernel_name": "sleeper", "timeout": 60}, timeout=8)
    assert outcome.completed.timed_out
    assert outcome.data is not None and outcome.data["stage"] == "start"
    assert everything_in(*places) == []


def test_ctrl_c_during_the_kernel_start_leaves_no_connection_file(places: tuple[Path, Path]) -> None:
    scratch, runtime = places
    script = textwrap.dedent(
        """\
        import sys
        from pathlib import Path
        from envcheck.probes import run_probe
        try:
            run_probe(Path(sys.executable), "kernel", {"kernel_name": "sleeper", "timeout": 60}, timeout=60)
        except KeyboardInterrupt:
            sys.exit(130)
        """
    )
    # SIGINT at its default in the child, whatever this process inherited
    child = subprocess.Popen(
        [sys.executable, "-c", script], preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)
    )
    try:
        deadline = time.monotonic() + 60
        while not list(scratch.rglob("kernel-*.json")):  # the kernel is being started: its file is written
            assert time.monotonic() < deadline and child.poll() is None, "the connection file never appeared"
            time.sleep(0.05)
        child.send_signal(signal.SIGINT)
        assert child.wait(timeout=60) == 130
    finally:
        if child.poll() is None:
            child.kill()
    assert everything_in(scratch, runtime) == []
