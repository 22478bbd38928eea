"""The shop's PostgreSQL backend (shop_project/postgresql/base.py): a kept connection is health
checked before a request's first query only after it sat idle, and one the server dropped
meanwhile is replaced then.

Each test plays the request signals' part itself (the test client turns them off) and drops the
connection the way a server restart or an idle timeout does: pg_terminate_backend from another
connection.
"""

import psycopg
import pytest
from django.db import OperationalError, connection, connections

from shop_project.postgresql import base

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def kept_connection():
    """The connection with production's settings: kept between requests, health checked."""
    assert isinstance(connections["default"], base.DatabaseWrapper)  # the shop's backend for PostgreSQL
    saved = {name: connection.settings_dict[name] for name in ("CONN_MAX_AGE", "CONN_HEALTH_CHECKS")}
    connection.close()
    connection.settings_dict.update(CONN_MAX_AGE=60, CONN_HEALTH_CHECKS=True)
    yield connection
    connection.close()
    connection.settings_dict.update(saved)


@pytest.fixture
def clock(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(base, "monotonic", lambda: now[0])
    return now


def request_reads(conn) -> int:
    """One request: the signals' calls around one query; the server process that answered it."""
    conn.close_if_unusable_or_obsolete()  # request_started
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            return cursor.fetchone()[0]
    finally:
        conn.close_if_unusable_or_obsolete()  # request_finished


def server_drops(pid: int) -> None:
    params = connection.get_connection_params()
    with psycopg.connect(**params, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])


class TestConnectionHealthCheck:
    def test_a_connection_that_answered_a_moment_ago_is_not_checked(self, kept_connection, clock):
        pid = request_reads(kept_connection)
        assert request_reads(kept_connection) == pid
        server_drops(pid)
        clock[0] += base.HEALTH_CHECK_AFTER_IDLE_SECONDS - 0.1
        # No check: the request's query meets the dropped connection (what a server going away
        # within the second costs), and the connection is replaced for the next request.
        with pytest.raises(OperationalError):
            request_reads(kept_connection)
        assert request_reads(kept_connection) != pid

    def test_a_connection_idle_longer_is_checked_and_replaced(self, kept_connection, clock):
        pid = request_reads(kept_connection)
        server_drops(pid)
        clock[0] += base.HEALTH_CHECK_AFTER_IDLE_SECONDS
        assert request_reads(kept_connection) != pid

    def test_a_failed_request_leaves_the_connection_to_be_checked(self, kept_connection, clock):
        pid = request_reads(kept_connection)
        kept_connection.close_if_unusable_or_obsolete()
        with pytest.raises(OperationalError), kept_connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")
            cursor.execute("SELECT 1")
        kept_connection.close_if_unusable_or_obsolete()  # errors_occurred: Django closes it
        assert request_reads(kept_connection) != pid
