"""The unit layer's own fixture: the room setup's pre-flight asks for is not this machine's free space."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import NamedTuple

import pytest

TERABYTE = 10**12


class _Usage(NamedTuple):
    total: int
    used: int
    free: int


@pytest.fixture(autouse=True)
def _room_on_disk(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Setup's pre-flight asks the disk under the prefix for the profile's `disk_gb` (2.5 GB for a requirements
    file); the fake installers of this layer write a few kilobytes, so a nearly full disk must not fail their
    tests. The refusal itself is tested in the integration layer, against the real disk."""
    real = shutil.disk_usage

    def roomy(path: object) -> _Usage:
        usage = real(path)  # type: ignore[arg-type]
        return _Usage(usage.total + TERABYTE, usage.used, usage.free + TERABYTE)

    monkeypatch.setattr(shutil, "disk_usage", roomy)
    yield
