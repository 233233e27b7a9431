"""End to end: lock the default profile, fill a wheelhouse with `envcheck download`, build from it with the
network cut off, verify; then drift (another version, an extra package), its repair command, and a damaged
wheel refused.

The lock and the wheelhouse (about 0.7 GB, the session fixture `wheelhouse` of tests/e2e/conftest.py) are made
once per test run; the environment built from them is this module's own (the drift test changes it), never the
shared `dl_env`.
"""

from __future__ import annotations

import json
import shlex
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.wheels import make_wheel

from envcheck.lock.pylock import read_lock
from envcheck.profiles.files import load_profile

pytestmark = pytest.mark.e2e
TIMEOUT = 1800


def envcheck(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "envcheck", *args], capture_output=True, text=True, timeout=TIMEOUT, env=env
    )


@pytest.fixture(scope="module")
def cut_off() -> Iterator[tuple[str, socket.socket]]:
    """An address that answers nothing; whatever tries to reach it leaves a connection in the backlog."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    yield f"http://127.0.0.1:{listener.getsockname()[1]}", listener
    listener.close()


def reached(listener: socket.socket) -> bool:
    listener.setblocking(False)
    try:
        connection, _ = listener.accept()
    except BlockingIOError:
        return False
    connection.close()
    return True


@pytest.fixture(scope="module")
def offline_env(
    wheelhouse: tuple[Path, Path],
    wheelhouse_env: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
    cut_off: tuple[str, socket.socket],
) -> Path:
    """An environment built from the wheelhouse with every index and proxy pointing at the dead address."""
    lock, wheels = wheelhouse
    url, listener = cut_off
    prefix = tmp_path_factory.mktemp("offline") / "lab"
    env = dict(wheelhouse_env, HTTP_PROXY=url, HTTPS_PROXY=url, ALL_PROXY=url, http_proxy=url, https_proxy=url)
    env.update(UV_INDEX_URL=f"{url}/simple", PIP_INDEX_URL=f"{url}/simple")
    args = ["setup", "--lock", str(lock), "--offline", "--find-links", str(wheels), "--prefix", str(prefix)]
    args += ["--index-url", f"{url}/simple", "--extra-index-url", f"{url}/extra", "--json"]
    built = envcheck(*args, env=env)
    assert built.returncode == 0, built.stderr
    assert json.loads(built.stdout)["lock"]["digest"] == read_lock(lock).digest
    assert not reached(listener), "setup --offline tried to reach the network"
    return prefix


def verify(prefix: Path, *extra: str) -> tuple[int, dict]:
    done = envcheck("verify", "--prefix", str(prefix), "--json", "--no-redact", *extra)
    return done.returncode, json.loads(done.stdout)


def lock_check(document: dict) -> dict:
    return next(c for c in document["checks"] if c["id"] == "packages.lock")


def test_lock_names_the_profile_and_still_fits_it(wheelhouse: tuple[Path, Path]) -> None:
    lock_path, wheels = wheelhouse
    lock = read_lock(lock_path)
    profile = load_profile()
    assert (lock.profile, lock.profile_digest) == (profile.name, profile.digest)
    assert set(lock.platforms) == {"linux-x86_64", "linux-aarch64", "macos-arm64", "windows-x86_64"}
    assert set(lock.pythons) == {"3.10", "3.11", "3.12", "3.13"}
    assert envcheck("lock", "--check", "--output", str(lock_path)).returncode == 0
    here = {f.filename for f in lock.select_here()}
    assert here == {p.name for p in wheels.iterdir()}  # the wheelhouse holds exactly this machine's files


def test_verify_passes_on_the_environment_built_offline(offline_env: Path, wheelhouse: tuple[Path, Path]) -> None:
    code, document = verify(offline_env)
    problems = {c["id"]: c["detail"] for c in document["checks"] if c["status"] in ("warn", "fail")}
    assert code == 0 and problems == {}, problems
    assert lock_check(document)["status"] == "pass"
    assert document["lock"] == {"path": str(wheelhouse[0]), "digest": read_lock(wheelhouse[0]).digest}


def test_drift_is_reported_with_a_command_that_repairs_it(offline_env: Path, tmp_path: Path) -> None:
    python = str(offline_env / "bin" / "python")
    # another version of one locked package, and one package the lock does not hold
    changed = subprocess.run(
        [python, "-m", "pip", "install", "--no-deps", "--disable-pip-version-check", "idna==3.10"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert changed.returncode == 0, changed.stderr
    extra = make_wheel(tmp_path / "extra")
    subprocess.run([python, "-m", "pip", "install", "--no-deps", "--no-index", str(extra)], check=True, timeout=600)

    code, document = verify(offline_env)
    found = lock_check(document)
    assert code == 0 and found["status"] == "warn"
    kinds = {(d["kind"], d["name"], d["installed"]) for d in found["data"]["drift"]}
    assert kinds == {("other-version", "idna", "3.10"), ("extra", "tiny-demo", "1.0")}
    assert "idna is 3.10, the lock says" in found["detail"]

    for line in found["data"]["commands"]:  # what the hint says to type
        repaired = subprocess.run(shlex.split(line), capture_output=True, text=True, timeout=600)
        assert repaired.returncode == 0, (line, repaired.stderr)
    code, document = verify(offline_env)
    assert code == 0 and lock_check(document)["status"] == "pass", lock_check(document)


def test_a_damaged_wheel_in_the_wheelhouse_is_refused_and_nothing_is_left(
    wheelhouse: tuple[Path, Path], wheelhouse_env: dict[str, str], tmp_path: Path
) -> None:
    lock, wheels = wheelhouse
    copy = tmp_path / "wheelhouse"
    copy.mkdir()
    for wheel in wheels.iterdir():  # links: the big wheels are not copied
        (copy / wheel.name).symlink_to(wheel)
    victim = next(p for p in copy.iterdir() if p.name.startswith("numpy-"))
    victim.unlink()
    data = bytearray((wheels / victim.name).read_bytes())
    data[len(data) // 2] ^= 0xFF
    victim.write_bytes(bytes(data))
    prefix = tmp_path / "lab"
    args = ["--offline", "--find-links", str(copy), "--prefix", str(prefix), "--no-kernel"]
    done = envcheck("setup", "--lock", str(lock), *args, env=wheelhouse_env)
    assert done.returncode == 1, done.stderr
    error = next(line for line in done.stderr.splitlines() if line.startswith("error:"))
    locked = next(f.sha256 for f in read_lock(lock).select_here() if f.filename == victim.name)
    assert victim.name in error and locked in error
    assert not prefix.exists()
