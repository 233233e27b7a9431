"""Benchmark: `envcheck --help` stays fast with shell completion switched on.

    python bench/help_bench.py [--runs 15] [--target 0.15]

Runs the installed ``envcheck`` entry point (the one a user's shell runs) ``--runs`` times with its output to
/dev/null, after one warm-up run, and reports the median and the fastest wall time. Each run alternates with
one of the same app with completion switched off (``python -c``), so that a busy machine slows both alike and
the cost of completion shows as the difference. Also times ``envcheck --show-completion bash`` (what a shell's
completion setup runs once). Exits 1 when the median misses the target, 2 when a command fails.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

# The same app with typer's completion options switched off, for the comparison.
WITHOUT_COMPLETION = (
    "import sys; from envcheck.cli import app; app._add_completion = False; sys.argv[0] = 'envcheck'; app()"
)


def envcheck_command() -> list[str]:
    beside = Path(sys.executable).parent / "envcheck"
    found = str(beside) if beside.exists() else shutil.which("envcheck")
    return [found] if found else [sys.executable, "-m", "envcheck"]


def timed(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    completed = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, timeout=60)
    elapsed = time.perf_counter() - start
    if completed.returncode != 0:
        sys.stderr.write(f"{' '.join(argv)} failed with {completed.returncode}: {completed.stderr.decode()[-500:]}\n")
        sys.exit(2)
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--target", type=float, default=0.15, help="seconds, median of the runs")
    args = parser.parse_args()
    command = envcheck_command()
    env = {**os.environ, "SHELL": "/bin/bash"}
    without = [sys.executable, "-c", WITHOUT_COMPLETION, "--help"]
    timed([*command, "--help"], env)  # warm-up: the first run pays for the disk cache
    runs: list[float] = []
    baseline: list[float] = []
    for _ in range(args.runs):
        runs.append(timed([*command, "--help"], env))
        baseline.append(timed(without, env))
    completion = statistics.median(timed([*command, "--show-completion", "bash"], env) for _ in range(3))
    median = statistics.median(runs)
    print(f"envcheck --help: median {median:.3f}s, fastest {min(runs):.3f}s over {args.runs} runs")
    print(f"same without completion: median {statistics.median(baseline):.3f}s, fastest {min(baseline):.3f}s")
    print(f"envcheck --show-completion bash: median {completion:.3f}s")
    if median > args.target:
        print(f"MISSED: median {median:.3f}s > target {args.target:.3f}s")
        return 1
    print(f"ok: median {median:.3f}s <= target {args.target:.3f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
