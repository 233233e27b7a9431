"""PEP 751 locks written on the spot, as uv writes them, for tests that must not resolve anything."""

from __future__ import annotations

from envcheck.lock.pylock import tool_table


def lock_text(packages: list[tuple[str, str, list[tuple[str, str]]]], profile: str, digest: str) -> str:
    """A PEP 751 lock as uv writes it: one [[packages]] table per (name, version, [(wheel file, sha256)])."""
    parts = ['lock-version = "1.0"', 'created-by = "uv"', 'requires-python = ">=3.8"', ""]
    for name, version, wheels in packages:
        entries = ", ".join(
            f'{{ url = "https://files.example.org/{f}", hashes = {{ sha256 = "{h}" }} }}' for f, h in wheels
        )
        parts += ["[[packages]]", f'name = "{name}"', f'version = "{version}"', f"wheels = [{entries}]", ""]
    return "\n".join(parts) + tool_table(profile, digest, ["linux-x86_64"], ["3.12"])
