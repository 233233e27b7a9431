"""After an interruption, every command envcheck prints works as typed and no two send the user round in a circle.

A real `envcheck setup` is killed with SIGKILL (`kill -9`: nothing is cleaned up) while it registers the kernel:
of a new environment made with `--kernel-name`, and of `--recreate` over a complete one. Then, from each way a
user comes back (the same setup again, a plain setup, verify with and without the profile's file), every
command a hint prints is run by bash exactly as printed, and every command the next hint prints after it, each
branch from the same starting state, until one succeeds; a command printed twice on one path is a circle. The
same for verify of folders that hold no environment, and verify while a setup is working.

Real: envcheck's processes, uv, venvs, bash, SIGKILL. The profile (a demo package and ipykernel) installs from
a lock of a local wheel folder, offline; its ipykernel is a stand-in whose `install --user` writes the kernelspec as the real
one does (tests/support/wheels.py), so that registering a kernel needs no package index. The kernels it
registers do not start, so verify's Jupyter checks are not what these tests judge: the commands verify prints
for the environment's completeness (`env.complete`) are.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from support.locks import lock_text
from support.processes import wait_for
from support.wheels import fake_ipykernel_wheel, make_wheel

from envcheck.completion import read_marker, read_note
from envcheck.profiles.files import load_file

pytestmark = pytest.mark.skipif(
    sys.platform == "win32" or shutil.which("bash") is None, reason="kill -9 and bash, as a POSIX user has them"
)

LAB = """
schema = 1
name = "lab"
python = ">=3.8"
disk_gb = 0.001
kernel = true

[[package]]
name = "envcheck-lab-demo"
requirement = "envcheck-lab-demo>=1.0"
import = "envcheck_lab_demo"

