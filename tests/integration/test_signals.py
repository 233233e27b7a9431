"""Real `envcheck verify` and `smoke-train` processes stopped by SIGINT, SIGTERM or kill -9 while a probe runs.

Real: the envcheck process, the target interpreter, its probe, the signals. The target is a small venv whose
``sitecustomize`` never returns, so that every probe is reliably running (and would run for ever) when the
signal arrives. Children are started with SIGINT at its default, whatever the test runner inherited; one
case starts envcheck with SIGINT ignored, as a background job of a script would.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import venv
from collections.abc import Callable
from pathlib import Path

import pytest
from support.processes import default_sigint, ignored_sigint, processes_mentioning, wait_for

pytestmark = pytest.mark.skipif(os.name != "posix", reason="sends POSIX signals")

HANG = "import time\ntime.sleep(10**6)\n"


@pytest.fixture(scope="module")
def hanging_env(tmp_path_factory: pytest.TempPathFactory) -> Path:
    prefix = tmp_path_factory.mktemp("hang") / "env"
    venv.EnvBuilder(with_pip=False, symlinks=True).create(prefix)
    purelib = subprocess.run(
        [str(prefix / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    (Path(purelib) / "sitecustomize.py").write_text(HANG, encoding="utf-8")
    return prefix


def start(command: list[str], prefix: Path, preexec: Callable[[], None] = default_sigint) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "envcheck", *command, "--prefix", str(prefix), "--timeout", "120"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=preexec)
    # the probe is running (and hanging) once the target's python shows up below envcheck
    assert wait_for(lambda: len(processes_mentioning(str(prefix))) >= 2, 30), "the probe never started"
    time.sleep(0.3)
    return proc


CASES = [
    pytest.param(["verify"], signal.SIGINT, default_sigint, id="verify-sigint"),
    pytest.param(["verify"], signal.SIGTERM, default_sigint, id="verify-sigterm"),
    pytest.param(["verify"], signal.SIGINT, ignored_sigint, id="verify-sigint-background-job"),
    pytest.param(["smoke-train", "--level", "scratch"], signal.SIGINT, default_sigint, id="smoke-train-sigint"),
    pytest.param(["smoke-train", "--level", "scratch"], signal.SIGTERM, default_sigint, id="smoke-train-sigterm"),
]


@pytest.mark.parametrize(("command", "signum", "preexec"), CASES)
def test_a_signal_stops_the_command_and_its_probes_at_once(
    hanging_env: Path, command: list[str], signum: int, preexec: Callable[[], None]
) -> None:
    proc = start(command, hanging_env, preexec)
    try:
        sent = time.monotonic()
        proc.send_signal(signum)
        _, stderr = proc.communicate(timeout=10)
        elapsed = time.monotonic() - sent
    finally:
        proc.kill()
    assert proc.returncode == 130, stderr
    # a bound, not the speed target (bench/interrupt_bench.py measures 2 s): a command that waits for its probe
    # would take the probe's whole time limit, 120 s here
    assert elapsed < 10, f"took {elapsed:.1f} s"
    assert "error: interrupted" in stderr and "Traceback" not in stderr
    assert wait_for(lambda: not processes_mentioning(str(hanging_env)), 2), processes_mentioning(str(hanging_env))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux only")
def test_kill_9_of_envcheck_takes_its_probe_with_it(hanging_env: Path) -> None:
    proc = start(["verify"], hanging_env)
    proc.kill()
    proc.wait(timeout=10)
    assert wait_for(lambda: not processes_mentioning(str(hanging_env)), 5), processes_mentioning(str(hanging_env))
