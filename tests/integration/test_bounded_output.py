"""A program that writes without end costs envcheck the head and the tail of its output, never all of memory or disk.

Real: processes that write endlessly (with and without line ends) until their time limit, captured apart and
streamed into a log; `envcheck verify` of an "interpreter" that writes endlessly to stdout, and of one that leaves
an answer larger than any real one.
"""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from envcheck import runner
from envcheck.bounded import CAPTURE_HEAD, CAPTURE_TAIL, LINE_LIMIT

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the endless writers are POSIX scripts")

ENDLESS = "import sys\nwhile True:\n    sys.stdout.write({!r} * 4096)\n"
KEPT = CAPTURE_HEAD + CAPTURE_TAIL + 1000  # and the line that says what was left out


def test_captured_output_of_an_endless_writer_keeps_its_head_and_tail() -> None:
    done = runner.run([sys.executable, "-c", ENDLESS.format("endless\n")], timeout=4)
    assert done.timed_out
    assert len(done.stdout) <= KEPT and done.left_out > 0
    assert done.stdout.startswith("endless\n") and done.stdout.endswith("endless\n")
    assert f"bytes of output left out here; the first {CAPTURE_HEAD >> 20} MiB and the last" in done.stdout


def test_a_streamed_endless_line_arrives_in_pieces_and_the_log_stays_bounded(tmp_path: Path) -> None:
    lines: list[int] = []
    log = io.StringIO()
    argv = [sys.executable, "-c", ENDLESS.format("x")]
    done = runner.run(argv, timeout=4, on_line=lambda s: lines.append(len(s)), log=log)
    assert done.timed_out and lines and max(lines) <= LINE_LIMIT  # never one line without end in memory
    assert len(log.getvalue()) <= KEPT and "bytes of output left out here" in log.getvalue()
    assert len(done.stdout) <= KEPT


def test_verify_of_an_interpreter_that_writes_endlessly_ends_with_its_verdict(tmp_path: Path) -> None:
    python = tmp_path / "python"
    python.write_text("#!/bin/sh\nexec yes 'an interpreter that never stops talking'\n")
    python.chmod(0o755)
    verify = [sys.executable, "-m", "envcheck", "verify", "--python", str(python), "--timeout", "5"]
    # a process of its own around envcheck, to read envcheck's peak memory alone
    measure = (
        "import resource, subprocess, sys; done = subprocess.run(sys.argv[1:], capture_output=True, text=True);"
        "sys.stderr.write(done.stderr); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss);"
        "sys.exit(done.returncode)"
    )
    done = subprocess.run([sys.executable, "-c", measure, *verify], capture_output=True, text=True, timeout=120)
    assert done.returncode == 3, done.stderr  # it used to die with MemoryError after filling the disk
    assert "cannot run envcheck's probe (it did not finish within its time limit)" in done.stderr
    peak_mib = int(done.stdout) / 1024  # Linux reports KiB
    assert peak_mib < 512, f"envcheck grew to {peak_mib:.0f} MiB"


def test_verify_refuses_an_answer_larger_than_any_real_one(tmp_path: Path) -> None:
    python = tmp_path / "python"
    python.write_text(
        f"#!{sys.executable}\nimport os, sys\n"
        "with open(os.path.join(sys.argv[-1], 'output.json'), 'wb') as f:\n"
        "    f.truncate(65 * 1024 * 1024)\n"
    )
    python.chmod(0o755)
    done = subprocess.run(
        [sys.executable, "-m", "envcheck", "verify", "--python", str(python)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 3
    assert "the probe's answer is larger than 64 MiB (a real one is under 100 KB)" in done.stderr
