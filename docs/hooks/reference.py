"""MkDocs hook: the CLI and check reference pages, generated from the code at every build (never committed)."""

from __future__ import annotations

from typing import Any

from mkdocs.structure.files import File, Files

from envcheck.cli.reference import checks_reference, cli_reference


def on_files(files: Files, config: Any) -> Files:
    for path, content in (("reference/cli.md", cli_reference()), ("reference/checks.md", checks_reference())):
        files.append(File.generated(config, path, content=content))
    return files
