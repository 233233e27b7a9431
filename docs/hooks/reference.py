"""MkDocs hook: the CLI and check reference pages, generated from the code at every build (never committed), and
the table of smoke-train levels, written where a page marks its place."""

from __future__ import annotations

from typing import Any

from mkdocs.structure.files import File, Files

from envcheck.cli.reference import checks_reference, cli_reference
from envcheck.smoke.levels import DOCS_MARK, markdown_table


def on_files(files: Files, config: Any) -> Files:
    for path, content in (("reference/cli.md", cli_reference()), ("reference/checks.md", checks_reference())):
        files.append(File.generated(config, path, content=content))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    return markdown.replace(DOCS_MARK, markdown_table())
