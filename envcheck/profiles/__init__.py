"""Profiles: what an environment holds. The model (``profile``), envcheck's shipped TOML profiles and a user's own
files, each read by its format's owner: ``files`` picks the reader; ``requirements`` (pip's parser) and
``condafile`` (PyYAML, and environment.yml / requirements.txt out for ``envcheck export``)."""

from __future__ import annotations

# What `envcheck export` writes a profile as (conda's environment.yml, pip's requirements.txt); here, not in
# ``condafile``, so that the command line offers them without loading the readers.
FORMATS = ("conda", "pip")
DEFAULT_FORMAT = "conda"
