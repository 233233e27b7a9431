"""`envcheck smoke-train`: train the reference network in the environment (``train``), judge it (``rules``),
and the distributed runs (``distributed``)."""
