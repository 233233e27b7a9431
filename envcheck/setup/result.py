"""What a setup did, as the summary and the JSON envelope show it."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any


class Action(str, Enum):
    CREATED = "created"
    UPDATED = "updated"
    RECREATED = "recreated"
    UP_TO_DATE = "up-to-date"


@dataclass(frozen=True)
class SetupResult:
    action: Action
    prefix: Path
    profile: str
    python_version: str
    versions: dict[str, str]
    kernel: str | None
    log: Path | None
    duration: float
    next_command: str
    backend: str = "venv"
    installer: str = "uv"
    steps: list[str] = field(default_factory=list)
    phases: dict[str, float] = field(default_factory=dict)  # seconds per phase, for people and benchmarks
    run_command: str = ""  # how to use the environment: `envcheck run ... -- jupyter notebook`
    lock: dict[str, str] | None = None  # {"path", "digest"} when set up from a lock
    path_note: str | None = None  # how to put envcheck on PATH, when the commands above name it by its path
    warnings: list[str] = field(default_factory=list)  # lines of the user's file left to the installer to read

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action.value,
            "prefix": str(self.prefix),
            "profile": self.profile,
            "backend": self.backend,
            "installer": self.installer,
            "python": self.python_version,
            "versions": self.versions,
            "kernel": self.kernel,
            "log": None if self.log is None else str(self.log),
            "duration": round(self.duration, 3),
            "next_command": self.next_command,
            "run_command": self.run_command,
            "phases": {name: round(seconds, 3) for name, seconds in self.phases.items()},
            "lock": self.lock,
            "warnings": self.warnings,
        }
