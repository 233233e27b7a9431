"""Running probes: stand-alone, standard-library-only scripts executed by the target's own interpreter.

A probe is started as ``python -I <script> <control-dir>``; it reads ``input.json`` from the control directory
and writes its answer to ``output.json`` there (replacing it atomically, so a probe may write partial answers
as it goes and a crash still leaves the last one). stdout and stderr belong to whatever the probe imports
(TensorFlow writes freely to both); the host keeps them only as evidence. ``-I`` keeps the probes' own folder
and the user's site-packages off ``sys.path``; because it also hides PYTHONDONTWRITEBYTECODE from the child,
that wish is passed on as ``-B`` so that examining an environment does not write into it.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from envcheck import runner
from envcheck.bounded import ANSWER_LIMIT, TooLarge, describe, read_limited


class ProbeInterrupted(KeyboardInterrupt):
    """A signal stopped the command while probe ``name`` ran: ``data`` is its answer so far (None if none)."""

    def __init__(self, name: str, data: dict[str, Any] | None) -> None:
        super().__init__(name)
        self.name = name
        self.data = data


@dataclass(frozen=True)
class ProbeOutcome:
    """What a probe left: its JSON answer (``data``, possibly partial) and how its process ended."""

    name: str
    data: dict[str, Any] | None
    completed: runner.Completed
    refused: str | None = None  # why an answer it wrote was not read (envcheck.bounded)

    @property
    def ok(self) -> bool:
        return self.completed.ok and self.data is not None

    @property
    def failure(self) -> str | None:
        """One line on why the probe did not answer, or None when it did."""
        if self.ok:
            return None
        if not self.completed.ok:
            return f"the probe {self.completed.describe_exit()}"
        return self.refused or "the probe exited without writing its answer"


# A module that registers with TensorFlow what TensorFlow registered already when it loaded it itself (its GCS
# file-system plugin, tensorflow-io-gcs-filesystem): importing it again fails in any process that has TensorFlow,
# and no user's program imports it. Not a fault of the environment.
_REGISTERS_TWICE = re.compile(r"\balready registered\b", re.IGNORECASE)


def registers_twice(error: str) -> bool:
    """Whether an import failed only because what it registers with TensorFlow is registered already."""
    return _REGISTERS_TWICE.search(error) is not None


# the variables that name the temporary folder: TMPDIR first (POSIX, and Python everywhere), TEMP and TMP (Windows)
TEMPORARY_FOLDER = ("TMPDIR", "TEMP", "TMP")


def script_path(name: str) -> Path:
    return Path(str(resources.files("envcheck.probes") / f"{name}.py"))


def run_probe(
    python: Path,
    name: str,
    payload: Mapping[str, Any] | None = None,
    *,
    timeout: float,
    env: Mapping[str, str] | None = None,
    write_bytecode: bool | None = None,
    isolated: bool = True,
    background: bool = False,
) -> ProbeOutcome:
    """Run probe ``name`` with ``python``; a crash, a hang or garbage output is returned, never raised.

    ``write_bytecode``: None follows the user's PYTHONDONTWRITEBYTECODE; setup passes True for the
    environment it just built, so that its import check leaves compiled bytecode for every later import.
    ``isolated=False`` drops ``-I``: the probe then sees PYTHONPATH, PYTHONHOME and the user site as ``env``
    gives them, which is how verify learns what a python started from the user's shell would import.
    ``background``: it runs beside the probe the command waits for, at a lower priority (``runner.run``).
    """
    if write_bytecode is None:
        write_bytecode = not os.environ.get("PYTHONDONTWRITEBYTECODE")
    flags = (["-I"] if isolated else []) + ([] if write_bytecode else ["-B"])
    with tempfile.TemporaryDirectory(prefix="envcheck-probe-") as control:
        control_dir = Path(control)
        (control_dir / "input.json").write_text(json.dumps(dict(payload or {})), encoding="utf-8")
        argv = [str(python), *flags, str(script_path(name)), str(control_dir)]
        # what the probe and its children write to the temporary folder (TensorFlow's autograph leaves a
        # generated source file there for every function it converts) goes with the probe's own folder
        scratch = control_dir / "tmp"
        scratch.mkdir()
        child_env = {**(env or {}), **dict.fromkeys(TEMPORARY_FOLDER, str(scratch))}
        try:
            completed = runner.run(argv, timeout=timeout, env=child_env, background=background)
        except KeyboardInterrupt as exc:  # the probe is gone; what it wrote so far may say how far it got
            raise ProbeInterrupted(name, _read_answer(control_dir / "output.json")[0]) from exc
        data, refused = _read_answer(control_dir / "output.json")
        return ProbeOutcome(name=name, data=data, completed=completed, refused=refused)


def _read_answer(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """The probe's answer, or None and why not when it is past ``ANSWER_LIMIT`` (a real one is under 100 KB)."""
    try:
        data = json.loads(read_limited(path, ANSWER_LIMIT).decode("utf-8"))
    except TooLarge:
        return None, f"the probe's answer is larger than {describe(ANSWER_LIMIT)} (a real one is under 100 KB)"
    except (OSError, ValueError):
        return None, None
    return (data, None) if isinstance(data, dict) else (None, None)
