"""Reading the corpus of real published files (tests/data/real): its manifest and its recordings.

tests/data/real/record.py writes the recordings; this reads them back for tests that replay what uv
and pip said about a file, so no test needs a network to know it.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

CORPUS = Path(__file__).resolve().parents[1] / "data" / "real"
RECORDINGS = ("uv-compile.txt", "uv-install.txt", "pip-install.txt")
OUTCOMES = ("builds", "refused", "install-fails")


@dataclass(frozen=True)
class CorpusFile:
    """One [[file]] table of MANIFEST.toml."""

    id: str
    path: Path  # absolute
    kind: str  # "requirements" or "conda"
    repository: str
    source_path: str
    commit: str
    licence: str
    shapes: tuple[str, ...]
    expected: str | None  # None for a file that another one includes
    reason: str | None
    included_by: str | None
    python_ok: tuple[str, ...]

    @property
    def recorded(self) -> Path:
        return self.path.parent / "recorded"


@dataclass(frozen=True)
class Recording:
    """What one installer command said, as record.py wrote it down."""

    command: str
    tool: str
    python: str
    date: str
    exit_code: int
    timed_out: bool
    stdout: str
    stderr: str


def corpus_files() -> list[CorpusFile]:
    """Every file of the manifest, in its order."""
    manifest = tomllib.loads((CORPUS / "MANIFEST.toml").read_text(encoding="utf-8"))
    return [
        CorpusFile(
            id=table["id"],
            path=CORPUS / table["path"],
            kind=table["kind"],
            repository=table["repository"],
            source_path=table["source_path"],
            commit=table["commit"],
            licence=table["licence"],
            shapes=tuple(table["shapes"]),
            expected=table.get("expected"),
            reason=table.get("reason"),
            included_by=table.get("included_by"),
            python_ok=tuple(table.get("python_ok", ())),
        )
        for table in manifest["file"]
    ]


def entries() -> list[CorpusFile]:
    """The files a user would pass to `envcheck setup --file` (the ones with an expected outcome)."""
    return [f for f in corpus_files() if f.expected is not None]


def read_recording(path: Path) -> Recording:
    """Parse one recording: `# key: value` header lines, then stdout and stderr sections."""
    text = path.read_text(encoding="utf-8")
    head, _, rest = text.partition("\n--- stdout ---\n")
    stdout, _, stderr = rest.rpartition("\n--- stderr ---\n")
    fields = dict(line[2:].split(": ", 1) for line in head.splitlines())
    return Recording(
        command=fields["command"],
        tool=fields["tool"],
        python=fields["python"],
        date=fields["date"],
        exit_code=int(fields["exit"]),
        timed_out=fields["timed-out"] == "yes",
        stdout=stdout,
        stderr=stderr,
    )
