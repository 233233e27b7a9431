"""What the probes' answers share: the schema check, a caught exception, one import's result, and the lenient
readers of JSON values (a probe stopped half-way leaves parts out)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from envcheck.errors import ProbeVersionError


def check_schema(probe: str, answer: Mapping[str, Any], expected: int) -> None:
    """Refuse an answer written by a probe of another version than the one this envcheck reads."""
    found = answer.get("schema")
    if found == expected:
        return
    written = f"schema {found}" if found is not None else "no schema number"
    raise ProbeVersionError(
        f"envcheck's {probe} probe answered with {written}, but this envcheck reads schema {expected}:"
        " its probes and its code come from different installs",
        "reinstall envcheck (pip install --force-reinstall envcheck, or uv tool install --reinstall envcheck)",
    )


@dataclass(frozen=True)
class Failure:
    """An exception a probe caught: its type and message."""

    type: str
    message: str


@dataclass(frozen=True)
class ImportResult:
    """One ``import name``: its version, file and time, or the error."""

    ok: bool
    version: str | None = None
    file: str | None = None
    seconds: float | None = None
    error_type: str | None = None
    error: str = ""


def as_mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def as_text(value: Any) -> str | None:
    return None if value is None else str(value)


def as_texts(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in as_list(value))


def as_number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def as_failure(value: Any) -> Failure | None:
    raw = as_mapping(value)
    if not raw:
        return None
    return Failure(str(raw.get("error_type") or "Error"), str(raw.get("error") or ""))


def as_import(value: Any) -> ImportResult:
    raw = as_mapping(value)
    return ImportResult(
        ok=bool(raw.get("ok")),
        version=as_text(raw.get("version")),
        file=as_text(raw.get("file")),
        seconds=as_number(raw.get("seconds")),
        error_type=as_text(raw.get("error_type")),
        error=str(raw.get("error") or ""),
    )


def as_imports(value: Any) -> dict[str, ImportResult]:
    return {str(k): as_import(v) for k, v in as_mapping(value).items() if isinstance(v, Mapping)}