[[package]]
name = "ipykernel"
requirement = "ipykernel>=6"
import = "ipykernel"
"""
MAX_STEPS = 4  # commands followed from one start: a finished path is shorter, a circle is found before


@dataclass
class World:
    """The folders a user's commands change (environments, kernels, envcheck's home) and how to run them."""

    root: Path
    profile: Path
    lock: Path
    wheels: Path
    env: dict[str, str]

    @property
    def kernels(self) -> Path:
        return self.root / "jupyter" / "kernels"

    def setup_args(self, prefix: Path, *extra: str) -> list[str]:
        return [
            "setup",
            "--file",
            str(self.profile),
            "--lock",
            str(self.lock),
            "--prefix",
            str(prefix),
            *extra,
            "--offline",
        ]

    def envcheck(self, *args: str, hang: bool = False) -> subprocess.CompletedProcess[str]:
        env = {**self.env, "FAKE_IPYKERNEL_HANG": "120"} if hang else self.env
        links = ["--find-links", str(self.wheels)] if args[0] == "setup" else []
        argv = [str(ENVCHECK), *args, *links]
        return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)

    def bash(self, line: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["bash", "-c", line], capture_output=True, text=True, env=self.env, timeout=300)

    def kernel_python(self, name: str) -> str:
        return json.loads((self.kernels / name / "kernel.json").read_text())["argv"][0]


ENVCHECK = Path(sysconfig.get_path("scripts")) / "envcheck"


@pytest.fixture
def world(tmp_path: Path) -> World:
    root = tmp_path / "world"
    wheels = root / "wheels"
    built = [make_wheel(wheels, "envcheck_lab_demo"), fake_ipykernel_wheel(wheels)]
    profile = root / "lab.toml"
    profile.write_text(LAB)
    # a lock: setup then installs exactly its files, offline, into a venv it need not seed with pip
    lock = root / "pylock.lab.toml"
    entries = [(w.name.split("-")[0].replace("_", "-"), w.name.split("-")[1], [(w.name, sha256(w))]) for w in built]
    lock.write_text(lock_text(entries, "lab", load_file(profile).digest))
    env = {
        **os.environ,
        "ENVCHECK_HOME": str(root / "envcheck home"),
        "JUPYTER_DATA_DIR": str(root / "jupyter"),
        "PIP_CONFIG_FILE": os.devnull,
    }
    env.pop("FAKE_IPYKERNEL_HANG", None)
    return World(root, profile, lock, wheels, env)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def killed_while_registering_the_kernel(world: World, *args: str) -> None:
    """Start `envcheck ARGS`, wait until it registers the kernel, and kill it with SIGKILL."""
    env = {**world.env, "FAKE_IPYKERNEL_HANG": "120"}
    argv = [str(ENVCHECK), *args, "--find-links", str(world.wheels)]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        seen = []
        assert proc.stderr is not None
        for line in proc.stderr:
            seen.append(line)
            if "register kernel" in line:
                break
        assert any("register kernel" in line for line in seen), "".join(seen)
        time.sleep(0.5)  # the stand-in ipykernel is waiting now
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL


# ---------------------------------------------------------------------------------------------- following hints


def printed_commands(done: subprocess.CompletedProcess[str]) -> list[str]:
    """The commands a failed envcheck printed to type next: from the `hint:` line, or from the hint of
    env.complete in verify's JSON report (verify's other findings are about this stand-in kernel)."""
    hint = ""
    if done.stdout.startswith("{"):
        document = json.loads(done.stdout)
        if "error" in document:
            hint = document["error"].get("hint") or ""
        else:
            hint = next(c for c in document["checks"] if c["id"] == "env.complete").get("hint") or ""
    else:
        hint = next((line[len("hint: ") :] for line in done.stderr.splitlines() if line.startswith("hint: ")), "")
    # "what to do with: COMMAND; or what else: COMMAND": each command after the last ": " of its part
    return [part.rsplit(": ", 1)[1].split("  (")[0] for part in hint.split("; ") if ": " in part]


def succeeded(done: subprocess.CompletedProcess[str]) -> bool:
    if not done.stdout.startswith("{"):
        return done.returncode == 0
    document = json.loads(done.stdout)
    if "checks" not in document:
        return done.returncode == 0
    return next(c for c in document["checks"] if c["id"] == "env.complete")["status"] == "pass"


def follow(
    world: World, line: str, done_right: Callable[[], None], path: tuple[str, ...] = ()
) -> list[tuple[str, ...]]:
    """Run ``line`` as typed; when it fails, every command it prints, each from the same state; return every
    path that ended in success (where ``done_right`` then holds). A command that comes back on its own path, a
    failure that prints no command, and a path longer than MAX_STEPS fail the test."""
    assert line not in path, "a circle:\n" + "\n".join([*path, line])
    assert len(path) < MAX_STEPS, "no end in sight:\n" + "\n".join([*path, line])
    done = world.bash(line)
    here = (*path, line)
    if succeeded(done):
        done_right()
        return [here]
    commands = printed_commands(done)
    assert commands, f"{line}\nfailed ({done.returncode}) and printed nothing to type:\n{done.stdout}{done.stderr}"
    ends = []
    for command in commands:
        with snapshot(world):
            ends += follow(world, command, done_right, here)
    return ends


@contextlib.contextmanager
def snapshot(world: World) -> Iterator[None]:
    """Whatever happens inside, the world is as it was afterwards (copied aside and back, links kept)."""
    copy = world.root.with_name(world.root.name + ".snapshot-" + str(time.monotonic_ns()))
    shutil.copytree(world.root, copy, symlinks=True)
    try:
        yield
    finally:
        shutil.rmtree(world.root)
        os.replace(copy, world.root)


def typed(*words: str | Path) -> str:
    """A command line as the user types it (``envcheck`` is on PATH, as the printed lines then name it)."""
    return shlex.join(str(w) for w in words)


# ---------------------------------------------------------------------------------------------- kill -9


def test_after_kill_9_of_a_setup_with_a_kernel_name_every_printed_command_keeps_it(world: World) -> None:
    """The issue's circle: setup and verify printed `--recreate` without `--kernel-name`; typed, it reached for
    the profile's kernel, which another environment holds, and was refused; that hint dropped `--recreate`."""
    first = world.root / "envs" / "first"
    assert world.envcheck(*world.setup_args(first)).returncode == 0
    assert world.kernel_python("envcheck-lab").startswith(str(first))
    prefix = world.root / "envs" / "second"
    killed_while_registering_the_kernel(world, *world.setup_args(prefix, "--kernel-name", "lab-k"))
    note = read_note(prefix)
    assert read_marker(prefix) is None and note is not None and note.kernel == "lab-k"
    assert note.options[:2] == ["--kernel-name", "lab-k"] and note.profile_args == ["--file", str(world.profile)]
    assert note.options[2:] == ["--lock", str(world.lock), "--find-links", str(world.wheels), "--offline"]

    def done_right() -> None:
        marker = read_marker(prefix)
        assert marker is not None and marker.profile == "lab" and marker.kernel == "lab-k"
        assert world.kernel_python("lab-k").startswith(str(prefix))
        assert world.kernel_python("envcheck-lab").startswith(str(first)), "took the other environment's kernel"

    links = ("--find-links", world.wheels)
    starts = [
        typed("envcheck", *world.setup_args(prefix, "--kernel-name", "lab-k"), *links),  # the same command again
        typed("envcheck", *world.setup_args(prefix), *links),  # setup without the kernel's name
        typed("envcheck", "verify", "--file", world.profile, "--prefix", prefix, "--json", "--no-redact"),
        typed("envcheck", "verify", "--prefix", prefix, "--json", "--no-redact"),  # not even the profile's file
    ]
    for start in starts:
        with snapshot(world):
            ends = follow(world, start, done_right)
        assert ends and all(len(end) == 2 for end in ends), ends  # one printed command, and it works
        assert all("--kernel-name lab-k" in end[1] and "--recreate" in end[1] for end in ends), ends


