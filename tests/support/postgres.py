"""Helpers for the tests that run a race on PostgreSQL."""

import time

from django.db import connection


def wait_until_a_session_waits_for_a_lock(timeout: float = 10.0) -> None:
    """Return once another session of the test database waits for a row lock (say, a checkout
    blocked on a row the test's other connection holds), so that the race's next step comes
    after it; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.01)
    raise AssertionError(f"no session waited for a lock within {timeout} s")
