"""Windows and macOS code paths that can run here: the lock on Windows (msvcrt, through a stand-in that locks as
msvcrt documents), one lock per folder however its name is spelled where case does not count, and where an
environment's python and the Jupyter kernels live on each platform (the platform passed in)."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from envcheck.exclusive import BusyError, MsvcrtLocker, holder, lock_environment, lock_name, stop_command
from envcheck.kernels import kernels_dir
from envcheck.locations import python_in


class StandInMsvcrt:
    """msvcrt.locking as documented: LK_NBLCK locks ``nbytes`` from the file's current position, or raises
    OSError when one of them is locked already, through any handle; LK_UNLCK unlocks what this handle locked
    from the current position, or raises OSError."""

    LK_UNLCK, LK_LOCK, LK_NBLCK = 0, 1, 2

    def __init__(self) -> None:
        self.held: dict[tuple[int, int, int], int] = {}  # (device, inode, byte) -> the fd holding it

    def locking(self, fd: int, mode: int, nbytes: int) -> None:
        info = os.fstat(fd)
        start = os.lseek(fd, 0, os.SEEK_CUR)
        span = [(info.st_dev, info.st_ino, byte) for byte in range(start, start + nbytes)]
        if mode == self.LK_NBLCK:
            if any(key in self.held for key in span):
                raise PermissionError(errno.EACCES, "Permission denied")
            self.held.update(dict.fromkeys(span, fd))
        elif mode == self.LK_UNLCK:
            if any(self.held.get(key) != fd for key in span):
                raise PermissionError(errno.EACCES, "Permission denied")
            for key in span:
                del self.held[key]
        else:
            raise ValueError(f"mode {mode} is not used by envcheck")


def test_the_windows_lock_refuses_a_second_holder_and_is_free_again_after(tmp_path: Path) -> None:
    msvcrt = StandInMsvcrt()
    prefix = tmp_path / "env"
    with lock_environment(prefix, command="setup", locker=MsvcrtLocker(msvcrt)):
        assert len(msvcrt.held) == 1
        # the holder's description is readable while byte 0 is locked
        assert (holder(prefix) or {}).get("command") == "setup"
        second = lock_environment(prefix, command="verify --fix", locker=MsvcrtLocker(msvcrt))
        with pytest.raises(BusyError) as info, second:
            pytest.fail("a second holder got the lock")
        assert info.value.message.startswith(f"another envcheck (pid {os.getpid()}) is working on {prefix}")
    # unlocking seeks back to byte 0 first: describing the holder had moved the position past its text
    assert msvcrt.held == {}
    with lock_environment(prefix, command="verify --fix", locker=MsvcrtLocker(msvcrt), wait=0.5):
        assert (holder(prefix) or {}).get("command") == "verify --fix"
    assert msvcrt.held == {}


def test_locking_from_where_the_description_left_the_position_would_lock_the_wrong_byte(tmp_path: Path) -> None:
    """Why every call seeks first: msvcrt locks from the current position, not from the start."""
    msvcrt = StandInMsvcrt()
    fd = os.open(tmp_path / "file.lock", os.O_RDWR | os.O_CREAT)
    try:
        os.write(fd, b"\0{}")
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # at position 3
        assert [key[2] for key in msvcrt.held] == [3]
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        locker = MsvcrtLocker(msvcrt)
        assert locker.try_lock(fd) and [key[2] for key in msvcrt.held] == [0]
        os.lseek(fd, 0, os.SEEK_END)
        locker.unlock(fd)
        assert msvcrt.held == {}
    finally:
        os.close(fd)


@pytest.mark.parametrize(
    "spelling", ["C:\\Envs\\DL", "c:\\envs\\dl", "C:/Envs/DL", "c:\\envs\\dl\\", "C:\\Envs\\.\\x\\..\\DL"]
)
def test_one_lock_per_windows_folder_however_it_is_spelled(spelling: str) -> None:
    assert lock_name(spelling, "win32") == lock_name("C:\\Envs\\DL", "win32")
    assert lock_name(spelling, "win32").startswith("dl-")
    assert lock_name("D:\\Envs\\DL", "win32") != lock_name("C:\\Envs\\DL", "win32")  # another drive


def test_case_counts_on_linux_and_not_on_macos() -> None:
    assert lock_name("/envs/DL", "linux") != lock_name("/envs/dl", "linux")
    assert lock_name("/Users/Ada/envs/DL", "darwin") == lock_name("/users/ada/envs/dl", "darwin")
    assert lock_name("/envs/dl/", "linux") == lock_name("/envs/./dl", "linux")


def test_a_stuck_holder_is_stopped_with_a_command_of_the_users_shell() -> None:
    assert stop_command(123, "linux") == "kill 123"
    assert stop_command(123, "darwin") == "kill 123"
    assert stop_command(123, "win32") == "taskkill /PID 123"  # the same in cmd.exe and PowerShell


# ---------------------------------------------------------------------------------------------- layouts


def make(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


def test_the_python_of_a_windows_venv_is_scripts_python_exe(tmp_path: Path) -> None:
    python = make(tmp_path / "Scripts" / "python.exe")
    assert python_in(tmp_path, "win32") == python


def test_the_python_of_a_windows_conda_prefix_is_at_its_root(tmp_path: Path) -> None:
    make(tmp_path / "Scripts" / "python.exe")  # conda's Scripts holds entry points, its python is at the root
    python = make(tmp_path / "python.exe")
    assert python_in(tmp_path, "win32") == python


def test_a_missing_python_is_named_where_it_should_be(tmp_path: Path) -> None:
    assert python_in(tmp_path, "win32") == tmp_path / "python.exe"
    assert python_in(tmp_path, "linux") == tmp_path / "bin" / "python"
    python3 = make(tmp_path / "bin" / "python3")
    assert python_in(tmp_path, "darwin") == python3


@pytest.mark.parametrize(
    ("platform", "environ", "expected"),
    [
        ("win32", {"APPDATA": "{tmp}/Roaming"}, "{tmp}/Roaming/jupyter/kernels"),
        ("win32", {}, "{home}/.jupyter/data/kernels"),
        ("darwin", {}, "{home}/Library/Jupyter/kernels"),
        ("linux", {}, "{home}/.local/share/jupyter/kernels"),
        ("linux", {"XDG_DATA_HOME": "{tmp}/xdg"}, "{tmp}/xdg/jupyter/kernels"),
        ("darwin", {"JUPYTER_DATA_DIR": "{tmp}/jd", "APPDATA": "{tmp}/no"}, "{tmp}/jd/kernels"),
    ],
)
def test_the_kernels_folder_of_each_platform(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, platform: str, environ: dict[str, str], expected: str
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    values = {"tmp": str(tmp_path), "home": str(tmp_path / "home")}
    given = {name: value.format(**values) for name, value in environ.items()}
    assert kernels_dir(platform, given) == Path(expected.format(**values))
