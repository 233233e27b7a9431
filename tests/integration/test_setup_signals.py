"""A real `envcheck setup` process stopped half-way by SIGTERM or Ctrl-C (SIGINT) leaves nothing behind.

Real: the envcheck process, `python -m venv`, pip, the signals. The package index is a local socket that
answers setup's pre-flight, then accepts connections and never answers, so that the install phase is reliably
in progress when the signal arrives; nothing leaves this machine. envcheck is started with SIGINT at its default, as in a terminal, even
when the tests run as a background job with SIGINT ignored.
"""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.processes import default_sigint, processes_mentioning
from support.setups import MINI

pytestmark = pytest.mark.skipif(os.name != "posix", reason="sends POSIX signals")


@pytest.fixture
def silent_index() -> Iterator[str]:
    """An index that answers its root once (setup's pre-flight asks it), then accepts connections and never
    answers: the installer waits on it."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        threading.Thread(target=_answer_the_root_once, args=(server,), daemon=True).start()
        yield f"http://127.0.0.1:{server.getsockname()[1]}/simple"


def _answer_the_root_once(server: socket.socket) -> None:
    try:
        connection, _ = server.accept()
    except OSError:
        return
    with connection:
        connection.recv(65536)
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")


class StderrLines:
    """The child's stderr lines, read on a thread as they come."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.seen: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: [self._queue.put(line) for line in proc.stderr or ()], daemon=True).start()

    def wait_for(self, text: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in line for line in self.seen):
                return True
            try:
                self.seen.append(self._queue.get(timeout=0.5))
            except queue.Empty:
                if self.proc.poll() is not None and self._queue.empty():
                    return any(text in line for line in self.seen)
        return False


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "sigint"])
def test_signal_during_install_removes_the_environment(tmp_path: Path, silent_index: str, signum: int) -> None:
    prefix = tmp_path / "envs" / "mini"
    proc = start_setup(tmp_path, prefix, silent_index)
    try:
        stderr = StderrLines(proc)
        assert stderr.wait_for("install packages", timeout=120), stderr.seen
        time.sleep(1.0)  # pip is now waiting on the silent index
        assert (prefix / "pyvenv.cfg").exists()
        proc.send_signal(signum)
        proc.wait(timeout=60)
        assert stderr.wait_for("setup interrupted; removed the partial environment", timeout=10), stderr.seen
    finally:
        proc.kill()
    assert proc.returncode == 130, stderr.seen
    assert not (tmp_path / "envs").exists()
    assert not processes_mentioning(str(prefix)), "the installer outlived envcheck"


def start_setup(tmp_path: Path, prefix: Path, index: str) -> subprocess.Popen[str]:
    profile = tmp_path / "mini.toml"
    profile.write_text(MINI)
    argv = [sys.executable, "-m", "envcheck", "setup", "--file", str(profile), "--prefix", str(prefix)]
    argv += ["--installer", "pip", "--index-url", index]
    env = {**os.environ, "PIP_RETRIES": "0", "PIP_TIMEOUT": "120", "PIP_CONFIG_FILE": os.devnull}
    return subprocess.Popen(
        argv, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, preexec_fn=default_sigint
    )


def test_a_second_setup_on_the_same_prefix_refuses_and_leaves_the_first_alone(
    tmp_path: Path, silent_index: str
) -> None:
    prefix = tmp_path / "envs" / "mini"
    first = start_setup(tmp_path, prefix, silent_index)
    try:
        stderr = StderrLines(first)
        assert stderr.wait_for("install packages", timeout=120), stderr.seen
        second = subprocess.run(
            [sys.executable, "-m", "envcheck", "setup", "--file", str(tmp_path / "mini.toml"), "--prefix", str(prefix)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 1, second.stderr
        assert f"error: another envcheck (pid {first.pid}) is working on {prefix} since " in second.stderr
        assert "incomplete" not in second.stderr and "--recreate" not in second.stderr
        assert first.poll() is None and (prefix / "pyvenv.cfg").exists(), "the second setup disturbed the first"
        first.send_signal(signal.SIGTERM)
        first.wait(timeout=60)
    finally:
        first.kill()
    assert first.returncode == 130
    assert not (tmp_path / "envs").exists()
