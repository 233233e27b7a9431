"""Probe: import modules and read distribution versions, recording a failure per module and going on.

Stand-alone and standard library only. Input: {"modules": [...], "distributions": [...], "discover": [...],
"first": [...]}: ``discover`` names distributions ({"name", "import": the guess, "most": how many}) whose
modules are read from the environment's own records (``provided_modules``: RECORD, else top_level.txt) and
imported too, the most likely first; ``first`` are modules imported before all
others when they are installed (TensorFlow, as a user's program imports it first).
Usage: python -I imports.py CONTROL_DIR  (writes CONTROL_DIR/output.json after every module)
Run without -I (to see what a python started from the user's shell sees, PYTHONPATH and all), it takes its own
folder off ``sys.path`` first, so that nothing there can stand in for a module it imports.
"""

import importlib
import importlib.machinery
import importlib.util
import json
import os
import platform
import re
import sys
import time

SCHEMA = 1  # the answer's format; the host reads exactly this version (envcheck/verify/answers/)
# Entry-point groups of programs that load their plugins themselves, with the program's own package (which
# declares its built-in plugins in the same group): a plugin is no module a user imports
PLUGIN_GROUPS = {"tensorboard_plugins": ("tensorboard", "a TensorBoard plugin, loaded by TensorBoard")}
# Distributions another program loads as its plugin without an entry point: TensorFlow imports its GCS file-system
# plugin itself (tensorflow/__init__.py, with TF_USE_MODULAR_FILESYSTEM); built for one TensorFlow release, it does
# not load with another, and no user's program imports it
PLUGIN_DISTRIBUTIONS = {
    "tensorflow-io-gcs-filesystem": "TensorFlow's GCS file-system plugin, which TensorFlow loads itself",
}
# Top-level names a wheel sometimes carries by mistake, never what its users import
NOT_MODULES = {
    "test",
    "tests",
    "testing",
    "doc",
    "docs",
    "example",
    "examples",
    "benchmark",
    "benchmarks",
    "setup",
    "conftest",
}
MOST_MODULES = 8  # of one distribution: the most likely ones


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


def provided_modules(name, guess=None):
    """The modules distribution ``name`` really provides, as its own records say (RECORD, else top_level.txt):
    {"modules": [most likely first], "reason": why there are none, or None}; None when it is not installed.

    A module is a top-level package with Python code or an extension module in it (an empty ``__init__.py``
    beside shared libraries, as the CUDA wheels have, is none); inside a namespace package (google/) it is the
    first regular package (google.protobuf). Private modules count only where there is nothing else.
    """
    from importlib import metadata

    try:
        dist = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return None
    except Exception:  # noqa: BLE001 - a broken record is read as no record
        return None
    if _canonical(name) in PLUGIN_DISTRIBUTIONS:
        return {"modules": [], "reason": PLUGIN_DISTRIBUTIONS[_canonical(name)]}
    try:
        points = [(ep.group, ep.value) for ep in dist.entry_points]
    except Exception:  # noqa: BLE001
        points = []
    for group, (program, said) in PLUGIN_GROUPS.items():
        values = [value for kind, value in points if kind == group]
        if values and not all(value.split(".")[0].split(":")[0] == program for value in values):
            return {"modules": [], "reason": said}
    counts = {}
    try:
        files = dist.files
    except Exception:  # noqa: BLE001
        files = None
    if files is not None:
        counts = _modules_in(files)
    else:
        try:
            for line in (dist.read_text("top_level.txt") or "").split():
                counts[line.strip().replace("/", ".")] = 1
        except Exception:  # noqa: BLE001
            pass
    names = [
        m for m in counts if all(part.isidentifier() for part in m.split(".")) and m.split(".")[0] not in NOT_MODULES
    ]
    public = [m for m in names if not any(part.startswith("_") for part in m.split("."))]
    names = public or names
    if not names:
        return {"modules": [], "reason": "no Python module among its files (libraries or data only)"}
    canonical = _canonical(name).replace("-", "_")

    def rank(module):
        top = module.split(".")[-1]
        return (module != guess, _canonical(top).replace("-", "_") != canonical, -counts[module], module)

    return {"modules": sorted(names, key=rank)[:MOST_MODULES], "reason": None}


def _modules_in(files):
    """Importable module -> how many code files it holds, from a RECORD's paths."""
    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES) + (".pyd", ".abi3.so", ".so")
    paths = []
    packages = set()  # folders with a non-empty or any __init__.py: regular packages
    for entry in files:
        parts = tuple(entry.parts)
        if not parts or parts[0] in ("..", "bin", "Scripts") or parts[0].endswith((".dist-info", ".egg-info", ".data")):
            continue
        if "__pycache__" in parts:
            continue
        if parts[-1] == "__init__.py":
            packages.add(parts[:-1])
        paths.append((parts, entry.size))
    counts = {}
    for parts, size in paths:
        leaf = parts[-1]
        if leaf.endswith(".py"):
            if not size or (leaf == "__init__.py" and size in ("0", 0)):
                continue  # an empty __init__.py marks a folder; it is no code
            stem = leaf[:-3]
        elif leaf.endswith(suffixes) and "." in leaf:
            stem = leaf.split(".", 1)[0]
        else:
            continue
        folders = parts[:-1]
        owner = next((folders[:k] for k in range(1, len(folders) + 1) if folders[:k] in packages), None)
        if owner is None:
            module = ".".join(folders + (stem,))  # a module at the top, or in a namespace folder
            if stem == "__init__":
                continue
        else:
            module = ".".join(owner)
        counts[module] = counts.get(module, 0) + 1
    return counts


def _canonical(name):
    """PEP 503's normal form of a distribution name."""
    return re.sub(r"[-_.]+", "-", name).lower()


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
        "python_version": platform.python_version(),
        "sys_path": list(sys.path),
        "modules": {},
        "distributions": {},
    }
    for name in request.get("distributions", []):
        answer["distributions"][name] = distribution_version(name)
    modules = list(request.get("modules", []))
    if "discover" in request:
        answer["provides"] = {}
        for package in request["discover"]:
            found = provided_modules(package["name"], package.get("import"))
            answer["provides"][package["name"]] = found
            if found is None:  # not installed: its guessed name says so when it is imported
                modules += [package["import"]] if package.get("import") else []
            else:
                modules += found["modules"][: package.get("most", len(found["modules"]))]
    first = [m for m in request.get("first", []) if importlib.machinery.PathFinder.find_spec(m) is not None]
    answer["first"] = first
    write(control_dir, answer)
    for name in dict.fromkeys(first + modules):
        answer["modules"][name] = {"ok": False, "error_type": "Started", "error": "import did not return"}
        write(control_dir, answer)  # a crash inside the import leaves this entry behind as the culprit
        answer["modules"][name] = import_one(name)
        write(control_dir, answer)


if __name__ == "__main__":
    main(sys.argv[1])
