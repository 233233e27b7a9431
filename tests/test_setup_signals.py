"""A real `envcheck setup` process stopped half-way by SIGTERM or Ctrl-C (SIGINT) leaves nothing behind.

Real: the envcheck process, `python -m venv`, pip, the signals. The package index is a local socket that
accepts connections and never answers, so that the install phase is reliably in progress when the signal
arrives; nothing leaves this machine.
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
from test_setup import MINI

pytestmark = pytest.mark.skipif(os.name != "posix", reason="sends POSIX signals")


@pytest.fixture
def silent_index() -> Iterator[str]:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        yield f"http://127.0.0.1:{server.getsockname()[1]}/simple"


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
    profile = tmp_path / "mini.toml"
    profile.write_text(MINI)
    prefix = tmp_path / "envs" / "mini"
    argv = [sys.executable, "-m", "envcheck", "setup", "--file", str(profile), "--prefix", str(prefix)]
    argv += ["--installer", "pip", "--index-url", silent_index]
    env = {**os.environ, "PIP_RETRIES": "0", "PIP_TIMEOUT": "120", "PIP_CONFIG_FILE": os.devnull}
    proc = subprocess.Popen(argv, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
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
    assert not survivors(str(prefix)), "the installer outlived envcheck"


def survivors(needle: str) -> list[str]:
    """Command lines of live processes that mention ``needle`` (Linux /proc; empty elsewhere)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if needle in text:
            found.append(text)
    return found
