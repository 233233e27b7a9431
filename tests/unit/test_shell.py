"""Printed commands survive the user's shell: POSIX shells split them back into the same words, and the
Windows form double-quotes what cmd.exe and PowerShell would otherwise split or interpret."""

from __future__ import annotations

import shlex

import pytest

from envcheck.shell import command, quote

WORDS = [
    "/Users/ada/Library/Application Support/envcheck/envs/deep-learning/bin/python",
    "-m",
    "pip",
    "install",
    "numpy<2,>=1.26",
    "it's",
    "",
    "tensorflow[and-cuda]==2.21.0",
]


def test_posix_commands_split_back_into_the_same_words() -> None:
    assert shlex.split(command(*WORDS, platform="linux")) == WORDS
    assert shlex.split(command(*WORDS, platform="darwin")) == WORDS


@pytest.mark.parametrize(
    ("word", "quoted"),
    [
        ("python", "python"),
        ("C:\\Program Files\\Python312\\python.exe", '"C:\\Program Files\\Python312\\python.exe"'),
        ("numpy<2", '"numpy<2"'),
        ('say "hi"', '"say ""hi"""'),
        ("", '""'),
        ("%PATH%", '"%PATH%"'),
    ],
)
def test_windows_words_are_double_quoted_where_needed(word: str, quoted: str) -> None:
    assert quote(word, "win32") == quoted
