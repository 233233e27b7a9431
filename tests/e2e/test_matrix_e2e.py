"""The matrix: every way to build an environment, then every way to use it, on real TensorFlow environments.

Rows (ways to build): the default (the shared `dl_env`), `--prefix` relative, with spaces and quotes, through a
symbolic link, `--no-kernel`, `--kernel-name`, a second environment of the same profile, `--file` with a
requirements.txt and with an environment.yml (conda, through the stand-in tests/fakes/micromamba: its solve is
imitated, its pip step installs TensorFlow for real), `--lock`, `--lock --offline`, `--installer pip`,
`--python X.Y` (this interpreter's version: its wheels are cached already) and `--recreate`. Columns (ways to
use): the `next:` line setup printed, typed into bash as printed (it is `envcheck verify ...`), `verify --json`,
the `use:` line typed into bash (`envcheck run ... -- jupyter notebook`: the server comes up, lists the
environment's kernel through its API, and is stopped),
`envcheck run -- python -c ...`, the kernel started through Jupyter (`jupyter_client`, as a notebook does), and
`smoke-train --level scratch`. Every cell must pass, and at the end every kernel still runs the environment it
was made for. The table and its counts are printed at the end of the run.

Cost: TensorFlow's files come from the installers' caches (uv hardlinks them: 20-30 s an environment on two
busy cores, most of it the import check; pip and the conda stand-in's pip step about 100 s), the lock and its
wheelhouse are the session's, shared with test_lock_e2e.py; the default row is `dl_env` itself; environments
are built, and cells run, two at a time (ENVCHECK_MATRIX_WORKERS). Every build way is kept: each is one build,
and every use of it shares that build, so none is covered twice. The whole module, `dl_env` and the wheelhouse
included, took 5 to 9 minutes on a shared 2-core machine with warm caches.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from support.conda import FAKE
from support.matrix import TABLE, Cell

from envcheck.completion import Marker, read_marker
from envcheck.locations import python_in

pytestmark = pytest.mark.skipif(os.name != "posix", reason="bash, symbolic links and the conda stand-in")

TIMEOUT = 1800
WORKERS = int(os.environ.get("ENVCHECK_MATRIX_WORKERS", "2"))
HERE = f"{sys.version_info.major}.{sys.version_info.minor}"
STACK = ("tensorflow>=2.16", "keras>=3.0", "pandas>=2.0", "scikit-learn>=1.3", "matplotlib>=3.7")
JUPYTER = ("notebook>=7.0", "ipykernel>=6.25")

ROWS = [
    "default",
    "--prefix relative",
    "--prefix with spaces and quotes",
    "--prefix through a symlink",
    "--no-kernel",
    "--kernel-name",
    "a second environment of the profile",
    "--file requirements.txt",
    "--file environment.yml (conda)",
    "--lock",
    "--lock --offline",
    "--installer pip",
    f"--python {HERE}",
    "--recreate",
]
COLUMNS = [
    "next: line (verify), typed",
    "verify --json",
    "use: line (jupyter notebook), typed",
    "run -- python -c",
    "kernel started through jupyter_client",
    "smoke-train --level scratch",
]


@dataclass(frozen=True)
class Built:
    """An environment of the matrix: where it is, how verify is pointed at it, and what setup printed."""

    row: str
    prefix: Path
    where: tuple[str, ...]  # how envcheck commands name it (--prefix P, another spelling of it, or nothing)
    printed: str  # setup's stdout: the summary with its next: and use: lines
    marker: Marker

    def said(self, label: str) -> str:
        return next(line for line in self.printed.splitlines() if line.startswith(label))[len(label) :].strip()


def envcheck(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`envcheck ...`, as the user types it: the program on PATH (this checkout's)."""
    return subprocess.run(["envcheck", *args], capture_output=True, text=True, timeout=TIMEOUT, cwd=cwd, env=env)


