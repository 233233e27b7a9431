"""The bundled profiles; installed as the package ``envcheck.environments`` so they travel with envcheck."""
