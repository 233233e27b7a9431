"""The runner, for real: timeouts kill the whole tree, output streams, credentials never show."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from envcheck import children, runner
from envcheck.errors import ExitCode, ProgramNotFoundError


def test_captures_stdout_and_stderr_apart() -> None:
    done = runner.run([sys.executable, "-c", "import sys; print('out'); print('err', file=sys.stderr)"], timeout=30)
    assert done.ok and done.stdout == "out\n" and done.stderr == "err\n"


def test_timeout_kills_the_child_and_its_children(tmp_path: Path) -> None:
    flag = tmp_path / "grandchild-alive"
    child = tmp_path / "grandchild.py"
    child.write_text(f"import time\ntime.sleep(3)\nopen({str(flag)!r}, 'w').close()\n")
    script = tmp_path / "parent.py"
    script.write_text(
        f"import subprocess, sys, time\nsubprocess.Popen([sys.executable, {str(child)!r}])\ntime.sleep(60)\n"
    )
    started = time.monotonic()
    done = runner.run([sys.executable, str(script)], timeout=1)
    assert done.timed_out and done.returncode is None
    assert time.monotonic() - started < 10
    assert "time limit" in done.describe_exit()
    time.sleep(3.5)
    assert not flag.exists(), "the grandchild survived the timeout"


@pytest.mark.parametrize("new_session", [False, True], ids=["same-group", "own-session"])
def test_timeout_kills_descendants_in_a_session_of_their_own(tmp_path: Path, new_session: bool) -> None:
    """jupyter_client starts every kernel with setsid: the process group alone would leave it running."""
    pid_file = tmp_path / "grandchild.pid"
    script = tmp_path / "parent.py"
    script.write_text(
        "import subprocess, sys, time\n"
        f"p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'], start_new_session={new_session})\n"
        f"open({str(pid_file)!r}, 'w').write(str(p.pid))\n"
        "time.sleep(600)\n"
    )
    done = runner.run([sys.executable, str(script)], timeout=2)
    assert done.timed_out
    grandchild = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while _alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(grandchild), "the grandchild outlived the timeout"


def _alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_deadline_gives_each_child_what_is_left() -> None:
    deadline = runner.Deadline.after(2.0)
    first = runner.run([sys.executable, "-c", "import time; time.sleep(60)"], timeout=deadline.remaining())
    started = time.monotonic()
    second = runner.run([sys.executable, "-c", "import time; time.sleep(60)"], timeout=deadline.remaining(30))
    assert first.timed_out and second.timed_out
    assert time.monotonic() - started < 0.5 and deadline.remaining() == 0.0


def test_a_signal_death_is_named() -> None:
    done = runner.run([sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"], timeout=30)
    assert done.signal_name == "SIGSEGV"
    assert done.describe_exit() == "was killed by SIGSEGV"


NICE = "import os; print(os.nice(0))"
# PR_GET_PDEATHSIG (2): the signal the kernel sends this process when its parent dies; 0 when none was asked for
DEATH_SIGNAL = (
    "import ctypes; found = ctypes.c_int(-1); "
    "ctypes.CDLL(None, use_errno=True).prctl(2, ctypes.byref(found), 0, 0, 0); print(found.value)"
)


@pytest.mark.skipif(os.name != "posix", reason="nice values are POSIX's")
def test_a_background_child_runs_at_a_lower_priority_and_the_usual_one_does_not() -> None:
    usual = runner.run([sys.executable, "-c", NICE], timeout=30)
    background = runner.run([sys.executable, "-c", NICE], timeout=30, background=True)
    assert usual.ok and background.ok, (usual.stderr, background.stderr)
    assert int(usual.stdout) == os.nice(0)
    assert int(background.stdout) == min(19, os.nice(0) + children.BACKGROUND_NICE)
    assert int(background.stdout) > int(usual.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the death signal is Linux's (PR_SET_PDEATHSIG)")
@pytest.mark.parametrize("background", [False, True], ids=["usual", "background"])
def test_a_child_dies_with_envcheck_whatever_its_priority(background: bool) -> None:
    done = runner.run([sys.executable, "-c", DEATH_SIGNAL], timeout=30, background=background)
    assert done.ok, done.stderr
    assert int(done.stdout) == int(signal.SIGKILL)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the death signal is Linux's (PR_SET_PDEATHSIG)")
def test_a_background_child_is_killed_when_envcheck_is_killed(tmp_path: Path) -> None:
    """kill -9 of the parent: the lower-priority child goes with it, as every other child does."""
    pid_file = tmp_path / "child.pid"
    parent = tmp_path / "parent.py"
    child_code = f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(600)"
    parent.write_text(
        "import sys\nfrom envcheck import runner\n"
        f"runner.run([sys.executable, '-c', {child_code!r}], timeout=600, background=True)\n"
    )
    proc = subprocess.Popen([sys.executable, str(parent)])
    try:
        deadline = time.monotonic() + 60
        while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
            time.sleep(0.05)
        child = int(pid_file.read_text())
        assert _alive(child)
    finally:
        proc.kill()
        proc.wait()
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child), "the background child outlived envcheck's kill -9"


def test_streaming_sends_redacted_lines_to_callback_and_log() -> None:
    lines: list[str] = []
    log = io.StringIO()
    done = runner.run(
        [sys.executable, "-c", "print('Looking in https://alice:s3cret@pypi.example/simple'); print('two')"],
        timeout=30,
        on_line=lines.append,
        log=log,
    )
    assert done.ok
    assert lines == ["Looking in https://***@pypi.example/simple", "two"]
    assert "s3cret" not in log.getvalue() and "s3cret" not in done.stdout


def test_child_environment_is_cleaned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", "/somewhere/else")
    monkeypatch.setenv("PYTHONHOME", "/not/a/home")
    done = runner.run(
        [sys.executable, "-c", "import os; print(os.environ.get('PYTHONPATH'), os.environ['PYTHONNOUSERSITE'])"],
        timeout=30,
    )
    assert done.stdout.split() == ["None", "1"]


def test_missing_program_is_an_unusable_environment(tmp_path: Path) -> None:
    with pytest.raises(ProgramNotFoundError) as info:
        runner.run([str(tmp_path / "bin" / "python")], timeout=5)
    assert info.value.exit_code == ExitCode.UNUSABLE


def test_display_redacts_and_quotes() -> None:
    line = runner.display(["uv", "pip", "install", "--index-url", "https://u:p@h/simple", "a b"])
    assert line == "uv pip install --index-url https://***@h/simple 'a b'"


@pytest.mark.skipif(os.name != "posix", reason="signals to itself and process groups are POSIX's")
def test_a_signal_that_lands_while_a_child_starts_stops_that_child_before_run_raises(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGINT raised inside Popen, after the fork, would leave the child running unseen: an interrupted
    `setup` removed the new environment while `uv venv` went on writing it, and the next setup met a
    Python environment it had not made. The signal is raised once the child is known and killed."""
    written = tmp_path / "written"
    real_popen = subprocess.Popen

    def popen_then_signal(*args, **kwargs):
        proc = real_popen(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGINT)  # the handler runs now, while run() is still starting the child
        return proc

    monkeypatch.setattr(subprocess, "Popen", popen_then_signal)
    code = f"import time; time.sleep(1); open({str(written)!r}, 'w').write('x')"
    with runner.stop_on_signals(), pytest.raises(KeyboardInterrupt):
        runner.run([sys.executable, "-c", code], timeout=30)
    time.sleep(1.5)
    assert not written.exists(), "the child went on after the interrupt"


