"""Progress during a long install: a spinner with elapsed time and what is fetched, on a terminal only.

Real rich consoles writing to a buffer: one that says it is a terminal, one that is a pipe.
"""

from __future__ import annotations

import io
import re
import time

from rich.console import Console

from envcheck.output import RichReporter

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def run_phase(console: Console, **options: bool) -> None:
    reporter = RichReporter(console, **options)
    reporter.phase("install packages")
    reporter.line("Resolved 40 packages in 1.2s")
    reporter.line("Downloading tensorflow (590.0MiB)")
    reporter.line("some chatter without news")
    time.sleep(0.5)  # rich redraws ten times a second
    reporter.done("install packages")


def test_a_terminal_sees_a_spinner_with_elapsed_time_and_what_is_fetched() -> None:
    buffer = io.StringIO()
    run_phase(Console(file=buffer, force_terminal=True, width=100), live=True)
    shown = ANSI.sub("", buffer.getvalue())
    assert "Downloading tensorflow (590.0MiB)" in shown
    assert re.search(r"0:00:0\d", shown)  # the elapsed time
    assert "some chatter" not in shown  # only lines that say what is fetched or done
    assert shown.rstrip().endswith(")")  # the last thing left is the ✓ line with its seconds


def test_a_pipe_gets_the_phase_lines_only() -> None:
    buffer = io.StringIO()
    run_phase(Console(file=buffer, force_terminal=False, width=100), live=True)
    lines = buffer.getvalue().splitlines()
    assert lines[0] == "→ install packages …"
    assert re.fullmatch(r"✓ install packages \(0\.\ds\)", lines[1])
    assert len(lines) == 2 and "\x1b" not in buffer.getvalue()


def test_json_and_quiet_get_no_spinner_even_on_a_terminal() -> None:
    for options in ({"live": False}, {"live": True, "quiet": True}):
        buffer = io.StringIO()
        run_phase(Console(file=buffer, force_terminal=True, width=100), **options)
        assert "Downloading" not in buffer.getvalue()


def test_an_interrupted_phase_stops_its_spinner() -> None:
    buffer = io.StringIO()
    with RichReporter(Console(file=buffer, force_terminal=True, width=100), live=True) as reporter:
        reporter.phase("install packages")
        progress = reporter._progress
    assert progress is not None and not progress.live.is_started