def bash(line: str, timeout: float = TIMEOUT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", line], capture_output=True, text=True, timeout=timeout)


# ---------------------------------------------------------------------------------------------- building


Way = Callable[[], tuple[Path, list[list[str]], Path | None, dict[str, str] | None]]


def ways(root: Path, lock: Path, wheels: Path, wheels_env: dict[str, str]) -> dict[str, Way]:
    """Each row's setup commands (the last one's output is what setup printed), its prefix, working folder and
    environment variables (None: this process's)."""
    requirements = root / "requirements.txt"
    requirements.write_text("\n".join((*STACK, *JUPYTER)) + "\n")
    environment_yml = root / "environment.yml"
    pips = "".join(f"      - {r}\n" for r in (*STACK, *JUPYTER))
    environment_yml.write_text(
        f"name: matrix-conda\nchannels:\n  - conda-forge\ndependencies:\n  - python={HERE}\n  - pip\n  - pip:\n{pips}"
    )
    quoted = root / 'lab\'s "quoted" folder' / "with spaces"
    real = root / "real disk"
    real.mkdir()
    (root / "link").symlink_to(real)

    def at(folder: str | Path, *options: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> Way:
        prefix = folder if isinstance(folder, Path) else root / folder
        given = str(prefix.relative_to(cwd)) if cwd else str(prefix)
        return lambda: (prefix, [["setup", "--prefix", given, *options]], cwd, env)

    recreated = root / "recreated"
    return {
        "--prefix relative": at("relative", cwd=root),
        "--prefix with spaces and quotes": at(quoted),
        "--prefix through a symlink": at(root / "link" / "through-link"),
        "--no-kernel": at("no-kernel", "--no-kernel"),
        "--kernel-name": at("named", "--kernel-name", "matrix-named"),
        "a second environment of the profile": at("second"),
        "--file requirements.txt": at("from-requirements", "--file", str(requirements)),
        "--file environment.yml (conda)": at(
            "from-environment-yml", "--file", str(environment_yml), "--conda-exe", str(FAKE)
        ),
        "--lock": at("locked", "--lock", str(lock)),
        "--lock --offline": at(
            "locked-offline", "--lock", str(lock), "--offline", "--find-links", str(wheels), env=wheels_env
        ),
        "--installer pip": at("with-pip", "--installer", "pip"),
        f"--python {HERE}": at("python-version", "--python", HERE),
        "--recreate": lambda: (
            recreated,
            [["setup", "--prefix", str(recreated)], ["setup", "--prefix", str(recreated), "--recreate"]],
            None,
            None,
        ),
    }


def build(row: str, make: Way) -> tuple[Built, float]:
    started = time.monotonic()
    prefix, commands, cwd, env = make()
    for args in commands:
        done = envcheck(*args, cwd=cwd, env=env)
        assert done.returncode == 0, f"{row}: envcheck {' '.join(args)}\n{done.stdout}\n{done.stderr}"
    marker = read_marker(prefix)
    assert marker is not None, row
    where = ("--prefix", str(prefix))  # through the link for the symlink's row: the same environment
    return Built(row, prefix, where, done.stdout, marker), time.monotonic() - started


@pytest.fixture(scope="module")
def built(
    dl_env: Path,
    wheelhouse: tuple[Path, Path],
    wheelhouse_env: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, Built]]:
    """Every row's environment, built two at a time (the default one is the session's `dl_env`); removed when the
    module is done (a dozen environments of TensorFlow: several gigabytes the rest of the run does not need)."""
    if shutil.which("bash") is None:
        pytest.skip("the printed lines are typed into bash")
    TABLE.rows, TABLE.columns = list(ROWS), list(COLUMNS)
    started = time.monotonic()
    lock, wheels = wheelhouse
    again = envcheck("setup")  # up to date: what setup prints for the default environment
    assert again.returncode == 0, again.stderr
    marker = read_marker(dl_env)
    assert marker is not None
    out = {"default": Built("default", dl_env, (), again.stdout, marker)}
    root = tmp_path_factory.mktemp("matrix")
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        futures = {row: pool.submit(build, row, make) for row, make in ways(root, lock, wheels, wheelhouse_env).items()}
        for row, future in futures.items():
            out[row], TABLE.builds[row] = future.result()
    TABLE.wall += time.monotonic() - started
    yield out
    kept = marker.kernel
    for env in out.values():  # their kernels first: a kernel whose python is gone is a warning of later verifies
        if env.row != "default" and env.marker.kernel and env.marker.kernel != kept:
            jupyter = [str(python_in(dl_env)), "-m", "jupyter", "kernelspec", "remove", "-y", env.marker.kernel]
            subprocess.run(jupyter, capture_output=True, timeout=TIMEOUT)
    shutil.rmtree(root, ignore_errors=True)


# ---------------------------------------------------------------------------------------------- using


def typed_next(env: Built) -> str:
    line = env.said("next:")
    assert line.startswith("envcheck verify"), line
    done = bash(line)
    assert done.returncode == 0, f"{line}\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}"
    assert "✓ all checks passed" in done.stdout, done.stdout[-2000:]
    return line


def verify_json(env: Built) -> str:
    # the environment named as the next: line names it (a --file row's verify is against that file)
    words = shlex.split(env.said("next:"))
    assert words[1] == "verify", words
    done = envcheck(*words[1:], "--json", "--no-redact")
    document = json.loads(done.stdout)
    problems = {c["id"]: c["detail"] for c in document["checks"] if c["status"] in ("warn", "fail")}
    assert done.returncode == 0 and document["status"] == "pass" and not problems, problems
    kernel = next(c for c in document["checks"] if c["id"] == "jupyter.kernelspec")
    if env.marker.no_kernel:
        assert kernel["status"] == "skip" and kernel["detail"].startswith("no kernel: set up with --no-kernel")
    else:
        assert kernel["status"] == "pass" and env.marker.kernel in kernel["detail"]
    return f"{len(document['checks'])} checks"


def typed_use(env: Built) -> str:
    line = env.said("use:")
    assert line.startswith("envcheck run") and line.endswith("-- jupyter notebook"), line
    proc = subprocess.Popen(
        ["bash", "-c", line],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # the notebook server and everything it starts, stopped as one group
    )
    seen: list[str] = []
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 180
        address = None
        for output in proc.stdout:
            seen.append(output)
            address = address or re.search(r"(http://127\.0\.0\.1:\d+)/\S*\?token=(\w+)", output)
            if address or time.monotonic() > deadline:
                break
        assert address, "the server never said where it listens:\n" + "".join(seen)[-3000:]
        # the server answers, and offers this environment's kernel (the one a new notebook starts)
        specs = ask(f"{address.group(1)}/api/kernelspecs?token={address.group(2)}")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    if env.marker.kernel:
        assert env.marker.kernel in specs["kernelspecs"], sorted(specs["kernelspecs"])
    return f"the server answered with {len(specs['kernelspecs'])} kernels"


def ask(url: str) -> dict[str, Any]:
    """The server's JSON answer at ``url``; it prints its address a moment before it listens there."""
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url, timeout=60) as answer:
                return dict(json.load(answer))
        except urllib.error.URLError as error:
            if not isinstance(error.reason, ConnectionRefusedError) or time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def run_python(env: Built) -> str:
    where = env.where[:2] if env.where else ()
    done = envcheck("run", *where, "--", "python", "-c", "import sys, sklearn; print(sys.prefix)")
    assert done.returncode == 0, done.stderr
    assert os.path.realpath(done.stdout.strip()) == os.path.realpath(env.prefix), done.stdout
    return done.stdout.strip()


