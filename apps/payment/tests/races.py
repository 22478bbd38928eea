"""Running a payment race for real on PostgreSQL: a row held by another session while the
contenders pile up behind it, so that all of them are in flight when it is let go."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg
from django.db import connection, connections
from psycopg import sql


def _other_session() -> psycopg.Connection:
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    return psycopg.connect(**params, autocommit=False)


class RowHeld:
    """Another session holds a row's lock (SELECT … FOR UPDATE) until release()."""

    def __init__(self, table: str, row_id: int):
        self._session = _other_session()
        query = sql.SQL("SELECT id FROM {} WHERE id = %s FOR UPDATE").format(sql.Identifier(table))
        self._session.execute(query, [row_id])

    def release(self) -> None:
        if not self._session.closed:
            self._session.commit()
            self._session.close()


class OtherSession:
    """Another session on the test database, in a transaction of its own until rollback()."""

    def __init__(self):
        self._session = _other_session()

    def execute(self, query, params=()) -> None:
        self._session.execute(query, params)

    def rollback(self) -> None:
        if not self._session.closed:
            self._session.rollback()
            self._session.close()


@contextmanager
def row_held(table: str, row_id: int) -> Iterator[RowHeld]:
    held = RowHeld(table, row_id)
    try:
        yield held
    finally:
        held.release()


def wait_until_sessions_wait_for_locks(count: int, timeout: float = 20.0) -> None:
    """Return once `count` other sessions of the test database wait for a lock."""
    deadline = time.monotonic() + timeout
    waiting = 0
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
            waiting = cursor.fetchone()[0]
            if waiting >= count:
                return
            time.sleep(0.01)
        cursor.execute("SELECT wait_event_type, wait_event, left(query, 80) FROM pg_stat_activity"
                       " WHERE datname = current_database() AND pid <> pg_backend_pid()")
        sessions = cursor.fetchall()
    raise AssertionError(f"{waiting} session(s), not {count}, waited for a lock within {timeout} s: "
                         f"{sessions}")


def run_together(calls: list[Callable[[], object]], *, while_running: Callable[[], None],
                 finally_: Callable[[], None] = lambda: None) -> list:
    """Run each call in its own thread (and connection); `while_running` runs meanwhile in this
    one, then `finally_` (whatever while_running did). Returns what the calls returned (or
    raised), in their order."""
    results: list = [None] * len(calls)

    def run(index: int, call: Callable[[], object]) -> None:
        try:
            results[index] = call()
        except BaseException as error:  # noqa: BLE001 - handed back to the test
            results[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    try:
        while_running()
    finally:
        finally_()
        for thread in threads:
            thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "a contender never finished"
    return results
