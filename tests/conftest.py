"""Fixtures of the tests that cross apps: the apps' own, handed on (one definition each)."""

# A conftest.py cannot list pytest_plugins below the root, and the root conftest.py cannot load
# an app's conftest.py as a plugin (pytest registers that module again when it collects the
# app): importing the fixture makes it visible under tests/ as well.
from apps.orders.tests.conftest import order

__all__ = ["order"]
