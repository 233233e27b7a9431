"""Write envcheck/profiles/conda-pypi.txt from conda-forge's conda-to-PyPI name mapping.

The mapping is parselmouth's (https://github.com/prefix-dev/parselmouth, BSD-3-Clause), refreshed hourly from the
files inside every conda-forge package: ``files/compressed_mapping.json`` maps each conda-forge package name to the
PyPI distribution it installs, or to null where it installs none (C libraries, programs, metapackages).

What is kept, so that the file stays small: the names whose PyPI name differs beyond ``-``, ``_`` and ``.``, and
the names with no PyPI distribution, except for whole families that have none at all in the mapping (R and Perl
packages, compilers for a platform, ...), which are written once as a pattern. A conda-forge name that is not in
the file installs the PyPI distribution of the same name. ``ADDITIONS`` are envcheck's own entries, each with
its reason: metapackages the mapping lists as installing nothing (they hold no files, their dependency does),
and packages of other channels (defaults, apple, pytorch, bioconda) that real environment files name.

Usage: python scripts/conda_pypi_names.py MAPPING.json COMMIT DATE > envcheck/profiles/conda-pypi.txt
"""

from __future__ import annotations

import fnmatch
import json
import re
import sys

# Families of names that have no PyPI distribution in the mapping, each checked below to hold without exception.
FAMILIES = (
    "r-*",  # R packages
    "perl-*",
    "m2-*",  # MSYS2 programs for Windows
    "m2w64-*",
    "xorg-*",
    "xcb-*",
    "libcu*",  # CUDA libraries
    "libnv*",
    "ros-*",
    "gz-*",
    "libgz-*",
    "libignition-*",
    "terraform-*",
    "go-*",
    "cargo-*",
    "airflow-with-*",  # airflow's extras as metapackages
    "gcc*",
    "*-devel",
    "*_linux-64",  # compilers and sysroots for one platform
    "*_linux-aarch64",
    "*_linux-ppc64le",
    "*_linux-s390x",
    "*_osx-64",
    "*_osx-arm64",
    "*_win-32",
    "*_win-64",
    "*_win-arm64",
)

# name -> PyPI name, or None for none; with why the mapping cannot say it
ADDITIONS: dict[str, tuple[str | None, str]] = {
    "opencv": ("opencv-python", "conda-forge metapackage: installs py-opencv, which is opencv-python"),
    "typing-extensions": ("typing-extensions", "conda-forge metapackage: installs typing_extensions"),
    "tensorflow-gpu": ("tensorflow", "conda metapackage: installs tensorflow built for CUDA"),
    "numpy-base": ("numpy", "defaults: holds numpy's files (numpy there is its metapackage)"),
    "torchtriton": ("triton", "pytorch channel: the triton compiler PyTorch uses"),
    "pyg": ("torch-geometric", "pyg channel: PyTorch Geometric"),
    "anaconda": (None, "defaults: the metapackage of the whole Anaconda distribution"),
    "anaconda-navigator": (None, "defaults: Anaconda's desktop program"),
    "_license": (None, "defaults: Anaconda's licence files"),
    "_tflow_select": (None, "defaults: selects tensorflow's CPU or GPU build"),
    "icc_rt": (None, "defaults: Intel's compiler runtime libraries"),
    "redis": (None, "defaults: the Redis server (PyPI's redis is the client, conda's redis-py)"),
    "tensorflow-deps": (None, "apple channel: TensorFlow's macOS libraries"),
    "pytorch-cuda": (None, "pytorch channel: selects PyTorch's CUDA build"),
    "pytorch-mutex": (None, "pytorch channel: selects PyTorch's CPU or CUDA build"),
    "blast-legacy": (None, "bioconda: a program"),
    "hhsuite": (None, "bioconda: a program"),
    "psipred": (None, "bioconda: a program"),
    "signalp6": (None, "bioconda: a program"),
}


def same(a: str, b: str) -> bool:
    return re.sub(r"[-_.]+", "-", a).lower() == re.sub(r"[-_.]+", "-", b).lower()


def main(path: str, commit: str, date: str) -> None:
    with open(path, encoding="utf-8") as handle:
        mapping: dict[str, str | None] = json.load(handle)
    for pattern in FAMILIES:
        exceptions = [name for name, pypi in mapping.items() if fnmatch.fnmatchcase(name, pattern) and pypi]
        if exceptions:
            raise SystemExit(f"{pattern} has PyPI names in the mapping: {exceptions[:5]}")
    print("# conda package names and the PyPI distributions they install")
    print("#")
    print("# From conda-forge's mapping as parselmouth publishes it (https://github.com/prefix-dev/parselmouth,")
    print(f"# BSD-3-Clause): files/compressed_mapping.json at commit {commit} ({date}),")
    print("# reduced by scripts/conda_pypi_names.py (which says how to make it again).")
    print("#")
    print(
        "# NAME PYPI   the conda package installs the PyPI distribution PYPI (only where the names differ beyond - _ .)"
    )
    print("# NAME        the conda package installs no PyPI distribution")
    print("# PATTERN     every conda-forge name of that form installs none (* matches any characters)")
    print("# A conda-forge name not listed installs the PyPI distribution of the same name.")
    print()
    for pattern in FAMILIES:
        print(pattern)
    for name in sorted(mapping):
        pypi = mapping[name]
        if name in ADDITIONS or any(fnmatch.fnmatchcase(name, p) for p in FAMILIES):
            continue
        if pypi is None:
            print(name)
        elif not same(name, pypi):
            print(f"{name} {pypi}")
    print()
    print("# envcheck's additions, each with why the mapping cannot say it")
    for name, (pypi, why) in sorted(ADDITIONS.items()):
        print(f"{name} {pypi}  # {why}" if pypi else f"{name}  # {why}")


if __name__ == "__main__":
    main(*sys.argv[1:4])
