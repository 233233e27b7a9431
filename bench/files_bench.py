"""Benchmark `envcheck setup --file` on the corpus's buildable real files against a bare `uv venv && uv pip install -r`.

    python bench/files_bench.py [--only ID ...] [--python PATH] [--fresh-cache]

The files are those of tests/data/real/MANIFEST.toml whose expected outcome is "builds". For each, a bare uv run
first (untimed) fills uv's cache, then setup and the bare run are timed on that same warm cache, in that order;
``--fresh-cache`` gives every run a new empty cache instead (each then downloads everything: slow). Target, per
file: setup within 1.15x of the bare run plus setup's own import check (the first import of what the file lists,
which the bare run never does). Prints a table and exits 1 when a file misses it or fails to build.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from envcheck.locations import find_uv

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "data" / "real"
TARGET = 1.15


def buildable() -> dict[str, Path]:
    manifest = tomllib.loads((CORPUS / "MANIFEST.toml").read_text(encoding="utf-8"))
    return {t["id"]: CORPUS / t["path"] for t in manifest["file"] if t.get("expected") == "builds"}


def timed(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
    return time.perf_counter() - started, done


def bare(uv: str, python: str, file: Path, prefix: Path, env: dict[str, str]) -> float:
    """`uv venv && uv pip install -r FILE`, from the file's folder as setup runs it; its seconds."""
    first, made = timed([uv, "venv", "--seed", "--python", python, str(prefix)], env, file.parent)
    second, installed = timed([uv, "pip", "install", "--python", str(prefix / "bin" / "python"), "-r", str(file)], env, file.parent)  # fmt: skip
    for done in (made, installed):
        if done.returncode != 0:
            raise RuntimeError(f"bare uv failed on {file}: {done.stderr.strip().splitlines()[-1:]}")
    return first + second


def main() -> int:
    files = buildable()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", choices=sorted(files), help="these files only (default: all buildable)")
    parser.add_argument("--python", default=sys.executable, help="base interpreter for every environment")
    parser.add_argument("--fresh-cache", action="store_true", help="a new empty uv cache for every run")
    args = parser.parse_args()
    chosen = {k: v for k, v in files.items() if not args.only or k in args.only}
    uv = str(find_uv())
    envcheck = [sys.executable, "-m", "envcheck"]
    rows: list[tuple[str, str, str, str, str, str]] = []
    missed = False
    with tempfile.TemporaryDirectory(prefix="envcheck-files-bench-") as scratch:
        root = Path(scratch)
        for number, (entry, file) in enumerate(sorted(chosen.items())):
            env = dict(os.environ, ENVCHECK_HOME=str(root / "home"))

            def cache(run: str, entry: str = entry, env: dict[str, str] = env) -> dict[str, str]:
                return {**env, "UV_CACHE_DIR": str(root / f"cache-{entry}-{run}")} if args.fresh_cache else env

            try:
                if not args.fresh_cache:
                    bare(uv, args.python, file, root / f"warm-{number}", env)  # fills the cache, untimed
                seconds, done = timed(
                    [*envcheck, "setup", "--file", str(file), "--prefix", str(root / f"setup-{number}"),
                     "--python", args.python, "--no-kernel", "--json"],
                    cache("setup"),
                    file.parent,
                )  # fmt: skip
                if done.returncode != 0:
                    said = json.loads(done.stdout)["error"]["message"] if done.stdout.strip() else done.stderr
                    raise RuntimeError(f"setup failed on {entry}: {said}")
                phases = json.loads(done.stdout)["phases"]
                baseline = bare(uv, args.python, file, root / f"bare-{number}", cache("bare"))
            except RuntimeError as exc:
                rows.append((entry, "failed", "", "", "", str(exc)[:120]))
                missed = True
                continue
            imports = phases.get("import check", 0.0)
            allowed = TARGET * baseline + imports
            ok = seconds <= allowed
            missed |= not ok
            rows.append(
                (
                    entry,
                    f"{seconds:.1f}",
                    f"{baseline:.1f}",
                    f"{imports:.1f}",
                    f"{seconds / baseline:.2f}x",
                    f"{'ok' if ok else 'MISSED'} (allowed {allowed:.1f} s)",
                )
            )
    header = ("file", "setup s", "bare uv s", "import check s", "setup/bare", f"<= {TARGET}x bare + import check")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
