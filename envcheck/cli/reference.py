"""The reference pages generated from the code: the command line (the typer app's commands and options) and
verify's checks (the registry, with each rule's docstring for what it means and how it is fixed).

The docs build (``docs/hooks/reference.py``) calls these functions for every build, so a renamed option or
check cannot leave the docs stale; nothing generated is committed.
"""

from __future__ import annotations

import inspect
from typing import Any

# The line of a rule's docstring that starts how the finding is fixed.
FIX_MARK = "Fix:"


def cli_reference() -> str:
    """Markdown: every command with its help, arguments and options (choices, default), in --help's order."""
    import typer

    from envcheck.cli.app import COMMANDS, app

    group: Any = typer.main.get_command(app)
    lines = [
        "# Command-line reference",
        "",
        "Generated from the command line itself at every docs build: what `envcheck COMMAND --help` says, with",
        "each option's choices and default. Exit codes: [Exit codes](../exit-codes.md).",
        "",
        "## envcheck",
        "",
        _text(group.help),
        "",
        *_params_table(group.params),
    ]
    for module in COMMANDS:
        command = group.commands[module.NAME]
        usage = " ".join(["envcheck", module.NAME, *command.collect_usage_pieces(_context(group, command))])
        lines += ["", f"## envcheck {module.NAME}", "", "```text", usage, "```", "", _text(command.help), ""]
        lines += _params_table(command.params)
    return "\n".join(lines) + "\n"


def checks_reference() -> str:
    """Markdown: every check of verify's registry by checklist group, with what it means and how it is fixed."""
    from envcheck.verify.checks import GROUPS, registered

    checks = registered()
    lines = [
        "# Check reference",
        "",
        "Generated from verify's registry at every docs build: each check's id (as in the checklist and in",
        '`--json`\'s `"checks"`), its group, what it means and how it is fixed. An id with `*` reports one result',
        "per item (`package.tensorflow.import`). How verify runs them: [verify](../verify.md).",
    ]
    for group in GROUPS:
        members = [c for c in checks if c.group == group]
        if not members:
            continue
        lines += ["", f"## {group}"]
        for entry in members:
            means, fix = rule_text(entry.rule)
            needs = f" Runs only for: {', '.join(entry.needs)}." if entry.needs else ""
            lines += ["", f"### `{entry.id}`", "", means + needs, "", f"**Fix:** {fix}"]
    return "\n".join(lines) + "\n"


def rule_text(rule: Any) -> tuple[str, str]:
    """What a rule's docstring says it checks, and how its finding is fixed (the paragraph after ``Fix:``)."""
    doc = inspect.getdoc(rule) or ""
    means, _, fix = doc.partition(FIX_MARK)
    return _text(means), _text(fix)


def _params_table(params: list[Any]) -> list[str]:
    rows = ["| option | value | default | what it does |", "| --- | --- | --- | --- |"]
    for param in params:
        if getattr(param, "hidden", False):
            continue
        names = " / ".join(f"`{name}`" for name in [*param.opts, *getattr(param, "secondary_opts", [])])
        if param.param_type_name == "argument":
            names = f"`{param.metavar or param.name.upper()}`"
        rows.append(f"| {names} | {_value(param)} | {_default(param)} | {_cell(getattr(param, 'help', None) or '')} |")
    return rows


def _value(param: Any) -> str:
    if getattr(param, "is_flag", False):
        return "flag"
    choices = getattr(param.type, "choices", None)
    kind = " \\| ".join(f"`{c}`" for c in choices) if choices else param.type.name
    return f"{kind} (repeatable)" if param.multiple else kind


def _default(param: Any) -> str:
    default = param.default
    if default is None or default is False or default == () or param.param_type_name == "argument":
        return ""
    if getattr(param, "is_flag", False) and param.secondary_opts:
        return f"`{param.opts[0] if default else param.secondary_opts[0]}`"
    return f"`{getattr(default, 'value', default)}`"


def _context(group: Any, command: Any) -> Any:
    parent = group.context_class(group, info_name="envcheck")
    return command.context_class(command, info_name=command.name, parent=parent)


def _text(doc: str | None) -> str:
    """A docstring as Markdown paragraphs: its lines joined, its blank lines kept."""
    paragraphs = inspect.cleandoc(doc or "").split("\n\n")
    return "\n\n".join(_plain(" ".join(p.split())) for p in paragraphs if p.strip())


def _cell(text: str) -> str:
    return _plain(" ".join(text.split())).replace("|", "\\|")


def _plain(text: str) -> str:
    """Markdown that shows ``<profile>`` as written: angle brackets outside code spans are escaped."""
    parts = text.split("`")
    return "`".join(
        part if index % 2 else part.replace("<", "&lt;").replace(">", "&gt;") for index, part in enumerate(parts)
    )
