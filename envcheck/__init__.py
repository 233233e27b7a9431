"""envcheck: set up, verify and smoke-test a deep-learning Python environment."""

from __future__ import annotations

__version__ = "0.1.0"
