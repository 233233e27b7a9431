"""Benchmark: distributed smoke-train against the single-process, single-device run, in one environment.

    python bench/distributed_bench.py ENV_PREFIX [--reps 3] [--epochs 2000]

Runs, alternately, after one warm-up of each (not counted):
- `smoke-train --level tape` (one process, one device: the single-process reference),
- `smoke-train --workers 2` (two worker processes on 127.0.0.1, MultiWorkerMirroredStrategy),
- `smoke-train --strategy mirrored --device cpu` (MirroredStrategy over two logical CPU devices).
Reports the wall-time ratios, the collective's wall time per step (one all-reduce of the gradients) and the
time of a training step in each. Targets: `--workers 2` at most 3x the wall time of `--level tape`, and the
mirrored run at most 2x. Exits 1 when a target is missed, 2 when a timed command fails.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

WORKERS_TARGET = 3.0
MIRRORED_TARGET = 2.0


def timed(argv: list[str]) -> tuple[float, dict[str, Any]] | None:
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, timeout=1800)
    wall = time.perf_counter() - started
    try:
        document = json.loads(done.stdout)
    except ValueError:
        document = {}
    if done.returncode != 0 or document.get("status") not in ("pass", "warn"):
        print(f"the timed command failed (exit {done.returncode}): {' '.join(argv)}", file=sys.stderr)
        failing = [c for c in document.get("checks", []) if c.get("status") == "fail"]
        for check in failing[:5]:
            print(f"  {check['id']}: {check['detail']}", file=sys.stderr)
        print(done.stderr[-1500:], file=sys.stderr)
        return None
    return wall, document


def step_times(document: dict[str, Any]) -> tuple[float | None, float | None]:
    """(training step, all-reduce) seconds per step, the slowest worker's."""
    check = next((c for c in document["checks"] if c["id"] == "distributed.collective-time"), None)
    if check is None:
        run = next(r for r in document["runs"] if r["name"] == "tape-batchN")
        return run["rest_s"] / max(1, run["steps"] - 1), None
    return max(check["data"]["train_s_per_step"]), max(check["data"]["collective_s_per_step"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("prefix", type=Path, help="the environment (its bin/python is used)")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=2000)
    args = parser.parse_args()
    python = args.prefix / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    base = [sys.executable, "-m", "envcheck", "smoke-train", "--python", str(python), "--json"]
    base += ["--epochs", str(args.epochs)]
    commands = {
        "tape (1 process)": [*base, "--level", "tape"],
        "--workers 2": [*base, "--workers", "2"],
        "mirrored, 2 CPUs": [*base, "--strategy", "mirrored", "--device", "cpu"],
    }
    load = f"; load average {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else ""
    print(f"environment: {args.prefix}; {os.cpu_count()} CPUs{load}; {args.epochs} epochs")
    for argv in commands.values():  # warm-up: disk cache, bytecode cache
        if timed(argv) is None:
            return 2
    walls: dict[str, list[float]] = {name: [] for name in commands}
    steps: dict[str, tuple[float | None, float | None]] = {}
    for rep in range(args.reps):
        line = []
        for name, argv in commands.items():
            result = timed(argv)
            if result is None:
                return 2
            walls[name].append(result[0])
            steps[name] = step_times(result[1])
            line.append(f"{name} {result[0]:6.2f} s")
        print(f"  rep {rep + 1}: " + "   ".join(line))
    median = {name: statistics.median(values) for name, values in walls.items()}
    print()
    print(f"{'':20}{'wall (median)':>14}{'step':>11}{'all-reduce':>12}")
    for name in commands:
        step, collective = steps[name]
        shown = f"{collective * 1000:9.3f} ms" if collective is not None else f"{'-':>12}"
        print(f"{name:20}{median[name]:12.2f} s{(step or 0) * 1000:8.3f} ms{shown}")
    workers = median["--workers 2"] / median["tape (1 process)"]
    mirrored = median["mirrored, 2 CPUs"] / median["tape (1 process)"]
    ok = workers <= WORKERS_TARGET and mirrored <= MIRRORED_TARGET
    print(f"--workers 2 / --level tape: {workers:.2f}x (target {WORKERS_TARGET}x)")
    print(f"mirrored on 2 logical CPUs / --level tape: {mirrored:.2f}x (target {MIRRORED_TARGET}x)")
    print("within the targets" if ok else "OVER a target")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
