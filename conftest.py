"""Test-wide rules: what a test needs from servers, and what happens when they are missing."""

import os

import pytest
from django.db import connection


def services_required() -> bool:
    """CI sets REQUIRE_SERVICES=1: a test whose server is missing fails there instead of skipping."""
    return os.environ.get("REQUIRE_SERVICES") == "1"


def pytest_runtest_setup(item):
    if item.get_closest_marker("postgres") and connection.vendor != "postgresql":
        reason = (
            "needs PostgreSQL: set DATABASE_URL=postgres://postgres@127.0.0.1:5432/shop "
            f"(the tests run on {connection.vendor})"
        )
        if services_required():
            pytest.fail(f"REQUIRE_SERVICES=1 but this test {reason}", pytrace=False)
        pytest.skip(reason)
