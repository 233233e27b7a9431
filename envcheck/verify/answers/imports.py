"""The imports probe's answer (envcheck/probes/imports.py) as verify reads it: what a python started from the
user's shell imports, PYTHONPATH and all."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from envcheck.verify.answers.common import ImportResult, as_imports, as_text, check_schema

IMPORTS_SCHEMA = 1  # the version this envcheck reads; the probe writes its own SCHEMA


@dataclass(frozen=True)
class ImportsAnswer:
    """The imports probe's answer (envcheck/probes/imports.py), run as a python started from the user's shell."""

    schema: int = IMPORTS_SCHEMA
    modules: Mapping[str, ImportResult] = field(default_factory=dict)
    prefix: str | None = None
    executable: str | None = None


def read_imports(answer: Mapping[str, Any]) -> ImportsAnswer:
    """The imports probe's answer, once; ProbeVersionError for another schema than IMPORTS_SCHEMA."""
    check_schema("imports", answer, IMPORTS_SCHEMA)
    return ImportsAnswer(
        modules=as_imports(answer.get("modules")),
        prefix=as_text(answer.get("prefix")),
        executable=as_text(answer.get("executable")),
    )
