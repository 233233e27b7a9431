"""`envcheck verify`: gather facts with probes (``examine``), judge them with the rules (``checks``), find the root
causes and the fix plan (``plan``), and run the plan (``fix``).

The command's defaults live here, where the command line reads them without loading the probes and rules."""

from __future__ import annotations

# The whole command, every child included; importing TensorFlow from a cold disk can take a minute.
DEFAULT_TIMEOUT = 180.0
# A day: far past any real verify, and short of what the system's timers take (inf overflows them).
MAX_TIMEOUT = 86_400.0
