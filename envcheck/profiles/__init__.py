"""Profiles: what an environment holds. The model (``profile``), envcheck's shipped TOML profiles and a user's own
files, each read by its format's owner: ``files`` picks the reader; ``requirements`` (pip's parser) and
``condafile`` (PyYAML, and environment.yml / requirements.txt out for ``envcheck export``)."""
