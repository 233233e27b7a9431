"""One envcheck at a time per environment: a second setup refuses, naming the first; a dead holder's lock is free.

Real: a second process holding the lock, the lock file, setup's own pre-flight. Imitated: the installer
(test_setup's FakeInstaller), so that nothing is downloaded.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.setups import MINI, FakeInstaller, request

from envcheck.errors import ExitCode
from envcheck.exclusive import GLANCE, BusyError, holder, lock_environment, lock_path, working_on
from envcheck.profiles.files import load_file
from envcheck.profiles.profile import Profile
from envcheck.setup.pipeline import setup_environment
from envcheck.setup.result import Action

HOLD = """
import sys, time
from pathlib import Path
from envcheck.exclusive import lock_environment
with lock_environment(Path(sys.argv[1]), command="setup"):
    print("held", flush=True)
    time.sleep(600)
"""


@pytest.fixture
def mini(tmp_path: Path) -> Profile:
    path = tmp_path / "mini.toml"
    path.write_text(MINI, encoding="utf-8")
    return load_file(path)


def hold_in_another_process(prefix: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(prefix)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_setup_refuses_naming_the_first_then_runs_once_it_died(tmp_path: Path, mini, monkeypatch) -> None:
    fake = FakeInstaller(monkeypatch)
    prefix = tmp_path / "not-yet" / "env"  # the lock exists before the prefix does
    other = hold_in_another_process(prefix)
    try:
        with pytest.raises(BusyError) as info:
            setup_environment(request(mini, prefix))
        assert info.value.message.startswith(f"another envcheck (pid {other.pid}) is working on {prefix} since ")
        assert f"kill {other.pid}" in (info.value.hint or "")
        assert info.value.exit_code == ExitCode.FAILED
        assert fake.calls == [] and not (tmp_path / "not-yet").exists()
        with pytest.raises(BusyError):
            setup_environment(request(mini, prefix, recreate=True))
    finally:
        other.kill()
        other.wait(timeout=10)
    # the dead holder's file is still there, with its pid: the lock itself went with the process
    assert lock_path(prefix).exists() and (holder(prefix) or {}).get("pid") == other.pid
    assert setup_environment(request(mini, prefix)).action is Action.CREATED
    assert (holder(prefix) or {}).get("pid") == os.getpid()


def test_the_lock_is_per_prefix_and_can_wait(tmp_path: Path) -> None:
    with lock_environment(tmp_path / "a", command="setup"):
        with lock_environment(tmp_path / "b", command="setup"):
            pass
        other = subprocess.run(
            [sys.executable, "-c", HOLD.replace("time.sleep(600)", "pass"), str(tmp_path / "a")],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert other.returncode != 0 and "another envcheck" in other.stderr
    with lock_environment(tmp_path / "a", command="verify --fix", wait=1.0):
        assert (holder(tmp_path / "a") or {}).get("command") == "verify --fix"


GLANCE_AT = """
import sys, time
from pathlib import Path
from envcheck.exclusive import lock_path, system_locker
import os
locker = system_locker()
fd = os.open(lock_path(Path(sys.argv[1])), os.O_RDWR)
assert locker.try_lock(fd)
print("held", flush=True)
time.sleep(float(sys.argv[2]))
locker.unlock(fd)
"""


def glance_at(prefix: Path) -> subprocess.Popen[str]:
    """Another process that takes the lock of ``prefix`` for an instant (a fifth of GLANCE), as verify does."""
    proc = subprocess.Popen(
        [sys.executable, "-c", GLANCE_AT, str(prefix), str(GLANCE / 5)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_another_commands_glance_at_the_lock_is_not_a_holder(tmp_path: Path) -> None:
    # two verifies of one environment at once: each asks whether a setup is at work by taking the lock for an
    # instant, and the other one must not take that instant for a setup; nor may a setup starting then refuse
    prefix = tmp_path / "env"
    done = subprocess.run([sys.executable, "-c", HOLD.replace("time.sleep(600)", "pass"), str(prefix)], timeout=60)
    assert done.returncode == 0  # the lock file exists, describing its last holder: a setup gone since
    glance = glance_at(prefix)
    try:
        assert working_on(prefix) is None
    finally:
        glance.wait(timeout=30)
    glance = glance_at(prefix)
    try:
        with lock_environment(prefix, command="setup"):
            assert (holder(prefix) or {}).get("pid") == os.getpid()
    finally:
        glance.wait(timeout=30)
