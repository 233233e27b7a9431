"""Figures for reliability: interrupted setups, interrupted verify and smoke-train, hostile inputs, faulty targets.

    python bench/interrupt_bench.py [--runs 30] [--prefix DEEP-LEARNING-ENV] [--examples 300] [--quick]

1. Setup interrupts: ``--runs`` real `envcheck setup` processes (a new environment, an update of an existing
   one, a --recreate of one, in turn), each sent SIGINT, SIGTERM or SIGKILL at a random moment between start
   and finish, then a following `setup` on the same prefix. Counted: half-built environments accepted as
   complete (the following setup exits 0 but the environment does not import its packages), environments
   of the user's lost (a file the user kept in the environment is neither there nor in the copy set aside),
   processes left (any process naming the prefix 2 s after envcheck ended), and exits other than 130 after
   SIGINT or SIGTERM; by phase. For speed the profile is tiny: two small pure-Python packages from a local
   wheel folder (made here), installed with uv ``--offline --find-links``; the steps are those of every
   profile, but the install phase is short, so most signals land in pre-flight, create and import check.
2. verify and smoke-train interrupts: SIGINT or SIGTERM at a random moment while they run; counted: exit 130
   within 2 s, processes left. A signal that lands as the command ends (exit 0 within 0.25 s: its work was done,
   and its exit code stands) is counted apart, as one that came after it finished is. With ``--prefix`` they
   examine a real deep-learning environment; without, verify examines the tiny environment and smoke-train a
   python whose start-up never ends.
3. Hostile inputs (hypothesis): profile .toml files, requirements files, environment.yml files and option
   lists; every one must end with exit 0, 1, 2 or 3, one `error:` line when it fails, never a traceback.
4. Faults in the target: a package import that hangs, one killed by SIGSEGV, one by SIGILL, garbage written
   at start-up, a python that hangs at start-up, one killed by SIGSEGV at start-up: each must be reported
   within --timeout plus 1 s.

Targets: all counts of things that must not happen are 0. Exits 1 when one is not (POSIX only).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import venv
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

PROFILE = """
schema = 1
name = "tiny"
python = ">=3.8"
disk_gb = 0.001
kernel = false
{packages}
"""
PACKAGE = '[[package]]\nname = "{name}"\nrequirement = "{name}==1.0"\nimport = "{module}"\n'
SIGNALS = {"SIGINT": signal.SIGINT, "SIGTERM": signal.SIGTERM, "SIGKILL": signal.SIGKILL}
FAULT_TIMEOUT = 3.0


def default_sigint() -> None:
    """Children start with SIGINT at its default, as in a terminal, even if this script runs in the background."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def envcheck(*args: str) -> list[str]:
    return [sys.executable, "-m", "envcheck", *args]


def build_wheel(folder: Path, name: str) -> None:
    module = name.replace("-", "_")
    files = {
        f"{module}/__init__.py": "VERSION = '1.0'\n",
        f"{module}-1.0.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n",
        f"{module}-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text.encode())}")
    record.append(f"{module}-1.0.dist-info/RECORD,,")
    files[f"{module}-1.0.dist-info/RECORD"] = "\n".join(record) + "\n"
    with zipfile.ZipFile(folder / f"{module}-1.0-py3-none-any.whl", "w") as wheel:
        for path, text in files.items():
            wheel.writestr(path, text)


def processes_naming(needle: str) -> list[str]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if needle in text and "interrupt_bench" not in text:  # this script and its `timeout` wrapper name it too
            found.append(text)
    return found


def left_after(needle: str, grace: float = 2.0) -> list[str]:
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not processes_naming(needle):
            return []
        time.sleep(0.05)
    return processes_naming(needle)


