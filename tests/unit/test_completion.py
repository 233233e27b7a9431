"""Shell completion, as a shell asks for it: the installed entry point run with the completion variables set."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def complete(words: str, cword: int) -> list[str]:
    env = {**os.environ, "_ENVCHECK_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": str(cword)}
    code = "import sys; sys.argv[0] = 'envcheck'; from envcheck.cli import main; main()"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


@pytest.mark.parametrize(
    ("words", "cword", "expected"),
    [
        ("envcheck se", 1, ["setup"]),
        ("envcheck r", 1, ["run"]),
        ("envcheck setup --ins", 2, ["--installer"]),
        ("envcheck verify --profile deep-learning-", 3, ["deep-learning-gpu"]),
    ],
)
def test_bash_completes_commands_options_and_profile_names(words: str, cword: int, expected: list[str]) -> None:
    assert complete(words, cword) == expected


def test_the_completion_script_is_offered_for_bash() -> None:
    code = "import sys; sys.argv[0] = 'envcheck'; from envcheck.cli import main; main()"
    result = subprocess.run(
        [sys.executable, "-c", code, "--show-completion", "bash"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0 and "_ENVCHECK_COMPLETE=complete_bash" in result.stdout
