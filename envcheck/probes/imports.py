"""Probe: import modules and read distribution versions, recording a failure per module and going on.

Stand-alone and standard library only. Input: {"modules": [...], "distributions": [...]}.
Usage: python -I imports.py CONTROL_DIR  (writes CONTROL_DIR/output.json after every module)
Run without -I (to see what a python started from the user's shell sees, PYTHONPATH and all), it takes its own
folder off ``sys.path`` first, so that nothing there can stand in for a module it imports.
"""

import importlib
import json
import os
import sys
import time

SCHEMA = 1  # the answer's format; the host reads exactly this version (envcheck/verify/answers/)


def write(control_dir, answer):
    tmp = os.path.join(control_dir, "output.json.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(answer, handle)
    os.replace(tmp, os.path.join(control_dir, "output.json"))


def distribution_version(name):
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def import_one(name):
    """Import ``name``; its version, file and time, or the error. Also used by the environment probe."""
    started = time.perf_counter()
    try:
        module = importlib.import_module(name)
    except BaseException as exc:  # a probe records every failure, SystemExit included, and goes on
        return {
            "ok": False,
            "error_type": type(exc).__name__,
            "error": str(exc)[:2000],
            "seconds": round(time.perf_counter() - started, 4),
        }
    version = getattr(module, "__version__", None)
    return {
        "ok": True,
        "version": str(version) if version is not None else None,
        "file": getattr(module, "__file__", None),
        "seconds": round(time.perf_counter() - started, 4),
    }


def main(control_dir):
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    with open(os.path.join(control_dir, "input.json"), encoding="utf-8") as handle:
        request = json.load(handle)
    answer = {
        "schema": SCHEMA,
        "prefix": sys.prefix,
        "executable": sys.executable,
        "sys_path": list(sys.path),
        "modules": {},
        "distributions": {},
    }
    for name in request.get("distributions", []):
        answer["distributions"][name] = distribution_version(name)
    write(control_dir, answer)
    for name in request.get("modules", []):
        answer["modules"][name] = {"ok": False, "error_type": "Started", "error": "import did not return"}
        write(control_dir, answer)  # a crash inside the import leaves this entry behind as the culprit
        answer["modules"][name] = import_one(name)
        write(control_dir, answer)


if __name__ == "__main__":
    main(sys.argv[1])
