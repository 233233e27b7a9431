"""MkDocs hook: one page per shipped JSON Schema (schemas/NAME.md), made from the files inside the package at
every build, so the pages can never differ from what `envcheck schema NAME` prints (never committed)."""

from __future__ import annotations

from typing import Any

from envcheck.output.schemas import NAMES, SUFFIX, load_schema, schema_text


def schema_page(name: str) -> str:
    """The page of schema ``name``: what it describes, the keys of its report, and the schema itself."""
    schema = load_schema(name)
    defs = schema.get("$defs", {})
    lines = [
        f"# {schema['title']}",
        "",
        schema["description"],
        "",
        f"`envcheck schema {name}` prints it; `envcheck schema {name} --path` says where the file is "
        f"(`envcheck/output/schemas/{name}{SUFFIX}` inside the installed package). "
        "The compatibility rule is on [the schemas' page](index.md).",
        "",
    ]
    top = defs.get("report") or schema
    properties, required = _keys(top, defs)
    if properties:
        lines += ["## Keys", "", "| key | value | always there | meaning |", "| --- | --- | --- | --- |"]
        for key, sub in properties.items():
            ref = defs.get(str(sub.get("$ref", "")).removeprefix("#/$defs/"), {})
            meaning = str(sub.get("description") or ref.get("description", "")).replace("|", "\\|")
            lines.append(f"| `{key}` | {_kind(sub, defs)} | {'yes' if key in required else 'no'} | {meaning} |")
        lines.append("")
    if "report" in defs:
        lines += ["An error comes as the error envelope instead: [error](error.md).", ""]
    lines += ["## The schema", "", "```json", schema_text(name).rstrip("\n"), "```", ""]
    return "\n".join(lines)


def _keys(node: dict[str, Any], defs: dict[str, Any]) -> tuple[dict[str, dict[str, Any]], set[str]]:
    """The properties an object schema gives, its allOf references included (later ones win), and which are required."""
    properties: dict[str, dict[str, Any]] = {}
    required: set[str] = set()
    for part in node.get("allOf", []):
        ref = part.get("$ref", "")
        if ref.startswith("#/$defs/"):
            more, needed = _keys(defs[ref.removeprefix("#/$defs/")], defs)
            properties.update({k: {**properties.get(k, {}), **v} for k, v in more.items()})
            required |= needed
    for key, sub in node.get("properties", {}).items():
        properties[key] = {**properties.get(key, {}), **sub}
    return properties, required | set(node.get("required", []))


def _kind(sub: dict[str, Any], defs: dict[str, Any]) -> str:
    if "const" in sub:
        return f"`{sub['const']!r}`".replace("'", '"')
    if "enum" in sub:
        return " or ".join(f"`{'null' if v is None else v}`" for v in sub["enum"])
    if "$ref" in sub:
        return sub["$ref"].removeprefix("#/$defs/")
    if "anyOf" in sub:
        return " or ".join(_kind(s, defs) for s in sub["anyOf"])
    kind = sub.get("type", "any")
    return " or ".join(kind) if isinstance(kind, list) else str(kind)


def on_files(files: Any, config: Any) -> Any:
    from mkdocs.structure.files import File

    for name in NAMES:
        files.append(File.generated(config, f"schemas/{name}.md", content=schema_page(name)))
    return files
