"""The --json documents against the shipped JSON Schemas: which schema a document follows, and what is wrong.

The shipped schemas leave objects open (a newer minor version may add keys, and an older schema must still
accept its documents); the tests validate *closed*: every object that the schemas describe with ``properties``
and leave open gets ``unevaluatedProperties: false``, so a key envcheck prints without documenting it fails.
Open maps (versions, a check's ``data``) say ``additionalProperties`` themselves and are left as they are.
"""

from __future__ import annotations

import copy
import functools
import json
import os
from collections import Counter
from collections.abc import Sequence
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from envcheck.output.schemas import NAMES, load_schema

# Documents validated in this test run, by schema name and by where they came from ("printed", "subprocess",
# "recorded"); the terminal summary reports them.
VALIDATED: Counter[tuple[str, str]] = Counter()


def schema_name(document: Any) -> str | None:
    """The schema a document follows, by its command (verify with a fix key: verify-fix); None if none does."""
    if not isinstance(document, dict):
        return None
    command = document.get("command")
    if command == "verify" and "fix" in document:
        return "verify-fix"
    if command == "envcheck" or (command not in NAMES and "error" in document):
        return "error"
    return command if command in NAMES else None


def closed(schema: Any) -> Any:
    """The schema with every described object closed to the keys it names (see the module's docstring)."""
    schema = copy.deepcopy(schema)

    def close(node: Any) -> None:
        if isinstance(node, dict):
            kinds = node.get("type")
            is_object = kinds == "object" or (isinstance(kinds, list) and "object" in kinds)
            open_keys = "additionalProperties" in node or "unevaluatedProperties" in node
            if is_object and "properties" in node and not open_keys:
                node["unevaluatedProperties"] = False
            for value in node.values():
                close(value)
        elif isinstance(node, list):
            for value in node:
                close(value)

    close(schema)
    return schema


@functools.cache
def validator(name: str, *, strict: bool = True, branch: str | None = None) -> Draft202012Validator:
    """A validator of schema ``name``; ``branch``: only its ``$defs`` entry of that name (for clearer reasons)."""
    schema = load_schema(name)
    if branch is not None:
        schema = {key: value for key, value in schema.items() if key not in ("oneOf", "allOf", "properties")}
        schema["$ref"] = f"#/$defs/{branch}"
    return Draft202012Validator(closed(schema) if strict else schema)


def problems(document: Any, *, strict: bool = True) -> list[str]:
    """Why ``document`` does not follow its schema; empty when it does."""
    name = schema_name(document)
    if name is None:
        command = document.get("command") if isinstance(document, dict) else None
        return [f"no schema for a document of command {command!r}"]
    if validator(name, strict=strict).is_valid(document):
        return []
    # the branch the document meant to follow (a report, or the error envelope) gives the readable reasons
    meant = "error" if "error" in document else "report"
    errors = []
    if name != "error" and meant in load_schema(name).get("$defs", {}):
        errors = list(validator(name, strict=strict, branch=meant).iter_errors(document))
    errors = errors or list(validator(name, strict=strict).iter_errors(document))
    best = best_match(errors)
    reasons = sorted({f"{_where(e)}: {e.message[:300]}" for e in _leaves(errors)})
    return [f"{name}.schema.json ({meant}) at {_where(best)}: {best.message[:300]}", *reasons[:8]]


def _where(error: Any) -> str:
    return "/".join(str(p) for p in error.absolute_path) or "(top)"


def _leaves(errors: Sequence[Any]) -> list[Any]:
    found = []
    for error in errors:
        found.extend(_leaves(error.context) if error.context else [error])
    return found


def check(document: Any, where: str) -> list[str]:
    """Validate (closed) and count one document; the problems, if any."""
    found = problems(document)
    if not found:
        name = schema_name(document) or "?"
        VALIDATED[(f"{name} (error)" if "error" in document and name != "error" else name, where)] += 1
    return found


def envcheck_json_run(argv: Sequence[Any]) -> bool:
    """Whether ``argv`` runs envcheck with --json for a command that prints a document (not `run`, whose
    output is the command's own)."""
    words = [os.fspath(a) for a in argv]
    if not words:
        return False
    if os.path.basename(words[0]).lower() in ("envcheck", "envcheck.exe"):
        rest = words[1:]
    else:
        starts = [i for i in range(len(words) - 1) if words[i : i + 2] == ["-m", "envcheck"]]
        if not starts:
            return False
        rest = words[starts[0] + 2 :]
    command = next((w for w in rest if not w.startswith("-")), None)
    return command != "run" and "--json" in rest and "--help" not in rest


def check_output(stdout: str | bytes | None, where: str) -> list[str]:
    """The stdout of an envcheck --json process: exactly one document, following its schema."""
    if stdout is None:
        return []  # not captured: nothing reached the test
    text = stdout.decode("utf-8", "replace") if isinstance(stdout, bytes) else stdout
    if not text.strip():
        return []  # killed before it printed (the tests that do that check the exit themselves)
    try:
        document = json.loads(text)
    except ValueError as exc:
        return [f"stdout is not one JSON document: {exc}: {text[:200]!r}"]
    return check(document, where)


def summary() -> str | None:
    if not VALIDATED:
        return None
    total = sum(VALIDATED.values())
    by_where = Counter[str]()
    by_name = Counter[str]()
    for (name, where), count in VALIDATED.items():
        by_where[where] += count
        by_name[name] += count
    wheres = ", ".join(f"{count} {where}" for where, count in sorted(by_where.items()))
    names = ", ".join(f"{name} {count}" for name, count in sorted(by_name.items()))
    return f"JSON documents validated against envcheck's schemas: {total} ({wheres}); by schema: {names}"
