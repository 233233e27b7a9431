"""`envcheck verify`: gather the facts about an environment (``gather``), judge them (``report``), return the report."""

from __future__ import annotations

import time
from pathlib import Path

from envcheck.progress import NullReporter, Reporter
from envcheck.targets import Target
from envcheck.verify import DEFAULT_TIMEOUT
from envcheck.verify.gather import gather
from envcheck.verify.report import VerifyReport, judge

__all__ = ["DEFAULT_TIMEOUT", "VerifyReport", "verify"]


def verify(
    target: Target,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    strict: bool = False,
    kernel: bool = True,
    lock: Path | None = None,
    reporter: Reporter | None = None,
) -> VerifyReport:
    """Examine ``target`` and judge it against its profile, every child within ``timeout`` seconds in all.

    Raises EnvironmentUnusableError when the target's python cannot run the probe at all, ProbeVersionError
    when a probe answers in another schema than this envcheck reads.
    """
    started = time.monotonic()
    evidence = gather(target, timeout=timeout, kernel=kernel, lock=lock, reporter=reporter or NullReporter())
    return judge(evidence, strict=strict, started=started)
