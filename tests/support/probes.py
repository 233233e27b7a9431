"""A probe script loaded as a module, for tests of its functions (the probes are scripts, not a package)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from envcheck.probes import script_path


def load_probe(name: str, folder: Path | None = None) -> ModuleType:
    """The probe script ``name`` (from envcheck's probes, or from ``folder``), under a private module name."""
    path = folder / f"{name}.py" if folder is not None else script_path(name)
    spec = importlib.util.spec_from_file_location(f"_test_probe_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
