"""The compatibility record of the JSON contract: every key path, the required ones and every closed list of
values (status, scope, action, ...) of each schema version, as the shipped schemas describe them.

``tests/fixtures/schemas/contract-vN.json`` is the record of version N. Within a version it only grows: a key
added to a schema is a minor change and is added to the record (``ENVCHECK_RECORD_CONTRACT=1``); a key removed
or renamed, a key made required or optional, a value added to or removed from a closed list is a change of
meaning that the record of version N refuses, so it needs schema_version N+1 (and a record of its own).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from envcheck.output.schemas import NAMES, load_schema

RECORDS = Path(__file__).parents[1] / "fixtures" / "schemas"


def record_path(version: int) -> Path:
    return RECORDS / f"contract-v{version}.json"


def describe(name: str) -> dict[str, Any]:
    """Schema ``name`` as a record: {"keys": [...], "required": [...], "values": {path: [[...], ...]}}.

    A path starts with the document's kind (``report`` or ``error``) and names nested keys with dots, array
    items with ``[]`` and a map's values with ``*``: ``report.checks[].status``.
    """
    schema = load_schema(name)
    defs = schema.get("$defs", {})
    keys: set[str] = set()
    required: set[str] = set()
    values: dict[str, set[tuple[Any, ...]]] = {}

    def walk(node: Any, path: str, seen: frozenset[str]) -> None:
        if not isinstance(node, dict):
            return
        target = node.get("$ref")
        if isinstance(target, str) and target.startswith("#/$defs/"):
            ref = target.removeprefix("#/$defs/")
            if ref not in seen:  # a recursive definition is walked once
                walk(defs[ref], path, seen | {ref})
        for combinator in ("allOf", "anyOf", "oneOf"):
            for branch in node.get(combinator, []):
                walk(branch, path, seen)
        if "enum" in node:
            values.setdefault(path, set()).add(tuple(sorted(node["enum"], key=json.dumps)))
        if "const" in node:
            values.setdefault(path, set()).add((node["const"],))
        for key, sub in node.get("properties", {}).items():
            keys.add(f"{path}.{key}")
            walk(sub, f"{path}.{key}", seen)
        for key in node.get("required", []):
            required.add(f"{path}.{key}")
        if isinstance(node.get("items"), dict):
            walk(node["items"], f"{path}[]", seen)
        if isinstance(node.get("additionalProperties"), dict):
            walk(node["additionalProperties"], f"{path}.*", seen)

    if "report" in defs:
        walk({"$ref": "#/$defs/report"}, "report", frozenset())
        walk({"$ref": "#/$defs/error"}, "error", frozenset())
    else:
        walk(schema, "error", frozenset())
    return {
        "keys": sorted(keys),
        "required": sorted(required),
        "values": {path: sorted(list(v) for v in found) for path, found in sorted(values.items())},
    }


def describe_all() -> dict[str, Any]:
    return {name: describe(name) for name in NAMES}


def breaking_changes(recorded: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """What in ``current`` breaks the record of its version: each a reason a new schema_version is needed."""
    found = []
    for name, was in recorded.items():
        now = current.get(name)
        if now is None:
            found.append(f"{name}: the schema is gone")
            continue
        found += [f"{name}: key {key} removed or renamed" for key in sorted(set(was["keys"]) - set(now["keys"]))]
        for key in sorted(set(was["required"]) ^ set(now["required"])):
            if key in was["keys"]:
                made = "optional" if key in was["required"] else "required"
                found.append(f"{name}: key {key} made {made}")
        for path, values in was["values"].items():
            if now["values"].get(path) != values:
                found.append(f"{name}: the values of {path} changed from {values} to {now['values'].get(path)}")
        for path in sorted(set(now["values"]) - set(was["values"])):
            if _key_of(path) in was["keys"]:
                found.append(f"{name}: {path} became a closed list {now['values'][path]}")
    return found


def additions(recorded: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """Keys and schemas in ``current`` that the record does not hold yet (minor changes, to be recorded)."""
    found = [f"schema {name}" for name in current if name not in recorded]
    for name, now in current.items():
        was = recorded.get(name)
        if was is not None:
            found += [f"{name}: key {key}" for key in sorted(set(now["keys"]) - set(was["keys"]))]
    return found


def merged(recorded: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    """The record with the current additions: new schemas and new keys (with their required flags and values)."""
    result = json.loads(json.dumps(recorded))
    for name, now in current.items():
        was = result.setdefault(name, {"keys": [], "required": [], "values": {}})
        new = set(now["keys"]) - set(was["keys"])
        was["keys"] = sorted(set(was["keys"]) | new)
        was["required"] = sorted(set(was["required"]) | {k for k in now["required"] if k in new})
        for path, values in now["values"].items():
            if path not in was["values"] and _key_of(path) in new:
                was["values"][path] = values
    return result


def _key_of(path: str) -> str:
    """The key a value path belongs to: report.request.levels[] -> report.request.levels."""
    return re.sub(r"(\[\]|\.\*)+$", "", path)
