"""Entry point for ``python -m envcheck`` and the ``envcheck`` script.

Ctrl-C or SIGTERM that arrives before a command has started (while Python imports envcheck and reads the
options) ends envcheck at once with exit 130 and one line: nothing has been started or created yet. From the
command's first step on, ``runner.stop_on_signals`` takes over and stops what it started. Once the command
has ended, its exit code stands: a late signal can no longer turn it into a death by signal while Python
shuts down (which puts the default handlers back).
"""

from __future__ import annotations

import signal
import sys
from typing import Any


def _interrupted_early(signum: int, frame: Any) -> None:
    sys.stderr.write("error: interrupted\n")
    raise SystemExit(130)


def main() -> None:
    for name in ("SIGINT", "SIGTERM"):
        number = getattr(signal, name, None)
        if number is not None:
            signal.signal(number, _interrupted_early)
    try:
        from envcheck.cli import main as run

        run()
    finally:
        for name in ("SIGINT", "SIGTERM"):
            number = getattr(signal, name, None)
            if number is not None:
                signal.signal(number, signal.SIG_IGN)


if __name__ == "__main__":
    main()
