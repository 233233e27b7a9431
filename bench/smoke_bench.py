"""Benchmark: `envcheck smoke-train` (all levels) against the floor `python -c "import tensorflow, keras"`.

Both run in the same environment, alternately, after one warm-up run of each (not counted), so disk cache and
bytecode cache are the same for both. Target: smoke-train's wall time at most 2.5x the floor's.

    python bench/smoke_bench.py ENV_PREFIX [--reps 5] [-- extra smoke-train options]

Bytecode: probes run as `python -I`, which ignores PYTHONDONTWRITEBYTECODE, so the warm-up smoke-train writes
__pycache__ into an environment installed without it (uv's default); the floor then uses it too. Without that,
every import of TensorFlow compiles its modules again (about 11 s instead of 4 s on a 2-core machine).
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

TARGET_RATIO = 2.5


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """Wall seconds, CPU seconds (user + system, all child processes) and the result."""
    before = _children_cpu()
    started = time.perf_counter()
    completed = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=1800)
    return time.perf_counter() - started, _children_cpu() - before, completed


def _children_cpu() -> float:
    try:
        import resource
    except ImportError:  # Windows
        return 0.0
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("prefix", type=Path, help="the environment (its bin/python is used)")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("extra", nargs="*", help="extra smoke-train options, after --")
    args = parser.parse_args()

    python = args.prefix / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    env = dict(os.environ)
    floor = [str(python), "-c", "import tensorflow, keras"]
    smoke = [sys.executable, "-m", "envcheck", "smoke-train", "--python", str(python), "--json", *args.extra]

    print(f"environment: {args.prefix}")
    print(f"{os.cpu_count()} CPUs; load average before: {os.getloadavg()[0]:.2f}" if hasattr(os, "getloadavg") else "")
    for argv in (smoke, floor):  # warm-up: disk cache, bytecode cache
        timed(argv, env)

    floors: list[float] = []
    smokes: list[float] = []
    cpu_floor: list[float] = []
    cpu_smoke: list[float] = []
    last: dict[str, object] = {}
    for rep in range(args.reps):
        f, f_cpu, fc = timed(floor, env)
        s, s_cpu, sc = timed(smoke, env)
        for name, done in (("the floor", fc), ("smoke-train", sc)):
            if done.returncode != 0:  # a benchmark of a failing command measures nothing
                print(f"{name} exited {done.returncode}:\n{done.stderr[-2000:]}", file=sys.stderr)
                return 1
        last = json.loads(sc.stdout) if sc.stdout.strip() else {}
        floors.append(f)
        smokes.append(s)
        cpu_floor.append(f_cpu)
        cpu_smoke.append(s_cpu)
        print(
            f"  rep {rep + 1}: floor {f:6.2f} s   smoke-train {s:6.2f} s   ratio {s / f:4.2f}"
            f"   (CPU {f_cpu:5.1f} s vs {s_cpu:5.1f} s; {last.get('status')})"
        )

    f_med, s_med = statistics.median(floors), statistics.median(smokes)
    print()
    print(f"{'':22}{'median':>9}{'min':>9}{'max':>9}")
    print(f"{'import tf, keras':22}{f_med:9.2f}{min(floors):9.2f}{max(floors):9.2f}")
    print(f"{'smoke-train (all)':22}{s_med:9.2f}{min(smokes):9.2f}{max(smokes):9.2f}")
    ratio = s_med / f_med
    verdict = "within" if ratio <= TARGET_RATIO else "OVER"
    print(f"ratio of medians: {ratio:.2f}x ({verdict} the {TARGET_RATIO}x target)")
    print(
        f"CPU seconds (median): floor {statistics.median(cpu_floor):.1f}, smoke-train"
        f" {statistics.median(cpu_smoke):.1f}; a machine busy with other work stretches the two-process smoke-train"
    )

    runs = last.get("runs") or []
    if isinstance(runs, list) and runs:
        print()
        print(f"{'run (last rep)':22}{'first':>9}{'rest':>9}{'steps/s':>10}")
        for run in runs:
            if run.get("status") == "ok":
                print(
                    f"{run['name']:22}{run['first_step_s']:9.3f}{run['rest_s']:9.3f}{run.get('steps_per_s') or 0:10.0f}"
                )
        probe = last.get("probe") or {}
        print(f"probe processes: {probe.get('processes')}, probe wall {probe.get('seconds')} s")
    return 0 if ratio <= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
