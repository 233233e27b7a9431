"""Benchmark: `envcheck verify --fix` for a missing numpy, against doing the same by hand.

    python bench/fix_bench.py --prefix PATH-OF-A-COPY-OF-A-DEEP-LEARNING-ENV [--runs 1]

It uninstalls numpy from that environment (use a copy or a scratch environment) and, per run, times:

- by hand: the one pip command that fixes it (the plan's own command) plus one `envcheck verify`;
- `envcheck verify --fix`: the first verify, the freeze record, the same pip command, the second verify.

--fix must do the first verify to know what to run; by hand, the user has already done it. So the target is on
what --fix adds after its first verify: (--fix wall - a verify of the broken environment) <= 1.25x by hand.
Exits 1 when the target is missed, 3 when a command fails.
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

TARGET = 1.25


def run(argv: list[str], expect: int | None = 0) -> tuple[float, str]:
    started = time.monotonic()
    completed = subprocess.run(argv, capture_output=True, text=True, timeout=3600)
    wall = time.monotonic() - started
    if expect is not None and completed.returncode != expect:
        print(
            f"failed ({completed.returncode}): {' '.join(argv)}\n{completed.stdout[-2000:]}\n{completed.stderr[-2000:]}"
        )
        raise SystemExit(3)
    return wall, completed.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prefix", required=True, type=Path, help="a copy of a deep-learning environment")
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    prefix = args.prefix.absolute()
    python = str(prefix / ("python.exe" if os.name == "nt" else "bin/python"))
    envcheck = [sys.executable, "-m", "envcheck", "verify", "--prefix", str(prefix), "--json", "--no-redact"]
    uninstall = [python, "-m", "pip", "uninstall", "-y", "-q", "numpy"]
    if hasattr(os, "getloadavg"):
        print(f"load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs", file=sys.stderr)
    rows: dict[str, list[float]] = {"broken verify": [], "pip": [], "verify": [], "by hand": [], "--fix": []}
    for number in range(args.runs):
        run(uninstall)
        broken, out = run(envcheck, expect=1)
        plan = json.loads(out)["plan"]
        steps = [s["argv"] for s in plan if s["scope"] == "environment"]
        if len(steps) != 1:
            print(f"expected one environment step for a missing numpy, got {steps}")
            return 3
        pip, _ = run(steps[0])
        again, _ = run(envcheck)
        run(uninstall)
        fixed, _ = run([*envcheck, "--fix"])
        for key, value in (
            ("broken verify", broken),
            ("pip", pip),
            ("verify", again),
            ("by hand", pip + again),
            ("--fix", fixed),
        ):
            rows[key].append(value)
        print(
            f"run {number + 1}: broken verify {broken:6.1f} s  pip {pip:6.1f} s  verify {again:6.1f} s"
            f"  --fix {fixed:6.1f} s",
            file=sys.stderr,
        )
    if hasattr(os, "getloadavg"):
        print(f"load average at end: {os.getloadavg()[0]:.2f}", file=sys.stderr)
    median = {k: statistics.median(v) for k, v in rows.items()}
    print(f"\n{'median of ' + str(args.runs) + ' run(s)':36} {'seconds':>8}")
    for key, value in median.items():
        print(f"{key:36} {value:8.1f}")
    added = median["--fix"] - median["broken verify"]
    ratio = added / median["by hand"]
    verdict = "ok" if ratio <= TARGET else "over"
    print(f"{'--fix after its first verify':36} {added:8.1f}  {ratio:.2f}x by hand (target {TARGET}x) {verdict}")
    print(f"{'--fix against by hand, whole':36} {median['--fix']:8.1f}  {median['--fix'] / median['by hand']:.2f}x")
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
