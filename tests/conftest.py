"""Fixtures of the tests that cross apps: the apps' own, handed on, and a worker's mail folder."""

from pathlib import Path

import pytest

# A conftest.py cannot list pytest_plugins below the root, and the root conftest.py cannot load
# an app's conftest.py as a plugin (pytest registers that module again when it collects the
# app): importing the fixture makes it visible under tests/ as well.
from apps.orders.tests.conftest import order

__all__ = ["mail_dir", "order"]


@pytest.fixture
def mail_dir(tmp_path) -> Path:
    """Where a worker process started by the test writes its e-mails (one file each)."""
    return tmp_path / "mail"
