"""Conda package names and the PyPI distributions they install, from conda-forge's maintained mapping.

conda and PyPI name the same Python package differently (``py-xgboost`` is ``xgboost``, ``pytables`` is
``tables``, ``python-graphviz`` is ``graphviz``), and many conda packages are no Python package at all
(``ffmpeg``, ``cudatoolkit``, ``libpng``). ``conda-pypi.txt`` beside this module holds conda-forge's mapping
(through parselmouth; scripts/conda_pypi_names.py says where it comes from and how it is made), so that an
environment.yml built without conda asks PyPI for the right names and says which ones PyPI has no equivalent of.

Conda names are compared as conda compares them: lowercased, never with ``-`` and ``_`` folded together
(``typing-extensions`` and ``typing_extensions`` are two conda packages).
"""

from __future__ import annotations

import fnmatch
import functools
import re
from importlib import resources

from packaging.utils import canonicalize_name

NO_PYPI = ""  # what ``pypi_name`` returns for a conda package that installs no PyPI distribution
_PEP508_NAME = re.compile(r"^([a-z0-9]|[a-z0-9][a-z0-9._-]*[a-z0-9])$")


@functools.cache
def _table() -> tuple[dict[str, str], tuple[str, ...]]:
    names: dict[str, str] = {}
    patterns: list[str] = []
    text = (resources.files("envcheck.profiles") / "conda-pypi.txt").read_text(encoding="utf-8")
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].split()
        if not line:
            continue
        if "*" in line[0]:
            patterns.append(line[0])
        else:
            names[line[0]] = line[1] if len(line) > 1 else NO_PYPI
    return names, tuple(patterns)


def pypi_name(conda_name: str) -> str:
    """The canonical PyPI name of the distribution the conda package ``conda_name`` installs, or ``NO_PYPI``."""
    name = conda_name.lower()
    names, patterns = _table()
    if name in names:
        found = names[name]
        return canonicalize_name(found) if found else NO_PYPI
    if any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns) or not _PEP508_NAME.match(name):
        return NO_PYPI  # a family with no PyPI name, or a name PyPI cannot have (_libgcc_mutex)
    return canonicalize_name(name)
