"""Test-wide rules: what a test needs from servers, and what happens when they are missing."""

import os
import socket

import pytest
from django.db import connection

# Fixtures shared across test modules: SQS on a moto server, and the Zappa deploy venv and package.
pytest_plugins = ["tests.support.sqs", "tests.support.zappa"]

RABBITMQ_ADDRESS = ("127.0.0.1", 5672)


@pytest.fixture(autouse=True)
def _empty_cache():
    """The catalog pages read through the cache: no test sees the pages another one cached."""
    from django.core.cache import cache

    cache.clear()


def services_required() -> bool:
    """CI sets REQUIRE_SERVICES=1: a test whose server is missing fails there instead of skipping."""
    return os.environ.get("REQUIRE_SERVICES") == "1"


def _listening(address) -> bool:
    try:
        with socket.create_connection(address, timeout=1):
            return True
    except OSError:
        return False


def _missing_server(item) -> str | None:
    if item.get_closest_marker("postgres") and connection.vendor != "postgresql":
        return (
            "needs PostgreSQL: set DATABASE_URL=postgres://postgres@127.0.0.1:5432/shop "
            f"(the tests run on {connection.vendor})"
        )
    if item.get_closest_marker("rabbitmq") and not _listening(RABBITMQ_ADDRESS):
        return "needs RabbitMQ on 127.0.0.1:5672 (guest/guest)"
    return None


def pytest_runtest_setup(item):
    reason = _missing_server(item)
    if reason is None:
        return
    if services_required():
        pytest.fail(f"REQUIRE_SERVICES=1 but this test {reason}", pytrace=False)
    pytest.skip(reason)
