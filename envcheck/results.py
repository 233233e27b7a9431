"""Result types shared by the commands: check statuses, one check's result, and the exit code they imply."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from envcheck.errors import ExitCode


class Status(str, Enum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"


@dataclass(frozen=True)
class CheckResult:
    """One finding: a stable id, a verdict, a one-line detail and, for warn and fail, what to type."""

    id: str
    status: Status
    detail: str
    hint: str | None = None
    duration: float | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    # the findings that explain this one: their fix is its fix, so it carries no hint of its own
    caused_by: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status.value,
            "detail": self.detail,
            "hint": self.hint,
            "duration": None if self.duration is None else round(self.duration, 4),
            "data": dict(self.data),
            "caused_by": list(self.caused_by),
        }


def overall_status(checks: Iterable[CheckResult]) -> Status:
    statuses = {c.status for c in checks}
    for status in (Status.FAIL, Status.WARN):
        if status in statuses:
            return status
    return Status.PASS


def exit_code_for(checks: Iterable[CheckResult], *, strict: bool = False) -> ExitCode:
    status = overall_status(checks)
    if status is Status.FAIL or (strict and status is Status.WARN):
        return ExitCode.FAILED
    return ExitCode.OK
