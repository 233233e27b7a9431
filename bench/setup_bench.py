"""Benchmark `envcheck setup` against bare uv and bare venv + pip, side by side in one run, each with a fresh cache.

    python bench/setup_bench.py [--python PATH] [--skip-pip] [--repeat N]

Targets: setup within 1.15x of bare uv; at least 3x faster than bare pip; a no-op re-run of setup under 3x
the time of `envcheck --version`. Setup against bare uv plus the first import of the stack (setup's import
check is that first import) is printed beside them. Prints a table and exits 1 when a target is missed (a
command that fails stops it with its error).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from envcheck.locations import find_uv
from envcheck.profiles.files import load_profile


def timed(argv: list[str], env: dict[str, str]) -> float:
    return timed_output(argv, env)[0]


def timed_output(argv: list[str], env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    return time.perf_counter() - started, done.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=sys.executable, help="base interpreter for every environment")
    parser.add_argument("--skip-pip", action="store_true", help="leave out bare pip (the slowest)")
    parser.add_argument("--repeat", type=int, default=5, help="repetitions of the quick commands")
    args = parser.parse_args()
    profile = load_profile()
    requirements = profile.requirement_strings()
    imports = "import " + ", ".join(sorted({p.import_name for p in profile.packages if p.import_name}))
    uv = str(find_uv())
    envcheck = [sys.executable, "-m", "envcheck"]

    with tempfile.TemporaryDirectory(prefix="envcheck-bench-") as scratch:
        root = Path(scratch)

        def fresh_env(name: str) -> dict[str, str]:
            env = dict(os.environ)
            env.update(
                UV_CACHE_DIR=str(root / f"uv-cache-{name}"),
                PIP_CACHE_DIR=str(root / f"pip-cache-{name}"),
                ENVCHECK_HOME=str(root / "home"),
                JUPYTER_DATA_DIR=str(root / "jupyter"),
            )
            return env

        rows: list[tuple[str, float]] = []
        env = fresh_env("envcheck")
        prefix = root / "envcheck-env"
        seconds, output = timed_output(
            [*envcheck, "setup", "--prefix", str(prefix), "--python", args.python, "--json"], env
        )
        rows.append(("envcheck setup", seconds))
        rows += [(f"  phase: {name}", value) for name, value in json.loads(output)["phases"].items()]

        env = fresh_env("uv")
        bare = root / "uv-env"
        rows.append(
            (
                "uv venv && uv pip install",
                timed([uv, "venv", "--seed", "--python", args.python, str(bare)], env)
                + timed([uv, "pip", "install", "--python", str(bare / "bin" / "python"), *requirements], env),
            )
        )
        # what setup's import check does, as a user's first import after a bare install
        rows.append(("  then the first import of the stack", timed([str(bare / "bin" / "python"), "-c", imports], env)))
        shutil.rmtree(bare)

        if not args.skip_pip:
            env = fresh_env("pip")
            bare = root / "pip-env"
            rows.append(
                (
                    "python -m venv && pip install",
                    timed([args.python, "-m", "venv", str(bare)], env)
                    + timed([str(bare / "bin" / "python"), "-m", "pip", "install", "-q", *requirements], env),
                )
            )
            rows.append(
                ("  then the first import of the stack", timed([str(bare / "bin" / "python"), "-c", imports], env))
            )
            shutil.rmtree(bare)

        env = fresh_env("envcheck")
        noop = statistics.median(timed([*envcheck, "setup", "--prefix", str(prefix)], env) for _ in range(args.repeat))
        version = statistics.median(timed([*envcheck, "--version"], env) for _ in range(args.repeat))
        rows += [("envcheck setup (no-op re-run, median)", noop), ("envcheck --version (median)", version)]

    times = dict(rows)
    first_import = [seconds for name, seconds in rows if name == "  then the first import of the stack"]
    print(f"{'command':45} {'seconds':>9}")
    for name, seconds in rows:
        print(f"{name:45} {seconds:9.2f}")
    print()
    missed: list[str] = []

    def verdict(label: str, value: float, target: str, ok: bool) -> None:
        print(f"{label:34} = {value:5.2f}x   (target {target}) {'ok' if ok else 'MISSED'}")
        if not ok:
            missed.append(label)

    uv_ratio = times["envcheck setup"] / times["uv venv && uv pip install"]
    verdict("setup / bare uv", uv_ratio, "<= 1.15x", uv_ratio <= 1.15)
    uv_with_import = times["uv venv && uv pip install"] + first_import[0]
    print(f"{'setup / (bare uv + first import)':34} = {times['envcheck setup'] / uv_with_import:5.2f}x")
    if "python -m venv && pip install" in times:
        pip_ratio = times["python -m venv && pip install"] / times["envcheck setup"]
        verdict("bare pip / setup", pip_ratio, ">= 3x", pip_ratio >= 3)
        pip_with_import = times["python -m venv && pip install"] + first_import[1]
        print(f"{'(bare pip + first import) / setup':34} = {pip_with_import / times['envcheck setup']:5.2f}x")
    verdict("no-op / --version", noop / version, "< 3x", noop / version < 3)
    if missed:
        print(f"missed: {', '.join(missed)}", file=sys.stderr)
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
