"""Helpers the tests share: recorded evidence, stand-in installers, process helpers, tiny wheels.

Test modules import from here, never from each other; fixtures live in the conftest.py files."""
