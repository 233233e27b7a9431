"""Entry point for ``python -m envcheck``."""

from __future__ import annotations

from envcheck.cli import main

if __name__ == "__main__":
    main()
