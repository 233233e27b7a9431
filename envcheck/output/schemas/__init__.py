"""The JSON Schemas (draft 2020-12) of the documents envcheck prints with --json: their names and files.

Each ``NAME.schema.json`` in this folder describes everything one command may print with ``--json``: its report
or its error envelope. ``error.schema.json`` is the error envelope of any command (``command`` is ``envcheck``
when no command was recognised). A document's schema is named by its ``command``, except that a verify report
with a ``fix`` key follows ``verify-fix``. The files are the contract; ``envcheck schema NAME`` prints one.
"""

from __future__ import annotations

import json
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

from envcheck.errors import UsageError

SUFFIX = ".schema.json"
# The documents, in the order `envcheck schema` lists them; each has the file NAME.schema.json here.
NAMES = ("setup", "verify", "verify-fix", "smoke-train", "lock", "download", "compare", "export", "error")


def folder() -> Traversable:
    """Where the shipped schema files are."""
    return resources.files(__name__)


def schema_file(name: str) -> Traversable:
    """The shipped file of schema ``name``; a usage error naming the valid ones for any other name."""
    if name not in NAMES:
        raise UsageError(
            f"no schema named {name!r}; the schemas are: {', '.join(NAMES)}", "list them with: envcheck schema"
        )
    return folder().joinpath(name + SUFFIX)


def schema_text(name: str) -> str:
    """The schema as shipped, byte for byte."""
    return schema_file(name).read_text(encoding="utf-8")


def load_schema(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(schema_text(name))
    return loaded
