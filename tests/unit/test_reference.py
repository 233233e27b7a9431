"""The generated reference pages name every check and every option the code has, so the docs cannot go stale."""

from __future__ import annotations

from typing import Any

import pytest
import typer

from envcheck.cli import app
from envcheck.cli.app import COMMANDS
from envcheck.cli.reference import checks_reference, cli_reference, rule_text
from envcheck.verify.checks import registered


def sections(markdown: str) -> dict[str, str]:
    """The text under each `## ` heading."""
    found: dict[str, str] = {}
    for block in markdown.split("\n## ")[1:]:
        title, _, body = block.partition("\n")
        found[title.strip()] = body
    return found


def test_every_check_is_in_the_check_reference_under_its_group() -> None:
    groups = sections(checks_reference())
    for entry in registered():
        assert f"### `{entry.id}`" in groups[entry.group], entry.id


@pytest.mark.parametrize("entry", registered(), ids=lambda entry: entry.id)
def test_every_check_says_what_it_means_and_how_it_is_fixed(entry: Any) -> None:
    means, fix = rule_text(entry.rule)
    assert len(means) > 40, f"{entry.id}: its rule's docstring says too little about what it checks"
    assert fix, f"{entry.id}: its rule's docstring has no 'Fix:' paragraph"


def test_every_option_and_choice_of_every_command_is_in_the_cli_reference() -> None:
    commands = sections(cli_reference())
    group: Any = typer.main.get_command(app)
    assert [f"envcheck {m.NAME}" for m in COMMANDS] == [t for t in commands if t != "envcheck"]
    for module in COMMANDS:
        text = commands[f"envcheck {module.NAME}"]
        for param in group.commands[module.NAME].params:
            for name in [*param.opts, *getattr(param, "secondary_opts", [])]:
                if param.param_type_name == "option":
                    assert f"`{name}`" in text, f"envcheck {module.NAME} {name}"
            for choice in getattr(param.type, "choices", None) or ():
                assert f"`{choice}`" in text, f"envcheck {module.NAME} {param.opts[0]} {choice}"
            if param.param_type_name == "option" and param.help:
                assert param.help.split("(")[0].strip()[:30] in text.replace("&lt;", "<").replace("&gt;", ">")
    for name in ("--version", "--install-completion", "--show-completion"):
        assert f"`{name}`" in commands["envcheck"]


def test_a_default_from_the_core_is_shown() -> None:
    from envcheck.smoke.levels import DEFAULT_EPOCHS

    row = next(line for line in cli_reference().splitlines() if line.startswith("| `--epochs`"))
    assert f"`{DEFAULT_EPOCHS}`" in row