KERNEL_CODE = """
import sys
from jupyter_client.manager import start_new_kernel
manager, client = start_new_kernel(kernel_name=sys.argv[1], startup_timeout=120)
try:
    said = []
    client.execute_interactive("import sys, pandas; print(sys.prefix)", timeout=120,
                               output_hook=lambda m: said.append(m["content"].get("text", "")))
    print("".join(said).strip())
finally:
    client.stop_channels()
    manager.shutdown_kernel(now=True)
"""


def kernel(env: Built) -> str:
    if env.marker.no_kernel:
        assert env.marker.kernel is None
        assert not [p for p in kernel_programs().values() if runs_in(p, env.prefix)], "a kernel of its own after all"
        return "none, as asked (verify says so)"
    name = env.marker.kernel
    assert name and f"  kernel        {name}" in env.printed, env.printed  # shown in setup's summary
    done = subprocess.run([sys.executable, "-c", KERNEL_CODE, name], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert os.path.realpath(done.stdout.strip().splitlines()[-1]) == os.path.realpath(env.prefix), done.stdout
    return name


def smoke(env: Built) -> str:
    done = envcheck("smoke-train", *env.where, "--level", "scratch")
    assert done.returncode == 0, f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    return "trained"


USES: dict[str, Callable[[Built], str]] = dict(
    zip(COLUMNS, (typed_next, verify_json, typed_use, run_python, kernel, smoke), strict=True)
)


def kernel_programs() -> dict[str, str]:
    """Every per-user kernelspec (the session's JUPYTER_DATA_DIR) and the program it starts."""
    folder = Path(os.environ["JUPYTER_DATA_DIR"]) / "kernels"
    return {spec.parent.name: json.loads(spec.read_text())["argv"][0] for spec in sorted(folder.glob("*/kernel.json"))}


def runs_in(program: str, prefix: Path) -> bool:
    folder = os.path.realpath(os.path.dirname(program))
    return folder == os.path.realpath(prefix) or folder.startswith(os.path.realpath(prefix) + os.sep)


def attempt(env: Built, use: str) -> Cell:
    started = time.monotonic()
    try:
        detail = USES[use](env)
    except (AssertionError, OSError, ValueError, KeyError, StopIteration, subprocess.SubprocessError) as failure:
        said = str(failure).strip().splitlines() or [type(failure).__name__]
        return Cell(env.row, use, False, f"{type(failure).__name__}: {said[0][:300]}", time.monotonic() - started)
    return Cell(env.row, use, True, detail, time.monotonic() - started)


@pytest.fixture(scope="module")
def cells(built: dict[str, Built], tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Cell]:
    """Every cell, run two at a time; each test below reports one.

    Jupyter's server configuration: no browser (there is none), and as root (containers, this kind of CI
    machine) the server's own refusal lifted, as a root user does once; the `use:` line itself is typed as
    printed."""
    started = time.monotonic()
    config = tmp_path_factory.mktemp("jupyter-config")
    settings = {"ServerApp": {"open_browser": False, "allow_root": hasattr(os, "geteuid") and os.geteuid() == 0}}
    (config / "jupyter_server_config.json").write_text(json.dumps(settings))
    with pytest.MonkeyPatch.context() as mp, ThreadPoolExecutor(max_workers=WORKERS) as pool:
        mp.setenv("JUPYTER_CONFIG_DIR", str(config))
        futures = [pool.submit(attempt, built[row], use) for row in ROWS for use in COLUMNS]
        for future in futures:
            TABLE.add(future.result())
    TABLE.wall += time.monotonic() - started
    return TABLE.cells


@pytest.mark.parametrize("use", COLUMNS)
@pytest.mark.parametrize("row", ROWS)
def test_cell(cells: dict[tuple[str, str], Cell], row: str, use: str) -> None:
    cell = cells[(row, use)]
    assert cell.ok, f"{row} / {use}: {cell.detail}"


def test_every_kernel_still_runs_the_environment_it_was_made_for(
    built: dict[str, Built], cells: dict[tuple[str, str], Cell]
) -> None:
    programs = kernel_programs()
    names = {}
    for env in built.values():
        if env.marker.kernel is None:
            continue
        assert env.marker.kernel in programs, (env.row, sorted(programs))
        assert runs_in(programs[env.marker.kernel], env.prefix), (env.row, programs[env.marker.kernel])
        names[env.marker.kernel] = env.row
    assert len(names) == len([e for e in built.values() if e.marker.kernel]), "two environments share a kernel"
    assert built["default"].marker.kernel == "envcheck-deep-learning"
    assert built["--kernel-name"].marker.kernel == "matrix-named"
    assert built["a second environment of the profile"].marker.kernel == "envcheck-deep-learning-second"
    assert built["--no-kernel"].marker.no_kernel and built["--no-kernel"].marker.kernel is None


def test_the_environments_are_what_their_rows_say(built: dict[str, Built]) -> None:
    markers = {row: env.marker for row, env in built.items()}
    assert markers["--installer pip"].installer == "pip"
    assert markers["--file environment.yml (conda)"].backend == "conda"
    assert markers["--lock"].lock and markers["--lock --offline"].offline
    assert markers[f"--python {HERE}"].python.startswith(HERE + ".")
    assert markers["--file requirements.txt"].profile_args == [
        "--file",
        str(built["--file requirements.txt"].prefix.parent / "requirements.txt"),
    ]
    assert (built["--prefix relative"].prefix / "pyvenv.cfg").is_file()
    assert python_in(built["--prefix through a symlink"].prefix).exists()
    assert not built["--recreate"].prefix.with_name("recreated.envcheck-previous").exists()