class Watched:
    """A child whose stderr is read on a thread, remembering the last phase it announced."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env, preexec_fn=default_sigint
        )
        self.phase = "start-up"
        self.lines: list[str] = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        for line in self.proc.stderr or ():
            self.lines.append(line)
            if line.startswith("→ "):
                self.phase = line[2:].strip(" …\n")
            elif line.startswith("✓ import check"):
                self.phase = "finishing"  # the marker is next: a signal now may find the work done

    def finish(self, timeout: float = 120) -> int:
        code = self.proc.wait(timeout=timeout)
        self.thread.join(timeout=5)
        return code


# ---------------------------------------------------------------------------------------------- 1. setup


class SetupBench:
    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.root = root
        self.env = env
        self.wheels = root / "wheels"
        self.wheels.mkdir()
        for name in ("envcheck-tiny", "envcheck-tiny-extra"):
            build_wheel(self.wheels, name)
        self.one = root / "tiny.toml"
        self.one.write_text(PROFILE.format(packages=PACKAGE.format(name="envcheck-tiny", module="envcheck_tiny")))
        self.two = root / "tiny-extra.toml"
        both = PACKAGE.format(name="envcheck-tiny", module="envcheck_tiny")
        both += PACKAGE.format(name="envcheck-tiny-extra", module="envcheck_tiny_extra")
        self.two.write_text(PROFILE.format(packages=both))

    def argv(self, profile: Path, prefix: Path, *extra: str) -> list[str]:
        return envcheck(
            "setup",
            "--file",
            str(profile),
            "--prefix",
            str(prefix),
            "--offline",
            "--find-links",
            str(self.wheels),
            *extra,
        )

    def run(self, argv: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            argv, capture_output=True, text=True, env=self.env, timeout=300, preexec_fn=default_sigint
        )

    def baseline(self) -> float:
        """The shortest of three uninterrupted setups: signals are sent within it (a busy moment would stretch
        one run and let most later ones finish before their signal)."""
        times = []
        for attempt in range(3):
            prefix = self.root / "baseline" / ("env" if attempt == 0 else f"env{attempt}")
            started = time.monotonic()
            done = self.run(self.argv(self.one, prefix))
            if done.returncode != 0:
                raise SystemExit(f"the uninterrupted setup failed:\n{done.stderr}")
            times.append(time.monotonic() - started)
        return min(times)

    def one_run(self, index: int, kind: str, signame: str, delay: float) -> dict[str, Any]:
        prefix = self.root / f"run{index}" / "env"
        profile = self.two if kind == "update" else self.one
        if kind in ("update", "recreate"):
            made = self.run(self.argv(self.one, prefix))
            assert made.returncode == 0, made.stderr
            (prefix / "notebook.ipynb").write_text("{}")
        extra = ("--recreate",) if kind == "recreate" else ()
        child = Watched(self.argv(profile, prefix, *extra), self.env)
        time.sleep(delay)
        phase = child.phase
        sent = child.proc.poll() is None
        if sent:
            child.proc.send_signal(SIGNALS[signame])
        sent_at = time.monotonic()
        code = child.finish()
        stop_seconds = time.monotonic() - sent_at
        if not sent:
            phase = "finished"
        left = left_after(str(prefix))
        # 0: the work was done before the signal landed; the signal's own default action only before envcheck's
        # code runs (the interpreter starting): nothing can have been created then
        expected = {0} if not sent else ({0, 130} if signame != "SIGKILL" else {0, -signal.SIGKILL})
        if phase == "start-up":
            expected.add(-SIGNALS[signame])
        aside = prefix.with_name(f"{prefix.name}.envcheck-previous")
        user_file_kept = any((p / "notebook.ipynb").is_file() for p in (prefix, aside))
        following = self.run(self.argv(profile, prefix))
        accepted = following.returncode == 0
        works = accepted and self._works(prefix, profile)
        user_file_kept = user_file_kept and any((p / "notebook.ipynb").is_file() for p in (prefix, aside))
        return {
            "kind": kind,
            "signal": signame,
            "phase": phase,
            "sent": sent,
            "exit": code,
            "stop_seconds": round(stop_seconds, 2),
            "unexpected_exit": code not in expected,
            "left": left,
            "half_built_accepted": accepted and not works,
            # a --recreate that got as far as its completion marker replaced the environment as asked (the
            # following setup finds the new one complete); otherwise the user's one must remain
            "user_environment_lost": kind != "new" and not user_file_kept and not (kind == "recreate" and works),
            "aside_left": aside.exists(),
            "following_exit": following.returncode,
            "following_said": next((line for line in following.stderr.splitlines() if line.startswith("error:")), ""),
            "said": "".join(child.lines[-3:]),
        }

    def _works(self, prefix: Path, profile: Path) -> bool:
        modules = ["envcheck_tiny"] + (["envcheck_tiny_extra"] if profile == self.two else [])
        python = prefix / "bin" / "python"
        done = subprocess.run([str(python), "-c", f"import {', '.join(modules)}"], capture_output=True, timeout=60)
        return done.returncode == 0


# ---------------------------------------------------------------------------------------------- 2. verify, smoke


def uninterrupted(argv: list[str], env: dict[str, str]) -> float:
    """The shorter of two uninterrupted runs of ``argv``, in seconds."""
    times = []
    for _ in range(2):
        started = time.monotonic()
        subprocess.run(argv, env=env, capture_output=True, timeout=300, check=False)
        times.append(time.monotonic() - started)
    return min(times)


# An exit 0 this soon after the signal: the command had ended and Python was shutting down when it landed, and
# the command's exit code stands (envcheck/__main__.py). A signal swallowed mid-work would leave the command to
# finish what it was doing: a probe, at least 0.3 s here.
ENDED_S = 0.25


def interrupt_command(argv: list[str], env: dict[str, str], needle: str, delay: float, signame: str) -> dict[str, Any]:
    child = Watched(argv, env)
    time.sleep(delay)
    sent = child.proc.poll() is None
    if sent:
        child.proc.send_signal(SIGNALS[signame])
    sent_at = time.monotonic()
    code = child.finish()
    seconds = time.monotonic() - sent_at
    left = left_after(needle)
    ended = sent and code == 0 and seconds <= ENDED_S
    return {
        "signal": signame,
        "sent": sent and not ended,  # signalled while it ran
        "ended": ended,
        "exit": code,
        "seconds": round(seconds, 2),
        "ok": (not sent) or ended or (code == 130 and seconds <= 2.0),
        "left": left,
        "traceback": any("Traceback" in line for line in child.lines),
    }


# ---------------------------------------------------------------------------------------------- 3. hostile inputs


def hostile_inputs(root: Path, examples: int) -> dict[str, Any]:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from typer.testing import CliRunner

    from envcheck.cli import app

    runner = CliRunner()
    tried: Counter[str] = Counter()
    bad: list[dict[str, Any]] = []
    not_a_python = root / "hostile" / "no-python"
    folder = root / "hostile"
    folder.mkdir()
    occupied = folder / "occupied"
    occupied.mkdir()
    (occupied / "thesis.tex").write_text("mine")

    def judge(kind: str, args: list[str]) -> None:
        tried[kind] += 1
        result = runner.invoke(app, args)
        output = (result.stdout or "") + (result.stderr or "")
        errors = [line for line in (result.stderr or "").splitlines() if line.lower().startswith("error:")]
        crashed = result.exception is not None and not isinstance(result.exception, SystemExit)
        fine = result.exit_code in (0, 1, 2, 3) and not crashed and "Traceback" not in output
        fine = fine and (result.exit_code == 0 or len(errors) == 1)
        if not fine and len(bad) < 20:
            bad.append({"kind": kind, "args": args, "exit": result.exit_code, "output": output[-600:]})

    toml_fragments = st.sampled_from(
        [
            "schema = 1",
            "schema = 2",
            'name = "x"',
            "name = 5",
            'python = ">=3.8"',
            'python = "~~3"',
            "kernel = false",
            "disk_gb = -1",
            "disk_gb = nan",
            "[[package]]",
            'name = "numpy"',
            'requirement = "numpy>=1.2"',
            'requirement = ["a; sys_platform == \\"linux\\"", 7]',
            'import = "numpy"',
            "import = ''",
            "[package]",
            "conda = 3",
            'device = "tpu"',
            "x = {a = 1}",
            "= =",
            '"\\ud800"',
        ]
    )
    requirement_fragments = st.sampled_from(
        [
            "numpy==1.26.4 \\",
            "    --hash=sha256:" + "a" * 64,
            "pandas>=2\t# comment",
            "-r other.txt",
            "-e .",
            "--extra-index-url https://u:p@example.invalid/simple",
            "git+https://example.invalid/x.git#egg=x",
            "tensorflow>=2.16; python_version < '3.13'",
            "tensorflow[and-cuda]",
            "===",
            "numpy @ file:///nonexistent.whl",
            "# only a comment",
            "",
            "\\",
            "-c constraints.txt",
        ]
    )
    yml_fragments = st.sampled_from(
        [
            "name: lab",
            "channels:",
            "  - conda-forge",
            "dependencies:",
            "  - python=3.11",
            "  - pip:",
            "    - tensorflow",
            "  - {pip: [tensorflow]}",
            "- [",
            ": :",
            "dependencies: 5",
            "  - numpy>=1.2,<3",
            "\t- tab",
        ]
    )
    free_text = st.text(max_size=120)

    def lines_of(fragments: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.lists(st.one_of(fragments, fragments, free_text), max_size=12).map("\n".join)

    options = st.sampled_from(
        [
            "--profile",
            "--file",
            "--prefix",
            "--python",
            "--timeout",
            "--epochs",
            "--lr",
            "--seed",
            "--level",
            "--device",
            "--plot",
            "--backend",
            "--installer",
            "--kernel-name",
            "--index-url",
            "--format",
            "--json",
            "--markdown",
            "--strict",
            "-q",
            "-v",
            "--no-kernel",
            "--recreate",
            "--bogus",
        ]
    )
    values = st.one_of(
        st.sampled_from(["0", "-1", "1e309", "nan", "inf", "-inf", "4294967296", "", "gpu", "cpu", "tpu", "x" * 300]),
        st.integers(min_value=-(2**70), max_value=2**70).map(str),
        st.floats(allow_nan=True, allow_infinity=True).map(str),
        st.text(max_size=40).filter(lambda text: "\x00" not in text),
    )
    commands = st.sampled_from(["setup", "verify", "smoke-train", "export"])

    def safe_tail(command: str) -> list[str]:
        # no command may build or examine a real environment: setup meets a folder it must refuse,
        # verify and smoke-train an interpreter that does not exist
        if command == "setup":
            return ["--prefix", str(occupied)]
        if command in ("verify", "smoke-train"):
            return ["--python", str(not_a_python)]
        return []

    quiet = settings(
        max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck), derandomize=True
    )

    @quiet
    @given(text=lines_of(toml_fragments))
    def profiles(text: str) -> None:
        path = folder / "profile.toml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        judge("profile .toml", ["export", "--file", str(path)])

    @quiet
    @given(text=lines_of(requirement_fragments))
    def requirements(text: str) -> None:
        path = folder / "requirements.txt"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        judge("requirements.txt", ["export", "--format", "pip", "--file", str(path)])

    @quiet
    @given(text=lines_of(yml_fragments))
    def environment_files(text: str) -> None:
        path = folder / "environment.yml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        judge("environment.yml", ["export", "--file", str(path)])

    @quiet
    @given(command=commands, pairs=st.lists(st.tuples(options, values), max_size=6))
    def option_lists(command: str, pairs: list[tuple[str, str]]) -> None:
        args = [command]
        for option, value in pairs:
            args += (
                [option]
                if option in ("--json", "--markdown", "--strict", "-q", "-v", "--no-kernel")
                else [option, value]
            )
            if option == "--recreate":
                args.pop()  # a flag
        judge("options", args + safe_tail(command))

    for generate in (profiles, requirements, environment_files, option_lists):
        generate()
    return {"tried": dict(tried), "total": sum(tried.values()), "bad": bad}


# ---------------------------------------------------------------------------------------------- 4. faults


FAULT_MODULES = {
    "fault_hang": "import threading\nthreading.Event().wait()\n",
    "fault_segv": "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n",
    "fault_sigill": "import os, signal\nos.kill(os.getpid(), signal.SIGILL)\n",
}
START_UPS = {
    "garbage at start-up": "import os, sys\nos.write(1, bytes(range(256)) * 64)\nos.write(2, b'\\xff\\xfe garbage\\n' * 100)\n",
    "python hangs at start-up": "import time\ntime.sleep(10**6)\n",
    "SIGSEGV at start-up": "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n",
}


def make_venv(prefix: Path) -> Path:
    venv.EnvBuilder(with_pip=False, symlinks=True).create(prefix)
    python = prefix / "bin" / "python"
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    return Path(subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True).stdout.strip())


def faults(root: Path, env: dict[str, str]) -> list[dict[str, Any]]:
    results = []
    modules_env = root / "faults" / "modules"
    site = make_venv(modules_env)
    for module, code in FAULT_MODULES.items():
        (site / f"{module}.py").write_text(code)
    for module in FAULT_MODULES:
        profile = root / "faults" / f"{module}.toml"
        name = module.replace("_", "-")
        profile.write_text(PROFILE.format(packages=PACKAGE.format(name=name, module=module)))
        argv = envcheck("verify", "--prefix", str(modules_env), "--file", str(profile), "--json")
        results.append(timed_fault(f"verify: import {module}", argv, env, modules_env))
    for label, code in START_UPS.items():
        prefix = root / "faults" / label.replace(" ", "-")
        (make_venv(prefix) / "sitecustomize.py").write_text(code)
        results.append(
            timed_fault(f"verify: {label}", envcheck("verify", "--prefix", str(prefix), "--json"), env, prefix)
        )
        smoke = envcheck("smoke-train", "--prefix", str(prefix), "--level", "scratch", "--json")
        results.append(timed_fault(f"smoke-train: {label}", smoke, env, prefix))
    return results


def start_up_seconds(command: str, env: dict[str, str]) -> float:
    """How long `envcheck COMMAND` takes now, on this machine, to start, read its options and give up on an
    interpreter that does not exist: the part of a fault's report that comes before its time limit starts."""
    times = []
    for _ in range(3):
        started = time.monotonic()
        argv = envcheck(command, "--python", "/nonexistent/python")
        subprocess.run(argv, capture_output=True, env=env, timeout=60)
        times.append(time.monotonic() - started)
    return sorted(times)[1]  # the median: on a busy machine one start can take twice as long as the next


