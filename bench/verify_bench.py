"""Benchmark: `envcheck verify` against the floor, importing the stack once, side by side in one run.

    python bench/verify_bench.py --prefix PATH-OF-A-DEEP-LEARNING-ENV [--runs 3]
    python bench/verify_bench.py --prefix PATH-OF-A-DEEP-LEARNING-ENV --phases [--runs 5]

``--phases`` says where verify's time goes instead: verify runs in this process (gathering and judging as
`envcheck verify` does), every child it starts is timed from the host, and the environment probe's own stage
times are read from its answer. It prints, per run and as medians: envcheck's own start (importing the command,
measured as `envcheck --version`), the environment probe's start (the interpreter and the probe's helpers, up to
its first stage), its stages (interpreter facts, settings, CPU, CUDA library folders, installed distributions,
each import, each package's facts and work), the kernel probe (jupyter_client, the kernelspec listing, the
kernel's start and its answer) and `pip check` beside it, how long the environment probe waited for them at the
end, and judging, beside the floor (below) run before each verify and the ratio of the two run by run. The
relative figures hold on a busy machine; the absolute ones do not. It sets no target and exits 0.

The floor is ``ENV/bin/python -c "import tensorflow, keras, pandas, sklearn, matplotlib"``. Runs alternate
(floor, verify, floor, verify, ...) so that a busy machine slows both alike. Two memory figures are reported:

- max RSS: the largest single process of the run (getrusage RUSAGE_CHILDREN of a wrapper process, which
  covers every descendant that was waited for, the Jupyter kernel included);
- tree RSS: the largest sum of the resident sizes of all processes of the run alive at the same moment,
  sampled from /proc every 20 ms (Linux only; short peaks between samples can be missed).

Targets: wall <= 1.15x the floor, peak memory <= 1.1x the floor, both for the largest process and for all
processes summed. Exits 1 when a target is missed, or when verify or the floor itself fails.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

FLOOR_CODE = "import tensorflow, keras, pandas, sklearn, matplotlib"
# Runs a command and reports its wall time and the largest RSS of any of its (waited-for) descendants.
WRAPPER = """
import json, resource, subprocess, sys, time
start = time.monotonic()
code = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
wall = time.monotonic() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = usage.ru_utime + usage.ru_stime
print(json.dumps({"code": code, "wall": wall, "cpu": cpu, "maxrss_kib": usage.ru_maxrss}))
"""


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8") as handle:
                stat = handle.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    return children


def _rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _tree_rss(root: int) -> int:
    children = _children_map()
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += _rss_kib(pid)
        stack.extend(children.get(pid, ()))
    return total


def measure(argv: list[str]) -> dict[str, float]:
    proc = subprocess.Popen([sys.executable, "-c", WRAPPER, *argv], stdout=subprocess.PIPE, text=True)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            if sys.platform.startswith("linux"):
                peak = max(peak, _tree_rss(proc.pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = proc.communicate()
    done.set()
    sampler.join()
    result = json.loads(out)
    scale = 1024 if sys.platform != "darwin" else 1  # ru_maxrss is KiB on Linux, bytes on macOS
    return {
        "code": result["code"],
        "wall": result["wall"],
        "cpu": result["cpu"],
        "max_rss_mib": result["maxrss_kib"] * scale / 1024 / 1024,
        "tree_rss_mib": peak / 1024,
    }


def phases(prefix: Path, runs: int) -> int:
    """Run verify in this process ``runs`` times and print where its time goes, phase by phase."""
    import envcheck.verify.gather as gather_module
    from envcheck.probes import run_probe as real_probe
    from envcheck.progress import NullReporter
    from envcheck.targets import resolve_target
    from envcheck.verify.report import judge

    timeline: list[tuple[str, float, float, dict[str, object]]] = []
    real_pip_check = gather_module._pip_check

    # wall-clock times (time.time), comparable with the ones the environment probe writes in its answer
    def timed_probe(python, name, payload=None, **kwargs):  # type: ignore[no-untyped-def]
        started = time.time()
        outcome = real_probe(python, name, payload, **kwargs)
        timeline.append((name, started, time.time(), outcome.data or {}))
        return outcome

    def timed_pip_check(python, deadline):  # type: ignore[no-untyped-def]
        started = time.time()
        out = real_pip_check(python, deadline)
        timeline.append(("pip check", started, time.time(), {}))
        return out

    gather_module.run_probe = timed_probe  # type: ignore[assignment]
    gather_module._pip_check = timed_pip_check  # type: ignore[assignment]
    cli = [sys.executable, "-m", "envcheck", "--version"]
    rows: list[dict[str, float]] = []
    floor = [str(prefix / ("python.exe" if os.name == "nt" else "bin/python")), "-c", FLOOR_CODE]
    subprocess.run(floor, capture_output=True, check=True)  # warm the file cache
    for run in range(runs):
        timeline.clear()
        started = time.perf_counter()
        subprocess.run(floor, capture_output=True, check=True)  # alternating, so that load slows both alike
        floor_seconds = time.perf_counter() - started
        started = time.perf_counter()
        subprocess.run(cli, capture_output=True, check=True)
        own_start = time.perf_counter() - started
        started = time.time()
        target = resolve_target(prefix=prefix)
        evidence = gather_module.gather(target, timeout=300.0, kernel=True, lock=None, reporter=NullReporter())
        gathered = time.time()
        report = judge(evidence)
        judged = time.time()
        row = {"envcheck start (--version)": own_start, "verify's own set-up": 0.0}
        for name, begin, end, data in timeline:
            if name == "environment":
                stages = {str(k): float(v) for k, v in dict(data.get("stages") or {}).items()}  # type: ignore[call-overload]
                clock = dict(data.get("clock") or {})  # type: ignore[call-overload]
                first, done = float(clock.get("start", begin)), float(clock.get("done", end))
                row["verify's own set-up"] = begin - started
                row["environment probe: start (python, helpers)"] = first - begin
                for stage, seconds in stages.items():
                    row[f"environment probe: {stage}"] = seconds
                row["environment probe: between the stages (answers written)"] = done - first - sum(stages.values())
                row["environment probe: exit"] = end - done
                row["environment probe (wall)"] = end - begin
                row["waited after the probe (kernel, pip check)"] = gathered - end
            elif name == "kernel":
                kernel_start = float(data.get("start_seconds") or 0.0)  # type: ignore[arg-type]
                kernel_all = float(data.get("seconds") or 0.0)  # type: ignore[arg-type]
                row["kernel probe: jupyter_client and kernelspecs"] = end - begin - kernel_all
                row["kernel probe: kernel start"] = kernel_start
                row["kernel probe: answer and shutdown"] = kernel_all - kernel_start
                row["kernel probe (wall, in parallel)"] = end - begin
            else:
                row[f"{name} (wall, in parallel)"] = end - begin
        row["judging"] = judged - gathered
        row["verify in all (gather + judge)"] = judged - started
        row["floor: the bare import of the stack"] = floor_seconds
        rows.append(row)
        print(
            f"run {run + 1}: verify {row['verify in all (gather + judge)']:.2f} s, status {report.status.value};"
            f" floor {floor_seconds:.2f} s",
            file=sys.stderr,
        )
    names = list(dict.fromkeys(name for row in rows for name in row))
    total = statistics.median(r["verify in all (gather + judge)"] for r in rows)
    print(f"\n{'phase (median of ' + str(runs) + ' runs)':52} {'seconds':>8} {'share':>6}")
    for name in names:
        value = statistics.median(r.get(name, 0.0) for r in rows)
        print(f"{name:52} {value:8.3f} {value / total:6.1%}")
    # envcheck's own start counted in, as `envcheck verify` pays it
    ratios = [
        (r["envcheck start (--version)"] + r["verify in all (gather + judge)"])
        / r["floor: the bare import of the stack"]
        for r in rows
    ]
    listed = " ".join(f"{r:.2f}x" for r in ratios)
    print(f"(envcheck start + verify) / floor, run by run: {listed} (median {statistics.median(ratios):.2f}x)")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prefix", required=True, type=Path, help="a deep-learning environment")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--phases", action="store_true", help="where verify's time goes, phase by phase")
    args = parser.parse_args()
    prefix = args.prefix.absolute()
    if args.phases:
        return phases(prefix, args.runs)
    python = prefix / ("python.exe" if os.name == "nt" else "bin/python")
    floor = [str(python), "-c", FLOOR_CODE]
    verify = [sys.executable, "-m", "envcheck", "verify", "--prefix", str(prefix), "--json", "-q"]
    if hasattr(os, "getloadavg"):
        print(f"load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs", file=sys.stderr)
    measure(floor)  # warm the file cache for both
    rows: dict[str, list[dict[str, float]]] = {"floor": [], "verify": []}
    for run in range(args.runs):
        for name, argv in (("floor", floor), ("verify", verify)):
            result = measure(argv)
            rows[name].append(result)
            print(
                f"run {run + 1} {name:6} exit {int(result['code'])}  wall {result['wall']:6.2f} s"
                f"  cpu {result['cpu']:6.2f} s"
                f"  max RSS {result['max_rss_mib']:7.1f} MiB  tree RSS {result['tree_rss_mib']:7.1f} MiB",
                file=sys.stderr,
            )

    def median(name: str, key: str) -> float:
        return statistics.median(r[key] for r in rows[name])

    def best(name: str, key: str) -> float:
        return min(r[key] for r in rows[name])

    failed = [name for name, results in rows.items() if any(int(r["code"]) != 0 for r in results)]
    if hasattr(os, "getloadavg"):
        print(f"load average at end: {os.getloadavg()[0]:.2f}", file=sys.stderr)
    missed: list[str] = []
    print(f"\n{'metric (median of ' + str(args.runs) + ')':32} {'floor':>11} {'verify':>11} {'ratio':>7} {'target':>6}")
    for key, label, unit, target in (
        ("wall", "wall time", "s", 1.15),
        ("cpu", "CPU time, all processes", "s", float("inf")),
        ("max_rss_mib", "peak RSS, largest process", "MiB", 1.10),
        ("tree_rss_mib", "peak RSS, all processes summed", "MiB", 1.10),
    ):
        f, v = median("floor", key), median("verify", key)
        ratio = v / f if f else float("nan")
        mark = "" if target == float("inf") else ("ok" if ratio <= target else "MISSED")
        if mark == "MISSED":
            missed.append(label)
        goal = "" if target == float("inf") else f"{target:5.2f}x"
        print(f"{label:32} {f:8.2f}{unit:>3} {v:8.2f}{unit:>3} {ratio:6.2f}x {goal:>6} {mark}")
        if key in ("wall", "cpu"):
            # the best run of each: what is left when other programs on the machine do not get in the way
            fb, vb = best("floor", key), best("verify", key)
            print(f"{'  (best run of each)':32} {fb:8.2f}{unit:>3} {vb:8.2f}{unit:>3} {vb / fb:6.2f}x")
    if failed:
        print(f"failed: {', '.join(failed)} exited non-zero (see the runs above)", file=sys.stderr)
    if missed:
        print(f"missed: {', '.join(missed)}", file=sys.stderr)
    return 1 if failed or missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
