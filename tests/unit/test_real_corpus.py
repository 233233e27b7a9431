"""The corpus of real published files (tests/data/real) holds together: manifest, files and recordings.

These guard the data the replay tests stand on: a file copied without its manifest entry, an include
left behind, a re-recording that leaks a path of the machine that made it or lost a command.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from types import ModuleType

import pytest
from support.corpus import CORPUS, OUTCOMES, RECORDINGS, corpus_files, entries, read_recording

# a path of the recording machine: what the placeholders <VENV>, <TMP>, <HOME>... stand for
MACHINE_PATH = re.compile(r"(?:(?<![\w:/.<>-])|(?<=file://))/(?:tmp|home|root|work|var/folders|Users|private)/")


def load_recorder() -> ModuleType:
    spec = importlib.util.spec_from_file_location("corpus_record", CORPUS / "record.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while being defined
    spec.loader.exec_module(module)
    return module


def test_every_corpus_file_is_in_the_manifest_and_every_manifest_file_exists() -> None:
    listed = {f.path for f in corpus_files()}
    on_disk = {p for p in CORPUS.glob("*/*") if p.is_file() and p.parent != CORPUS and p.parent.name != "recorded"}
    assert on_disk == listed


def test_manifest_tables_say_where_each_file_came_from_and_what_a_user_should_get() -> None:
    files = corpus_files()
    ids = [f.id for f in files]
    assert len(ids) == len(set(ids))
    for f in files:
        assert re.fullmatch(r"[0-9a-f]{40}", f.commit), f.id
        assert "/" in f.repository and f.source_path and f.licence and f.shapes, f.id
        assert f.kind in ("requirements", "conda"), f.id
        if f.included_by is None:
            assert f.expected in OUTCOMES and f.reason, f.id
        else:
            assert f.expected is None, f.id
            assert f.path.parent.name == f.included_by, f.id
    assert len(entries()) >= 24


def test_every_entry_has_its_three_recordings_with_a_readable_header() -> None:
    for entry in entries():
        for name in RECORDINGS:
            recording = read_recording(entry.recorded / name)
            assert recording.command.startswith(("uv pip ", "<VENV>/bin/python -m pip ")), (entry.id, name)
            assert recording.tool.startswith(("uv ", "pip ")), (entry.id, name)
            assert recording.timed_out or recording.exit_code in (0, 1, 2), (entry.id, name)


def test_recordings_hold_no_path_of_the_machine_that_made_them() -> None:
    leaks = [
        f"{path.relative_to(CORPUS)}: {match.group(0)}"
        for path in sorted(CORPUS.glob("*/recorded/*.txt"))
        for match in [MACHINE_PATH.search(path.read_text(encoding="utf-8"))]
        if match
    ]
    assert leaks == []


def test_an_entry_refused_for_its_python_says_so_in_uvs_own_words() -> None:
    # the explanation envcheck must show in full: which Pythons the wheels are for
    recording = read_recording(CORPUS / "open3d-tf-2023" / "recorded" / "uv-compile.txt")
    assert recording.exit_code == 1
    assert "No solution found when resolving dependencies" in recording.stderr
    assert "`cp37m`, `cp38`, `cp39`, `cp310`" in recording.stderr


@pytest.mark.parametrize(
    ("entry", "first", "count"),
    [
        ("t81-export/environment.yml", "absl-py==1.0.0", 126),  # UTF-16 with a BOM, CRLF
        ("homl2-env/environment.yml", "tensorboard-plugin-profile~=2.5.0", 13),  # conda pins after pip:
        ("dlc/DEEPLABCUT.yaml", "deeplabcut[gui,tf]", 1),
    ],
)
def test_the_recorder_reads_the_pip_section_as_conda_hands_it_to_pip(entry: str, first: str, count: int) -> None:
    lines = load_recorder().pip_section(CORPUS / entry)
    assert lines[0] == first
    assert len(lines) == count


def test_the_recorder_reduces_pips_report_and_keeps_the_log_around_it() -> None:
    stdout = 'Collecting six\n{\n "version": "1",\n "install": [{"metadata": {"name": "six", "version": "1.17.0"}}]\n}\nWould install six-1.17.0\n'
    reduced = load_recorder().reduce_pip_report(stdout)
    assert reduced.startswith("Collecting six\n{")
    assert reduced.endswith("}\nWould install six-1.17.0\n")
    assert '"name": "six"' in reduced