def test_after_kill_9_during_recreate_the_previous_environment_is_named_and_can_be_put_back(world: World) -> None:
    prefix = world.root / "envs" / "lab"
    assert world.envcheck(*world.setup_args(prefix)).returncode == 0
    before = read_marker(prefix)
    killed_while_registering_the_kernel(world, *world.setup_args(prefix, "--recreate"))
    previous = prefix.with_name("lab.envcheck-previous")
    assert read_marker(previous) == before and read_marker(prefix) is None

    said = world.envcheck(*world.setup_args(prefix))
    assert said.returncode == 1
    assert f"error: a `setup --recreate` of {prefix} did not finish; the previous environment is at {previous}" in (
        said.stderr
    )
    assert f"hint: put it back with: rm -rf {prefix} && mv {previous} {prefix}; or build anew with: " in said.stderr

    def done_right() -> None:
        assert read_marker(prefix) is not None and not previous.exists()
        assert world.kernel_python("envcheck-lab").startswith(str(prefix))

    links = ("--find-links", world.wheels)
    starts = [
        typed("envcheck", *world.setup_args(prefix, "--recreate"), *links),  # the same command again: it resumes
        typed("envcheck", *world.setup_args(prefix), *links),
        typed("envcheck", "verify", "--file", world.profile, "--prefix", prefix, "--json", "--no-redact"),
    ]
    put_back = False
    for start in starts:
        with snapshot(world):
            ends = follow(world, start, done_right)
        assert ends and all(len(end) <= 2 for end in ends), ends
        put_back = put_back or any(end[-1].startswith("rm -rf ") for end in ends)
    assert put_back, "no hint offered to put the previous environment back"


# ---------------------------------------------------------------------------------------------- no environment


def test_verify_of_a_folder_that_holds_no_environment_prints_a_setup_that_works(world: World) -> None:
    """It used to print `setup --recreate` for any folder without a python, which setup then refused."""
    # the user's own way to the wheels: these setups print no lock and no --find-links (uv seeds the new
    # environment with pip from its cache or the package index)
    world.env.update(UV_FIND_LINKS=str(world.wheels))
    empty = world.root / "empty"
    empty.mkdir()
    papers = world.root / "papers"
    papers.mkdir()
    (papers / "notes.txt").write_text("mine\n")
    made = {
        empty: lambda: read_marker(empty) is not None,
        papers: lambda: read_marker(world.root / "envcheck home" / "envs" / "lab") is not None,
    }
    for folder, exists in made.items():
        start = typed("envcheck", "verify", "--file", world.profile, "--prefix", folder, "--json", "--no-redact")

        def done_right(exists: Callable[[], bool] = exists) -> None:
            assert exists()

        with snapshot(world):
            ends = follow(world, start, done_right)
        assert ends and all(len(end) == 2 and "--recreate" not in end[1] for end in ends), ends
    assert (papers / "notes.txt").read_text() == "mine\n" and sorted(os.listdir(papers)) == ["notes.txt"]


# ---------------------------------------------------------------------------------------------- a running setup


def test_verify_during_a_setup_names_the_setup_and_its_pid(world: World) -> None:
    prefix = world.root / "envs" / "lab"
    assert world.envcheck(*world.setup_args(prefix)).returncode == 0
    env = {**world.env, "FAKE_IPYKERNEL_HANG": "120"}
    argv = [str(ENVCHECK), *world.setup_args(prefix, "--recreate"), "--find-links", str(world.wheels)]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stderr is not None
        assert any("register kernel" in line for line in iter(proc.stderr.readline, ""))
        verify = typed("envcheck", "verify", "--file", world.profile, "--prefix", prefix)
        done = world.bash(verify)
        assert done.returncode == 1, done.stdout
        error = next(line for line in done.stderr.splitlines() if line.startswith("error: "))
        assert error.startswith(f"error: envcheck setup --recreate (pid {proc.pid}) is working on {prefix} since ")
        assert "did not finish" not in done.stderr and "--recreate" not in done.stderr.split("hint: ")[1]
        commands = printed_commands(done)
        assert commands == [verify, f"kill {proc.pid}"]
        as_json = world.bash(verify + " --json")
        assert as_json.returncode == 1 and json.loads(as_json.stdout)["error"]["message"] == error[len("error: ") :]
        # the second command stops it (SIGTERM: the previous environment is put back), then the first one works
        assert world.bash(commands[1]).returncode == 0
        assert wait_for(lambda: proc.poll() is not None, 60) and proc.returncode == 130
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert succeeded(world.bash(commands[0] + " --json --no-redact"))
