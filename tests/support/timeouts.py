"""How long the end-to-end tests let one real TensorFlow setup take (a cold cache downloads about 600 MB)."""

from __future__ import annotations

E2E_TIMEOUT = 1800