def test_the_wait_returns_the_exit_code_and_keeps_its_time_limit() -> None:
    ends = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    assert runner.wait_for(ends, 30) == 3
    assert runner.wait_for(ends, 30) == 3  # ended and reaped already: answered at once
    sleeps = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        started = time.monotonic()
        with pytest.raises(subprocess.TimeoutExpired):
            runner.wait_for(sleeps, 0.5)
        assert 0.4 < time.monotonic() - started < 10
        assert sleeps.poll() is None  # a time limit reached stops the wait, not the child
    finally:
        sleeps.kill()
        sleeps.wait()


@pytest.mark.skipif(os.name != "posix", reason="signals to itself and process groups are POSIX's")
def test_a_reported_signal_ends_the_child_and_is_remembered_not_raised() -> None:
    """Slurm's SIGTERM orders a task to finish: the child is killed at once, the command goes on to say what
    happened (stopping_signal), and starts nothing new; Ctrl-C in the same place still interrupts."""
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGTERM))
    with runner.stop_on_signals(), runner.reported(signal.SIGTERM):
        started = time.monotonic()
        timer.start()
        done = runner.run([sys.executable, "-c", "import time; time.sleep(60)"], timeout=120)
        assert time.monotonic() - started < 10
        assert done.signal_name == "SIGKILL"
        assert runner.stopping_signal() == signal.SIGTERM
        with pytest.raises(KeyboardInterrupt):
            runner.run([sys.executable, "-c", "pass"], timeout=30)
    assert runner.stopping_signal() is None
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
    with runner.stop_on_signals(), runner.reported(signal.SIGTERM), pytest.raises(KeyboardInterrupt):
        timer.start()
        runner.run([sys.executable, "-c", "import time; time.sleep(60)"], timeout=120)
