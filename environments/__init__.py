"""The bundled profiles; installed as the package ``envcheck.profiles_data`` so they travel with envcheck."""
