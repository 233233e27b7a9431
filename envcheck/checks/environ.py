"""Environment-variable checks: the variables of the shell envcheck runs in that change how python and TensorFlow
load. The group starts empty; its rules go here, declared with ``group=ENVIRONMENT_VARIABLES``."""

from __future__ import annotations
