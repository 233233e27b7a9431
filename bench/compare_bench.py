"""Benchmark: `envcheck compare` on 1,000 generated reports, the whole command as a user runs it.

The reports are copies of a real verify report (tests/fixtures/compare/verify-linux-cpu.json) and a real
smoke-train report, as a fleet would send them: most identical, some with another TensorFlow, a failing check
or another GPU. Target: under 2 seconds of wall time (the median of --reps runs), for the table, --json and
--markdown. Exits 1 when the target is missed, 2 when compare does not give the exit code the drift implies.

    python bench/compare_bench.py [--reports 1000] [--reps 3]
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_S = 2.0
FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "compare"


def generate(folder: Path, count: int) -> list[Path]:
    verify = json.loads((FIXTURES / "verify-linux-cpu.json").read_text(encoding="utf-8"))
    smoke = json.loads((FIXTURES / "smoke-train-workers-2.json").read_text(encoding="utf-8"))
    paths = []
    for i in range(count):
        document = copy.deepcopy(smoke if i % 10 == 9 else verify)
        if i % 97 == 5:
            document["versions"]["tensorflow"] = "2.20.0"
        if i % 131 == 7 and document["command"] == "verify":
            next(c for c in document["checks"] if c["id"] == "device.tensorflow")["status"] = "fail"
        if i % 50 == 3 and document["command"] == "verify":
            document["devices"] = [{"type": "GPU", "model": "NVIDIA H200", "source": "nvidia-smi"}]
        path = folder / f"node{i:04d}.json"
        path.write_text(json.dumps(document, indent=2), encoding="utf-8")
        paths.append(path)
    return paths


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reports", type=int, default=1000)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="envcheck-compare-bench-") as tmp:
        paths = generate(Path(tmp), args.reports)
        size = sum(p.stat().st_size for p in paths) / 1e6
        print(f"{len(paths)} reports, {size:.1f} MB in all")
        worst = 0.0
        for mode in ([], ["--json"], ["--markdown"]):
            argv = [sys.executable, "-m", "envcheck", "compare", *map(str, paths), *mode]
            times = []
            for _ in range(args.reps):
                started = time.perf_counter()
                completed = subprocess.run(argv, capture_output=True, text=True, timeout=120)
                times.append(time.perf_counter() - started)
                if completed.returncode != 1:  # the generated fleet drifts: anything else is a broken compare
                    print(f"compare exited {completed.returncode}, expected 1:\n{completed.stderr[-2000:]}")
                    return 2
            median = statistics.median(times)
            worst = max(worst, median)
            label = " ".join(mode) or "table"
            print(f"  {label:10} median {median:5.2f} s  (min {min(times):.2f}, max {max(times):.2f})")
    verdict = "within" if worst <= TARGET_S else "OVER"
    print(f"slowest median {worst:.2f} s: {verdict} the {TARGET_S:.0f} s target")
    return 0 if worst <= TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
