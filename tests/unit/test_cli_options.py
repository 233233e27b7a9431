"""The command line's options: choices are the core's tables, defaults the core's constants, a choice that
does not apply is refused with one line, and every result reaches the user through one output path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from envcheck import installers, profiles
from envcheck.cli import app
from envcheck.cli.app import COMMANDS
from envcheck.lock.make import LockCheck
from envcheck.lock.platforms import PLATFORMS
from envcheck.output.display import Format, Style, View, show
from envcheck.output.lock import CHECK
from envcheck.setup import backends
from envcheck.smoke import distributed, levels
from envcheck.verify import DEFAULT_TIMEOUT

cli = CliRunner()


def click_params(name: str) -> dict[str, Any]:
    """The click parameters of command ``name``, by their longest option (what --help and the docs show)."""
    group: Any = typer.main.get_command(app)
    command = group.commands[name]
    return {max(p.opts, key=len): p for p in command.params}


@pytest.mark.parametrize(
    ("command", "option", "table"),
    [
        ("setup", "--backend", backends.names()),
        ("setup", "--installer", installers.INSTALLERS),
        ("smoke-train", "--level", levels.names()),
        ("smoke-train", "--device", levels.DEVICES),
        ("smoke-train", "--strategy", distributed.STRATEGIES),
        ("lock", "--platform", tuple(PLATFORMS)),
        ("download", "--platform", tuple(PLATFORMS)),
        ("export", "--format", profiles.FORMATS),
    ],
)
def test_choices_are_the_cores_tables_in_their_order(command: str, option: str, table: tuple[str, ...]) -> None:
    assert tuple(click_params(command)[option].type.choices) == table
    # and --help lists them, from the same table
    assert "|".join(table) in cli.invoke(app, [command, "--help"], terminal_width=200).stdout


def test_the_backend_registry_builds_each_name_the_command_line_offers() -> None:
    assert backends.names()[:2] == backends.BACKENDS == ("venv", "conda")
    for name in backends.names():
        assert backends.get_backend(name).name == name


@pytest.mark.parametrize(
    ("command", "option", "default"),
    [
        ("setup", "--installer", installers.DEFAULT_INSTALLER),
        ("verify", "--timeout", DEFAULT_TIMEOUT),
        ("smoke-train", "--epochs", levels.DEFAULT_EPOCHS),
        ("smoke-train", "--lr", levels.DEFAULT_LR),
        ("smoke-train", "--seed", levels.DEFAULT_SEED),
        ("smoke-train", "--timeout", levels.DEFAULT_TIMEOUT),
        ("smoke-train", "--device", levels.DEFAULT_DEVICE),
        ("export", "--format", profiles.DEFAULT_FORMAT),
    ],
)
def test_defaults_are_the_cores_constants(command: str, option: str, default: object) -> None:
    value = click_params(command)[option].default
    assert getattr(value, "value", value) == default


def one_usage_error(args: list[str]) -> list[str]:
    result = cli.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    return result.stderr.splitlines()


def test_a_bogus_choice_is_refused_even_where_it_would_not_apply(tmp_path: Path) -> None:
    lines = one_usage_error(["setup", "--backend", "conda", "--installer", "bogus", "--prefix", str(tmp_path / "e")])
    assert lines == [
        "error: Invalid value for '--installer': 'bogus' is not one of 'uv', 'pip'.",
        "hint: run: envcheck setup --help",
    ]
    assert not (tmp_path / "e").exists()


@pytest.mark.parametrize(
    ("args", "lines"),
    [
        (
            ["--backend", "conda", "--installer", "pip"],
            [
                "error: --installer applies only to the venv backend, not to conda",
                "hint: leave out --installer, or choose --backend venv",
            ],
        ),
        (
            ["--backend", "venv", "--conda-exe", "micromamba"],
            [
                "error: --conda-exe applies only to the conda backend, not to venv",
                "hint: leave out --conda-exe, or choose --backend conda",
            ],
        ),
        (
            ["--no-kernel", "--kernel-name", "mine"],
            [
                "error: --kernel-name applies only when a kernel is registered",
                "hint: leave out --kernel-name or --no-kernel",
            ],
        ),
    ],
)
def test_an_option_that_does_not_apply_is_one_usage_line(tmp_path: Path, args: list[str], lines: list[str]) -> None:
    prefix = tmp_path / "env"
    assert one_usage_error(["setup", "--prefix", str(prefix), *args]) == lines
    assert not prefix.exists()


def test_the_default_backend_of_an_environment_yml_refuses_the_installer_too(tmp_path: Path) -> None:
    yml = tmp_path / "environment.yml"
    yml.write_text("name: lab\ndependencies:\n  - python=3.11\n  - numpy\n", encoding="utf-8")
    lines = one_usage_error(["setup", "--file", str(yml), "--installer", "pip", "--prefix", str(tmp_path / "e")])
    assert lines[0] == "error: --installer applies only to the venv backend, not to conda"


def test_options_left_at_their_default_are_not_refused(tmp_path: Path) -> None:
    # --backend conda alone: the installer's default does not count as given (the refusal comes later); no kernel,
    # so that the profile's kernel made by an earlier test of the same run does not matter
    conda = ["--backend", "conda", "--conda-exe", str(tmp_path / "none")]
    args = ["setup", *conda, "--prefix", str(tmp_path / "e"), "--no-kernel"]
    result = cli.invoke(app, args)
    assert result.exit_code == 3  # no such conda executable: the backend's own refusal, after the options passed
    assert "--conda-exe" in result.stderr and "--installer" not in result.stderr


def test_lock_check_refuses_what_only_writing_takes(tmp_path: Path) -> None:
    lock = str(tmp_path / "pylock.toml")
    lines = one_usage_error(["lock", "--check", "-o", lock, "--platform", "linux-x86_64", "--python-version", "3.12"])
    assert lines == [
        "error: --python-version and --platform apply only when writing a lock, not with --check",
        "hint: leave out --python-version and --platform to check the lock that is there,"
        " or leave out --check to write a new one",
    ]


def test_dry_run_without_fix_and_json_with_markdown_are_refused() -> None:
    assert one_usage_error(["verify", "--dry-run"]) == [
        "error: --dry-run applies only with --fix",
        "hint: envcheck verify --fix --dry-run",
    ]
    both = cli.invoke(app, ["compare", "--json", "--markdown"])
    assert both.exit_code == 2
    assert both.stderr.splitlines()[0] == "error: --json and --markdown cannot be used together"
    assert json.loads(both.stdout)["error"]["hint"] == "pick one of them"


def test_a_refusal_reaches_json_scripts_as_the_commands_envelope() -> None:
    result = cli.invoke(app, ["setup", "--backend", "conda", "--installer", "pip", "--json"])
    assert result.exit_code == 2
    document = json.loads(result.stdout)
    assert (document["command"], document["status"]) == ("setup", "error")
    assert document["error"]["message"] == "--installer applies only to the venv backend, not to conda"


# ---------------------------------------------------------------------------------------------- one output path


def check_result(problem: str | None) -> LockCheck:
    return LockCheck(
        path=Path("pylock.lab.toml"),
        digest="sha256:" + "a" * 64,
        profile="lab",
        problem=problem,
        rewrite="envcheck lock --file '/my labs/lab.toml' --output pylock.lab.toml",
    )


@pytest.mark.fake_documents  # a lock check's payload under every command's name
def test_the_envelopes_command_is_the_name_show_is_given(capsys: pytest.CaptureFixture[str]) -> None:
    for module in COMMANDS:
        assert show(module.NAME, CHECK, check_result(None), Format.JSON) == 0
        document = json.loads(capsys.readouterr().out)
        assert document["command"] == module.NAME
        assert (document["status"], document["exit_code"], document["fits"]) == ("pass", 0, True)


def test_a_failed_lock_check_is_exit_1_with_the_command_that_writes_it_again(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert show("lock", CHECK, check_result("profile 'lab' changed since pylock.lab.toml was written")) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        "error: profile 'lab' changed since pylock.lab.toml was written",
        "hint: write it again with: envcheck lock --file '/my labs/lab.toml' --output pylock.lab.toml",
    ]
    assert show("lock", CHECK, check_result("changed"), Format.JSON) == 1
    document = json.loads(capsys.readouterr().out)
    assert (document["status"], document["fits"], document["problem"]) == ("fail", False, "changed")


def test_markdown_of_a_result_that_has_none_is_a_usage_error() -> None:
    from envcheck.errors import UsageError

    view: View[int] = View(exit_code=lambda _: 0, payload=lambda n, _: {"n": n}, text=lambda n, c, _: c.print(n))
    with pytest.raises(UsageError, match="envcheck lock has no --markdown form"):
        show("lock", view, 1, Format.MARKDOWN, Style())


def test_every_command_shows_its_result_through_one_function() -> None:
    """No command module prints, writes to stdout or builds an envelope itself: `show` does."""
    for module in COMMANDS:
        source = Path(module.__file__).read_text(encoding="utf-8")
        for printing in ("print(", "sys.stdout", "emit_json", "envelope(", "console"):
            assert printing not in source, f"{module.__name__} uses {printing}"
