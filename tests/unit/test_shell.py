"""Printed commands survive the user's shell: POSIX shells split them back into the same words, and a Windows
command is one line that cmd.exe and PowerShell (7 and 5.1) both read as the same words, held to models of
both shells (tests/support/shells.py), since neither runs here."""

from __future__ import annotations

import ntpath
import re
import shlex

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.shells import NotTheWords, c_runtime_split, cmd_words, powershell_words

from envcheck.shell import command, join, quote

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
        ("tensorflow[and-cuda]==2.21.0", '"tensorflow[and-cuda]==2.21.0"'),
        ('say "hi"', '"say ""hi"""'),
        ("", '""'),
        ("%PATH%", '"%PATH%"'),
        ("C:\\Users\\Ada Lovelace\\", '"C:\\Users\\Ada Lovelace\\\\"'),
        ("--%", '"--%"'),
        ("-Dkey=a.b", '"-Dkey=a.b"'),
        ("--index-url", "--index-url"),
        ("C:\\envs\\dl\\", "C:\\envs\\dl\\"),
    ],
)
def test_windows_words_are_double_quoted_where_needed(word: str, quoted: str) -> None:
    assert quote(word, "win32") == quoted


@pytest.mark.parametrize(
    ("words", "line"),
    [
        (
            ["C:\\Users\\Ada Lovelace\\envs\\dl\\Scripts\\python.exe", "-m", "pip", "install", "numpy<2,>=1.26"],
            'C:\\Users\\"Ada Lovelace"\\envs\\dl\\Scripts\\python.exe -m pip install "numpy<2,>=1.26"',
        ),
        (
            ["C:\\Program Files (x86)\\Python\\python.exe", "-c", "import sys; print(sys.prefix)"],
            'C:\\"Program Files (x86)"\\Python\\python.exe -c "import sys; print(sys.prefix)"',
        ),
        (["my env\\python.exe", "-V"], '.\\"my env"\\python.exe -V'),
        (
            ["envcheck", "setup", "--prefix", "D:\\labs\\dl env", "--recreate"],
            'envcheck setup --prefix "D:\\labs\\dl env" --recreate',
        ),
        ([], ""),
    ],
)
def test_a_windows_command_never_starts_with_a_quote(words: list[str], line: str) -> None:
    assert command(*words, platform="win32") == line == join(words, platform="win32")
    if words:
        for read in (cmd_words(line), powershell_words(line), powershell_words(line, legacy=True)):
            assert [ntpath.normpath(read[0]), *read[1:]] == words  # .\my env is my env


# ---------------------------------------------------------------------------------------------- both shells

# What the words of hints are made of: paths, requirements, options; plus what neither shell should see bare.
PATH_CHARS = st.sampled_from(list("abcXYZ019 ._-()&'!^%@#,;=+~[]{}é") + ["\u2018"])
ARG_CHARS = st.sampled_from(list("abcXYZ019 ._-:/\\<>|&'!^%@#,;=+~*?[]{}()$`\"é") + ["\u2018", "\u201c"])
components = st.text(PATH_CHARS, min_size=1, max_size=12).filter(lambda c: c.strip(" .") == c)
programs = st.builds(
    lambda drive, parts: f"{drive}:\\" + "\\".join([*parts, "python.exe"]),
    st.sampled_from("CDZ"),
    st.lists(components, min_size=1, max_size=4),
)
arguments = st.text(ARG_CHARS, max_size=16).filter(lambda a: not a.endswith("\\"))


def portable(word: str) -> bool:
    """Independent of envcheck.shell: a word that both shells can read the same inside double quotes."""
    return not (
        word == ""
        or re.search(r"[\"`\u201c\u201d\u201e]", word)
        or re.search(r"\$[\w?:{(^$]", word)
        or re.search(r"%[^%]+%", word)
    )


@given(program=programs, args=st.lists(arguments, max_size=5))
@settings(max_examples=400, deadline=None)
def test_windows_commands_mean_the_same_words_to_cmd_and_powershell(program: str, args: list[str]) -> None:
    words = [program, *args]
    line = command(*words, platform="win32")
    assert cmd_words(line) == words, line  # no variable set: cmd's reading is always the words
    if all(portable(w) for w in words):
        assert powershell_words(line) == words, line
        assert powershell_words(line, legacy=True) == words, line


@pytest.mark.parametrize("word", ["$HOME", "a`b", 'say "hi"', "", "${x}", "$(calc)", "\u201cquoted\u201d"])
def test_words_without_a_spelling_common_to_both_shells_are_written_for_cmd(word: str) -> None:
    line = command("python", "-c", word, platform="win32")
    assert cmd_words(line) == ["python", "-c", word]
    try:
        read = powershell_words(line, legacy=True)
    except NotTheWords:
        return
    assert read != ["python", "-c", word]


def test_a_percent_pair_is_expanded_by_cmd_when_the_variable_is_set() -> None:
    line = command("python", "-c", "100%OS%", platform="win32")
    assert powershell_words(line) == ["python", "-c", "100%OS%"]
    assert cmd_words(line) == ["python", "-c", "100%OS%"]
    assert cmd_words(line, {"OS": "Windows_NT"}) == ["python", "-c", "100Windows_NT"]
    assert cmd_words(command("python", "-c", "100% sure", platform="win32"), {"OS": "x"})[2] == "100% sure"


def test_posix_quoting_would_break_both_windows_shells() -> None:
    posix = command("C:\\envs\\dl\\python.exe", "-m", "pip", "install", "numpy<2", platform="linux")
    assert posix == "'C:\\envs\\dl\\python.exe' -m pip install 'numpy<2'"
    with pytest.raises(NotTheWords):
        powershell_words(posix)  # a line that starts with a quote is an expression
    with pytest.raises(NotTheWords):
        cmd_words(posix)  # ' is no quote to cmd: < redirects


def test_the_c_runtime_model_reads_backslashes_and_quotes_as_documented() -> None:
    assert c_runtime_split(r'a\\b "c d" e\"f "g\\" "h""i"') == [r"a\\b", "c d", 'e"f', "g\\", 'h"i']
