"""End to end: setup from real `pip-compile --generate-hashes` output, and `envcheck run` in the shared environment.

The hashed file (tests/fixtures/files/requirements-hashed.txt) pins two small packages, so each setup here takes
seconds; the packages come from the package registry (or uv's cache).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from envcheck.locations import LOG_NAME, python_in

pytestmark = pytest.mark.e2e

HASHED = Path(__file__).parents[1] / "fixtures" / "files" / "requirements-hashed.txt"
PHASES = ["pre-flight", "create interpreter", "install packages", "import check"]


def envcheck(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "envcheck", *args], capture_output=True, text=True, timeout=timeout)


def test_setup_from_a_hashed_requirements_file_hands_the_file_to_the_installer(tmp_path: Path) -> None:
    file = tmp_path / "requirements.txt"
    shutil.copy(HASHED, file)
    prefix = tmp_path / "env"
    done = envcheck("setup", "--file", str(file), "--prefix", str(prefix))
    assert done.returncode == 0, done.stderr
    log = (prefix / LOG_NAME).read_text(encoding="utf-8")
    install = next(line for line in log.splitlines() if line.startswith("$ ") and " install " in line)
    assert install.endswith(f" -r {file}")  # the installer read the file, hashes and all
    code = "import importlib.metadata as m; print(m.version('attrs'), m.version('six'))"
    versions = subprocess.run([str(python_in(prefix)), "-c", code], capture_output=True, text=True, timeout=60)
    assert versions.stdout.split() == ["23.2.0", "1.16.0"]
    # on a pipe: the phase lines and nothing else (no spinner, no escape codes)
    assert "\x1b" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 2 * len(PHASES)
    assert lines[0::2] == [f"→ {phase} …" for phase in PHASES]
    for line, phase in zip(lines[1::2], PHASES, strict=True):
        assert re.fullmatch(rf"✓ {phase}( .*)? \(\d+\.\ds\)", line)
    assert f"use:  envcheck run --prefix {prefix} -- python" in done.stdout


def test_a_wrong_hash_stops_the_install_and_leaves_nothing(tmp_path: Path) -> None:
    file = tmp_path / "requirements.txt"
    file.write_text(HASHED.read_text(encoding="utf-8").replace("935dc3b5", "035dc3b5").replace("99b87a48", "09b87a48"))
    prefix = tmp_path / "env"
    done = envcheck("setup", "--file", str(file), "--prefix", str(prefix))
    assert done.returncode == 1
    assert "error: install packages failed" in done.stderr and "attrs" in done.stderr
    log = Path(done.stderr.split("the full log is at ")[1].strip())
    assert "Hash mismatch" in log.read_text(encoding="utf-8")  # the installer checked the file's hashes
    assert not prefix.exists()


def test_setup_json_from_a_hashed_file_prints_one_document_and_no_progress(tmp_path: Path) -> None:
    done = envcheck("setup", "--file", str(HASHED), "--prefix", str(tmp_path / "env"), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["versions"] == {"attrs": "23.2.0", "six": "1.16.0"}
    assert done.stderr == ""


def test_run_uses_the_environment_and_passes_the_exit_code(dl_env: Path) -> None:
    code = "import sys, tensorflow; print(sys.prefix); sys.exit(3)"
    done = envcheck("run", "--prefix", str(dl_env), "--", "python", "-c", code)
    assert done.returncode == 3, done.stderr
    assert Path(done.stdout.strip()) == dl_env
    jupyter = envcheck("run", "--prefix", str(dl_env), "--", "jupyter", "--paths", "--json")
    assert jupyter.returncode == 0, jupyter.stderr
    # the environment's own jupyter, found first on PATH, lists the environment's share/jupyter
    assert any(path.startswith(str(dl_env)) for path in json.loads(jupyter.stdout)["data"])


@pytest.mark.skipif(os.name != "posix", reason="needs a pseudo-terminal")
def test_on_a_terminal_setup_shows_the_spinner_and_erases_it(tmp_path: Path) -> None:
    import pty

    controller, terminal = pty.openpty()
    env = {**os.environ, "COLUMNS": "120", "TERM": "xterm"}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "envcheck", "setup", "--file", str(HASHED), "--prefix", str(tmp_path / "env")],
        stdin=subprocess.DEVNULL,
        stdout=terminal,
        stderr=terminal,
        env=env,
    )
    os.close(terminal)
    seen = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the terminal closed: the process has ended
            break
        if not chunk:
            break
        seen += chunk
    os.close(controller)
    assert proc.wait(timeout=600) == 0, seen.decode(errors="replace")
    shown = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", seen.decode(errors="replace"))
    assert "0:00:0" in shown  # the spinner's elapsed time, drawn as each phase starts
    assert "✓ install packages" in shown and "use:  envcheck run" in shown
