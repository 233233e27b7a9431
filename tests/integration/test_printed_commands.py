"""The commands envcheck prints work as typed when envcheck and its uv are not on PATH.

The README's first command (`~/.venvs/envcheck/bin/envcheck setup`) leaves `envcheck` off PATH: setup's
`next: envcheck verify` then gave `command not found`. verify's hints said `uv pip install --python ...`,
but the uv envcheck uses lives in envcheck's own environment, off the user's PATH. Here envcheck's script is
run by its path with a PATH that holds neither it nor its uv, and every line it prints is run by bash, as typed.

Real: envcheck's own script, uv, bash, a tiny profile installed from a local wheel without a network.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from support.locks import lock_text
from support.wheels import make_wheel

from envcheck.profiles.files import load_file

pytestmark = pytest.mark.skipif(
    sys.platform == "win32" or shutil.which("bash") is None, reason="runs the printed lines with bash"
)

SCRIPTS = Path(sysconfig.get_path("scripts"))
ENVCHECK = SCRIPTS / "envcheck"
TINY = """
schema = 1
name = "tiny"
python = ">=3.8"
disk_gb = 0.001
kernel = false

[[package]]
name = "tiny-demo"
requirement = "tiny-demo>=1.0"
import = "tiny_demo"
"""


def bare_path(*extra: Path) -> str:
    """PATH without envcheck's folder (nor any other envcheck or uv)."""
    keep = [f for f in os.environ["PATH"].split(os.pathsep) if f and not (Path(f) / "envcheck").exists()]
    keep = [f for f in keep if not (Path(f) / "uv").exists()]
    return os.pathsep.join([*map(str, extra), *keep])


@pytest.fixture
def tiny(tmp_path: Path) -> dict[str, Path]:
    profile = tmp_path / "tiny.toml"
    profile.write_text(TINY)
    wheel = make_wheel(tmp_path / "wheelhouse")
    lock = tmp_path / "pylock.tiny.toml"
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    lock.write_text(lock_text([("tiny-demo", "1.0", [(wheel.name, digest)])], "tiny", load_file(profile).digest))
    return {"profile": profile, "lock": lock, "wheelhouse": wheel.parent, "home": tmp_path / "home"}


def shell(line: str, env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", line], input=stdin, capture_output=True, text=True, env=env, timeout=300)


def said(output: str, label: str) -> str:
    return next(line for line in output.splitlines() if line.startswith(label)).removeprefix(label).strip()


def test_setup_off_path_prints_lines_that_run_as_typed_and_how_to_put_envcheck_on_path(
    tiny: dict[str, Path], tmp_path: Path
) -> None:
    assert ENVCHECK.is_file(), "envcheck's script is installed with it"
    env = {**os.environ, "PATH": bare_path(), "HOME": str(tiny["home"]), "ENVCHECK_HOME": str(tmp_path / "ec")}
    prefix = tmp_path / "env"
    setup = [str(ENVCHECK), "setup", "--file", str(tiny["profile"]), "--lock", str(tiny["lock"])]
    setup += ["--prefix", str(prefix), "--offline", "--find-links", str(tiny["wheelhouse"])]
    done = subprocess.run(setup, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert shell("envcheck --version", env).returncode == 127  # off PATH indeed

    verify = said(done.stdout, "next:")
    assert verify.startswith(f"{ENVCHECK} verify ")
    typed = shell(verify, env)
    assert typed.returncode in (0, 1) and "envcheck verify" in typed.stdout, typed.stderr  # it ran: no 127

    use = said(done.stdout, "use:")
    assert use.startswith(f"{ENVCHECK} run ") and use.endswith("-- python")
    typed = shell(use, env, stdin="import tiny_demo; print('tiny', tiny_demo.VERSION)\n")
    assert typed.returncode == 0 and "tiny 1.0" in typed.stdout, typed.stderr

    note = said(done.stdout, "note:")
    assert note.startswith("envcheck is not on your PATH; to type just envcheck: mkdir -p ~/.local/bin && ln -sf")
    assert 'add ~/.local/bin to PATH (export PATH="$HOME/.local/bin:$PATH" in ~/.bashrc)' in note
    link = note.split(": ", 1)[1].split(" and add ")[0]
    assert shell(link, env).returncode == 0
    on_path = {**env, "PATH": bare_path(tiny["home"] / ".local" / "bin")}
    assert shell("envcheck --version", on_path).returncode == 0

    # now on PATH: the same setup prints `envcheck` itself, and no note
    again = subprocess.run(
        ["bash", "-c", " ".join(map(repr, ["envcheck", *setup[1:]]))],
        capture_output=True,
        text=True,
        env=on_path,
        timeout=300,
    )
    assert again.returncode == 0, again.stderr
    assert said(again.stdout, "next:").startswith("envcheck verify ") and "note:" not in again.stdout
    assert shell(said(again.stdout, "next:"), on_path).returncode in (0, 1)


def test_another_envcheck_on_path_is_named_as_such(tiny: dict[str, Path], tmp_path: Path) -> None:
    other = tmp_path / "other-bin"
    other.mkdir()
    (other / "envcheck").write_text("#!/bin/sh\necho 'an older envcheck'\nexit 3\n")
    (other / "envcheck").chmod(0o755)
    env = {**os.environ, "PATH": bare_path(other), "HOME": str(tiny["home"]), "ENVCHECK_HOME": str(tmp_path / "ec")}
    setup = [str(ENVCHECK), "setup", "--file", str(tiny["profile"]), "--lock", str(tiny["lock"])]
    setup += ["--prefix", str(tmp_path / "env"), "--offline", "--find-links", str(tiny["wheelhouse"])]
    done = subprocess.run(setup, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert said(done.stdout, "note:") == (
        f"the envcheck on your PATH ({other / 'envcheck'}) is another one; the commands above name this one by its path"
    )
    assert shell(said(done.stdout, "next:"), env).returncode in (0, 1)


def test_verify_hints_name_the_uv_envcheck_uses_and_run_as_typed(tiny: dict[str, Path], tmp_path: Path) -> None:
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True, timeout=120)
    python = bare / "bin" / "python"
    env = {**os.environ, "PATH": bare_path(), "ENVCHECK_HOME": str(tmp_path / "ec")}
    verify = [str(ENVCHECK), "verify", "--file", str(tiny["profile"]), "--python", str(python)]
    first = subprocess.run(verify, capture_output=True, text=True, env=env, timeout=300)
    assert first.returncode == 1
    lines = first.stdout.splitlines()
    failed = next(i for i, line in enumerate(lines) if "package.tiny-demo.import" in line)
    hint = lines[failed + 1].strip().removeprefix("hint:").strip()
    assert not hint.startswith("uv ") and " pip install --python " in hint, hint  # uv by its path: off PATH here
    assert shell("uv --version", env).returncode == 127
    # the user's own way to the wheel (no network here): the installer's variables, as a user would set them
    typed = shell(hint, {**env, "UV_OFFLINE": "1", "UV_FIND_LINKS": str(tiny["wheelhouse"])})
    assert typed.returncode == 0, typed.stderr
    second = subprocess.run(verify, capture_output=True, text=True, env=env, timeout=300)
    assert "✓ package.tiny-demo.import" in second.stdout
