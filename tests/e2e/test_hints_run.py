"""The commands envcheck prints, run for real: after each one the finding it was printed for passes.

Each case breaks a small scratch environment (never ``dl_env``) the way a user's breaks, takes the command
envcheck prints (a hint, or setup's next step) from its --json document, runs it exactly as printed (through
the user's shell rules: ``shlex.split``), and runs envcheck again. Packages come from the package index
(pip's configured indexes, uv's PyPI), so these are marked e2e.

Printed commands that cannot run here, and why (their text is pinned in tests/unit/test_hints.py instead):
- GPU hints (the CUDA wheels' folders, a newer driver): this machine has no GPU.
- The arm64 python under Rosetta 2: this machine is not a Mac.
- numpy/protobuf rebuilds of the module that raised: breaking an ABI needs two builds of a compiled package.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

SMALL = """schema = 1
name = "{name}"
kernel = {kernel}

[[package]]
requirement = "{requirement}"
import = "{module}"
"""


def profile(tmp_path: Path, name: str, requirement: str, module: str, *, kernel: bool = False) -> Path:
    path = tmp_path / f"{name}.toml"
    text = SMALL.format(name=name, kernel=str(kernel).lower(), requirement=requirement, module=module)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def home(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "ENVCHECK_HOME": str(tmp_path / "envcheck home"),  # a space, as in macOS's Application Support
        "JUPYTER_DATA_DIR": str(tmp_path / "jupyter"),
    }


def envcheck(env: dict[str, str], *args: str) -> tuple[int, dict[str, Any]]:
    # --no-redact: --json replaces the user's name in paths by default, which would break the commands in it
    extra = ["--no-redact"] if args[0] == "verify" else []
    done = subprocess.run(
        [sys.executable, "-m", "envcheck", *args, "--json", *extra],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.stdout, done.stderr
    return done.returncode, json.loads(done.stdout)


def run_printed(command: str, env: dict[str, str], *extra: str) -> subprocess.CompletedProcess[str]:
    """The printed command as a shell would split it (plus ``extra``); ``envcheck`` is this checkout's."""
    words = shlex.split(command.split("  (")[0]) + list(extra)  # after two spaces and "(": an explanation
    if words[0] == "envcheck":
        words = [sys.executable, "-m", "envcheck", *words[1:]]
    done = subprocess.run(words, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
    return done


def finding(document: dict[str, Any], check_id: str) -> dict[str, Any]:
    return next(c for c in document["checks"] if c["id"] == check_id)


def test_a_missing_package_is_installed_by_the_printed_pip_command(tmp_path: Path, home: dict[str, str]) -> None:
    venv = tmp_path / "scratch env"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    small = profile(tmp_path, "small", "iniconfig>=1.0", "iniconfig")
    code, before = envcheck(home, "verify", "--prefix", str(venv), "--file", str(small))
    missing = finding(before, "package.iniconfig.import")
    assert code == 1 and missing["status"] == "fail"
    run_printed(missing["hint"], home)
    code, after = envcheck(home, "verify", "--prefix", str(venv), "--file", str(small))
    assert finding(after, "package.iniconfig.import")["status"] == "pass" and code == 0


def test_setups_next_step_works_for_a_file_profile_and_a_path_with_a_space(
    tmp_path: Path, home: dict[str, str]
) -> None:
    small = profile(tmp_path, "lab", "iniconfig>=1.0", "iniconfig")
    code, built = envcheck(home, "setup", "--file", str(small), "--prefix", str(tmp_path / "with space" / "env"))
    assert code == 0, built
    done = run_printed(built["next_command"], home, "--json", "--no-redact")
    document = json.loads(done.stdout)
    assert document["status"] == "pass" and document["environment"]["prefix"] == str(tmp_path / "with space" / "env")


def test_a_missing_kernel_is_registered_by_the_printed_command(tmp_path: Path, home: dict[str, str]) -> None:
    from envcheck.locations import find_uv

    venv = tmp_path / "kernel env"
    uv = str(find_uv())
    subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    subprocess.run([uv, "pip", "install", "--quiet", "--python", str(python), "ipykernel"], check=True, timeout=600)
    small = profile(tmp_path, "kernelcase", "ipykernel>=6", "ipykernel", kernel=True)
    _, before = envcheck(home, "verify", "--prefix", str(venv), "--file", str(small))
    kernel = finding(before, "jupyter.kernelspec")
    assert kernel["status"] in ("warn", "fail") and "not registered" in kernel["detail"]
    run_printed(kernel["hint"], home)
    _, after = envcheck(home, "verify", "--prefix", str(venv), "--file", str(small))
    assert finding(after, "jupyter.kernelspec")["status"] == "pass"


def _system_python() -> Path:
    """A python under PEP 668 (Debian's, Ubuntu's), or a skip with the reason."""
    for candidate in (Path("/usr/bin/python3"),):
        if not candidate.exists():
            continue
        stdlib = subprocess.run(
            [str(candidate), "-c", "import sysconfig; print(sysconfig.get_path('stdlib'))"],
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout.strip()
        if stdlib and (Path(stdlib) / "EXTERNALLY-MANAGED").is_file():
            return candidate
    pytest.skip(f"no externally managed (PEP 668) system python here (this one: {sysconfig.get_path('stdlib')})")


def test_a_pep_668_system_python_gets_a_setup_that_works_instead_of_pip(tmp_path: Path, home: dict[str, str]) -> None:
    system = _system_python()
    small = profile(tmp_path, "lab", "iniconfig>=1.0", "iniconfig")
    probe = subprocess.run([str(system), "-c", "import iniconfig"], capture_output=True, timeout=60)
    if probe.returncode == 0:
        pytest.skip(f"{system} already has iniconfig")
    code, before = envcheck(home, "verify", "--python", str(system), "--file", str(small))
    missing = finding(before, "package.iniconfig.import")
    assert code == 1 and missing["hint"].startswith("envcheck setup --file ")
    assert "pip install" not in missing["hint"].split("  (")[0]
    done = run_printed(missing["hint"], home, "--json")
    next_step = json.loads(done.stdout)["next_command"]
    document = json.loads(run_printed(next_step, home, "--json", "--no-redact").stdout)
    assert finding(document, "package.iniconfig.import")["status"] == "pass"