def timed_fault(label: str, argv: list[str], env: dict[str, str], prefix: Path) -> dict[str, Any]:
    start_up = start_up_seconds(argv[3], env)
    started = time.monotonic()
    done = subprocess.run(
        [*argv, "--timeout", str(FAULT_TIMEOUT)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        preexec_fn=default_sigint,
    )
    seconds = time.monotonic() - started
    try:
        document = json.loads(done.stdout)
    except ValueError:
        document = {}
    failing = [c["detail"] for c in document.get("checks", []) if c.get("status") == "fail"]
    said = (document.get("error") or {}).get("message") or (failing[0] if failing else "")
    return {
        "fault": label,
        "exit": done.returncode,
        "seconds": round(seconds, 2),
        "start_up": round(start_up, 2),
        "ok": done.returncode in (1, 3) and seconds - start_up <= FAULT_TIMEOUT + 1 and "Traceback" not in done.stderr,
        "said": said[:160],
        "left": left_after(str(prefix)),
    }


# ---------------------------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="interrupted setups (default 30)")
    parser.add_argument("--command-runs", type=int, default=None, help="interrupted verify and smoke-train, each")
    parser.add_argument("--prefix", type=Path, help="a real deep-learning environment for verify and smoke-train")
    parser.add_argument("--examples", type=int, default=None, help="hostile inputs per kind (hypothesis examples)")
    parser.add_argument("--quick", action="store_true", help="the short form run in CI")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--json-out", type=Path, help="write every run's record here")
    args = parser.parse_args()
    if hasattr(os, "getloadavg"):
        print(f"load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs", flush=True)
    if os.name != "posix":
        print("POSIX only (signals, /proc)", file=sys.stderr)
        return 1
    command_runs = args.command_runs if args.command_runs is not None else (2 if args.quick else 15)
    examples = args.examples if args.examples is not None else (25 if args.quick else 150)
    chooser = random.Random(args.seed)
    failures: list[str] = []
    record: dict[str, Any] = {}

    with tempfile.TemporaryDirectory(prefix="envcheck-interrupts-") as scratch:
        root = Path(scratch)
        env = dict(os.environ, ENVCHECK_HOME=str(root / "home"), JUPYTER_DATA_DIR=str(root / "jupyter"))
        env.pop("PYTHONPATH", None)

        # 1. setup
        bench = SetupBench(root, env)
        baseline = bench.baseline()
        print(f"uninterrupted setup of the tiny profile: {baseline:.2f} s", flush=True)
        runs: list[dict[str, Any]] = []
        index = 0
        # N runs that were really signalled while setup ran (one that finished first does not count), at most 2N
        while sum(run["sent"] for run in runs) < args.runs and index < 2 * args.runs:
            kind = ("new", "update", "recreate")[index % 3]
            signame = ("SIGINT", "SIGTERM", "SIGKILL")[(index // 3) % 3]
            result = bench.one_run(index, kind, signame, chooser.uniform(0.0, baseline * 0.9))
            runs.append(result)
            index += 1
            print(
                f"setup {index + 1:3} {kind:8} {signame:7} in {result['phase']:20} exit {result['exit']:4} "
                f"then {result['following_exit']} {result['following_said'][:70]}",
                flush=True,
            )
            if result["unexpected_exit"]:
                print(f"    unexpected: {result['said']!r}", flush=True)
            shutil.rmtree(root / f"run{index}", ignore_errors=True)
        record["setup"] = runs
        by_phase: dict[str, Counter[str]] = {}
        for run in runs:
            counts = by_phase.setdefault(run["phase"], Counter())
            counts["runs"] += 1
            counts["half-built accepted"] += run["half_built_accepted"]
            counts["user env lost"] += run["user_environment_lost"]
            counts["processes left"] += len(run["left"])
            counts["unexpected exit"] += run["unexpected_exit"]
            counts["aside"] += run["aside_left"]
        signalled = [run for run in runs if run["sent"]]
        print(
            f"\nsetup interrupts: N = {len(signalled)} signalled while running "
            f"({dict(Counter(r['signal'] for r in signalled))}), {len(runs) - len(signalled)} more finished first"
        )
        print(
            f"{'phase':22}{'runs':>6}{'half-built accepted':>21}{'user env lost':>15}{'processes left':>16}{'bad exit':>10}"
        )
        totals: Counter[str] = Counter()
        for phase, counts in sorted(by_phase.items()):
            totals.update(counts)
            print(
                f"{phase:22}{counts['runs']:6}{counts['half-built accepted']:21}{counts['user env lost']:15}"
                f"{counts['processes left']:16}{counts['unexpected exit']:10}"
            )
        if totals["aside"]:
            print(f"(a previous environment left aside, for the user to remove, after {totals['aside']} runs)")
        for key in ("half-built accepted", "user env lost", "processes left", "unexpected exit"):
            if totals[key]:
                failures.append(f"setup: {totals[key]} {key}")

        # 2. verify and smoke-train
        if args.prefix is not None:
            target = args.prefix.absolute()
            verify_argv = envcheck("verify", "--prefix", str(target))
            smoke_argv = envcheck("smoke-train", "--prefix", str(target))
            spans = {"smoke-train": 9.0}
        else:
            target = root / "baseline" / "env"
            verify_argv = envcheck("verify", "--prefix", str(target), "--file", str(bench.one))
            hanging = root / "hanging"
            (make_venv(hanging) / "sitecustomize.py").write_text(START_UPS["python hangs at start-up"])
            smoke_argv = envcheck("smoke-train", "--prefix", str(hanging), "--level", "scratch")
            spans = {"smoke-train": 2.0}
        # signals land between 0.3 s (envcheck started) and the end of an uninterrupted verify
        spans["verify"] = uninterrupted(verify_argv, env)
        print(f"\nuninterrupted verify: {spans['verify']:.2f} s")
        commands = []
        for name, argv in (("verify", verify_argv), ("smoke-train", smoke_argv)):
            needle = argv[argv.index("--prefix") + 1]
            for index in range(command_runs):
                signame = ("SIGINT", "SIGTERM")[index % 2]
                result = interrupt_command(argv, env, needle, chooser.uniform(0.3, spans[name]), signame)
                result["command"] = name
                commands.append(result)
                print(
                    f"{name:12} {signame:7} exit {result['exit']:4} after {result['seconds']:5.2f} s"
                    f"{'' if result['sent'] else ' (landed as it ended)' if result['ended'] else ' (finished first)'}"
                    f" left {len(result['left'])}",
                    flush=True,
                )
        record["commands"] = commands
        for name in ("verify", "smoke-train"):
            mine = [c for c in commands if c["command"] == name]
            stopped = [c for c in mine if c["sent"]]
            late = [c for c in stopped if not c["ok"]]
            left = sum(len(c["left"]) for c in mine)
            slowest = max((c["seconds"] for c in stopped), default=0.0)
            ended = sum(c["ended"] for c in mine)
            print(
                f"{name}: {len(stopped)} of {len(mine)} signalled while running ({ended} more landed as it ended, "
                f"exit 0 within {ENDED_S} s); {len(late)} not 130 within 2 s (slowest {slowest:.2f} s); "
                f"processes left {left}"
            )
            if late or left or any(c["traceback"] for c in mine):
                failures.append(f"{name}: {len(late)} late or wrong exits, {left} processes left")

        # 3. hostile inputs
        hostile = hostile_inputs(root, examples)
        record["hostile"] = hostile
        print(f"\nhostile inputs: {hostile['total']} tried {hostile['tried']}; bad endings: {len(hostile['bad'])}")
        for item in hostile["bad"][:5]:
            print(f"  {item['kind']}: {item['args']} -> exit {item['exit']}: {item['output'][-200:]!r}")
        if hostile["bad"]:
            failures.append(f"hostile inputs: {len(hostile['bad'])} ended badly")

        # 4. faults
        found = faults(root, env)
        record["faults"] = found
        print(
            f"\nfaults in the target (--timeout {FAULT_TIMEOUT:g}; target: reported within {FAULT_TIMEOUT + 1:g} s"
            " once envcheck has started: wall time less the start-up of the same command, measured just before)"
        )
        for item in found:
            print(
                f"  {item['fault']:38} exit {item['exit']}  {item['seconds']:5.2f} s (start-up {item['start_up']:4.2f} s)"
                f"  {item['said'][:80]}"
            )
            if not item["ok"] or item["left"]:
                failures.append(f"fault {item['fault']}: exit {item['exit']} after {item['seconds']} s")

    if hasattr(os, "getloadavg"):
        print(f"load average at end: {os.getloadavg()[0]:.2f}")
    if args.json_out is not None:
        args.json_out.write_text(json.dumps(record, indent=2, default=str))
    if failures:
        print("\nMISSED: " + "; ".join(failures), file=sys.stderr)
        return 1
    print("\nall targets met")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
