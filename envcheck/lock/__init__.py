"""`envcheck lock` and `envcheck download`: PEP 751 locks read with packaging (``pylock``), written by uv and
fetched by pip (``make``)."""
