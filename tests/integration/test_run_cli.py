"""`envcheck run`: a real envcheck process runs a real command in a real (small, pip-less) venv.

What is checked is what the user sees: the command's own output and exit code, the environment it ran in,
one-line errors with exit 2, Ctrl-C and SIGTERM reaching the command, and envcheck outliving neither.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import venv
from pathlib import Path

import pytest

from envcheck.run import command_environment, program_folders

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX paths and signals")


@pytest.fixture(scope="module")
def small_env(tmp_path_factory: pytest.TempPathFactory) -> Path:
    prefix = tmp_path_factory.mktemp("run") / "small env"  # a space in the path, as on macOS
    venv.create(prefix, with_pip=False, symlinks=os.name == "posix")
    return prefix


def envcheck(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    # SIGINT at its default in the child (pytest may run as a background job, which has it ignored)
    return subprocess.run(
        [sys.executable, "-m", "envcheck", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        preexec_fn=_default_sigint if os.name == "posix" else None,
    )


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


CODE = """
import json, os, shutil, sys
print(json.dumps({"prefix": sys.prefix, "venv": os.environ.get("VIRTUAL_ENV"), "conda": os.environ.get("CONDA_PREFIX"),
                  "home": os.environ.get("PYTHONHOME"), "python": shutil.which("python"), "argv": sys.argv[1:]}))
sys.exit(7)
"""


def test_the_command_runs_in_the_environment_and_its_exit_code_is_envchecks(small_env: Path) -> None:
    import json

    env = {**os.environ, "CONDA_PREFIX": "/opt/conda"}  # PYTHONHOME would stop envcheck itself: unit-tested
    result = envcheck("run", "--prefix", str(small_env), "--", "python", "-c", CODE, "--help", "-x", env=env)
    assert result.returncode == 7, result.stderr
    seen = json.loads(result.stdout)
    assert Path(seen["prefix"]) == small_env
    assert seen["venv"] == str(small_env) and seen["conda"] is None and seen["home"] is None
    assert Path(seen["python"]).parent == program_folders(small_env)[0]  # first on PATH
    assert seen["argv"] == ["--help", "-x"]  # options after the command are the command's
    assert result.stderr == ""  # nothing of envcheck's own around a successful command


def test_no_double_dash_needed_and_exit_zero(small_env: Path) -> None:
    result = envcheck("run", "--prefix", str(small_env), "python", "-c", "print('hi')")
    assert (result.returncode, result.stdout) == (0, "hi\n")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--", "no-such-command-here"], "error: no-such-command-here: no such command in"),
        ([], "error: no command given"),
    ],
)
def test_usage_errors_are_one_line_exit_2(small_env: Path, args: list[str], words: str) -> None:
    result = envcheck("run", "--prefix", str(small_env), *args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith(words) and lines[1].startswith("hint: ") and len(lines) == 2
    assert "envcheck run --prefix '" in lines[1]  # the path is quoted: it has a space


def test_no_such_environment_is_exit_2(tmp_path: Path) -> None:
    result = envcheck("run", "--prefix", str(tmp_path / "absent"), "--", "python")
    assert result.returncode == 2 and "no such environment" in result.stderr


def test_a_conda_prefix_is_named_by_conda_prefix(tmp_path: Path) -> None:
    (tmp_path / "conda-meta").mkdir()
    env = command_environment(tmp_path, {"PATH": "/usr/bin", "VIRTUAL_ENV": "/other", "PYTHONHOME": "/x"})
    assert env["CONDA_PREFIX"] == str(tmp_path) and "VIRTUAL_ENV" not in env and "PYTHONHOME" not in env
    assert env["PATH"].split(os.pathsep)[-1] == "/usr/bin"
    assert env["PATH"].split(os.pathsep)[0] == str(program_folders(tmp_path)[0])


def _started(small_env: Path, marker: Path) -> subprocess.Popen[str]:
    code = f"import pathlib, time; pathlib.Path({str(marker)!r}).write_text('up'); time.sleep(60)"
    proc = subprocess.Popen(
        [sys.executable, "-m", "envcheck", "run", "--prefix", str(small_env), "--", "python", "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, standing in for a terminal's foreground group
        preexec_fn=_default_sigint,
    )
    deadline = time.monotonic() + 30
    while not marker.exists():
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.05)
    return proc


@posix_only
def test_ctrl_c_reaches_the_command_and_envcheck_reports_its_exit(small_env: Path, tmp_path: Path) -> None:
    proc = _started(small_env, tmp_path / "up")
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal does: the whole foreground group
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert "Traceback" not in stderr.split("KeyboardInterrupt")[-1]  # the command's own report, not envcheck's
    assert "envcheck" not in stderr


@posix_only
def test_sigterm_to_envcheck_alone_is_forwarded(small_env: Path, tmp_path: Path) -> None:
    proc = _started(small_env, tmp_path / "up")
    proc.send_signal(signal.SIGTERM)  # envcheck only, as `kill PID` or a CI runner's cancel
    proc.communicate(timeout=30)
    assert proc.returncode == 128 + signal.SIGTERM


@posix_only
def test_the_command_owns_the_terminal(small_env: Path) -> None:
    import pty

    controller, terminal = pty.openpty()
    code = "import sys; print('tty', sys.stdin.isatty(), sys.stdout.isatty(), sys.stderr.isatty())"
    proc = subprocess.Popen(
        [sys.executable, "-m", "envcheck", "run", "--prefix", str(small_env), "--", "python", "-c", code],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        preexec_fn=_default_sigint,
    )
    os.close(terminal)
    seen = b""
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # the terminal closed: the process has ended
            break
        if not chunk:
            break
        seen += chunk
    os.close(controller)
    assert proc.wait(timeout=60) == 0
    assert "tty True True True" in seen.decode()
